/**
 * Fused layer kernels on the WASM backend, run by the native addon (native/blas/src/fused.c)
 * on tensors in the WASM heap: scaled dot-product attention (QKᵀ, causal and key masks,
 * softmax, ·V) and its gradient, RMSNorm, LayerNorm, SwiGLU and quick-GELU with their
 * gradients, and the KV-cache append of generation. Each replaces 5–40 tfjs kernels (and as
 * many gradient kernels, each with the engine's per-launch bookkeeping) by one.
 *
 * They are active when the native addon is loaded on the WASM backend (runtime/wasm-matmul.ts
 * installs them) and not switched off with `ERASERLAB_FUSED=0` (or `setFusedKernels(false)`);
 * otherwise the model runs its tensor path. Results agree with the tensor path within float32
 * rounding, not bit for bit (tests/runtime/wasm-fused.test.ts): the softmax, the normalisation
 * gradients and the gradient accumulation round in a different order.
 */
import { tf } from './tf';
import type { Tensor } from './tf';
import type { NativeBlas } from './native-blas';

type TfKernelConfig = Parameters<typeof tf.registerKernel>[0];
type TensorInfo = { dataId: object; shape: number[]; dtype: string };
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackendLike; attrs: Record<string, unknown> };

/** The fused addon functions (see native/blas/src/fused.c). */
export interface NativeFused {
  attnFwd(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, probs: Float32Array, mask: Float32Array | null, dims: Float64Array): void;
  attnBwd(dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, dims: Float64Array): void;
  rmsFwd(x: Float32Array, w: Float32Array, y: Float32Array, r: Float32Array, dims: Float64Array): void;
  rmsBwd(dy: Float32Array, x: Float32Array, w: Float32Array, r: Float32Array, dx: Float32Array, dw: Float32Array, dims: Float64Array): void;
  lnFwd(x: Float32Array, w: Float32Array, b: Float32Array, y: Float32Array, r: Float32Array, dims: Float64Array): void;
  lnBwd(dy: Float32Array, x: Float32Array, w: Float32Array, r: Float32Array, dx: Float32Array, dw: Float32Array, db: Float32Array, dims: Float64Array): void;
  swigluFwd(g: Float32Array, u: Float32Array, y: Float32Array): void;
  swigluBwd(dy: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array): void;
  qgeluFwd(x: Float32Array, y: Float32Array): void;
  qgeluBwd(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  kvAppend(cache: Float32Array | null, x: Float32Array, out: Float32Array, dims: Float64Array): void;
  ropeFwd(x: Float32Array, cos: Float32Array, sin: Float32Array, y: Float32Array, dims: Float64Array): void;
  ropeBwd(dy: Float32Array, cos: Float32Array, sin: Float32Array, dx: Float32Array, dims: Float64Array): void;
  ceFwd(x: Float32Array, e: Float32Array, s: Float32Array, zt: Float32Array, dims: Float64Array): void;
  ceBwd(e: Float32Array, s: Float32Array, dy: Float32Array, dx: Float32Array, dims: Float64Array): void;
}

let lib: (NativeFused & Pick<NativeBlas, 'gemm'>) | undefined;
let enabled = !['0', 'off', 'false'].includes((process.env.ERASERLAB_FUSED ?? '').trim().toLowerCase());

const K = {
  attn: 'EraserlabAttention',
  attnGrad: 'EraserlabAttentionGrad',
  rms: 'EraserlabRmsNorm',
  rmsGrad: 'EraserlabRmsNormGrad',
  ln: 'EraserlabLayerNorm',
  lnGrad: 'EraserlabLayerNormGrad',
  swiglu: 'EraserlabSwiGlu',
  swigluGrad: 'EraserlabSwiGluGrad',
  qgelu: 'EraserlabQuickGelu',
  qgeluGrad: 'EraserlabQuickGeluGrad',
  kvAppend: 'EraserlabKvAppend',
  rope: 'EraserlabRope',
  ropeGrad: 'EraserlabRopeGrad',
  ce: 'EraserlabCrossEntropy',
  ceGrad: 'EraserlabCrossEntropyGrad',
  linear: 'EraserlabLinear',
  linearGradX: 'EraserlabLinearGradX',
  linearGradW: 'EraserlabLinearGradW',
} as const;

/** Outputs first (allocating may move the heap), then views of every tensor. */
function run(args: KernelArgs, outShapes: number[][], names: string[], call: (views: Float32Array[]) => void): TensorInfo[] {
  const outs = outShapes.map((s) => args.backend.makeOutput(s, 'float32'));
  const ins = names.map((n) => {
    const t = args.inputs[n];
    if (t.dtype !== 'float32') throw new Error(`fused kernel: input ${n} must be float32, got ${t.dtype}`);
    return args.backend.typedArrayFromHeap(t);
  });
  call([...ins, ...outs.map((o) => args.backend.typedArrayFromHeap(o))]);
  return outs;
}

const KERNELS: Record<string, (args: KernelArgs) => TensorInfo[] | TensorInfo> = {
  [K.attn]: (args) => {
    const { q, k } = args.inputs;
    const [B, T, nh] = q.shape;
    const S = (args.attrs.dims as Float64Array)[2];
    void k;
    return run(args, [q.shape, [B, nh, T, S]], ['q', 'k', 'v'], ([q2, k2, v2, out, probs]) =>
      lib!.attnFwd(q2, k2, v2, out, probs, (args.attrs.mask as Float32Array | null) ?? null, args.attrs.dims as Float64Array),
    );
  },
  [K.attnGrad]: (args) =>
    run(args, [args.inputs.q.shape, args.inputs.k.shape, args.inputs.v.shape], ['dy', 'q', 'k', 'v', 'probs'], ([dy, q, k, v, p, dq, dk, dv]) =>
      lib!.attnBwd(dy, q, k, v, p, dq, dk, dv, args.attrs.dims as Float64Array),
    ),
  [K.rms]: (args) => run(args, [args.inputs.x.shape, [args.attrs.rows as number]], ['x', 'w'], ([x, w, y, r]) => lib!.rmsFwd(x, w, y, r, args.attrs.dims as Float64Array)),
  [K.rmsGrad]: (args) =>
    run(args, [args.inputs.x.shape, args.inputs.w.shape], ['dy', 'x', 'w', 'r'], ([dy, x, w, r, dx, dw]) => lib!.rmsBwd(dy, x, w, r, dx, dw, args.attrs.dims as Float64Array)),
  [K.ln]: (args) => run(args, [args.inputs.x.shape, [args.attrs.rows as number]], ['x', 'w', 'b'], ([x, w, b, y, r]) => lib!.lnFwd(x, w, b, y, r, args.attrs.dims as Float64Array)),
  [K.lnGrad]: (args) =>
    run(args, [args.inputs.x.shape, args.inputs.w.shape, args.inputs.w.shape], ['dy', 'x', 'w', 'r'], ([dy, x, w, r, dx, dw, db]) =>
      lib!.lnBwd(dy, x, w, r, dx, dw, db, args.attrs.dims as Float64Array),
    ),
  [K.swiglu]: (args) => run(args, [args.inputs.g.shape], ['g', 'u'], ([g, u, y]) => lib!.swigluFwd(g, u, y)),
  [K.swigluGrad]: (args) => run(args, [args.inputs.g.shape, args.inputs.g.shape], ['dy', 'g', 'u'], ([dy, g, u, dg, du]) => lib!.swigluBwd(dy, g, u, dg, du)),
  [K.qgelu]: (args) => run(args, [args.inputs.x.shape], ['x'], ([x, y]) => lib!.qgeluFwd(x, y))[0],
  [K.qgeluGrad]: (args) => run(args, [args.inputs.x.shape], ['dy', 'x'], ([dy, x, dx]) => lib!.qgeluBwd(dy, x, dx))[0],
  [K.rope]: (args) => run(args, [args.inputs.x.shape], ['x'], ([x, y]) => lib!.ropeFwd(x, args.attrs.cos as Float32Array, args.attrs.sin as Float32Array, y, args.attrs.dims as Float64Array))[0],
  [K.ropeGrad]: (args) =>
    run(args, [args.inputs.dy.shape], ['dy'], ([dy, dx]) => lib!.ropeBwd(dy, args.attrs.cos as Float32Array, args.attrs.sin as Float32Array, dx, args.attrs.dims as Float64Array))[0],
  [K.ce]: (args) => {
    const [N, V] = args.inputs.x.shape;
    return run(args, [[N, V], [N, 1], [N]], ['x'], ([x, e, sum, zt]) => lib!.ceFwd(x, e, sum, zt, args.attrs.dims as Float64Array));
  },
  [K.ceGrad]: (args) => run(args, [args.inputs.e.shape], ['e', 's', 'dy'], ([e, sum, dy, dx]) => lib!.ceBwd(e, sum, dy, dx, args.attrs.dims as Float64Array))[0],
  // x [M, K] · w [K, N] (+ b [N]): the same cblas_sgemm call (and bias loop) as tfjs' matMul and
  // fused matMul reach through runtime/wasm-matmul.ts, without their reshapes to 3-D.
  [K.linear]: (args) => {
    const { x, w, b } = args.inputs;
    const [M, Kd] = x.shape;
    const N = w.shape[1];
    return run(args, [[M, N]], b ? ['x', 'w', 'b'] : ['x', 'w'], (v) => {
      const y = v[v.length - 1];
      lib!.gemm(v[0], v[1], y, 1, M, N, Kd, false, false, 0, 0);
      if (b) biasActivation(y, v[2], N, 'linear');
    })[0];
  },
  // dx [M, K] = dy [M, N] · wᵀ and dw [K, N] = xᵀ · dy: the calls tfjs' matMul gradient makes.
  [K.linearGradX]: (args) => {
    const { dy, w } = args.inputs;
    const [M, N] = dy.shape;
    const Kd = w.shape[0];
    return run(args, [[M, Kd]], ['dy', 'w'], ([g, ww, dx]) => lib!.gemm(g, ww, dx, 1, M, Kd, N, false, true, 0, 0))[0];
  },
  [K.linearGradW]: (args) => {
    const { x, dy } = args.inputs;
    const [M, Kd] = x.shape;
    const N = dy.shape[1];
    return run(args, [[Kd, N]], ['x', 'dy'], ([xx, g, dw]) => lib!.gemm(xx, g, dw, 1, Kd, N, M, true, false, 0, 0))[0];
  },
  [K.kvAppend]: (args) => {
    const dims = args.attrs.dims as Float64Array;
    const [B, past, T, kvh, D] = Array.from(dims);
    const names = past > 0 ? ['cache', 'x'] : ['x'];
    return run(args, [[B * kvh, past + T, D]], names, (v) => (past > 0 ? lib!.kvAppend(v[0], v[1], v[2], dims) : lib!.kvAppend(null, v[0], v[1], dims)))[0];
  },
};

/** Add a last-axis (or scalar) bias and apply a linear or ReLU activation to c in place. */
export function biasActivation(c: Float32Array, bias: Float32Array | undefined, N: number, act: string): void {
  if (!bias && act === 'linear') return;
  const scalar = bias !== undefined && bias.length === 1;
  for (let i = 0; i < c.length; i += N) {
    for (let j = 0; j < N; j++) {
      let v = c[i + j];
      if (bias) v += scalar ? bias[0] : bias[j];
      c[i + j] = act === 'relu' && v < 0 ? 0 : v;
    }
  }
}

/** Register the fused kernels on 'wasm' with the addon's functions (called by installWasmFastMatMul). */
export function installWasmFused(native: NativeBlas | undefined): boolean {
  const f = native as unknown as Partial<NativeFused> | undefined;
  if (!f || typeof f.attnFwd !== 'function' || typeof f.kvAppend !== 'function' || typeof f.ceFwd !== 'function') {
    lib = undefined;
    return false;
  }
  lib = f as NativeFused & Pick<NativeBlas, 'gemm'>;
  for (const [name, fn] of Object.entries(KERNELS)) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn as unknown as TfKernelConfig['kernelFunc'] } as TfKernelConfig);
  }
  if (!tf.getGradient(K.linear)) {
    // A registered gradient (not customGrad): one tape node per linear layer, x and w saved
    // without copies, and only the gradients the tape asks for are computed (a frozen weight's
    // is not). The bias gradient is tfjs' sum over the rows.
    tf.registerGradient({
      kernelName: K.linear,
      inputsToSave: ['x', 'w'],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const g = dy as Tensor;
        const [x, w] = saved;
        return { x: () => runKernel(K.linearGradX, { dy: g, w })[0], w: () => runKernel(K.linearGradW, { x, dy: g })[0], b: () => tf.sum(g, 0) };
      },
    } as unknown as Parameters<typeof tf.registerGradient>[0]);
  }
  return true;
}

/** Forget the addon (the kernels stay registered but fusedKernelsActive() turns false). */
export function uninstallWasmFused(): void {
  lib = undefined;
}

/** Turn the fused kernels on or off for this process (the default follows ERASERLAB_FUSED). Returns the previous setting. */
export function setFusedKernels(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** Whether the model's layers use the fused kernels now: the addon is loaded, the backend is WASM, and they are not switched off. */
export function fusedKernelsActive(): boolean {
  return enabled && lib !== undefined && tf.getBackend() === 'wasm';
}

/** Whether a gradient tape is recording (inside tf.grads / variableGrads): otherwise the ops skip customGrad's bookkeeping. */
const tapeOn = (): boolean => (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();

const runKernel = (name: string, inputs: Record<string, Tensor>, attrs: Record<string, unknown> = {}): Tensor[] =>
  [tf.engine().runKernel(name, inputs as never, attrs as never) as unknown as Tensor | Tensor[]].flat();

export interface FusedAttentionOptions {
  /** Layout of k and v: 'bthd' = [B, S, kvHeads, D]; 'bhsd' = [B·kvHeads, S, D] (the KV cache). */
  kvLayout: 'bthd' | 'bhsd';
  kvHeads: number;
  /** Query t sees keys up to past + t. */
  causal: boolean;
  /** Cached positions before the queries (with causal). */
  past?: number;
  /** Key mask [B][S] (1 = attend). */
  keyMask?: number[][];
  /** Multiplies the queries before the product. */
  scale: number;
}

/**
 * softmax(scale·Q·Kᵀ + mask)·V for q [B, T, heads, D], k and v in `kvLayout`; returns
 * [B, T, heads, D]. Differentiable in q, k and v. A query that may see no key attends
 * uniformly to all keys (as the tensor path's −1e9 bias does).
 */
export function fusedAttention(q: Tensor, k: Tensor, v: Tensor, o: FusedAttentionOptions): Tensor {
  if (!tapeOn()) return fusedAttentionInference(q, k, v, o);
  const { dims, mask } = attentionAttrs(q, k, o);
  const f = tf.customGrad((...args: unknown[]) => {
    const [qq, kk, vv] = args as Tensor[];
    const save = args[3] as (ts: Tensor[]) => void;
    const [out, probs] = runKernel(K.attn, { q: qq, k: kk, v: vv }, { dims, mask });
    saveShared(save, [qq, kk, vv, probs]);
    return {
      value: out,
      gradFunc: (dy: Tensor, saved: Tensor[]) => runKernel(K.attnGrad, { dy, q: saved[0], k: saved[1], v: saved[2], probs: saved[3] }, { dims }),
    };
  });
  return f(q, k, v) as Tensor;
}

/** Attention without a gradient (generation): one kernel, the probabilities dropped at once. */
export function fusedAttentionInference(q: Tensor, k: Tensor, v: Tensor, o: FusedAttentionOptions): Tensor {
  const { dims, mask } = attentionAttrs(q, k, o);
  const [out, probs] = runKernel(K.attn, { q, k, v }, { dims, mask });
  probs.dispose();
  return out;
}

function attentionAttrs(q: Tensor, k: Tensor, o: FusedAttentionOptions): { dims: Float64Array; mask: Float32Array | null } {
  const [B, T, nh, D] = q.shape as [number, number, number, number];
  const S = k.shape[1] as number;
  let mask: Float32Array | null = null;
  if (o.keyMask) {
    mask = new Float32Array(B * S);
    for (let b = 0; b < B; b++) {
      const row = o.keyMask[b];
      if (!row || row.length < S) throw new Error(`fusedAttention: keyMask[${b}] must hold ${S} entries`);
      for (let s = 0; s < S; s++) mask[b * S + s] = row[s] ? 1 : 0;
    }
  }
  const dims = new Float64Array([B, T, S, nh, o.kvHeads, D, o.kvLayout === 'bthd' ? 0 : 1, o.causal ? 1 : 0, o.past ?? 0, o.scale, mask ? 1 : 0]);
  return { dims, mask };
}

interface SharingEngine {
  clone(t: Tensor): Tensor;
  backend: { incRef(dataId: object): void };
  makeTensorFromTensorInfo(info: { dataId: object; shape: number[]; dtype: string }, backend: unknown): Tensor;
}

/**
 * A new tracked tensor on t's data, without a kernel launch or a tape node (the backend's
 * reference count keeps the memory until both are disposed). How the tensors saved for a
 * gradient are kept: here for customGrad's `save`, in runtime/wasm-matmul.ts for kernels.
 */
export function sharedTensor(t: Tensor): Tensor {
  const engine = tf.engine() as unknown as SharingEngine;
  engine.backend.incRef(t.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, engine.backend);
}

/**
 * customGrad's `save`, with the saved tensors sharing memory with the originals: the engine
 * saves through `clone`, an Identity kernel launch and a tape node per tensor (54 per training
 * step of the default model); here `clone` is sharedTensor for the duration of the call (the
 * saved tensors are freed with the tape as before).
 */
function saveShared(save: (ts: Tensor[]) => void, ts: Tensor[]): void {
  const engine = tf.engine() as unknown as SharingEngine;
  const own = Object.prototype.hasOwnProperty.call(engine, 'clone');
  const clone = engine.clone;
  engine.clone = sharedTensor;
  try {
    save(ts);
  } finally {
    if (own) engine.clone = clone;
    else delete (engine as Partial<SharingEngine>).clone;
  }
}

/** The first output; the others (kept only for a gradient) freed at once. */
function dropAux(outs: Tensor[]): Tensor {
  for (let i = 1; i < outs.length; i++) outs[i].dispose();
  return outs[0];
}

/** LlamaRMSNorm x · rsqrt(mean(x²) + ε) · w over the last axis, differentiable in x and w. */
export function fusedRmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const n = x.shape[x.rank - 1];
  const rows = x.size / n;
  const dims = new Float64Array([rows, n, eps]);
  if (!tapeOn()) return dropAux(runKernel(K.rms, { x, w }, { dims, rows }));
  const f = tf.customGrad((...args: unknown[]) => {
    const [xx, ww] = args as Tensor[];
    const save = args[2] as (ts: Tensor[]) => void;
    const [y, r] = runKernel(K.rms, { x: xx, w: ww }, { dims, rows });
    saveShared(save, [xx, ww, r]);
    return { value: y, gradFunc: (dy: Tensor, s: Tensor[]) => runKernel(K.rmsGrad, { dy, x: s[0], w: s[1], r: s[2] }, { dims }) };
  });
  return f(x, w) as Tensor;
}

/** torch.nn.LayerNorm over the last axis (biased variance), differentiable in x, w and b. */
export function fusedLayerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const n = x.shape[x.rank - 1];
  const rows = x.size / n;
  const dims = new Float64Array([rows, n, eps]);
  if (!tapeOn()) return dropAux(runKernel(K.ln, { x, w, b }, { dims, rows }));
  const f = tf.customGrad((...args: unknown[]) => {
    const [xx, ww, bb] = args as Tensor[];
    const save = args[3] as (ts: Tensor[]) => void;
    const [y, r] = runKernel(K.ln, { x: xx, w: ww, b: bb }, { dims, rows });
    saveShared(save, [xx, ww, r]);
    return { value: y, gradFunc: (dy: Tensor, s: Tensor[]) => runKernel(K.lnGrad, { dy, x: s[0], w: s[1], r: s[2] }, { dims }) };
  });
  return f(x, w, b) as Tensor;
}

/** silu(g) · u (Llama's MLP), differentiable in g and u. */
export function fusedSwiGlu(g: Tensor, u: Tensor): Tensor {
  if (!tapeOn()) return runKernel(K.swiglu, { g, u })[0];
  const f = tf.customGrad((...args: unknown[]) => {
    const [gg, uu] = args as Tensor[];
    const save = args[2] as (ts: Tensor[]) => void;
    const [y] = runKernel(K.swiglu, { g: gg, u: uu });
    saveShared(save, [gg, uu]);
    return { value: y, gradFunc: (dy: Tensor, s: Tensor[]) => runKernel(K.swigluGrad, { dy, g: s[0], u: s[1] }) };
  });
  return f(g, u) as Tensor;
}

/** CLIP's quick_gelu x · σ(1.702 x), differentiable. */
export function fusedQuickGelu(x: Tensor): Tensor {
  if (!tapeOn()) return runKernel(K.qgelu, { x })[0];
  const f = tf.customGrad((...args: unknown[]) => {
    const xx = args[0] as Tensor;
    const save = args[1] as (ts: Tensor[]) => void;
    const [y] = runKernel(K.qgelu, { x: xx });
    saveShared(save, [xx]);
    return { value: y, gradFunc: (dy: Tensor, s: Tensor[]) => runKernel(K.qgeluGrad, { dy, x: s[0] }) };
  });
  return f(x) as Tensor;
}

/**
 * Rotary embedding of x [B, T, heads, D] with tables cos, sin [B·T·D] (one row of D per
 * position; rotate_half's sign folded into sin, as layers.ropeTables lays them out):
 * x·cos + rotate_half(x)·sin, differentiable in x.
 */
export function fusedRope(x: Tensor, cos: Float32Array, sin: Float32Array): Tensor {
  const [B, T, H, D] = x.shape as [number, number, number, number];
  if (cos.length < B * T * D || sin.length < B * T * D) throw new Error(`fusedRope: tables hold ${Math.min(cos.length, sin.length)} values, ${B * T * D} needed for x [${x.shape.join(', ')}]`);
  const dims = new Float64Array([B * T, H, D]);
  const attrs = { cos, sin, dims };
  if (!tapeOn()) return runKernel(K.rope, { x }, attrs)[0];
  const f = tf.customGrad((...args: unknown[]) => {
    const [y] = runKernel(K.rope, { x: args[0] as Tensor }, attrs);
    return { value: y, gradFunc: (dy: Tensor) => runKernel(K.ropeGrad, { dy }, attrs) };
  });
  return f(x) as Tensor;
}

/**
 * Per-row cross-entropy −log softmax(logits)[target] [N] of logits [N, V], differentiable in
 * the logits: one kernel forward (max, exp, row sums, the target's logit) and one backward
 * ((softmax − onehot) · dy), each step the arithmetic of the WASM kernels of the tensor path
 * (its exp is the WASM backend's own expf), so the same bits as `softmaxCrossEntropyRows`'
 * tensor ops; only log(Σ) (N values) stays a tfjs op.
 */
export function fusedSoftmaxCrossEntropy(logits: Tensor, targets: ArrayLike<number>): Tensor {
  const [N, V] = logits.shape as [number, number];
  if (logits.rank !== 2 || targets.length !== N) throw new Error(`fusedSoftmaxCrossEntropy: logits [${logits.shape.join(', ')}] and ${targets.length} targets: expected [N, V] and N targets`);
  const dims = new Float64Array(2 + N);
  dims[0] = N;
  dims[1] = V;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`fusedSoftmaxCrossEntropy: targets[${i}] = ${t} is not a class in [0, ${V})`);
    dims[2 + i] = t;
  }
  const value = (s: Tensor, zt: Tensor): Tensor => tf.sub(tf.log(tf.reshape(s, [N])), zt);
  if (!tapeOn()) {
    const [e, s, zt] = runKernel(K.ce, { x: logits }, { dims });
    const out = value(s, zt);
    tf.dispose([e, s, zt]);
    return out;
  }
  const f = tf.customGrad((...args: unknown[]) => {
    const save = args[1] as (ts: Tensor[]) => void;
    const [e, s, zt] = runKernel(K.ce, { x: args[0] as Tensor }, { dims });
    saveShared(save, [e, s]);
    return { value: value(s, zt), gradFunc: (dy: Tensor, saved: Tensor[]) => runKernel(K.ceGrad, { e: saved[0], s: saved[1], dy }, { dims })[0] };
  });
  return f(logits) as Tensor;
}

/**
 * x [M, K] · w [K, N] (+ b [N]) as one kernel (and one kernel per gradient), differentiable in
 * x, w and b: the same products and bias step, to the bit, as `tf.matMul` / `tf.fused.matMul`
 * on this backend, without their reshapes to 3-D and the reshapes of their gradients.
 */
export function fusedLinear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0] || (b && (b.rank !== 1 || b.shape[0] !== w.shape[1]))) {
    throw new Error(`fusedLinear: x [${x.shape.join(', ')}] · w [${w.shape.join(', ')}]${b ? ` + b [${b.shape.join(', ')}]` : ''}: expected x [M, K], w [K, N], b [N]`);
  }
  return runKernel(K.linear, b ? { x, w, b } : { x, w })[0];
}

/**
 * The KV cache extended by new keys or values: cache [B·kvHeads, past, D] (or undefined for
 * none) followed by x [B, T, kvHeads, D], as [B·kvHeads, past + T, D]. No gradient.
 */
export function fusedKvAppend(cache: Tensor | undefined, x: Tensor): Tensor {
  const [B, T, kvh, D] = x.shape as [number, number, number, number];
  const past = cache ? (cache.shape[1] as number) : 0;
  const dims = new Float64Array([B, past, T, kvh, D]);
  return runKernel(K.kvAppend, past > 0 ? { cache: cache!, x } : { x }, { dims })[0];
}
