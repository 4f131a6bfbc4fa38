/**
 * The main job's scales: which methods run, how many steps, how much is evaluated. `default` is
 * the whole comparison; `test` a seconds-long smoke run for tests and CI.
 */
import { ConfigError } from '../runtime/errors';

/** The ten methods of the paper's comparison, each without and with PD. */
export const ALL_METHODS: readonly string[] = ['ga', 'ga+pd', 'gd', 'gd+pd', 'kl', 'kl+pd', 'po', 'po+pd', 'npo', 'npo+pd'];

export type JobScale = 'default' | 'test';

export interface ScaleDefaults {
  /** Methods run when --methods is not given. */
  methods: readonly string[];
  /** Optimiser steps per method. */
  steps: number;
  /** Records evaluated per split (and utility items). */
  limit: number;
  /** Tokens generated per response. */
  maxNewTokens: number;
  /** Probe every N steps during unlearning (the forgetting curves). */
  evalEvery: number;
  /** Prompts per probe group (forget, SD, retain, utility). */
  probe: number;
  /** Synthetic dataset used when --dataset is not given. */
  dataset: 'default' | 'tiny';
}

/**
 * default: the whole comparison within 15 minutes on a 2-core CPU (the tiny default model);
 * test: a seconds-long smoke run (tiny dataset, two methods, two steps) for tests and CI.
 */
export const JOB_SCALES: Readonly<Record<JobScale, ScaleDefaults>> = {
  // limit 24: 96 harmful and 96 benign-image responses per split, a rate's 95% Wilson
  // half-width ≤ 9.8 points (docs/metrics.md, "Uncertainty")
  default: { methods: ALL_METHODS, steps: 72, limit: 24, maxNewTokens: 24, evalEvery: 6, probe: 8, dataset: 'default' },
  test: { methods: ['po', 'po+pd'], steps: 2, limit: 2, maxNewTokens: 8, evalEvery: 1, probe: 2, dataset: 'tiny' },
};

/** The scale named by `s`, else ERASERLAB_SCALE, else 'default'; anything else is a ConfigError. */
export function scaleOf(s: string | undefined): JobScale {
  const v = s ?? process.env.ERASERLAB_SCALE ?? 'default';
  if (v !== 'default' && v !== 'test') {
    throw new ConfigError('Invalid options for eraserlab run', [{ path: '--scale', message: `unknown scale '${v}'. Must be one of [default, test]` }]);
  }
  return v;
}
