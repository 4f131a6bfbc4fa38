/**
 * The whole robustness sweep from folders: load the dataset and the model, unlearn it with each
 * method (the Unlearner, seeded, as `eraserlab run` does), attack every unlearned model, the
 * vanilla model and the retrained reference, and return one frame. The retrained reference is
 * `pretrain` with the forget kind left out, made once with the model's own recipe
 * (pretrain_spec.json) and kept under data/generated/models.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../runtime/errors';
import { loadSafeEraser } from '../data/dataset';
import { loadPretrained } from '../model/load';
import { pretrain, type PretrainOptions } from '../model/pretrain';
import { packageRoot } from '../runtime/fsutil';
import { create, type Unlearner } from '../unlearn/unlearner';
import { getMethod } from '../unlearn/methods';
import type { UnlearnDataset } from '../unlearn/types';
import type { EvalDataset } from '../metrics/evaluate';
import type { Judge } from '../judge/types';
import { planAttacks, runAttacks, type AttackModel, type AttackTarget, type RunAttacksOptions } from './run';
import type { AttackRow } from './types';
import { attacksFrame } from './frame';
import type * as dfdT from 'danfojs-node';

export interface SweepOptions extends Omit<RunAttacksOptions, 'onTarget'> {
  /** SafeEraser dataset folder. */
  dataset: string;
  /** The vanilla model folder. */
  model: string;
  /** Unlearning methods (names of the method registry). */
  methods: readonly string[];
  /** Unlearning steps per method. */
  steps: number;
  /** Also attack the vanilla model (default true). */
  vanilla?: boolean;
  /**
   * The retrained reference: a model folder, 'auto' (default: made with the model's recipe and
   * the forget kind left out, kept under data/generated/models), or false for none.
   */
  reference?: string | 'auto' | false;
  /** Pretraining steps of an 'auto' reference (default: the model's pretrain_spec.json steps). */
  referenceSteps?: number;
  judge?: string | Judge;
  /** Called with each target's rows when it is done. */
  onTarget?: (method: string, rows: AttackRow[]) => void;
}

export interface SweepResult {
  rows: AttackRow[];
  frame: dfdT.DataFrame;
  reference?: string;
  seconds: { reference: number; unlearn: number; attacks: number; total: number };
}

const RECIPE_KEYS = ['seed', 'steps', 'batchSize', 'lr', 'warmupRatio', 'weightDecay', 'maxGradNorm', 'visionLrScale', 'kindWeights', 'lossNormalization'] as const;

/** The pretraining options a model folder was made with (its pretrain_spec.json), or undefined. */
export function modelRecipe(modelDir: string): Partial<PretrainOptions> | undefined {
  const file = path.join(modelDir, 'pretrain_spec.json');
  if (!fs.existsSync(file)) return undefined;
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of RECIPE_KEYS) if (spec[k] !== undefined) out[k] = spec[k];
  return out as Partial<PretrainOptions>;
}

/**
 * The retrained reference for `modelDir` on `datasetDir`: the model's recipe with the forget
 * kind left out, trained once into `data/generated/models/retrained-forget-<hash>` (hash of the
 * recipe and the dataset's JSON files).
 */
export async function ensureReference(modelDir: string, datasetDir: string, opts: { steps?: number; log?: (s: string) => void } = {}): Promise<string> {
  const recipe = modelRecipe(modelDir);
  if (!recipe) {
    throw new ConfigError(`Cannot retrain a reference for ${modelDir}: it has no pretrain_spec.json (the recipe to repeat without the forget data)`, [
      { path: 'reference', message: 'pass a reference model folder (eraserlab pretrain --exclude forget --out DIR), or none' },
    ]);
  }
  const options: PretrainOptions = { ...recipe, ...(opts.steps ? { steps: opts.steps } : {}), exclude: ['forget'], datasetDir };
  // the recipe and the dataset's content (its JSON files): a regenerated dataset or another
  // recipe makes another reference
  const h = crypto.createHash('sha256').update(JSON.stringify({ options, dataset: path.resolve(datasetDir) }));
  for (const f of fs.readdirSync(datasetDir).filter((x) => x.endsWith('.json')).sort()) h.update(f).update(fs.readFileSync(path.join(datasetDir, f)));
  const hash = h.digest('hex').slice(0, 12);
  const dir = path.join(packageRoot(), 'data', 'generated', 'models', `retrained-forget-${hash}`);
  if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  opts.log?.(`retraining the reference model without the forget data (${options.steps ?? 3200} steps) into ${path.relative(process.cwd(), dir) || dir}`);
  await pretrain({ ...options, outDir: dir, evaluate: false, command: `eraserlab pretrain --exclude forget (recipe of ${modelDir})` });
  return dir;
}

/** Unlearn with each method and attack every model; see the module comment. */
export async function sweep(opts: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const ds = (await loadSafeEraser(opts.dataset)) as unknown as UnlearnDataset & EvalDataset;
  for (const m of opts.methods) getMethod(m); // unknown names fail before any work
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new ConfigError('Invalid attack sweep', [{ path: 'steps', message: `unlearning steps must be an integer ≥ 1, got ${opts.steps}` }]);
  // check attacks and parameters with a stand-in target before the expensive parts
  const probe = await loadPretrained(opts.model);
  try {
    planAttacks([{ method: 'vanilla', model: probe as unknown as AttackModel, role: 'base' }], ds, opts);
  } finally {
    probe.dispose();
  }
  let refDir: string | undefined;
  const tr = Date.now();
  if (opts.reference === 'auto' || opts.reference === undefined) refDir = await ensureReference(opts.model, opts.dataset, { steps: opts.referenceSteps, log });
  else if (opts.reference) refDir = opts.reference;
  const refSeconds = (Date.now() - tr) / 1000;
  const rows: AttackRow[] = [];
  let unlearnSeconds = 0;
  const t1 = Date.now();
  const names = [...(opts.vanilla === false ? [] : ['vanilla']), ...opts.methods, ...(refDir ? ['retrained'] : [])];
  // one target at a time (models are small but the machine may be too); the reference rows
  // need every target's statistics, so the targets are attacked in one runAttacks call per
  // model and the distances computed at the end from the collected rows
  const targets: AttackTarget[] = [];
  const owned: Array<{ dispose(): void }> = [];
  const unlearners: Unlearner[] = [];
  try {
    for (const name of names) {
      const m = await loadPretrained(name === 'retrained' ? (refDir as string) : opts.model);
      owned.push(m);
      if (name !== 'vanilla' && name !== 'retrained') {
        const tu = Date.now();
        log(`${name}: unlearning, ${opts.steps} steps`);
        const u = create(m, ds, { method: name, seed: opts.seed ?? 233, steps: opts.steps, meta: { command: 'eraserlab attack', model: opts.model, dataset: opts.dataset } });
        await u.run();
        unlearners.push(u);
        unlearnSeconds += (Date.now() - tu) / 1000;
      }
      targets.push({ method: name, model: m as unknown as AttackModel, role: name === 'vanilla' ? 'base' : name === 'retrained' ? 'reference' : 'unlearned' });
    }
    const r = await runAttacks(targets, ds, { ...opts, onTarget: opts.onTarget });
    rows.push(...r.rows);
  } finally {
    for (const u of unlearners) u.dispose();
    for (const m of owned) m.dispose();
  }
  const total = (Date.now() - t0) / 1000;
  return { rows, frame: attacksFrame(rows), reference: refDir, seconds: { reference: refSeconds, unlearn: unlearnSeconds, attacks: (Date.now() - t1) / 1000 - unlearnSeconds, total } };
}
