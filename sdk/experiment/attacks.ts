/**
 * Robustness in the results folder, for `eraserlab run --attacks` and `eraserlab attack`: the
 * attack scales, the sweep written into a folder (attacks.csv / attacks.json after every model,
 * attacks.md at the end) and the two robustness figures as report figures.
 */
import * as path from 'path';
import { writeFileAtomic } from '../runtime/fsutil';
import { BUILTIN_METHODS } from '../unlearn/methods';
import { RUN_DEFAULTS } from '../attacks/run';
import { sweep, type SweepOptions, type SweepResult } from '../attacks/sweep';
import { writeAttacks } from '../attacks/frame';
import { robustnessMarkdown } from '../attacks/table';
import type { AttackRow } from '../attacks/types';
import { robustnessHeatmap, relearningCurve } from '../plots/robustness';
import type { ReportFigure } from './report';

export type AttackScale = 'default' | 'test';

export interface AttackScaleDefaults {
  methods: readonly string[];
  steps: number;
  limit: number;
  miaLimit: number;
  maxNewTokens: number;
  dataset: 'default' | 'tiny';
  /** Relearning steps (the curve), for both relearning attacks. */
  relearnSteps: number[];
  /** Pretraining steps of the retrained reference (undefined: the model's own recipe). */
  referenceSteps?: number;
}

/** default: every method ± PD on the default benchmark; test: seconds-long, for tests and CI. */
export const ATTACK_SCALES: Readonly<Record<AttackScale, AttackScaleDefaults>> = {
  default: { methods: Object.keys(BUILTIN_METHODS), steps: 72, limit: RUN_DEFAULTS.limit, miaLimit: RUN_DEFAULTS.miaLimit, maxNewTokens: RUN_DEFAULTS.maxNewTokens, dataset: 'default', relearnSteps: [4, 8, 16] },
  test: { methods: ['po', 'po+pd'], steps: 2, limit: 2, miaLimit: 4, maxNewTokens: 8, dataset: 'tiny', relearnSteps: [1, 2], referenceSteps: 8 },
};

/** The relearning curve of a scale for every selected relearning attack without its own `steps`. */
export function withRelearnSteps(params: Record<string, Record<string, unknown>>, attacks: readonly string[] | undefined, scale: AttackScaleDefaults): Record<string, Record<string, unknown>> {
  const out = { ...params };
  for (const n of ['relearn-forget', 'relearn-benign']) {
    if ((!attacks || attacks.includes(n)) && out[n]?.steps === undefined) out[n] = { ...(out[n] ?? {}), steps: scale.relearnSteps };
  }
  return out;
}

/**
 * Run the sweep and write it into `out`: attacks.csv / attacks.json after every model (an
 * interrupted sweep keeps what it measured), attacks.md (the robustness table) at the end.
 */
export async function attackInto(out: string, opts: SweepOptions): Promise<SweepResult> {
  const acc: AttackRow[] = [];
  const result = await sweep({
    ...opts,
    onTarget: (m, rows) => {
      acc.push(...rows);
      writeAttacks(out, acc);
      opts.onTarget?.(m, rows);
    },
  });
  writeAttacks(out, result.rows);
  writeFileAtomic(path.join(out, 'attacks.md'), robustnessMarkdown(result.rows) + '\n');
  return result;
}

/** The robustness heat map and the relearning curve, as report figures (those the rows allow). */
export function robustnessFigures(rows: readonly AttackRow[]): ReportFigure[] {
  const out: ReportFigure[] = [];
  if (rows.some((r) => r.metric === 'forgetRate' && r.family !== 'reference')) {
    out.push({
      name: 'robustness',
      title: 'Forget rate under attack',
      caption: 'Share of harmful queries answered with the forgotten answer, per model (rows) and attack (columns): no attack, each prompt and image attack on the forget split, and each relearning attack after its last step on the rest of the forget set. Higher = more knowledge back.',
      figure: robustnessHeatmap(rows as never),
    });
  }
  if (rows.some((r) => r.family === 'relearn')) {
    out.push({
      name: 'relearning',
      title: 'Relearning attack',
      caption: 'Forget rate on the forget records outside the relearning slice after k steps of LoRA fine-tuning on the slice (k = 0: before the attack). Dotted: with PD.',
      figure: relearningCurve(rows as never),
    });
  }
  return out;
}
