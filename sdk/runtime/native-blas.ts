/**
 * The optional native matrix-product addon (`native/blas`, N-API + the system's OpenBLAS).
 *
 * `npm ci` (the package's `install` script, scripts/build-native.js) builds it with node-gyp
 * against Debian's `libopenblas-dev` when a C compiler and the library are present; when they
 * are not, the build is skipped with a message and everything runs on tfjs's own kernels. With
 * the addon loaded, the WASM backend's BatchMatMul and _FusedMatMul kernels call
 * `cblas_sgemm` directly on the tensors in the WASM heap (runtime/wasm-matmul.ts).
 *
 * `ERASERLAB_NATIVE_BLAS=0` turns it off; `ERASERLAB_NATIVE_BLAS_THREADS=N` sets OpenBLAS's
 * thread count (default 1: on a shared machine, threads waiting for each other cost more than
 * they save for the small products of the default model; see docs/performance.md).
 *
 * Kernel choice: Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels from the CPU model
 * and falls back to the SSE3 "Prescott" kernels on CPUs newer than its table (this project's
 * Xeon: 10–20 GFLOP/s instead of 90–130). Unless `OPENBLAS_CORETYPE` is already set, the
 * loader sets it from the instruction sets the kernel reports in /proc/cpuinfo (AVX-512 with
 * BF16 → Cooperlake, AVX-512 → SkylakeX, AVX2 + FMA → Haswell) before the library loads;
 * `ERASERLAB_OPENBLAS_CORETYPE=auto` leaves the choice to OpenBLAS.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from './fsutil';

/** The addon's functions (see native/blas/src/blas.c). */
export interface NativeBlas {
  /** For each i < batch: C_i = op(A_i)·op(B_i), row-major, A_i at a[i·strideA], C_i at c[i·m·n]. */
  gemm(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, strideA: number, strideB: number): void;
  /** Σ a_i² (double accumulation). */
  sumsq(a: Float32Array): number;
  /** One AdamW update (see native/blas/src/blas.c for the constants). */
  adamw(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, consts: Float64Array): void;
  setThreads(n: number): void;
  getThreads(): number;
  /** 2: a large product's column halves run on two threads (bit for bit the one-thread result); 1: no split. Absent in older builds. */
  setProductThreads?(n: number): void;
  getProductThreads?(): number;
  /** How many products were split so far. */
  productSplits?(): number;
  info(): string;
}

export interface NativeBlasStatus {
  loaded: boolean;
  /** Why it is (not) in use, for runtime.init's reason string. */
  reason: string;
  file: string;
  threads?: number;
  /** Threads a large product is split over (1 or 2; see productThreads()). */
  productThreads?: number;
  /** The OPENBLAS_CORETYPE in effect when the library loaded (undefined: OpenBLAS's own detection). */
  coreType?: string;
  config?: string;
}

let cached: { lib?: NativeBlas; status: NativeBlasStatus } | undefined;

/** Where the built addon lives. */
export function nativeBlasFile(): string {
  return path.join(packageRoot(), 'native', 'blas', 'build', 'Release', 'eraserlab_blas.node');
}

function off(): boolean {
  const env = (process.env.ERASERLAB_NATIVE_BLAS ?? '').trim().toLowerCase();
  return env === '0' || env === 'off' || env === 'false';
}

/**
 * The OPENBLAS_CORETYPE the loader sets (see above): the user's own setting when there is one,
 * else one chosen from /proc/cpuinfo's flags on x86-64 Linux; undefined leaves OpenBLAS's own
 * detection. The benchmarks give the PyTorch peer the same value (same library, same kernels).
 */
export function openblasCoreType(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE) return process.env.OPENBLAS_CORETYPE;
  const want = (process.env.ERASERLAB_OPENBLAS_CORETYPE ?? '').trim();
  if (want.toLowerCase() === 'auto') return undefined;
  if (want) return want;
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  let flags: Set<string>;
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return undefined;
  }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_bf16')) return 'Cooperlake';
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512dq')) return 'SkylakeX';
  if (has('avx2', 'fma')) return 'Haswell';
  return undefined;
}

/**
 * Threads a large matrix product is split over: `ERASERLAB_PRODUCT_THREADS` (1 or 2), else 2
 * on a machine with at least two cores. A product splits only when both column halves are
 * past OpenBLAS's small-matrix bound, and each half runs one-threaded OpenBLAS, so results
 * are the same bits as with 1; between products the helper spins ~10 µs, then sleeps.
 */
export function productThreads(): number {
  const env = (process.env.ERASERLAB_PRODUCT_THREADS ?? '').trim();
  if (env !== '') {
    const n = Number(env);
    return Number.isInteger(n) && n >= 2 ? 2 : 1;
  }
  return os.cpus().length >= 2 ? 2 : 1;
}

/** Load the addon once; undefined (with the reason in nativeBlasStatus()) when it is off or absent. */
export function loadNativeBlas(): NativeBlas | undefined {
  if (cached) return cached.lib;
  const file = nativeBlasFile();
  if (off()) {
    cached = { status: { loaded: false, reason: 'native OpenBLAS products off (ERASERLAB_NATIVE_BLAS=0)', file } };
    return undefined;
  }
  if (!fs.existsSync(file)) {
    cached = { status: { loaded: false, reason: 'native OpenBLAS addon not built (npm run build:native; needs g++ and libopenblas-dev)', file } };
    return undefined;
  }
  try {
    const asked = Number(process.env.ERASERLAB_NATIVE_BLAS_THREADS ?? 1);
    const want = Number.isInteger(asked) && asked >= 1 ? asked : 1;
    // OpenBLAS sizes its thread pool when the library loads, and idle pool threads still spin
    // (measured: a third more CPU time per training step with the pool at 2 but set to 1 later).
    if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = String(want);
    const core = openblasCoreType();
    if (core && !process.env.OPENBLAS_CORETYPE) process.env.OPENBLAS_CORETYPE = core;
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const lib = require(file) as NativeBlas;
    lib.setThreads(want);
    const threads = lib.getThreads();
    const split = threads === 1 ? productThreads() : 1;
    lib.setProductThreads?.(split);
    const productThreadsNow = lib.getProductThreads?.() ?? 1;
    const coreNote = process.env.OPENBLAS_CORETYPE ? `, ${process.env.OPENBLAS_CORETYPE} kernels` : '';
    const splitNote = productThreadsNow > 1 ? ', large products split over 2 threads' : '';
    cached = {
      lib,
      status: { loaded: true, reason: `native OpenBLAS products (${threads} thread${threads === 1 ? '' : 's'}${splitNote})${coreNote}`, file, threads, productThreads: productThreadsNow, coreType: process.env.OPENBLAS_CORETYPE, config: lib.info().trim() },
    };
    return lib;
  } catch (e) {
    cached = { status: { loaded: false, reason: `native OpenBLAS addon failed to load (${(e as Error).message.split('\n')[0]})`, file } };
    return undefined;
  }
}

/** What loadNativeBlas() found (loads it if not tried yet). */
export function nativeBlasStatus(): NativeBlasStatus {
  loadNativeBlas();
  return cached!.status;
}
