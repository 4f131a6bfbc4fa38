/**
 * Threaded SIMD WASM in Node (issue 7).
 *
 * tfjs ships a threaded SIMD build of its WASM backend but refuses it in Node: the
 * `WASM_HAS_MULTITHREAD_SUPPORT` flag returns false under `IS_NODE` (tfjs issue #3830), and the
 * loader hands Emscripten `blob:` URLs for the pthread worker script and for the factory the
 * workers import, which Node's `worker_threads` cannot load. This module makes it run:
 *
 * 1. force the flag on and ask for N threads (`setThreadsCount`);
 * 2. while the backend initialises, a shim records the Blobs tfjs builds and turns the worker
 *    Blob into a real file in a temp folder; the worker script is rewritten to import the
 *    factory from the unbundled `wasm-out/tfjs-backend-wasm-threaded-simd.js` (the bundled
 *    factory's `toString()` refers to bundler-renamed globals and cannot run on its own);
 * 3. the C++ side caps XNNPACK's pool at (logical cores / 2), i.e. one thread on a 2-core
 *    machine, so `os.cpus()` reports 2N cores while the pool is created;
 * 4. afterwards the running pthread workers are `unref()`ed (they otherwise keep the process
 *    alive forever) and the idle pre-spawned ones terminated;
 * 5. a self-check compares a few kernels with a float64 reference; on any failure the backend
 *    is torn down and re-created single-threaded, and the reason says why.
 *
 * Enabled by `runtime.init({threads: N})` or `ERASERLAB_WASM_THREADS=N` (`on` = all cores); the
 * default is the single-threaded build (see requestedWasmThreads for the measurements why).
 */
import * as fs from 'fs';
// `import = require` gives the real module object: os.cpus must be patched where Emscripten reads it.
import os = require('os');
import * as path from 'path';
import { tf } from './tf';
import workerThreads = require('worker_threads');

export interface WasmThreadsStatus {
  /** Threads asked for (1 = the single-threaded build). */
  requested: number;
  /** Threads XNNPACK actually runs (1 when threading is off or fell back). */
  threads: number;
  /** Whether the threaded build is the one running. */
  enabled: boolean;
  /** Why: what was asked, what happened, and for a fallback the failure. */
  reason: string;
}

interface PThreadLike {
  unusedWorkers: Array<{ unref?: () => void; terminate: () => void }>;
  runningWorkers: Array<{ unref?: () => void; terminate: () => void }>;
  terminateAllThreads: () => void;
}

interface WasmModuleLike {
  PThread?: PThreadLike;
}

interface WasmPackage {
  setThreadsCount: (n: number) => void;
  getThreadsCount: () => number;
}

let status: WasmThreadsStatus | undefined;
let exitHookInstalled = false;
/** Workers started while the threaded build initialised (terminated if it fails). */
let spawned: workerThreads.Worker[] = [];
/** Serialises activations: concurrent init() calls must not build two backends at once. */
let chain: Promise<unknown> = Promise.resolve();

/**
 * The thread count to use: `explicit` if given, else `ERASERLAB_WASM_THREADS` (`on`/`auto` =
 * the number of logical cores), else 1. `0`, `off`, `false` and `1` all mean single-threaded;
 * an unparsable value is ignored.
 *
 * Why the default is 1: measured with tests/bench/model.bench.ts (docs/performance.md), the
 * threaded build made the default model's training step and generation slower on the 2-core
 * machine (the per-op hand-off to the pool costs more than the small products gain, and any
 * other busy process makes the pool's spinning threads wait far longer), while large
 * products (512² and up) do gain. So threads are opt-in, and kept only if the self-check
 * passes.
 */
export function requestedWasmThreads(explicit?: number): number {
  if (explicit !== undefined && Number.isFinite(explicit)) return Math.max(1, Math.floor(explicit));
  const env = (process.env.ERASERLAB_WASM_THREADS ?? '').trim().toLowerCase();
  if (env === 'auto' || env === 'on' || env === 'true') return Math.max(1, os.cpus().length);
  const n = Number(env);
  if (env !== '' && Number.isFinite(n)) return Math.max(1, Math.floor(n));
  return 1;
}

/** The last threading outcome (undefined before the WASM backend was initialised by init()). */
export function wasmThreadsStatus(): WasmThreadsStatus | undefined {
  return status;
}

function wasmPackageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/**
 * Install the shim and flags so the next `tf.setBackend('wasm')` builds the threaded backend.
 * Returns `restore()`, to be called once the backend is ready (it puts Blob, URL and os.cpus
 * back). Call only before the WASM backend was first initialised in this process.
 */
export function prepareThreadedWasm(threads: number): () => void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require('@tensorflow/tfjs-backend-wasm') as WasmPackage;
  const factoryFile = path.join(wasmPackageDir(), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  if (!fs.existsSync(factoryFile)) throw new Error(`threaded WASM factory not found at ${factoryFile}`);
  const g = globalThis as unknown as { Blob: typeof Blob };
  const OrigBlob = g.Blob;
  const origCreate = URL.createObjectURL;
  const origCpus = os.cpus;
  let dir: string | undefined;
  const texts = new WeakMap<object, string>();

  class RecordingBlob extends OrigBlob {
    constructor(parts?: BlobPart[], opts?: BlobPropertyBag) {
      super(parts, opts);
      if (parts && parts.every((p) => typeof p === 'string')) texts.set(this, (parts as string[]).join(''));
    }
  }
  g.Blob = RecordingBlob as unknown as typeof Blob;
  URL.createObjectURL = (obj: Blob): string => {
    const text = texts.get(obj);
    if (text !== undefined && text.includes('WasmBackendModuleThreadedSimd(Module)')) {
      if (!dir) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-wasm-'));
      // Workers import the unbundled factory from its file instead of a posted Blob.
      const worker = text
        .replace('typeof e.data.urlOrBlob=="string"', 'true')
        .replace('importScripts(e.data.urlOrBlob)', `importScripts(${JSON.stringify(factoryFile)})`);
      if (worker === text) throw new Error('unexpected tfjs WASM worker script (shim does not apply)');
      const file = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
      fs.writeFileSync(file, worker);
      return file;
    }
    return origCreate.call(URL, obj);
  };
  (os as { cpus: typeof os.cpus }).cpus = () => {
    const c = origCpus();
    const fake = c.length ? c[0] : ({ model: 'cpu', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } } as os.CpuInfo);
    while (c.length < 2 * threads) c.push(fake);
    return c;
  };
  const OrigWorker = workerThreads.Worker;
  spawned = [];
  class TrackedWorker extends OrigWorker {
    constructor(file: string | URL, opts?: workerThreads.WorkerOptions) {
      super(file, opts);
      spawned.push(this);
    }
  }
  (workerThreads as { Worker: typeof workerThreads.Worker }).Worker = TrackedWorker;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  return () => {
    (workerThreads as { Worker: typeof workerThreads.Worker }).Worker = OrigWorker;
    g.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    (os as { cpus: typeof os.cpus }).cpus = origCpus;
    if (dir) {
      // Removed at exit, not now: a worker thread reads its script when it starts.
      const d = dir;
      process.once('exit', () => {
        try {
          fs.rmSync(d, { recursive: true, force: true });
        } catch {
          /* best effort */
        }
      });
    }
  };
}

function pthreads(): PThreadLike | undefined {
  try {
    const be = tf.findBackend('wasm') as unknown as { wasm?: WasmModuleLike } | null;
    return be?.wasm?.PThread;
  } catch {
    return undefined;
  }
}

/**
 * Let the process exit although XNNPACK's pool threads never finish: unref the running pthread
 * workers, terminate the idle pre-spawned ones, and terminate everything on exit.
 */
export function releaseWasmWorkers(): number {
  const pt = pthreads();
  if (!pt) return 0;
  for (const w of pt.runningWorkers) w.unref?.();
  const idle = pt.unusedWorkers.splice(0, pt.unusedWorkers.length);
  for (const w of idle) w.terminate();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => shutdownWasmThreads());
  }
  return pt.runningWorkers.length;
}

/** Terminate the pthread workers (the WASM backend must not be used afterwards). */
export function shutdownWasmThreads(): void {
  const pt = pthreads();
  if (pt) {
    try {
      pt.terminateAllThreads();
    } catch {
      /* already gone */
    }
  }
  // Workers of a threaded build that failed half-way are not reachable through the backend.
  for (const w of spawned.splice(0, spawned.length)) void w.terminate();
}

/** Deterministic test values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Run a few kernels that XNNPACK parallelises (matmul, batched matmul, softmax, a reduction) on
 * the current backend and compare with a float64 reference computed in JS.
 * Returns the worst absolute difference, normalised by the reference's scale.
 */
export function wasmSelfCheck(): { ok: boolean; maxRelDiff: number; detail: string } {
  const m = 67;
  const k = 129;
  const n = 131;
  const a = values(m * k, 11);
  const b = values(k * n, 23);
  const ref = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
      ref[i * n + j] = s;
    }
  const got = tf.tidy(() => {
    const ta = tf.tensor2d(a, [m, k]);
    const tb = tf.tensor2d(b, [k, n]);
    const mm = tf.matMul(ta, tb);
    // batched: two copies stacked must give the same product twice
    const bm = tf.matMul(tf.stack([ta, ta]), tf.stack([tb, tb]));
    const sm = tf.softmax(mm);
    return { mm: mm.dataSync(), bm: bm.dataSync(), sm: sm.dataSync(), sum: tf.sum(mm, 1).dataSync() };
  });
  let worst = 0;
  const scale = Math.sqrt(k);
  for (let i = 0; i < m * n; i++) {
    worst = Math.max(worst, Math.abs(got.mm[i] - ref[i]) / scale, Math.abs(got.bm[i] - ref[i]) / scale, Math.abs(got.bm[m * n + i] - ref[i]) / scale);
  }
  for (let i = 0; i < m; i++) {
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, ref[i * n + j]);
    let z = 0;
    let rs = 0;
    for (let j = 0; j < n; j++) {
      z += Math.exp(ref[i * n + j] - mx);
      rs += ref[i * n + j];
    }
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(got.sm[i * n + j] - Math.exp(ref[i * n + j] - mx) / z));
    worst = Math.max(worst, Math.abs(got.sum[i] - rs) / (scale * Math.sqrt(n)));
  }
  const ok = Number.isFinite(worst) && worst < 1e-4;
  return { ok, maxRelDiff: worst, detail: ok ? 'self-check passed' : `self-check failed (max normalised difference ${worst.toExponential(2)} ≥ 1e-4)` };
}

/** Tear the WASM backend down and bring it back single-threaded (same registry entry). */
export async function fallBackToSingleThreaded(): Promise<void> {
  const engine = tf.engine() as unknown as { registryFactory: Record<string, { factory: () => unknown; priority: number }> };
  const entry = engine.registryFactory.wasm;
  shutdownWasmThreads();
  tf.removeBackend('wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  (require('@tensorflow/tfjs-backend-wasm') as WasmPackage).setThreadsCount(1);
  if (entry) tf.registerBackend('wasm', entry.factory as Parameters<typeof tf.registerBackend>[1], entry.priority);
  await tf.setBackend('wasm');
  await tf.ready();
}

/**
 * Initialise the WASM backend with `requested` threads (called by runtime.init() in place of a
 * plain `tf.setBackend('wasm')`). Falls back to the single-threaded build on any failure.
 * When the WASM backend already exists in this process its thread count cannot change.
 */
export function activateWasm(requested: number): Promise<WasmThreadsStatus> {
  const run = chain.then(() => activateWasmNow(requested));
  chain = run.catch(() => undefined);
  return run;
}

async function activateWasmNow(requested: number): Promise<WasmThreadsStatus> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require('@tensorflow/tfjs-backend-wasm') as WasmPackage;
  const existing = tf.engine().registry.wasm !== undefined;
  if (existing && status) {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("tf.setBackend('wasm') returned false");
    await tf.ready();
    if (requested !== status.requested && !status.reason.includes('already initialised')) {
      status = { ...status, reason: `${status.reason}; WASM backend already initialised with ${status.threads} thread(s), ${requested} requested later is ignored` };
    }
    return status;
  }
  if (existing) {
    // Initialised outside runtime.init() (a direct tf.setBackend('wasm')): keep it as it is.
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("tf.setBackend('wasm') returned false");
    await tf.ready();
    const threads = wasm.getThreadsCount();
    status = { requested, threads, enabled: threads > 1, reason: `WASM backend initialised outside runtime.init() with ${threads} thread(s)` };
    return status;
  }
  if (requested <= 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("tf.setBackend('wasm') returned false");
    await tf.ready();
    status = { requested, threads: 1, enabled: false, reason: 'single-threaded WASM (threads: 1 requested)' };
    return status;
  }
  let failure = '';
  let restore: (() => void) | undefined;
  try {
    restore = prepareThreadedWasm(requested);
    const ok = await tf.setBackend('wasm');
    restore();
    restore = undefined;
    if (!ok) throw new Error("tf.setBackend('wasm') returned false for the threaded build");
    await tf.ready();
    releaseWasmWorkers();
    spawned = [];
    const actual = wasm.getThreadsCount();
    if (process.env.ERASERLAB_WASM_THREADS_SELFCHECK === 'fail') throw new Error('self-check forced to fail (ERASERLAB_WASM_THREADS_SELFCHECK=fail)');
    const check = wasmSelfCheck();
    if (!check.ok) throw new Error(check.detail);
    status = { requested, threads: actual, enabled: true, reason: `threaded SIMD WASM with ${actual} thread(s); ${check.detail}` };
    return status;
  } catch (e) {
    restore?.();
    failure = (e as Error).message ?? String(e);
  }
  await fallBackToSingleThreaded();
  status = { requested, threads: 1, enabled: false, reason: `threaded WASM unavailable (${failure}); using single-threaded WASM` };
  return status;
}
