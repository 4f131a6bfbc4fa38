/**
 * Fast paths for matrix products on the WASM backend (issue 7).
 *
 * tfjs-backend-wasm 4.22 hands a product to XNNPACK only when both operands are plain 2-D
 * (batch 1) and neither is transposed; everything else (a [B, T, in] activation times a
 * [in, out] weight, `transposeA`/`transposeB`, which every matMul gradient uses, batched
 * attention products) falls to a naive loop that runs 10–15× slower (measured on this
 * machine: 0.35 vs 4.6 GFLOP/s for the same [512,128]×[128,352] product). The wrapper
 * registered here rewrites those cases onto the fast path, with the same arithmetic:
 *
 * - explicit transposes (a cheap O(n²) copy) instead of transposed products;
 * - a batched left operand times an unbatched right one becomes one 2-D product
 *   ([B·M, K] × [K, N]);
 * - batched × batched (attention) becomes one 2-D product per batch entry, copied in and
 *   out of the WASM heap, when the batch is not huge.
 *
 * Enabled with the WASM backend by runtime.init(); `ERASERLAB_WASM_FAST_MATMUL=0` turns it
 * off. tests/runtime/wasm-matmul.test.ts checks it against the original kernel.
 */
import { tf } from './tf';
import type { Tensor } from './tf';
import { loadNativeBlas, type NativeBlas } from './native-blas';
import { biasActivation, installWasmFused, sharedTensor, uninstallWasmFused } from './wasm-fused';

type TfKernelConfig = Parameters<typeof tf.registerKernel>[0];

type TensorInfo = { dataId: object; shape: number[]; dtype: string };

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: WasmBackendLike; attrs: Record<string, unknown> };
type KernelFunc = (args: KernelArgs) => TensorInfo;

interface KernelConfigLike {
  kernelName: string;
  backendName: string;
  kernelFunc: KernelFunc;
  setupFunc?: (backend: unknown) => void;
  disposeFunc?: (backend: unknown) => void;
}

/** Batched × batched products are split per batch entry up to this many entries... */
const MAX_SPLIT = 256;
/** ...and only when each entry is big enough to pay for the copies (M·K·N multiply-adds). */
const MIN_SPLIT_WORK = 8192;

let installed = false;
const originals = new Map<string, KernelConfigLike>();

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function reshapeInfo(backend: WasmBackendLike, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

/** [..., M, K] → [..., K, M] as a new tensor (plain copy loop on the heap). */
function transposeLast2(backend: WasmBackendLike, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const M = x.shape[r - 2];
  const K = x.shape[r - 1];
  const batch = size(x.shape.slice(0, -2));
  const out = backend.makeOutput([...x.shape.slice(0, -2), K, M], x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  for (let b = 0; b < batch; b++) {
    const o = b * M * K;
    for (let i = 0; i < M; i++) {
      const row = o + i * K;
      for (let j = 0; j < K; j++) dst[o + j * M + i] = src[row + j];
    }
  }
  return out;
}

function broadcastBatch(a: number[], b: number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(Math.max(x, y));
  }
  return out;
}

/**
 * For each entry of the broadcast output batch, the flat batch index into A and into B.
 * (tfjs 4.22's own kernels, CPU and WASM alike, flatten the batch dims before broadcasting,
 * which gets e.g. [2,1,M,K] × [1,3,K,N] wrong; these indices follow NumPy broadcasting.)
 */
function batchIndices(outBatch: number[], dimsA: number[], dimsB: number[]): { ia: Int32Array; ib: Int32Array } {
  const n = outBatch.length;
  const A = Array.from({ length: n }, (_, i) => dimsA[dimsA.length - n + i] ?? 1);
  const B = Array.from({ length: n }, (_, i) => dimsB[dimsB.length - n + i] ?? 1);
  const total = size(outBatch);
  const ia = new Int32Array(total);
  const ib = new Int32Array(total);
  for (let o = 0; o < total; o++) {
    let rem = o;
    let x = 0;
    let y = 0;
    let sa = 1;
    let sb = 1;
    for (let d = n - 1; d >= 0; d--) {
      const idx = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      x += (A[d] === 1 ? 0 : idx) * sa;
      y += (B[d] === 1 ? 0 : idx) * sb;
      sa *= A[d];
      sb *= B[d];
    }
    ia[o] = x;
    ib[o] = y;
  }
  return { ia, ib };
}

/**
 * The rewritten product. `call2d(a2, b2)` runs the original kernel on [1, M, K] × [1, K, N]
 * untransposed operands (extra inputs such as a bias are the caller's business). Returns undefined when
 * the case is left to the original kernel.
 */
function fastProduct(args: KernelArgs, call2d: (a: TensorInfo, b: TensorInfo) => TensorInfo): TensorInfo | undefined {
  const { backend } = args;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const transposeA = Boolean(args.attrs.transposeA);
  const transposeB = Boolean(args.attrs.transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const batchDimsA = a.shape.slice(0, -2);
  const batchDimsB = b.shape.slice(0, -2);
  const batchA = size(batchDimsA);
  const batchB = size(batchDimsB);
  // Already the fast case: leave it alone.
  if (batchA === 1 && batchB === 1 && !transposeA && !transposeB) return undefined;
  const outBatch = broadcastBatch(batchDimsA, batchDimsB);
  if (!outBatch) return undefined;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== K) return undefined;
  const general = batchA > 1 && batchB > 1 && batchA !== batchB; // broadcast the original kernel gets wrong
  if (!general && size(outBatch) > MAX_SPLIT && batchB > 1) return undefined;
  if (!general && batchB > 1 && M * K * N < MIN_SPLIT_WORK) return undefined;
  if (M * K === 0 || K * N === 0) return undefined;

  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo): TensorInfo => {
    temps.push(t);
    return t;
  };
  try {
    const at = transposeA ? keep(transposeLast2(backend, a)) : a; // [..., M, K]
    const bt = transposeB ? keep(transposeLast2(backend, b)) : b; // [..., K, N]
    const outShape = [...outBatch, M, N];
    if (batchB === 1) {
      // Fold A's batch into rows: one [batchA·M, K] × [K, N] product.
      // Rank 3 with batch 1: the shape the fused kernel expects, and the XNNPACK path.
      const a2 = keep(reshapeInfo(backend, at, [1, batchA * M, K]));
      const b2 = keep(reshapeInfo(backend, bt, [1, K, N]));
      const o2 = call2d(a2, b2);
      if (batchA === size(outBatch)) {
        const out = reshapeInfo(backend, o2, outShape);
        backend.disposeData(o2.dataId);
        return out;
      }
      // A's batch dims broadcast against B's ones of size 1 only: sizes already agree.
      backend.disposeData(o2.dataId);
      return undefined;
    }
    // Batched right operand: one 2-D product per batch entry.
    const batch = size(outBatch);
    const { ia, ib } = batchIndices(outBatch, batchDimsA, batchDimsB);
    const out = backend.makeOutput(outShape, 'float32');
    for (let i = 0; i < batch; i++) {
      const ai = keepSlice(backend, at, ia[i], M * K, [1, M, K]);
      const bi = keepSlice(backend, bt, ib[i], K * N, [1, K, N]);
      const oi = call2d(ai, bi);
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * M * N);
      backend.disposeData(ai.dataId);
      backend.disposeData(bi.dataId);
      backend.disposeData(oi.dataId);
    }
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Copy batch entry `i` (n values) of a contiguous [batch, ...] tensor into a new [shape] tensor. */
function keepSlice(backend: WasmBackendLike, x: TensorInfo, i: number, n: number, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, x.dtype);
  const src = backend.typedArrayFromHeap(x);
  backend.typedArrayFromHeap(out).set(src.subarray(i * n, (i + 1) * n));
  return out;
}

/**
 * The whole product in one call of the native addon's `cblas_sgemm` loop, reading and writing
 * the WASM heap in place: transposes become BLAS flags, a broadcast operand a zero stride, and
 * a batched left operand times an unbatched right one a single [B·M, K] × [K, N] product.
 * Undefined (left to the other paths) for non-float32 operands or a batch broadcast other than
 * "equal, or one side 1".
 */
function nativeProduct(args: KernelArgs, lib: NativeBlas): TensorInfo | undefined {
  const { backend } = args;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ta = Boolean(args.attrs.transposeA);
  const tb = Boolean(args.attrs.transposeB);
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return undefined;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const outBatch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!outBatch) return undefined;
  const batch = size(outBatch);
  const simple = (batchA === 1 || batchA === batch) && (batchB === 1 || batchB === batch);
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((tb ? b.shape[rb - 1] : b.shape[rb - 2]) !== K) return undefined;
  const out = backend.makeOutput([...outBatch, M, N], 'float32');
  if (batch * M * N === 0) return out;
  // Views only after makeOutput: allocating may grow (and move) the heap.
  const av = backend.typedArrayFromHeap(a);
  const bv = backend.typedArrayFromHeap(b);
  const cv = backend.typedArrayFromHeap(out);
  if (!simple) {
    const { ia, ib } = batchIndices(outBatch, a.shape.slice(0, -2), b.shape.slice(0, -2));
    for (let i = 0; i < batch; i++) {
      lib.gemm(av.subarray(ia[i] * M * K, (ia[i] + 1) * M * K), bv.subarray(ib[i] * K * N, (ib[i] + 1) * K * N), cv.subarray(i * M * N, (i + 1) * M * N), 1, M, N, K, ta, tb, 0, 0);
    }
  } else if (batchB === 1 && !ta) lib.gemm(av, bv, cv, 1, batch * M, N, K, false, tb, 0, 0);
  else lib.gemm(av, bv, cv, batch, M, N, K, ta, tb, batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N);
  return out;
}

/** The addon the installed wrappers use (undefined: the JS fast paths only). */
let nativeLib: NativeBlas | undefined;

function wrapBatchMatMul(orig: KernelConfigLike): KernelFunc {
  return (args) => {
    const lib = nativeLib;
    if (lib) {
      const r = nativeProduct(args, lib);
      if (r) return r;
    }
    const plain = (a: TensorInfo, b: TensorInfo): TensorInfo => orig.kernelFunc({ inputs: { a, b }, backend: args.backend, attrs: { transposeA: false, transposeB: false } });
    return fastProduct(args, plain) ?? orig.kernelFunc(args);
  };
}

/**
 * Fused products the wrappers finish themselves: with a linear or ReLU activation and a
 * last-axis (or scalar) bias, the product (native, or zeros when the inner dimension is 0,
 * where the original kernel returns uninitialised memory), then bias and activation in place.
 */
function ownFused(args: KernelArgs, lib: NativeBlas | undefined): TensorInfo | undefined {
  const { bias, preluActivationWeights } = args.inputs;
  const act = (args.attrs.activation as string | undefined) ?? 'linear';
  if (preluActivationWeights || (act !== 'linear' && act !== 'relu')) return undefined;
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const N = args.attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const K = args.attrs.transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  if (bias && (bias.dtype !== 'float32' || (size(bias.shape) !== N && size(bias.shape) !== 1))) return undefined;
  if (!lib && K !== 0) return undefined;
  const out = nativeProduct(args, lib ?? ZERO_PRODUCT);
  if (!out) return undefined;
  biasActivation(args.backend.typedArrayFromHeap(out), bias ? args.backend.typedArrayFromHeap(bias) : undefined, N, act);
  return out;
}

/** Stand-in "library" for K = 0 products without the addon: every product is zeros. */
const ZERO_PRODUCT: NativeBlas = {
  gemm: (_a, _b, c) => c.fill(0),
  sumsq: () => 0,
  adamw: () => undefined,
  setThreads: () => undefined,
  getThreads: () => 1,
  info: () => 'zeros',
};

function wrapFusedMatMul(orig: KernelConfigLike): KernelFunc {
  return (args) => {
    const own = ownFused(args, nativeLib);
    if (own) return own;
    const { bias, preluActivationWeights } = args.inputs;
    // Only a bias over the last axis survives folding the batch into rows unchanged.
    const b = args.inputs.b!;
    const N = args.attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    if (preluActivationWeights) return orig.kernelFunc(args);
    if (bias && size(bias.shape) !== N && size(bias.shape) !== 1) return orig.kernelFunc(args);
    const fused = (a2: TensorInfo, b2: TensorInfo): TensorInfo =>
      orig.kernelFunc({ inputs: { a: a2, b: b2, bias }, backend: args.backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    // Per-batch splitting would apply the activation per piece: fine; the bias is per column.
    return fastProduct(args, fused) ?? orig.kernelFunc(args);
  };
}

/**
 * GatherV2 along any axis without batch dims, as contiguous slice copies on the heap. The WASM
 * kernel walks every output element through stride arithmetic (about 60 ns each here: 19 ms to
 * pick 192 rows of a [512, 1647] logits matrix, 5% of a training step); copying whole slices
 * with `TypedArray.set` is the same result at memcpy speed. Out-of-range indices throw the
 * original kernel's message.
 */
function wrapGather(orig: KernelConfigLike): KernelFunc {
  return (args) => {
    const { backend } = args;
    const x = args.inputs.x!;
    const indices = args.inputs.indices!;
    const batchDims = Number(args.attrs.batchDims ?? 0);
    if (batchDims !== 0 || indices.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return orig.kernelFunc(args);
    let axis = Number(args.attrs.axis ?? 0);
    if (axis < 0) axis += x.shape.length;
    if (!(axis >= 0 && axis < x.shape.length)) return orig.kernelFunc(args);
    const dim = x.shape[axis];
    const outer = size(x.shape.slice(0, axis));
    const inner = size(x.shape.slice(axis + 1));
    const idx = backend.typedArrayFromHeap(indices) as unknown as Int32Array;
    const n = idx.length;
    for (let i = 0; i < n; i++) {
      const v = idx[i];
      if (!(v >= 0 && v <= dim - 1)) throw new Error(`GatherV2: the index value ${v} is not in [0, ${dim - 1}]`);
    }
    const picked = Int32Array.from(idx); // the heap may move when the output is allocated
    const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
    if (out.shape.some((d) => d === 0)) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    if (inner === 1) {
      for (let o = 0; o < outer; o++) {
        const so = o * dim;
        const d0 = o * n;
        for (let i = 0; i < n; i++) dst[d0 + i] = src[so + picked[i]];
      }
    } else {
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < n; i++) {
          const s0 = (o * dim + picked[i]) * inner;
          dst.set(src.subarray(s0, s0 + inner), (o * n + i) * inner);
        }
      }
    }
    return out;
  };
}

/** The fused AdamW kernel's name (registered on 'wasm' with the native addon). */
const ADAMW_KERNEL = 'EraserlabAdamW';

/** One AdamW update of one tensor in a single native pass: inputs p, m, v, g; outputs p′, m′, v′. */
function adamwKernel(args: KernelArgs): TensorInfo[] {
  const lib = nativeLib;
  if (!lib) throw new Error(`${ADAMW_KERNEL} needs the native OpenBLAS addon`);
  const { backend } = args;
  const { p, m, v, g } = args.inputs as Record<'p' | 'm' | 'v' | 'g', TensorInfo>;
  const outs = [p, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const view = (t: TensorInfo) => backend.typedArrayFromHeap(t);
  lib.adamw(view(p), view(m), view(v), view(g), view(outs[0]), view(outs[1]), view(outs[2]), args.attrs.consts as Float64Array);
  return outs;
}

/** Native AdamW pieces for optimisers (model/optim.ts), when the addon is active on WASM. */
export interface NativeAdamW {
  /** Σ x² of a float32 tensor (accumulated in double). */
  sumSquares(t: Tensor): number;
  /** [p′, m′, v′] for consts [clip, β1, 1−β1, β2, 1−β2, √(1−β2ᵗ), ε, 1−lr·wd, step size] (see native/blas/src/blas.c). */
  update(p: Tensor, m: Tensor, v: Tensor, g: Tensor, consts: Float64Array): [Tensor, Tensor, Tensor];
  /**
   * The same update written into the memory of the variables p, m and v themselves, when no
   * other tensor shares that memory (backend reference count 1 each) and g is a different
   * tensor; false (nothing written) otherwise. Saves three allocations and assigns per tensor.
   */
  updateInPlace(p: Tensor, m: Tensor, v: Tensor, g: Tensor, consts: Float64Array): boolean;
}

/** The native AdamW pieces, or undefined when the backend is not WASM or the addon is not active. */
export function wasmNativeAdamW(): NativeAdamW | undefined {
  const lib = nativeLib;
  if (!installed || !lib || tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmBackendLike;
  return {
    sumSquares: (t) => lib.sumsq(backend.typedArrayFromHeap(t as unknown as TensorInfo)),
    update: (p, m, v, g, consts) => tf.engine().runKernel(ADAMW_KERNEL, { p, m, v, g } as never, { consts } as never) as unknown as [Tensor, Tensor, Tensor],
    updateInPlace: (p, m, v, g, consts) => {
      if (tf.getBackend() !== 'wasm') return false;
      const be = tf.backend() as unknown as WasmBackendLike & { refCount(dataId: object): number };
      const ids = [p, m, v].map((t) => (t as unknown as TensorInfo).dataId);
      const gid = (g as unknown as TensorInfo).dataId;
      if (g.dtype !== 'float32' || ids.some((id) => be.refCount(id) !== 1 || id === gid) || new Set(ids).size !== 3) return false;
      const [pv, mv, vv] = [p, m, v].map((t) => be.typedArrayFromHeap(t as unknown as TensorInfo));
      if (pv.length !== mv.length || pv.length !== vv.length || pv.length !== g.size) return false;
      lib.adamw(pv, mv, vv, be.typedArrayFromHeap(g as unknown as TensorInfo), pv, mv, vv, consts);
      return true;
    },
  };
}

/**
 * Identity without a copy: the output shares the input's memory (reference-counted, as the
 * CPU backend and the WASM Reshape kernel already do; tfjs never writes into a kernel's inputs).
 * The engine clones every tensor a kernel saves for its gradient, so under a gradient tape
 * the copying kernel ran ~460 times per training step of the default model (12% of it).
 */
function wrapIdentity(): KernelFunc {
  return (args) => {
    const x = args.inputs.x!;
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/** Cast to the dtype it already has (every Multiply gradient does it) shares memory too. */
function wrapCast(orig: KernelConfigLike): KernelFunc {
  const identity = wrapIdentity();
  return (args) => (args.attrs.dtype === args.inputs.x!.dtype ? identity(args) : orig.kernelFunc(args));
}

interface EngineLike {
  saveTensorsForBackwardMode(tensors: Tensor[]): Tensor[];
  makeTensorFromTensorInfo(info: TensorInfo, backend: unknown): Tensor;
  keep<T>(t: T): T;
  backend: WasmBackendLike;
  state: { tensorInfo: { get(dataId: object): { backend: unknown } | undefined } };
}

let savePatch: { engine: EngineLike; orig: EngineLike['saveTensorsForBackwardMode'] } | undefined;

/**
 * Tensors saved for a gradient share memory with the original, without an Identity kernel and
 * its tape node. The engine clones every tensor a kernel keeps for its backward pass (about 260
 * per training step of the default model): with Identity already copy-free (wrapIdentity), what
 * was left of each clone was a kernel launch's bookkeeping and one more tape node for the
 * backward pass to filter. Same refcounting as the Identity path (backend.incRef + a tracked
 * tensor on the same data); higher-order gradients through saved tensors are not supported
 * here (tfjs' own clone gives them a Cast gradient), and nothing in eraserlab takes them.
 */
function patchSavedTensors(): void {
  if (savePatch) return;
  const engine = tf.engine() as unknown as EngineLike;
  const orig = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = function (this: EngineLike, tensors: Tensor[]): Tensor[] {
    if (!installed || tf.getBackend() !== 'wasm') return orig.call(this, tensors);
    const backend = this.backend;
    return tensors.map((t) => {
      if (this.state.tensorInfo.get(t.dataId)?.backend !== backend) return orig.call(this, [t])[0];
      return this.keep(sharedTensor(t));
    });
  };
  savePatch = { engine, orig };
}

function unpatchSavedTensors(): void {
  if (!savePatch) return;
  savePatch.engine.saveTensorsForBackwardMode = savePatch.orig;
  savePatch = undefined;
}

const WRAPPERS: Record<string, (orig: KernelConfigLike) => KernelFunc> = {
  BatchMatMul: wrapBatchMatMul,
  _FusedMatMul: wrapFusedMatMul,
  GatherV2: wrapGather,
  Identity: wrapIdentity,
  Cast: wrapCast,
};

/** Whether the wrappers are active. */
export function wasmFastMatMulInstalled(): boolean {
  return installed;
}

/** Whether the installed wrappers send products to the native OpenBLAS addon. */
export function wasmNativeMatMulActive(): boolean {
  return installed && nativeLib !== undefined;
}

/**
 * Register the wrappers for BatchMatMul, _FusedMatMul, GatherV2, Identity and Cast on the WASM backend
 * (idempotent). Products go to the native OpenBLAS addon when it is built (runtime/native-blas.ts)
 * unless `native: false`. Returns false (and changes nothing) when disabled by
 * ERASERLAB_WASM_FAST_MATMUL=0 or when the kernels are not registered.
 */
export function installWasmFastMatMul(opts: { native?: boolean } = {}): boolean {
  if (installed) return true;
  const env = (process.env.ERASERLAB_WASM_FAST_MATMUL ?? '').trim().toLowerCase();
  if (env === '0' || env === 'off' || env === 'false') return false;
  const names = ['BatchMatMul', '_FusedMatMul', 'GatherV2', 'Identity', 'Cast'];
  const found = names.map((n) => {
    try {
      return tf.getKernel(n, 'wasm') as unknown as KernelConfigLike | undefined;
    } catch {
      return undefined;
    }
  });
  if (found.some((k) => !k)) return false;
  names.forEach((n, i) => {
    const orig = found[i]!;
    originals.set(n, orig);
    tf.unregisterKernel(n, 'wasm');
    tf.registerKernel({
      kernelName: n,
      backendName: 'wasm',
      setupFunc: orig.setupFunc,
      disposeFunc: orig.disposeFunc,
      kernelFunc: WRAPPERS[n](orig) as unknown as TfKernelConfig['kernelFunc'],
    } as TfKernelConfig);
  });
  nativeLib = opts.native === false ? undefined : loadNativeBlas();
  if (nativeLib && !tf.getKernel(ADAMW_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'wasm', kernelFunc: adamwKernel as unknown as TfKernelConfig['kernelFunc'] } as TfKernelConfig);
  }
  installWasmFused(nativeLib);
  patchSavedTensors();
  installed = true;
  return true;
}

/** Put the original kernels back. */
export function uninstallWasmFastMatMul(): void {
  if (!installed) return;
  for (const [n, orig] of originals) {
    tf.unregisterKernel(n, 'wasm');
    tf.registerKernel(orig as unknown as TfKernelConfig);
  }
  originals.clear();
  nativeLib = undefined;
  uninstallWasmFused();
  unpatchSavedTensors();
  installed = false;
}
