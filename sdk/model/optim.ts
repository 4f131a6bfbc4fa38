/**
 * Training pieces shared by pre-training and unlearning (issue 3, "Training pieces"): AdamW
 * with decoupled weight decay (none on biases and norms), a cosine schedule with linear
 * warm-up, global grad-norm clipping and gradient accumulation. Everything follows the
 * PyTorch / transformers definitions SafeEraser's official trainer uses, so step-for-step
 * comparisons with that code are meaningful, and everything is deterministic.
 */
import { installWasmFastMatMul, wasmNativeAdamW } from '../runtime/wasm-matmul';
import { tf } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';

type Tensor = import('../runtime/tf').Tensor;
type Variable = import('../runtime/tf').Variable;
type Scalar = ReturnType<typeof tf.scalar>;

/** A gradient (or parameter) set keyed by canonical parameter name. */
export type NamedTensors = Map<string, Tensor> | Record<string, Tensor>;

function entries(t: NamedTensors): Array<[string, Tensor]> {
  return t instanceof Map ? [...t.entries()] : Object.entries(t);
}

// ---------------------------------------------------------------------------------------
// Learning-rate schedules
// ---------------------------------------------------------------------------------------

/** Learning rate as a function of the 0-based optimiser update index. */
export type LrSchedule = (step: number) => number;

export interface CosineScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Total number of optimiser updates. */
  totalSteps: number;
  /** Warm-up as a share of totalSteps (transformers' `warmup_ratio`; steps = ceil(ratio·total)). Default 0. */
  warmupRatio?: number;
  /** Warm-up in updates (overrides warmupRatio). */
  warmupSteps?: number;
  /** Floor of the cosine (default 0). */
  minLr?: number;
}

/**
 * transformers' `get_cosine_schedule_with_warmup` (num_cycles 0.5): update k uses
 * lr·k/warmup during warm-up, then lr·½(1 + cos(π·progress)). As in PyTorch, the first update
 * of a warm-up runs at lr 0.
 */
export function cosineSchedule(o: CosineScheduleOptions): LrSchedule {
  if (!(o.totalSteps > 0)) throw new ConfigError('cosineSchedule: totalSteps must be > 0', [{ path: 'totalSteps', message: `got ${o.totalSteps}` }]);
  const warm = o.warmupSteps ?? Math.ceil((o.warmupRatio ?? 0) * o.totalSteps);
  const minLr = o.minLr ?? 0;
  return (step: number) => {
    if (step < warm) return (o.lr * step) / Math.max(1, warm);
    const progress = (step - warm) / Math.max(1, o.totalSteps - warm);
    const f = Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
    return minLr + (o.lr - minLr) * f;
  };
}

/** A constant learning rate. */
export function constantSchedule(lr: number): LrSchedule {
  return () => lr;
}

// ---------------------------------------------------------------------------------------
// Clipping
// ---------------------------------------------------------------------------------------

/** Global L2 norm of a gradient set (a scalar tensor; the caller owns it). */
export function globalNorm(grads: NamedTensors): Scalar {
  return tf.tidy(() => {
    const sq = entries(grads).map(([, g]) => tf.sum(tf.square(g)));
    return (sq.length ? tf.sqrt(tf.addN(sq)) : tf.scalar(0)) as Scalar;
  });
}

/**
 * `torch.nn.utils.clip_grad_norm_`: if the global norm exceeds maxNorm, scale every gradient by
 * maxNorm / (norm + 1e-6). Returns new tensors (the caller disposes them) and the norm before
 * clipping.
 */
export function clipByGlobalNorm(grads: NamedTensors, maxNorm: number): { grads: Map<string, Tensor>; norm: number } {
  const normT = globalNorm(grads);
  const norm = normT.dataSync()[0];
  normT.dispose();
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  const out = new Map<string, Tensor>();
  for (const [k, g] of entries(grads)) out.set(k, tf.tidy(() => (coef < 1 ? tf.mul(g, coef) : g.clone())));
  return { grads: out, norm };
}

// ---------------------------------------------------------------------------------------
// AdamW
// ---------------------------------------------------------------------------------------

/**
 * Parameters without weight decay, as transformers' Trainer groups them: biases and every
 * normalisation weight (LayerNorm, RMSNorm; CLIP's `pre_layrnorm` spelling included).
 */
export function defaultNoDecay(name: string): boolean {
  return /(^|\.)bias$|_bias$|layernorm|layer_norm|layrnorm|rmsnorm|(^|\.)norm(\.|$)|_norm(\.|$)|_ln(\.|$)/i.test(name);
}

export interface AdamWOptions {
  /** Peak learning rate (default 1e-4, SafeEraser's). Ignored when `schedule` is given. */
  lr?: number;
  /** Learning rate per update (e.g. cosineSchedule); default constant `lr`. */
  schedule?: LrSchedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Which parameters get no weight decay (default: biases and norms). */
  noDecay?: (name: string) => boolean;
  /** Clip the global gradient norm to this (default 1.0; 0 or Infinity: no clipping). */
  maxGradNorm?: number;
  /** Per-parameter learning-rate factor (PyTorch param groups with their own lr); default 1. */
  lrScale?: (name: string) => number;
}

/** The optimiser's state, for checkpoints and resume: moments as tensors and the step. */
export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  /** First moments (`exp_avg`) by parameter name. */
  m: Map<string, Tensor>;
  /** Second moments (`exp_avg_sq`) by parameter name. */
  v: Map<string, Tensor>;
}

export interface StepInfo {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Learning rate this update used. */
  lr: number;
  /** The update index it was (0-based). */
  step: number;
}

/**
 * AdamW exactly as `torch.optim.AdamW` computes it (decoupled decay p ← p − lr·wd·p, bias-corrected
 * moments, eps added after the square root), over the named variables it is given.
 */
export class AdamW {
  readonly params: Map<string, Variable>;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly schedule: LrSchedule;
  private readonly noDecay: (name: string) => boolean;
  private readonly lrScale: (name: string) => number;
  private m = new Map<string, Variable>();
  private v = new Map<string, Variable>();
  private t = 0;

  constructor(params: Map<string, Variable>, opts: AdamWOptions = {}) {
    this.params = new Map(params);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.maxGradNorm = opts.maxGradNorm ?? 1.0;
    this.schedule = opts.schedule ?? constantSchedule(opts.lr ?? 1e-4);
    this.noDecay = opts.noDecay ?? defaultNoDecay;
    this.lrScale = opts.lrScale ?? (() => 1);
    for (const [k, p] of this.params) {
      this.m.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(k, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.t;
  }

  /** The learning rate the next update will use. */
  get lr(): number {
    return this.schedule(this.t);
  }

  /** Whether a parameter is decayed (false for biases and norms by default). */
  decays(name: string): boolean {
    return this.weightDecay !== 0 && !this.noDecay(name);
  }

  /**
   * Clip (global norm) and apply one update. Gradients for names this optimiser does not own
   * are an error; owned parameters without a gradient are skipped (neither moved nor decayed),
   * as PyTorch skips parameters whose `.grad` is None. The gradients are not disposed.
   */
  applyGradients(grads: NamedTensors): StepInfo {
    const list = entries(grads);
    for (const [k] of list) {
      if (!this.params.has(k)) {
        throw new ConfigError(`AdamW: gradient for '${k}', which is not one of the optimised parameters`, [
          { path: k, message: `optimised: ${this.params.size} parameters, e.g. [${[...this.params.keys()].slice(0, 3).join(', ')}]` },
        ]);
      }
    }
    const native = wasmNativeAdamW();
    let gradNorm: number;
    if (native) {
      let sq = 0;
      for (const [, g] of list) sq += native.sumSquares(g);
      gradNorm = Math.sqrt(sq);
    } else {
      const normT = globalNorm(grads);
      gradNorm = normT.dataSync()[0];
      normT.dispose();
    }
    const clip = this.maxGradNorm > 0 && Number.isFinite(this.maxGradNorm) ? Math.min(1, this.maxGradNorm / (gradNorm + 1e-6)) : 1;
    const lr = this.schedule(this.t);
    this.t += 1;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    const sqrtBc2 = Math.sqrt(bc2);
    for (const [k, g0] of list) {
      const p = this.params.get(k)!;
      const m = this.m.get(k)!;
      const v = this.v.get(k)!;
      const lrk = lr * this.lrScale(k);
      const stepSize = lrk / bc1;
      const decay = this.decays(k) ? lrk * this.weightDecay : 0;
      if (native && g0.dtype === 'float32') {
        // One native pass per tensor, the same float32 arithmetic in the same order as below;
        // in place when nothing else shares the variables' memory.
        const consts = Float64Array.of(clip, b1, 1 - b1, b2, 1 - b2, sqrtBc2, this.eps, decay !== 0 ? 1 - decay : 1, stepSize);
        if (native.updateInPlace(p, m, v, g0, consts)) continue;
        const outs = native.update(p, m, v, g0, consts);
        p.assign(outs[0]);
        m.assign(outs[1]);
        v.assign(outs[2]);
        tf.dispose(outs);
        continue;
      }
      tf.tidy(() => {
        const g = clip < 1 ? tf.mul(g0, clip) : g0;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), this.eps);
        let p1 = decay !== 0 ? tf.mul(p, 1 - decay) : (p as Tensor);
        p1 = tf.sub(p1, tf.mul(tf.div(m1, denom), stepSize));
        m.assign(m1);
        v.assign(v1);
        p.assign(p1);
      });
    }
    return { gradNorm, lr, step: this.t - 1 };
  }

  /** A copy of the state (the caller owns the tensors). */
  getState(): AdamWState {
    const m = new Map<string, Tensor>();
    const v = new Map<string, Tensor>();
    for (const [k, t] of this.m) m.set(k, t.clone());
    for (const [k, t] of this.v) v.set(k, t.clone());
    return { step: this.t, m, v };
  }

  /** Restore a state saved by getState (copied in; the caller still owns its tensors). */
  setState(state: AdamWState): void {
    const issues: Array<{ path: string; message: string }> = [];
    for (const [k, p] of this.params) {
      for (const [label, src] of [['m', state.m], ['v', state.v]] as const) {
        const t = src.get(k);
        if (!t) issues.push({ path: `${label}.${k}`, message: 'missing' });
        else if (t.shape.join(',') !== p.shape.join(',')) issues.push({ path: `${label}.${k}`, message: `shape [${t.shape}] but the parameter is [${p.shape}]` });
      }
    }
    if (issues.length) throw new ConfigError('AdamW.setState: the state does not match the optimised parameters', issues);
    for (const [k] of this.params) {
      this.m.get(k)!.assign(state.m.get(k)!);
      this.v.get(k)!.assign(state.v.get(k)!);
    }
    this.t = state.step;
  }

  /** Free the moment tensors. */
  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

// ---------------------------------------------------------------------------------------
// Gradients and accumulation
// ---------------------------------------------------------------------------------------

/**
 * Loss and gradients of `lossFn` with respect to the named variables (`tf.variableGrads`, keyed
 * back to our names). The caller owns the returned gradients.
 */
export function computeGradients(lossFn: () => Scalar, params: Map<string, Variable>): { loss: number; grads: Map<string, Tensor> } {
  const byVarName = new Map<string, string>();
  const varList: Variable[] = [];
  for (const [k, p] of params) {
    byVarName.set(p.name, k);
    varList.push(p);
  }
  const { value, grads } = tf.variableGrads(lossFn, varList);
  const loss = value.dataSync()[0];
  value.dispose();
  const out = new Map<string, Tensor>();
  for (const [name, g] of Object.entries(grads)) {
    const k = byVarName.get(name);
    if (k === undefined) g.dispose();
    else out.set(k, g);
  }
  return { loss, grads: out };
}

/**
 * Gradient accumulation: sums micro-batch gradients and hands back their mean, which equals
 * transformers' loss / gradient_accumulation_steps followed by summed backward passes.
 */
export class GradientAccumulator {
  private sums = new Map<string, Variable>();
  private n = 0;

  /** Micro-batches added since the last take(). */
  get count(): number {
    return this.n;
  }

  /** Add one micro-batch's gradients (not disposed). */
  add(grads: NamedTensors): void {
    for (const [k, g] of entries(grads)) {
      const s = this.sums.get(k);
      if (s) tf.tidy(() => s.assign(tf.add(s, g)));
      else this.sums.set(k, tf.tidy(() => tf.variable(g.clone(), false)));
    }
    this.n += 1;
  }

  /** The mean of the added gradients (new tensors the caller owns); resets the sums. */
  take(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const n = Math.max(1, this.n);
    for (const [k, s] of this.sums) out.set(k, tf.tidy(() => tf.div(s, n)));
    this.reset();
    return out;
  }

  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.n = 0;
  }

  dispose(): void {
    this.reset();
  }
}

/** Dispose every tensor of a gradient set. */
export function disposeGrads(grads: NamedTensors): void {
  for (const [, g] of entries(grads)) g.dispose();
}

/**
 * tfjs-backend-wasm 4.22 runs products with a transposed operand (every matmul gradient) on a
 * slow path; runtime's wrapper moves them onto the fast one with the same arithmetic. runtime.init()
 * installs it; this is kept for callers that set the backend themselves. Idempotent.
 */
export function installFastWasmMatMul(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  return installWasmFastMatMul();
}
