/**
 * LoRA adapters (Hu et al. 2021) as SafeEraser trains them: rank 32, α 256, dropout 0.05 on the
 * language model's q/k/v/o/gate/up/down projections, the multimodal projector trained fully,
 * the vision tower frozen (issue 3, "Training pieces"). They plug into the model's one linear
 * layer (`LlavaModel.adapters`, see LinearHook in llava.ts): y = W x + (α/r)·B(A(dropout(x))).
 *
 * Saved in PEFT's layout (`adapter_config.json` + `adapter_model.safetensors`, keys such as
 * `base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight` [r, in] and
 * `…lora_B.weight` [out, r]; projector weights under `base_model.model.model.multi_modal_projector.*`
 * in PyTorch layout), so `PeftModel.from_pretrained(LlavaForConditionalGeneration…, dir)` loads them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { CheckpointError, ConfigError } from '../runtime/errors';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { writeDirAtomic, writeJsonAtomic } from '../runtime/fsutil';
import type { Tensor, Tensor2D, Variable } from '../runtime/tf';
import type { LinearHook, LinearHookContext, LlavaModel } from './llava';
import { expectedParams, LM, PROJ } from './keys';
import { linearProduct } from './layers';
import { toHf, toMemory } from './checkpoint';
import { readSafetensors, TensorToWrite, writeSafetensors } from './safetensors';

/** The projections SafeEraser adapts. */
export const LORA_TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/** SafeEraser's official LoRA settings. */
export const SAFEERASER_LORA = { r: 32, alpha: 256, dropout: 0.05 } as const;

const PEFT_PREFIX = 'base_model.model.';
export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface LoraOptions {
  /** Rank (default 32). */
  r?: number;
  /** Scaling numerator: the update is (alpha / r)·B·A (default 256). */
  alpha?: number;
  /** Dropout on the adapter's input during training passes (default 0.05). */
  dropout?: number;
  /** Projection names to adapt (default q/k/v/o/gate/up/down). */
  targetModules?: readonly string[];
  /** Adapt only the language model (default true: vision frozen, as SafeEraser). */
  languageModelOnly?: boolean;
  /** Train the multimodal projector fully (default true); saved as PEFT modules_to_save. */
  trainProjector?: boolean;
  /** Seed of A's initialisation and of the dropout masks (default 233). */
  seed?: number;
  /** Recorded in adapter_config.json (default the model's source folder, or ''). */
  baseModelNameOrPath?: string;
}

/** adapter_config.json as PEFT writes it for LoRA. */
export interface PeftLoraConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string | string[];
  modules_to_save: string[] | null;
  base_model_name_or_path: string;
  bias: 'none';
  fan_in_fan_out: boolean;
  inference_mode: boolean;
  init_lora_weights: boolean;
  use_rslora: boolean;
  use_dora: boolean;
  layers_to_transform: null;
  layers_pattern: null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  revision: null;
  [k: string]: unknown;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The PEFT regex (matched with re.fullmatch) that selects the language model's target projections. */
export function peftTargetRegex(targets: readonly string[]): string {
  return `.*language_model.*\\.(${targets.map(escapeRe).join('|')})`;
}

/** Module paths (keys without `.weight`) of the linears the options adapt, in model order. */
export function loraModuleKeys(model: LlavaModel, targets: readonly string[] = LORA_TARGET_MODULES, languageModelOnly = true): string[] {
  const out: string[] = [];
  for (const s of expectedParams(model.config)) {
    if (s.kind !== 'linear' || !s.key.endsWith('.weight')) continue;
    const mod = s.key.slice(0, -'.weight'.length);
    const leaf = mod.slice(mod.lastIndexOf('.') + 1);
    if (!targets.includes(leaf)) continue;
    if (languageModelOnly && !mod.startsWith(`${LM}.`)) continue;
    out.push(mod);
  }
  return out;
}

interface LoraPair {
  /** [in, r] (memory layout; PEFT's lora_A.weight is its transpose [r, in]). */
  A: Variable;
  /** [r, out] (PEFT's lora_B.weight is [out, r]). */
  B: Variable;
}

/**
 * A set of LoRA adapters for one model. Attach with `lora.attach(model)` (sets
 * `model.adapters`); train `lora.trainableParams()`; `merge()` folds them into the base
 * weights and `unmerge()` takes them out again.
 */
export class LoraAdapters implements LinearHook {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targetModules: readonly string[];
  readonly languageModelOnly: boolean;
  readonly trainProjector: boolean;
  readonly seed: number;
  baseModelNameOrPath: string;
  /** Module path → adapter pair. */
  readonly modules = new Map<string, LoraPair>();
  private mergedInto: LlavaModel | undefined;
  /** The model these adapters were made for or attached to (supplies the projector). */
  private model: LlavaModel | undefined;
  private rng: Rng;

  private constructor(o: Required<Omit<LoraOptions, 'baseModelNameOrPath'>> & { baseModelNameOrPath: string }) {
    this.r = o.r;
    this.alpha = o.alpha;
    this.dropout = o.dropout;
    this.targetModules = [...o.targetModules];
    this.languageModelOnly = o.languageModelOnly;
    this.trainProjector = o.trainProjector;
    this.seed = o.seed;
    this.baseModelNameOrPath = o.baseModelNameOrPath;
    this.rng = Rng.derive(o.seed, 'lora/dropout');
  }

  /** alpha / r. */
  get scale(): number {
    return this.alpha / this.r;
  }

  /** True while the adapters are folded into the base weights. */
  get merged(): boolean {
    return this.mergedInto !== undefined;
  }

  private static resolve(model: LlavaModel, opts: LoraOptions) {
    const o = {
      r: opts.r ?? SAFEERASER_LORA.r,
      alpha: opts.alpha ?? SAFEERASER_LORA.alpha,
      dropout: opts.dropout ?? SAFEERASER_LORA.dropout,
      targetModules: opts.targetModules ?? LORA_TARGET_MODULES,
      languageModelOnly: opts.languageModelOnly ?? true,
      trainProjector: opts.trainProjector ?? true,
      seed: opts.seed ?? DEFAULT_SEED,
      baseModelNameOrPath: opts.baseModelNameOrPath ?? model.sourceDir ?? '',
    };
    const issues: Array<{ path: string; message: string }> = [];
    if (!Number.isInteger(o.r) || o.r < 1) issues.push({ path: 'r', message: `must be an integer ≥ 1, got ${o.r}` });
    if (!(o.alpha > 0)) issues.push({ path: 'alpha', message: `must be > 0, got ${o.alpha}` });
    if (!(o.dropout >= 0 && o.dropout < 1)) issues.push({ path: 'dropout', message: `must be in [0, 1), got ${o.dropout}` });
    const known = new Set<string>();
    for (const s of expectedParams(model.config)) if (s.kind === 'linear') known.add(s.key.slice(0, -'.weight'.length).split('.').pop() as string);
    for (const t of o.targetModules) {
      if (!known.has(t)) issues.push({ path: 'targetModules', message: `unknown module '${t}'. Must be one of [${[...known].sort().join(', ')}]` });
    }
    if (issues.length) throw new ConfigError('Invalid LoRA options', issues);
    return o;
  }

  /**
   * New adapters for `model`: A ~ U(−1/√in, 1/√in) (PEFT's kaiming_uniform(a=√5)), seeded per
   * module; B = 0, so the adapted model starts equal to the base model. Not yet attached.
   */
  static create(model: LlavaModel, opts: LoraOptions = {}): LoraAdapters {
    const o = LoraAdapters.resolve(model, opts);
    const lora = new LoraAdapters(o);
    lora.model = model;
    for (const key of loraModuleKeys(model, o.targetModules, o.languageModelOnly)) {
      const w = model.params.get(`${key}.weight`);
      if (!w) throw new CheckpointError(`LoRA: the model has no parameter '${key}.weight'`, { key: `${key}.weight` });
      const [inDim, outDim] = w.shape;
      const rng = Rng.derive(o.seed, `lora/${key}`);
      const bound = 1 / Math.sqrt(inDim);
      const a = new Float32Array(inDim * o.r);
      for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-bound, bound);
      lora.modules.set(key, {
        A: tf.tidy(() => tf.variable(tf.tensor2d(a, [inDim, o.r]), true)),
        B: tf.tidy(() => tf.variable(tf.zeros([o.r, outDim]), true)),
      });
    }
    return lora;
  }

  /** Set `model.adapters = this` (and return the model). */
  attach(model: LlavaModel): LlavaModel {
    model.adapters = this;
    this.model = model;
    return model;
  }

  /** Remove these adapters from the model (merged weights stay merged). */
  detach(model: LlavaModel): void {
    if (model.adapters === this) model.adapters = undefined;
  }

  /** LinearHook: add (α/r)·B(A(dropout(x))) for adapted modules. */
  apply(key: string, x: Tensor, base: Tensor, ctx: LinearHookContext): Tensor {
    if (this.mergedInto) return base;
    const pair = this.modules.get(key);
    if (!pair) return base;
    const inDim = x.shape[x.rank - 1];
    let h: Tensor = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
    if (ctx.training && this.dropout > 0) h = tf.dropout(h, this.dropout, undefined, this.rng.nextU32());
    const low = linearProduct(linearProduct(h as Tensor2D, pair.A as unknown as Tensor2D), pair.B as unknown as Tensor2D);
    let d: Tensor = tf.mul(low, this.scale);
    if (base.rank !== 2) d = tf.reshape(d, base.shape);
    return tf.add(base, d);
  }

  /**
   * What to optimise: every A and B (named `<module>.lora_A.weight` / `.lora_B.weight`), plus the
   * projector's parameters when it is trained (of `model`, default the model the adapters were
   * created for or attached to).
   */
  trainableParams(model: LlavaModel | undefined = this.model): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const [key, p] of this.modules) {
      out.set(`${key}.lora_A.weight`, p.A);
      out.set(`${key}.lora_B.weight`, p.B);
    }
    if (this.trainProjector && model) {
      for (const [k, v] of model.params) if (k.startsWith(`${PROJ}.`)) out.set(k, v);
    }
    return out;
  }

  /** Number of adapter values (A and B). */
  numParameters(): number {
    let n = 0;
    for (const p of this.modules.values()) n += p.A.size + p.B.size;
    return n;
  }

  /** The update (α/r)·A·B of one module in memory layout [in, out]. */
  delta(key: string): Tensor {
    const p = this.modules.get(key);
    if (!p) throw new ConfigError(`LoRA: no adapter for '${key}'`, [{ path: key, message: `adapted: ${this.modules.size} modules` }]);
    return tf.tidy(() => tf.mul(tf.matMul(p.A as unknown as ReturnType<typeof tf.tensor2d>, p.B as unknown as ReturnType<typeof tf.tensor2d>), this.scale));
  }

  /** Fold the adapters into the model's weights (W ← W + (α/r)·A·B); forward passes then skip them. */
  merge(model: LlavaModel): void {
    if (this.mergedInto) throw new ConfigError('LoRA adapters are already merged; unmerge() first');
    for (const key of this.modules.keys()) {
      const w = model.params.get(`${key}.weight`)!;
      tf.tidy(() => w.assign(tf.add(w, this.delta(key))));
    }
    this.mergedInto = model;
  }

  /** Undo merge(): W ← W − (α/r)·A·B. */
  unmerge(): void {
    const model = this.mergedInto;
    if (!model) throw new ConfigError('LoRA adapters are not merged');
    for (const key of this.modules.keys()) {
      const w = model.params.get(`${key}.weight`)!;
      tf.tidy(() => w.assign(tf.sub(w, this.delta(key))));
    }
    this.mergedInto = undefined;
  }

  /** adapter_config.json content. */
  peftConfig(): PeftLoraConfig {
    return {
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: this.r,
      lora_alpha: this.alpha,
      lora_dropout: this.dropout,
      target_modules: this.languageModelOnly ? peftTargetRegex(this.targetModules) : [...this.targetModules],
      modules_to_save: this.trainProjector ? ['multi_modal_projector'] : null,
      base_model_name_or_path: this.baseModelNameOrPath,
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      use_rslora: false,
      use_dora: false,
      layers_to_transform: null,
      layers_pattern: null,
      rank_pattern: {},
      alpha_pattern: {},
      revision: null,
    };
  }

  /**
   * Write `adapter_config.json` + `adapter_model.safetensors` (PEFT keys, PyTorch layout) into
   * `dir`, atomically. With a trained projector, `model` (default: the adapters' model) supplies
   * its weights.
   */
  async save(dir: string, model: LlavaModel | undefined = this.model): Promise<void> {
    const tensors = new Map<string, TensorToWrite>();
    for (const [key, p] of this.modules) {
      tensors.set(`${PEFT_PREFIX}${key}.lora_A.weight`, { shape: [p.A.shape[1] as number, p.A.shape[0] as number], data: transposed(p.A) });
      tensors.set(`${PEFT_PREFIX}${key}.lora_B.weight`, { shape: [p.B.shape[1] as number, p.B.shape[0] as number], data: transposed(p.B) });
    }
    if (this.trainProjector) {
      if (!model) throw new ConfigError('LoraAdapters.save: the projector is trained, so pass the model to save its weights', [{ path: 'model', message: 'required when trainProjector is true' }]);
      for (const s of expectedParams(model.config)) {
        if (!s.key.startsWith(`${PROJ}.`)) continue;
        const v = model.params.get(s.key)!;
        tensors.set(`${PEFT_PREFIX}${s.key}`, { shape: s.hfShape.slice(), data: toHf(s, v) });
      }
    }
    const cfg = this.peftConfig();
    await writeDirAtomic(dir, (tmp) => {
      writeJsonAtomic(path.join(tmp, ADAPTER_CONFIG), cfg);
      writeSafetensors(path.join(tmp, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
    });
  }

  /**
   * Load PEFT adapters saved by `save` (or by PEFT for this architecture) for `model`; the
   * projector weights, if saved, are copied into the model. Returns attached adapters.
   * Shapes are checked against the model: a mismatch is a CheckpointError naming the key.
   */
  static load(dir: string, model: LlavaModel, opts: { seed?: number } = {}): LoraAdapters {
    const cfgFile = path.join(dir, ADAPTER_CONFIG);
    const wFile = path.join(dir, ADAPTER_WEIGHTS);
    if (!fs.existsSync(cfgFile)) throw new CheckpointError(`No ${ADAPTER_CONFIG} in ${dir}: not a PEFT adapter folder`, { file: cfgFile });
    let cfg: Partial<PeftLoraConfig>;
    try {
      cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`Invalid ${cfgFile}: not JSON (${(e as Error).message})`, { file: cfgFile });
    }
    if (cfg.peft_type !== 'LORA') throw new CheckpointError(`${cfgFile}: peft_type is '${String(cfg.peft_type)}', only 'LORA' is supported`, { file: cfgFile });
    if (cfg.use_dora) throw new CheckpointError(`${cfgFile}: DoRA adapters (use_dora) are not supported`, { file: cfgFile });
    if (cfg.use_rslora) throw new CheckpointError(`${cfgFile}: rsLoRA scaling (use_rslora) is not supported`, { file: cfgFile });
    if (cfg.rank_pattern && Object.keys(cfg.rank_pattern).length) throw new CheckpointError(`${cfgFile}: per-module rank_pattern is not supported`, { file: cfgFile });
    if (cfg.alpha_pattern && Object.keys(cfg.alpha_pattern).length) throw new CheckpointError(`${cfgFile}: per-module alpha_pattern is not supported`, { file: cfgFile });
    const { tensors } = readSafetensors(wFile);
    const r = Number(cfg.r);
    const targets = Array.isArray(cfg.target_modules) ? cfg.target_modules : [...LORA_TARGET_MODULES];
    const lora = new LoraAdapters({
      r,
      alpha: Number(cfg.lora_alpha),
      dropout: Number(cfg.lora_dropout ?? 0),
      targetModules: targets,
      languageModelOnly: typeof cfg.target_modules === 'string',
      trainProjector: Array.isArray(cfg.modules_to_save) && cfg.modules_to_save.includes('multi_modal_projector'),
      seed: opts.seed ?? DEFAULT_SEED,
      baseModelNameOrPath: String(cfg.base_model_name_or_path ?? ''),
    });
    const specs = new Map(expectedParams(model.config).map((s) => [s.key, s]));
    const created: Variable[] = [];
    try {
      for (const [k, t] of tensors) {
        if (!k.startsWith(PEFT_PREFIX)) throw new CheckpointError(`Unexpected tensor '${k}' in ${wFile}: PEFT keys start with '${PEFT_PREFIX}'`, { key: k, file: wFile });
        const name = k.slice(PEFT_PREFIX.length);
        const m = /^(.*)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
        if (m) {
          const [, mod, which] = m;
          const w = model.params.get(`${mod}.weight`);
          const spec = specs.get(`${mod}.weight`);
          if (!w || !spec || spec.kind !== 'linear') throw new CheckpointError(`Adapter tensor '${k}' in ${wFile} targets '${mod}', which is not a linear layer of this model`, { key: k, file: wFile });
          const [inDim, outDim] = w.shape;
          const want = which === 'A' ? [r, inDim] : [outDim, r];
          if (t.shape.join(',') !== want.join(',')) {
            throw new CheckpointError(`Adapter tensor '${k}' in ${wFile} has shape [${t.shape.join(', ')}] but r ${r} and the model's ${mod} need [${want.join(', ')}]`, { key: k, file: wFile });
          }
          const pair = lora.modules.get(mod) ?? ({} as LoraPair);
          const v = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(Float32Array.from(t.data), want as [number, number])), true));
          created.push(v);
          if (which === 'A') pair.A = v;
          else pair.B = v;
          lora.modules.set(mod, pair);
          continue;
        }
        const spec = specs.get(name);
        if (spec && name.startsWith(`${PROJ}.`)) {
          if (t.shape.join(',') !== spec.hfShape.join(',')) {
            throw new CheckpointError(`Adapter tensor '${k}' in ${wFile} has shape [${t.shape.join(', ')}] but the model's ${name} is [${spec.hfShape.join(', ')}]`, { key: k, file: wFile });
          }
          const mem = toMemory(spec, Float32Array.from(t.data));
          model.params.get(name)!.assign(mem);
          mem.dispose();
          continue;
        }
        throw new CheckpointError(`Unexpected tensor '${k}' in ${wFile}: neither a LoRA weight nor a projector weight of this model`, { key: k, file: wFile });
      }
      for (const [mod, p] of lora.modules) {
        if (!p.A || !p.B) throw new CheckpointError(`Adapter for '${mod}' in ${wFile} has lora_${p.A ? 'B' : 'A'}.weight missing`, { key: `${PEFT_PREFIX}${mod}.lora_${p.A ? 'B' : 'A'}.weight`, file: wFile });
      }
    } catch (e) {
      for (const v of created) v.dispose();
      throw e;
    }
    lora.attach(model);
    return lora;
  }

  /** Dropout stream state (for resuming a run bit-for-bit). */
  getRngState(): ReturnType<Rng['getState']> {
    return this.rng.getState();
  }

  setRngState(s: ReturnType<Rng['getState']>): void {
    this.rng.setState(s);
  }

  /** Free the adapter tensors (unmerge first if you want the base weights back). */
  dispose(): void {
    for (const p of this.modules.values()) {
      p.A.dispose();
      p.B.dispose();
    }
    this.modules.clear();
    this.model = undefined;
  }
}

function transposed(v: Variable): Float32Array {
  const t = tf.transpose(v);
  const d = Float32Array.from(t.dataSync() as Float32Array);
  t.dispose();
  return d;
}
