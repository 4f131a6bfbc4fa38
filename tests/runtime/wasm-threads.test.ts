import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { requestedWasmThreads, wasmSelfCheck } from '../../sdk/runtime/wasm-threads';
import { init } from '../../sdk/runtime/backend';

const root = path.resolve(__dirname, '..', '..');
const child = path.join(__dirname, 'wasm-threads.child.ts');

interface ChildResult {
  info: { backend: string; threads: number; reason: string };
  out: Record<string, number[]>;
  ms: number;
}

/** Run the child with a thread count; it has to exit on its own well inside the timeout. */
function runChild(threads: number, env: Record<string, string> = {}): ChildResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', child, String(threads)], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.is(r.signal, null, `child (threads ${threads}) did not exit by itself: ${r.stderr}`);
  assert.is(r.status, 0, `child (threads ${threads}) failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(line) as ChildResult), ms: Date.now() - t0 };
}

function maxDiff(a: number[], b: number[]): number {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('thread count: explicit, environment, default', () => {
  const saved = process.env.ERASERLAB_WASM_THREADS;
  try {
    delete process.env.ERASERLAB_WASM_THREADS;
    assert.is(requestedWasmThreads(3), 3);
    assert.is(requestedWasmThreads(0), 1);
    assert.is(requestedWasmThreads(), 1, 'single-threaded unless asked');
    process.env.ERASERLAB_WASM_THREADS = 'on';
    assert.is(requestedWasmThreads(), os.cpus().length);
    process.env.ERASERLAB_WASM_THREADS = 'nonsense';
    assert.is(requestedWasmThreads(), 1);
    process.env.ERASERLAB_WASM_THREADS = '4';
    assert.is(requestedWasmThreads(), 4);
    assert.is(requestedWasmThreads(2), 2, 'an explicit count wins over the environment');
    for (const off of ['off', 'false', '0', '1']) {
      process.env.ERASERLAB_WASM_THREADS = off;
      assert.is(requestedWasmThreads(), 1, off);
    }
  } finally {
    if (saved === undefined) delete process.env.ERASERLAB_WASM_THREADS;
    else process.env.ERASERLAB_WASM_THREADS = saved;
  }
});

test('threaded WASM matches single-threaded and the processes exit by themselves', () => {
  const one = runChild(1);
  const two = runChild(2);
  assert.is(one.info.backend, 'wasm');
  assert.is(one.info.threads, 1);
  assert.is(two.info.backend, 'wasm');
  assert.is(two.info.threads, 2, two.info.reason);
  assert.match(two.info.reason, 'threaded SIMD WASM with 2 thread(s); self-check passed');
  for (const k of Object.keys(one.out)) {
    const d = maxDiff(one.out[k], two.out[k]);
    assert.ok(d < 1e-4, `${k}: threaded differs from single-threaded by ${d}`);
  }
});

test('a failing self-check falls back to single-threaded and says why', () => {
  const r = runChild(2, { ERASERLAB_WASM_THREADS_SELFCHECK: 'fail' });
  assert.is(r.info.backend, 'wasm');
  assert.is(r.info.threads, 1);
  assert.match(r.info.reason, 'threaded WASM unavailable (self-check forced to fail (ERASERLAB_WASM_THREADS_SELFCHECK=fail)); using single-threaded WASM');
  assert.ok(r.out.mm.length === 96 * 72);
});

test('self-check passes on the backend this process runs', async () => {
  await init({ backend: 'wasm' });
  const r = wasmSelfCheck();
  assert.ok(r.ok, r.detail);
  assert.ok(r.maxRelDiff < 1e-4);
});

test.run();
