/**
 * Backend choice. In order: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node (both optional
 * peers: their install downloads libtensorflow, which works online and fails offline), the
 * WASM backend (SIMD), then the pure-JS CPU backend. `init()` says which it chose and why.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from './tf';
import { ConfigError } from './errors';
import { activateWasm, requestedWasmThreads, wasmThreadsStatus } from './wasm-threads';
import { installWasmFastMatMul, wasmNativeMatMulActive } from './wasm-matmul';
import { nativeBlasStatus } from './native-blas';
import { DEFAULT_SEED } from './rng';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  backend: BackendName;
  /** Why this one was chosen (and why faster ones were not). */
  reason: string;
  threads: number;
  simd: boolean;
  seed: number;
  tfjsVersion: string;
  /**
   * Whether matrix products run through the native OpenBLAS addon (WASM backend only; see
   * runtime/native-blas.ts). False where it is not built, turned off, or another backend runs.
   */
  nativeBlas: boolean;
}

export interface InitOptions {
  /** Ask for one backend; an unavailable one is an error naming what is available. */
  backend?: BackendName | 'auto';
  /** Global seed recorded in run specs (tfjs ops we use take explicit seeds). */
  seed?: number;
  /** Print the choice to stderr (default false). */
  verbose?: boolean;
  /**
   * WASM backend threads (threaded SIMD build, see runtime/wasm-threads.ts). Default:
   * `ERASERLAB_WASM_THREADS` (`on` = all cores), else 1 (single-threaded measured faster for
   * the default model). Threading is kept only if its self-check passes. Fixed once the WASM
   * backend exists in a process.
   */
  threads?: number;
}

let current: BackendInfo | undefined;

/** Resolve a package only if it is the real thing (danfo's alias puts tfjs at `@tensorflow/tfjs-node`). */
function realPackage(name: string): string | undefined {
  try {
    const pj = require.resolve(`${name}/package.json`);
    const meta = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string };
    if (meta.name !== name) return undefined;
    return path.dirname(pj);
  } catch {
    return undefined;
  }
}

function nativeBackendLoads(pkg: string): { ok: boolean; why: string } {
  if (!realPackage(pkg)) return { ok: false, why: `${pkg} is not installed` };
  try {
    require(pkg);
    return { ok: true, why: `${pkg} is installed and loaded` };
  } catch (e) {
    return { ok: false, why: `${pkg} is installed but failed to load (${(e as Error).message.split('\n')[0]})` };
  }
}

let wasmLoaded = false;
function loadWasm(): { ok: boolean; why: string } {
  if (wasmLoaded) return { ok: true, why: 'wasm backend loaded' };
  try {
    require('@tensorflow/tfjs-backend-wasm');
    wasmLoaded = true;
    return { ok: true, why: '@tensorflow/tfjs-backend-wasm loaded' };
  } catch (e) {
    return { ok: false, why: `@tensorflow/tfjs-backend-wasm failed to load (${(e as Error).message})` };
  }
}

/** Which backends could be used on this machine right now (cheap; loads nothing native). */
export function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  if (realPackage('@tensorflow/tfjs-node-gpu')) out.push('tensorflow-gpu');
  if (realPackage('@tensorflow/tfjs-node')) out.push('tensorflow');
  try {
    require.resolve('@tensorflow/tfjs-backend-wasm');
    out.push('wasm');
  } catch {
    /* not installed */
  }
  out.push('cpu');
  return out;
}

async function activate(name: BackendName, threads?: number): Promise<{ ok: boolean; why: string }> {
  let loaded: { ok: boolean; why: string };
  if (name === 'tensorflow-gpu') loaded = nativeBackendLoads('@tensorflow/tfjs-node-gpu');
  else if (name === 'tensorflow') loaded = nativeBackendLoads('@tensorflow/tfjs-node');
  else if (name === 'wasm') loaded = loadWasm();
  else loaded = { ok: true, why: 'pure-JS CPU backend is always available' };
  if (!loaded.ok) return loaded;
  const tfName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  if (name === 'wasm') {
    try {
      const st = await activateWasm(requestedWasmThreads(threads));
      const fast = installWasmFastMatMul() ? `, matMul fast paths on, ${nativeBlasStatus().reason}` : '';
      return { ok: true, why: `${loaded.why}, ${st.reason}${fast}` };
    } catch (e) {
      return { ok: false, why: `wasm failed to initialise (${(e as Error).message})` };
    }
  }
  try {
    const ok = await tf.setBackend(tfName);
    if (!ok) return { ok: false, why: `tf.setBackend('${tfName}') returned false` };
    await tf.ready();
    return loaded;
  } catch (e) {
    return { ok: false, why: `${name} failed to initialise (${(e as Error).message})` };
  }
}

function describe(name: BackendName): { threads: number; simd: boolean } {
  if (name === 'wasm') {
    const env = tf.env();
    let simd = false;
    let threads = 1;
    try {
      simd = Boolean(env.get('WASM_HAS_SIMD_SUPPORT'));
    } catch {
      /* flag unknown */
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const wasm = require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount?: () => number };
      if (wasm.getThreadsCount) threads = wasm.getThreadsCount();
    } catch {
      threads = wasmThreadsStatus()?.threads ?? 1;
    }
    return { threads, simd };
  }
  if (name === 'cpu') return { threads: 1, simd: false };
  return { threads: os.cpus().length, simd: true };
}

/**
 * Choose and initialise the tfjs backend. With no `backend` (or 'auto') the fastest available
 * one wins; asking for an unavailable one is a ConfigError naming what is available.
 */
export async function init(opts: InitOptions = {}): Promise<BackendInfo> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const asked = opts.backend ?? ((process.env.ERASERLAB_BACKEND as BackendName | undefined) || 'auto');
  const available = availableBackends();
  if (asked !== 'auto' && !(BACKENDS as readonly string[]).includes(asked)) {
    throw new ConfigError(`Unknown backend '${asked}'. Must be one of [auto, ${BACKENDS.join(', ')}]`, [
      { path: 'backend', message: `available here: [${available.join(', ')}]` },
    ]);
  }
  const skipped: string[] = [];
  let chosen: BackendName | undefined;
  let why = '';
  if (asked !== 'auto') {
    const r = await activate(asked, opts.threads);
    if (!r.ok) {
      throw new ConfigError(`Backend '${asked}' is not available: ${r.why}. Available here: [${available.join(', ')}]`, [
        { path: 'backend', message: r.why },
      ]);
    }
    chosen = asked;
    why = asked === 'wasm' ? `asked for 'wasm'; ${r.why}` : `asked for '${asked}'`;
  } else {
    for (const name of BACKENDS) {
      const r = await activate(name, opts.threads);
      if (r.ok) {
        chosen = name;
        why = `${r.why}; fastest available`;
        break;
      }
      skipped.push(r.why);
    }
  }
  if (!chosen) throw new ConfigError('No tfjs backend could be initialised', []);
  const reason = skipped.length ? `${why} (skipped: ${skipped.join('; ')})` : why;
  const nativeBlas = chosen === 'wasm' && wasmNativeMatMulActive();
  current = { backend: chosen, reason, seed, tfjsVersion: tf.version.tfjs, ...describe(chosen), nativeBlas };
  if (opts.verbose) process.stderr.write(`eraserlab: backend ${chosen}: ${reason}\n`);
  return current;
}

/** The backend chosen by the last init(), or undefined before any init(). */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** init() once with defaults if nothing chose a backend yet. */
export async function ensureInit(opts: InitOptions = {}): Promise<BackendInfo> {
  return current ?? init(opts);
}
