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
  if (batchA > 1 && batchB > 1 && (batchA !== batchB || batchA > MAX_SPLIT)) return undefined;
  if (batchA === 1 && batchB > 1 && batchB > MAX_SPLIT) return undefined;
  if (batchB > 1 && M * K * N < MIN_SPLIT_WORK) return undefined;
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
    const batch = Math.max(batchA, batchB);
    if (size(outBatch) !== batch) return undefined;
    const out = backend.makeOutput(outShape, 'float32');
    for (let i = 0; i < batch; i++) {
      const ai = keepSlice(backend, at, batchA === 1 ? 0 : i, M * K, [1, M, K]);
      const bi = keepSlice(backend, bt, i, K * N, [1, K, N]);
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

function wrapBatchMatMul(orig: KernelConfigLike): KernelFunc {
  return (args) => {
    const plain = (a: TensorInfo, b: TensorInfo): TensorInfo => orig.kernelFunc({ inputs: { a, b }, backend: args.backend, attrs: { transposeA: false, transposeB: false } });
    return fastProduct(args, plain) ?? orig.kernelFunc(args);
  };
}

function wrapFusedMatMul(orig: KernelConfigLike): KernelFunc {
  return (args) => {
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

/** Whether the wrappers are active. */
export function wasmFastMatMulInstalled(): boolean {
  return installed;
}

/**
 * Register the wrappers for BatchMatMul and _FusedMatMul on the WASM backend (idempotent).
 * Returns false (and changes nothing) when disabled by ERASERLAB_WASM_FAST_MATMUL=0 or when
 * the kernels are not registered.
 */
export function installWasmFastMatMul(): boolean {
  if (installed) return true;
  const env = (process.env.ERASERLAB_WASM_FAST_MATMUL ?? '').trim().toLowerCase();
  if (env === '0' || env === 'off' || env === 'false') return false;
  const names = ['BatchMatMul', '_FusedMatMul'];
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
      kernelFunc: (n === 'BatchMatMul' ? wrapBatchMatMul(orig) : wrapFusedMatMul(orig)) as unknown as TfKernelConfig['kernelFunc'],
    } as TfKernelConfig);
  });
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
  installed = false;
}
