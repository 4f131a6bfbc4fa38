import { Registry } from '../runtime/registry';
import { OpenAIJudge, type OpenAIJudgeOptions } from './openai';
import { RulesJudge, type RulesJudgeOptions } from './rules';
import type { Judge } from './types';

/** Builds a judge from its options. */
export type JudgeFactory = (options?: Record<string, unknown>) => Judge;

/** Judges by name: 'rules' (default, offline) and 'openai' (an OpenAI-compatible endpoint). */
export const JUDGES = new Registry<JudgeFactory>('judge', {
  rules: (o) => new RulesJudge((o ?? {}) as RulesJudgeOptions),
  openai: (o) => new OpenAIJudge((o ?? {}) as OpenAIJudgeOptions),
});

/** Add a judge (re-registering replaces it with a warning). */
export function registerJudge(name: string, factory: JudgeFactory): void {
  JUDGES.register(name, factory);
}

export function judgeNames(): string[] {
  return JUDGES.names();
}

/** A judge by name (unknown names fail listing the valid ones), or the judge itself if one is passed. */
export function createJudge(judge: string | Judge = 'rules', options?: Record<string, unknown>): Judge {
  if (typeof judge !== 'string') return judge;
  return JUDGES.get(judge)(options);
}
