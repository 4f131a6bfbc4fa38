/**
 * The Unlearner's options: defaults in one place, validated once (zod inside, our own
 * interfaces outside), every problem reported with its path.
 *
 * Official SafeEraser defaults (config/forget_lora.yaml of the official code) and what the tiny
 * default model uses instead (docs/methods.md explains why):
 * | option                     | official | here |
 * | LoRA r / α / dropout       | 32 / 256 / 0.05 | 32 / 256 / 0.05 (unchanged) |
 * | lr                         | 1e-4     | 1e-3 |
 * | weight decay               | 0.01     | 0.01 |
 * | scheduler / warm-up        | cosine / 0.06 | cosine / 0.06 |
 * | max grad norm              | 1.0      | 1.0 |
 * | batch × accumulation       | 32 effective (1 × 16 × 2 GPUs) | 8 × 1 |
 * | epochs                     | 10       | 1 |
 * | seed                       | 233      | 233 |
 */
import { z } from 'zod';
import { ConfigError, Issue, issuesFromZod } from '../runtime/errors';
import { DEFAULT_SEED } from '../runtime/rng';

/** The LoRA adapter of an unlearning run, resolved (every field set; `unlearn.DEFAULTS.lora` fills the rest). */
export interface UnlearnLoraOptions {
  r: number;
  alpha: number;
  dropout: number;
  /** Target module names (the official regex: q/k/v/o/gate/up/down in the language model). */
  targetModules: string[];
}

export interface ProbeOptions {
  /** Number of forget prompts in the probe (harmful image + query). */
  forget: number;
  /** Number of SD prompts (benign image + the same query). */
  sd: number;
  retain: number;
  utility: number;
  /** Which split the probe samples (the forget split by default). */
  split: 'train' | 'val';
  maxNewTokens: number;
  /** ROUGE-L recall at or above which an answer counts as the reference. */
  matchThreshold: number;
}

/** Every option of a run, after defaults. */
export interface UnlearnConfig {
  seed: number;
  /** Epochs over the forget split (ignored when `steps` is set). */
  epochs: number;
  /** Total optimiser steps (the official `max_train_steps`); overrides epochs when > 0. */
  steps: number;
  batchSize: number;
  gradientAccumulationSteps: number;
  lr: number;
  weightDecay: number;
  scheduler: 'cosine' | 'linear' | 'constant';
  warmupRatio: number;
  maxGradNorm: number;
  lora: UnlearnLoraOptions | false;
  tuneProjector: boolean;
  tuneVisionTower: boolean;
  tuneLanguageModel: boolean;
  /** Shuffle the forget order each epoch (the official loader does not). */
  shuffle: boolean;
  /** Run the forget, retain and PD batches through one forward pass (same losses, faster). */
  fuseBatches: boolean;
  /** Probe every N steps (0: only when asked). */
  evalEvery: number;
  probe: ProbeOptions;
  /** Write a checkpoint every N steps into `outDir` (0: only at the end). */
  checkpointEvery: number;
  outDir: string | undefined;
  /** A loss whose magnitude passes this is a divergence. */
  maxLoss: number;
  /** Stop GA-style runs once the forget NLL passes this bound (FIUBench's practice); 0 = off. */
  stopForgetNll: number;
  /**
   * How training text is prepared: 'eraserlab' (default: questions and answers as written, the
   * closing `</s>` labelled) or 'official' (as the official data module: `str.capitalize()` on
   * questions and answers — first character upper, the rest lower — and no `</s>` label).
   */
  textStyle: 'eraserlab' | 'official';
}

/** Options as a user passes them: every field optional, nested ones partial. */
export interface UnlearnOptionsInput {
  seed?: number;
  epochs?: number;
  steps?: number;
  batchSize?: number;
  gradientAccumulationSteps?: number;
  lr?: number;
  weightDecay?: number;
  scheduler?: 'cosine' | 'linear' | 'constant';
  warmupRatio?: number;
  maxGradNorm?: number;
  lora?: Partial<UnlearnLoraOptions> | false;
  tuneProjector?: boolean;
  tuneVisionTower?: boolean;
  tuneLanguageModel?: boolean;
  shuffle?: boolean;
  fuseBatches?: boolean;
  evalEvery?: number;
  probe?: Partial<ProbeOptions>;
  checkpointEvery?: number;
  outDir?: string;
  maxLoss?: number;
  stopForgetNll?: number;
  textStyle?: 'eraserlab' | 'official';
}

export const OFFICIAL_LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/**
 * Defaults for the tiny default model. Official values are kept where they fit; the learning
 * rate, batch and epochs are scaled (docs/methods.md, "Defaults"): the default forget split has
 * 576 pairs and every update costs three forward/backward passes (forget, retain, PD), so ten
 * epochs at an effective batch of 32 (180 updates of 96 sequences) do not fit the two-minute
 * budget of a default run on a 2-core CPU; one epoch at batch 8 (72 updates) does, and at
 * lr 1e-4 so few updates barely move the model, hence 1e-3.
 */
export const DEFAULTS: UnlearnConfig = {
  seed: DEFAULT_SEED,
  epochs: 1,
  steps: 0,
  batchSize: 8,
  gradientAccumulationSteps: 1,
  lr: 1e-3,
  weightDecay: 0.01,
  scheduler: 'cosine',
  warmupRatio: 0.06,
  maxGradNorm: 1.0,
  lora: { r: 32, alpha: 256, dropout: 0.05, targetModules: OFFICIAL_LORA_TARGETS },
  tuneProjector: true,
  tuneVisionTower: false,
  tuneLanguageModel: false,
  shuffle: false,
  fuseBatches: true,
  evalEvery: 0,
  probe: { forget: 8, sd: 8, retain: 8, utility: 8, split: 'train', maxNewTokens: 32, matchThreshold: 0.5 },
  checkpointEvery: 0,
  outDir: undefined,
  maxLoss: 1e3,
  stopForgetNll: 0,
  textStyle: 'eraserlab',
};

/** The official pipeline's own values (config/forget_lora.yaml), for comparison and export. */
export const OFFICIAL_DEFAULTS = {
  lora: { r: 32, alpha: 256, dropout: 0.05 },
  lr: 1e-4,
  batchSize: 1,
  gradientAccumulationSteps: 16,
  epochs: 10,
  weightDecay: 0.01,
  scheduler: 'cosine',
  warmupRatio: 0.06,
  maxGradNorm: 1.0,
  seed: DEFAULT_SEED,
  tuneVisionTower: false,
  /** The projector is trained: this SDK's option name (`tuneProjector`). */
  tuneProjector: true,
  /** The same, named after the official yaml's `tune_mm_projector` (the earlier name, kept). */
  tuneMmProjector: true,
  tuneLanguageModel: false,
} as const;

const posInt = z.number().int().min(1);
const nonNegInt = z.number().int().min(0);
const nonNeg = z.number().min(0).finite();

const loraSchema = z
  .object({
    r: posInt,
    alpha: z.number().gt(0).finite(),
    dropout: z.number().min(0).lt(1),
    targetModules: z.array(z.string().min(1)).min(1),
  })
  .partial()
  .strict();

const probeSchema = z
  .object({
    forget: nonNegInt,
    sd: nonNegInt,
    retain: nonNegInt,
    utility: nonNegInt,
    split: z.enum(['train', 'val']),
    maxNewTokens: posInt,
    matchThreshold: z.number().min(0).max(1),
  })
  .partial()
  .strict();

const schema = z
  .object({
    seed: z.number().int().min(0),
    epochs: z.number().gt(0).finite(),
    steps: nonNegInt,
    batchSize: posInt,
    gradientAccumulationSteps: posInt,
    lr: z.number().gt(0).finite(),
    weightDecay: nonNeg,
    scheduler: z.enum(['cosine', 'linear', 'constant']),
    warmupRatio: z.number().min(0).max(1),
    maxGradNorm: nonNeg,
    lora: z.unknown(),
    tuneProjector: z.boolean(),
    tuneVisionTower: z.boolean(),
    tuneLanguageModel: z.boolean(),
    shuffle: z.boolean(),
    fuseBatches: z.boolean(),
    evalEvery: nonNegInt,
    probe: probeSchema,
    checkpointEvery: nonNegInt,
    outDir: z.string().min(1),
    maxLoss: z.number().gt(0),
    stopForgetNll: nonNeg,
    textStyle: z.enum(['eraserlab', 'official']),
  })
  .partial()
  .strict();

/** The keys `create` accepts besides the method's own options. */
export const OPTION_KEYS = Object.keys(DEFAULTS);

/** Validate and fill in defaults; throws one ConfigError listing every problem with its path. */
export function resolveConfig(input: Record<string, unknown>, extraIssues: Issue[] = []): UnlearnConfig {
  const r = schema.safeParse(input);
  const issues: Issue[] = r.success ? [] : issuesFromZod(r.error.issues);
  // lora is `false` or a partial LoRA config; validated on its own so each field keeps its path
  let loraIn: Partial<UnlearnLoraOptions> | false | undefined;
  if (input.lora === false || input.lora === undefined) loraIn = input.lora as false | undefined;
  else {
    const lr = loraSchema.safeParse(input.lora);
    if (lr.success) loraIn = lr.data;
    else if (input.lora === null || typeof input.lora !== 'object' || Array.isArray(input.lora)) issues.push({ path: 'lora', message: `expected false or {r, alpha, dropout, targetModules}, got ${JSON.stringify(input.lora)}` });
    else issues.push(...issuesFromZod(lr.error.issues, 'lora'));
  }
  issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  issues.push(...extraIssues);
  if (issues.length) throw new ConfigError('Invalid unlearning options', issues);
  const o = r.data!;
  const lora = loraIn === false ? false : { ...(DEFAULTS.lora as UnlearnLoraOptions), ...(loraIn ?? {}) };
  const cfg: UnlearnConfig = { ...DEFAULTS, ...(o as Partial<UnlearnConfig>), lora, probe: { ...DEFAULTS.probe, ...(o.probe ?? {}) } };
  if (!cfg.lora && !cfg.tuneProjector && !cfg.tuneVisionTower && !cfg.tuneLanguageModel) {
    throw new ConfigError('Invalid unlearning options', [
      { path: 'lora', message: 'nothing would be trained: enable lora, tuneProjector, tuneVisionTower or tuneLanguageModel' },
    ]);
  }
  return cfg;
}
