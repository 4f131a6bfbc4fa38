/**
 * Unlearning checkpoints on disk: the folder `Unlearner.save` writes and `resume` reads
 * (trainable weights and AdamW moments as safetensors, the LoRA adapter in PEFT layout, the run
 * spec, the trainer state and the history), and the check that keeps one run from replacing
 * another's checkpoints in a shared outDir.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import type { Tensor, Variable } from '../runtime/tf';
import { CheckpointError, ConfigError } from '../runtime/errors';
import type { RngState } from '../runtime/rng';
import { writeDirAtomic, writeJsonAtomic, writeFileAtomic } from '../runtime/fsutil';
import { readSafetensors, writeSafetensors } from '../model/safetensors';
import type { UnlearnConfig } from './options';
import type { AttachedAdapters } from './seams';
import type { MethodSpec } from './types';

/** The full, reproducible description of a run, written beside every checkpoint. */
export interface RunSpec {
  kind: 'eraserlab.unlearn';
  version: 1;
  method: MethodSpec;
  options: UnlearnConfig;
  model: { config: unknown; source?: string; trainable: Record<string, number[]> };
  data: { dir: string; forget: number; retain: number; pd: number; refusals: number; fingerprint: string };
  schedule: { totalSteps: number; stepsPerEpoch: number; warmupSteps: number; microBatchesPerEpoch: number };
  backend: unknown;
  versions: Record<string, string>;
  meta?: Record<string, unknown>;
}

/** Where a run stands: step counters, RNG states and the optimiser's step (trainer_state.json). */
export interface TrainerState {
  step: number;
  micro: number;
  epoch: number;
  pairRng: RngState;
  refusalRng: RngState;
  adapterRng?: unknown;
  stopped: boolean;
  optimizerStep: number;
}

/** Options that do not change what a run trains (probing, checkpointing, where it writes). */
const NON_TRAINING_OPTIONS = new Set(['evalEvery', 'probe', 'checkpointEvery', 'outDir', 'meta']);

/** What makes two run specs the same experiment: method, training options, data and model. */
function runIdentity(spec: RunSpec): Record<string, string> {
  const options = Object.fromEntries(Object.entries(spec.options ?? {}).filter(([k]) => !NON_TRAINING_OPTIONS.has(k)));
  return {
    method: JSON.stringify(spec.method),
    options: JSON.stringify(options),
    'data.fingerprint': String(spec.data?.fingerprint),
    'model.source': String(spec.model?.source),
    'model.config': JSON.stringify(spec.model?.config),
  };
}

/**
 * Refuse an `outDir` that already holds checkpoints (`checkpoint-N`, `final`) of another run,
 * before any step: checkpoints replace folders of the same name, so a different experiment
 * (or a run that later diverges) would silently destroy them. The same experiment again (a
 * rerun or a resumption) may write there.
 */
export function assertOutDirFree(outDir: string, spec: RunSpec): void {
  if (!fs.existsSync(outDir)) return;
  const mine = runIdentity(spec);
  for (const name of fs.readdirSync(outDir).sort()) {
    if (!/^(checkpoint-\d+|final)$/.test(name)) continue;
    const file = path.join(outDir, name, 'run.json');
    let theirs: Record<string, string>;
    try {
      theirs = runIdentity(JSON.parse(fs.readFileSync(file, 'utf8')) as RunSpec);
    } catch {
      continue; // not one of our checkpoints: nothing of ours to protect or replace
    }
    const differ = Object.keys(mine).filter((k) => mine[k] !== theirs[k]);
    if (differ.length) {
      throw new ConfigError(`outDir ${outDir} already holds checkpoints of another run (${name})`, [
        { path: 'outDir', message: `its ${differ.join(', ')} differ from this run's; pick another outDir, or remove ${path.join(outDir, name)} and its siblings` },
      ]);
    }
  }
}

/** What a checkpoint folder is written from. */
export interface CheckpointContents {
  trainable: ReadonlyMap<string, Variable>;
  /** The optimiser's state (its moment tensors are disposed here once written). */
  optimizer: { step: number; m: Map<string, Tensor>; v: Map<string, Tensor> };
  adapters: AttachedAdapters | undefined;
  spec: RunSpec;
  trainer: TrainerState;
  historyCsv: string;
  historyRows: Array<Record<string, number>>;
}

/**
 * Write a checkpoint folder atomically: the trainable weights and optimiser moments
 * (safetensors), the LoRA adapter in PEFT layout (`adapter/`), the run spec, the trainer
 * state (RNG states, schedule position) and the history (CSV + JSON). An existing folder is
 * replaced only once the new one is complete.
 */
export async function writeCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of c.trainable) weights[k] = { shape: v.shape, data: v.dataSync() as Float32Array };
  const st = c.optimizer;
  const moments: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of st.m) moments[`exp_avg.${k}`] = { shape: t.shape, data: t.dataSync() as Float32Array };
  for (const [k, t] of st.v) moments[`exp_avg_sq.${k}`] = { shape: t.shape, data: t.dataSync() as Float32Array };
  for (const t of [...st.m.values(), ...st.v.values()]) t.dispose();
  await writeDirAtomic(dir, async (tmp) => {
    writeSafetensors(path.join(tmp, 'trainable.safetensors'), weights, { format: 'pt', eraserlab: 'unlearn-trainable' });
    writeSafetensors(path.join(tmp, 'optimizer.safetensors'), moments, { format: 'pt', eraserlab: 'adamw', step: String(st.step) });
    if (c.adapters?.savePeft) await c.adapters.savePeft(path.join(tmp, 'adapter'));
    writeJsonAtomic(path.join(tmp, 'run.json'), c.spec);
    writeJsonAtomic(path.join(tmp, 'trainer_state.json'), c.trainer);
    writeFileAtomic(path.join(tmp, 'history.csv'), c.historyCsv);
    writeJsonAtomic(path.join(tmp, 'history.json'), c.historyRows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isNaN(v) ? null : v]))));
  });
}

/** A checkpoint read back and checked against the parameters a model trains. */
export interface CheckpointState {
  weights: ReturnType<typeof readSafetensors>['tensors'];
  /** AdamW first and second moments (the caller disposes them). */
  m: Map<string, Tensor>;
  v: Map<string, Tensor>;
  trainer: TrainerState;
  history: Array<Record<string, number>>;
}

/**
 * Read a checkpoint folder for a model that trains `trainable`: every tensor present with the
 * same shape, nothing extra, and the optimiser moments of each (CheckpointError naming the
 * file and tensor otherwise).
 */
export function readCheckpoint(dir: string, trainable: ReadonlyMap<string, Variable>): CheckpointState {
  const file = path.join(dir, 'trainable.safetensors');
  const w = readSafetensors(file).tensors;
  const issues: string[] = [];
  for (const [k, v] of trainable) {
    const t = w.get(k);
    if (!t) throw new CheckpointError(`Checkpoint ${file} has no tensor '${k}', which this model trains (was it saved from another model or method options?)`, { key: k, file });
    if (t.shape.join(',') !== v.shape.join(',')) {
      throw new CheckpointError(`Checkpoint tensor '${k}' in ${file} has shape [${t.shape.join(', ')}] but this model expects [${v.shape.join(', ')}]: the checkpoint comes from another model shape`, { key: k, file });
    }
  }
  for (const k of w.keys()) if (!trainable.has(k)) issues.push(k);
  if (issues.length) throw new CheckpointError(`Checkpoint ${file} holds tensor '${issues[0]}' that this model does not train (another model or LoRA setting?)`, { key: issues[0], file });
  const optFile = path.join(dir, 'optimizer.safetensors');
  const om = readSafetensors(optFile).tensors;
  const trainer: TrainerState = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'));
  const m = new Map<string, Tensor>();
  const v = new Map<string, Tensor>();
  try {
    for (const [k] of trainable) {
      const a = om.get(`exp_avg.${k}`);
      const b = om.get(`exp_avg_sq.${k}`);
      if (!a || !b) throw new CheckpointError(`Checkpoint ${optFile} has no optimiser moments for '${k}'`, { key: k, file: optFile });
      m.set(k, tf.tensor(a.data, a.shape));
      v.set(k, tf.tensor(b.data, b.shape));
    }
  } catch (e) {
    for (const t of [...m.values(), ...v.values()]) t.dispose();
    throw e;
  }
  const hist = JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8')) as Array<Record<string, number | null>>;
  const history = hist.map((r) => Object.fromEntries(Object.entries(r).map(([k, x]) => [k, x === null ? NaN : x])));
  return { weights: w, m, v, trainer, history };
}
