/**
 * Scale-out: write the official SafeEraser pipeline's training config
 * (yuu250/SafeEraser config/forget_lora.yaml, read by forget.py through hydra) for one of our
 * run specs, so the same experiment runs on GPUs with PyTorch + DeepSpeed. Its outputs come
 * back through the metrics layer's `importOfficial` (docs/scale-out.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadSafeEraser, saveSafeEraser } from '../data/dataset';
import { ConfigError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';
import { getMethod } from './methods';
import type { RunSpec } from './unlearner';

/** Our method → the official `forget_loss` (its data module and loop know exactly these). */
export const OFFICIAL_FORGET_LOSS: Readonly<Record<string, string>> = {
  ga: 'ga',
  gd: 'gd',
  kl: 'kl',
  po: 'idk',
  'ga+pd': 'gapd',
  'gd+pd': 'gdpd',
  'kl+pd': 'klpd',
  'po+pd': 'idkpd',
};

/** The keys of config/forget_lora.yaml, all 28, in its order (hydra refuses a key it lacks). */
export interface OfficialConfig {
  model_family: string;
  model_path: string;
  LoRA: { r: number; alpha: number; dropout: number };
  lr: number;
  split: string;
  data_path: string;
  batch_size: number;
  gradient_accumulation_steps: number;
  num_epochs: number;
  forget_loss: string;
  tune_vision_tower: boolean;
  tune_mm_projector: boolean;
  tune_language_model: boolean;
  max_grad_norm: number;
  save_dir: string;
  save_steps: number;
  overwrite_dir: boolean;
  weight_decay: number;
  save_model: boolean;
  eval_while_train: boolean;
  eval_only: boolean;
  seed: number;
  /** DataLoader workers (forget.py reads it). */
  workers: number;
  lr_scheduler_type: string;
  warmup_ratio: number;
  max_train_steps: number;
  /** accelerate's tracker; forget.py sets WANDB_DISABLED itself. */
  report_to: string;
  resume_from_checkpoint: string;
}

export interface ExportOptions {
  /** Where the official pipeline will find the model (default: the llava-hf 7B checkpoint). */
  modelPath?: string;
  modelFamily?: string;
  /** Dataset folder as the pipeline sees it (default: the run's dataset folder). */
  dataDir?: string;
  saveDir?: string;
  /** DataLoader workers (official default 4). */
  workers?: number;
  /** accelerate tracker (official default 'wandb', which forget.py disables through WANDB_DISABLED). */
  reportTo?: string;
}

function yamlScalar(v: unknown): string {
  if (typeof v === 'string') return /^[A-Za-z0-9_./${}:+-]+$/.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v).includes('e') ? String(v) : String(v);
  return JSON.stringify(v);
}

/** Render the config as YAML in the official file's key order. */
export function officialYaml(c: OfficialConfig): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (v && typeof v === 'object') {
      lines.push(`${k}:`);
      for (const [k2, v2] of Object.entries(v)) lines.push(`  ${k2}: ${yamlScalar(v2)}`);
    } else lines.push(`${k}: ${yamlScalar(v)}`);
  }
  return lines.join('\n') + '\n';
}

/** Map a run spec to the official config; methods the pipeline lacks are refused. */
export function toOfficialConfig(spec: RunSpec, opts: ExportOptions = {}): OfficialConfig {
  const name = getMethod(spec.method.name).name;
  const forgetLoss = OFFICIAL_FORGET_LOSS[name];
  if (!forgetLoss) {
    throw new ConfigError(`Method '${name}' has no counterpart in the official SafeEraser pipeline, which supports only [${Object.keys(OFFICIAL_FORGET_LOSS).join(', ')}]`, [
      { path: 'method.name', message: 'run it here with eraserlab, or pick one of the supported methods' },
    ]);
  }
  const issues: Array<{ path: string; message: string }> = [];
  const cfg = spec.method.config;
  // the official loop hard-codes its weights; a run with other weights would not be the same experiment
  const defaults = getMethod(name).options;
  for (const [k, s] of Object.entries(defaults)) {
    if (cfg[k] !== undefined && cfg[k] !== s.default) {
      issues.push({ path: `method.config.${k}`, message: `${String(cfg[k])} differs from the official weight ${String(s.default)}, which forget.py hard-codes` });
    }
  }
  if (issues.length) throw new ConfigError(`Run spec for '${name}' cannot be expressed in the official pipeline`, issues);
  const o = spec.options;
  const lora = o.lora === false ? { r: 0, alpha: 0, dropout: 0 } : { r: o.lora.r, alpha: o.lora.alpha, dropout: o.lora.dropout };
  const dataDir = opts.dataDir ?? spec.data.dir;
  return {
    model_family: opts.modelFamily ?? 'llava-v1.5-vicuna',
    model_path: opts.modelPath ?? 'llava-hf/llava-1.5-7b-hf',
    LoRA: lora,
    lr: o.lr,
    split: 'all',
    data_path: path.posix.join(dataDir.split(path.sep).join('/'), 'all_train.json'),
    batch_size: o.batchSize,
    gradient_accumulation_steps: o.gradientAccumulationSteps,
    num_epochs: o.epochs,
    forget_loss: forgetLoss,
    tune_vision_tower: o.tuneVisionTower,
    tune_mm_projector: o.tuneProjector,
    tune_language_model: o.tuneLanguageModel,
    max_grad_norm: o.maxGradNorm,
    save_dir: opts.saveDir ?? `ckpt_results/${forgetLoss}_${o.lr}_all_${o.epochs}`,
    save_steps: o.checkpointEvery,
    overwrite_dir: false,
    weight_decay: o.weightDecay,
    save_model: true,
    eval_while_train: false,
    eval_only: false,
    seed: o.seed,
    workers: opts.workers ?? 4,
    lr_scheduler_type: o.scheduler,
    warmup_ratio: o.warmupRatio,
    max_train_steps: o.steps > 0 ? o.steps : -1,
    report_to: opts.reportTo ?? 'wandb',
    resume_from_checkpoint: '',
  };
}

/** Write `<outDir>/config/forget_lora.yaml` (+ the run spec beside it); returns the config. */
export function exportOfficial(spec: RunSpec, outDir: string, opts: ExportOptions = {}): OfficialConfig {
  const c = toOfficialConfig(spec, opts);
  const yamlFile = path.join(outDir, 'config', 'forget_lora.yaml');
  const runFile = path.join(outDir, 'eraserlab_run.json');
  // never replace what eraserlab did not write: the repository's own forget_lora.yaml is kept
  // beside ours as forget_lora.yaml.orig; a foreign eraserlab_run.json is refused
  if (fs.existsSync(runFile)) {
    let kind: unknown;
    try {
      kind = (JSON.parse(fs.readFileSync(runFile, 'utf8')) as { kind?: unknown }).kind;
    } catch {
      kind = undefined;
    }
    if (kind !== 'eraserlab.unlearn') {
      throw new ConfigError(`Refusing to replace ${runFile}: eraserlab did not write it`, [{ path: '--out', message: 'move that file away, or export into another folder' }]);
    }
  }
  const backup = officialYamlBackup(outDir);
  if (backup) {
    if (fs.existsSync(backup)) {
      throw new ConfigError(`Refusing to replace ${yamlFile}: eraserlab did not write it and ${backup} exists already`, [
        { path: '--out', message: 'move one of the two away (eraserlab keeps a foreign forget_lora.yaml as forget_lora.yaml.orig)' },
      ]);
    }
    fs.renameSync(yamlFile, backup);
  }
  writeFileAtomic(yamlFile, `${OFFICIAL_YAML_HEADER}\n${officialYaml(c)}`);
  writeFileAtomic(runFile, JSON.stringify(spec, null, 2) + '\n');
  return c;
}

/** The first line of every forget_lora.yaml eraserlab writes. */
export const OFFICIAL_YAML_HEADER = '# written by eraserlab export-official (the run spec is eraserlab_run.json)';

/**
 * Where `exportOfficial` keeps an existing `config/forget_lora.yaml` that eraserlab did not
 * write (the official repository's own), or undefined when there is none to keep.
 */
export function officialYamlBackup(outDir: string): string | undefined {
  const yamlFile = path.join(outDir, 'config', 'forget_lora.yaml');
  if (!fs.existsSync(yamlFile)) return undefined;
  const head = fs.readFileSync(yamlFile, 'utf8').split('\n', 1)[0];
  return head === OFFICIAL_YAML_HEADER ? undefined : `${yamlFile}.orig`;
}

/**
 * Write the run's dataset into `<outDir>/dataset/` the way the official repository reads it:
 * forget.py opens `image_path` / `SDImage_path` and `./dataset/prompt.json` from the repository
 * root, so the image paths are written as `dataset/<path>` (eraserlab reads that layout too).
 * Returns the `data_path` to put in the config. Refuses to replace an existing `dataset/`.
 */
export async function exportOfficialDataset(spec: RunSpec, outDir: string, sourceDir: string = spec.data.dir): Promise<string> {
  const target = path.join(path.resolve(outDir), 'dataset');
  if (fs.existsSync(target)) {
    throw new ConfigError(`Cannot write the dataset to ${target}: it exists`, [
      { path: '--with-dataset', message: 'remove that folder first, or export without --with-dataset and pass --data-dir' },
    ]);
  }
  const ds = await loadSafeEraser(sourceDir);
  await saveSafeEraser(ds, target, { prefix: 'dataset/' });
  return 'dataset';
}
