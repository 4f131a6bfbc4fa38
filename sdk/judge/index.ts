// The 'judge' namespace of the public API (see sdk/index.ts).
export type { Decision, Judge, JudgeContext, ScoreResult } from './types';
export { JudgeError } from './errors';
export { RulesJudge, REFUSAL_PHRASES } from './rules';
export type { RulesJudgeOptions } from './rules';
export { OpenAIJudge, JUDGE_PROTOCOLS, redactSecrets, redactURL } from './openai';
export type { OpenAIJudgeOptions, JudgeProtocol } from './openai';
export {
  loadOfficialProtocol,
  parseOfficialTemplates,
  parseOfficialEvalScript,
  officialLabel,
  officialScore,
  pythonFloat,
  pyFormat,
} from './official';
export type { OfficialProtocol, OfficialAsrLabel, OfficialRrLabel } from './official';
export { JUDGES, registerJudge, judgeNames, createJudge } from './registry';
export type { JudgeFactory } from './registry';
export {
  UNSAFE_PROMPTS,
  UNSAFE_PROMPT_GENERIC,
  REFUSAL_PROMPT,
  NORMAL_PROMPT,
  SCORE_PROMPT,
  fillPrompt,
  parseUnsafeReply,
  parseYesNo,
  parseScore,
} from './prompts';
