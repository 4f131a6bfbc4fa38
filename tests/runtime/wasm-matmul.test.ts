import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../../sdk/runtime/backend';
import { tf } from '../../sdk/runtime/tf';
import { installWasmFastMatMul, uninstallWasmFastMatMul, wasmFastMatMulInstalled } from '../../sdk/runtime/wasm-matmul';

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** float64 reference of matMul with batch broadcasting and transposes. */
function reference(a: Float32Array, sa: number[], b: Float32Array, sb: number[], ta: boolean, tb: boolean): { data: Float64Array; shape: number[] } {
  const ra = sa.length;
  const rb = sb.length;
  const M = ta ? sa[ra - 1] : sa[ra - 2];
  const K = ta ? sa[ra - 2] : sa[ra - 1];
  const N = tb ? sb[rb - 2] : sb[rb - 1];
  const ba = sa.slice(0, -2);
  const bb = sb.slice(0, -2);
  const n = Math.max(ba.length, bb.length);
  const A = Array.from({ length: n }, (_, i) => ba[ba.length - n + i] ?? 1);
  const Bd = Array.from({ length: n }, (_, i) => bb[bb.length - n + i] ?? 1);
  const outB = A.map((x, i) => Math.max(x, Bd[i]));
  const total = size(outB);
  const out = new Float64Array(total * M * N);
  for (let o = 0; o < total; o++) {
    // multi-index of o in outB, mapped to A's and B's flat batch index (broadcast dims → 0)
    let rem = o;
    let ia = 0;
    let ib = 0;
    let sA = 1;
    let sB = 1;
    for (let d = n - 1; d >= 0; d--) {
      const idx = rem % outB[d];
      rem = Math.floor(rem / outB[d]);
      ia += (A[d] === 1 ? 0 : idx) * sA;
      ib += (Bd[d] === 1 ? 0 : idx) * sB;
      sA *= A[d];
      sB *= Bd[d];
    }
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = ta ? a[ia * M * K + k * M + i] : a[ia * M * K + i * K + k];
          const bv = tb ? b[ib * K * N + j * K + k] : b[ib * K * N + k * N + j];
          s += av * bv;
        }
        out[o * M * N + i * N + j] = s;
      }
  }
  return { data: out, shape: [...outB, M, N] };
}

const CASES: Array<[string, number[], number[], boolean, boolean]> = [
  ['activation × weight (3-D × 2-D)', [3, 20, 24], [24, 36], false, false],
  ['weight gradient xᵀ·g', [40, 24], [40, 36], true, false],
  ['input gradient g·Wᵀ', [40, 36], [24, 36], false, true],
  ['3-D × transposed 2-D', [2, 20, 36], [24, 36], false, true],
  ['both transposed', [2, 24, 20], [36, 24], true, true],
  ['attention Q·Kᵀ', [6, 33, 32], [6, 40, 32], false, true],
  ['attention P·V', [6, 33, 40], [6, 40, 32], false, false],
  ['attention Pᵀ·dO', [6, 40, 33], [6, 40, 32], true, false],
  ['4-D batched', [2, 3, 17, 24], [2, 3, 24, 30], false, false],
  ['unbatched × batched', [20, 32], [5, 32, 24], false, false],
  ['small decode step', [8, 1, 16], [8, 9, 16], false, true],
  ['plain 2-D', [30, 20], [20, 10], false, false],
];

test('the WASM backend installs the matMul fast paths', async () => {
  const info = await init({ backend: 'wasm' });
  assert.ok(wasmFastMatMulInstalled());
  assert.match(info.reason, 'matMul fast paths on');
});

test('matMul with fast paths equals a float64 reference (every case)', async () => {
  await init({ backend: 'wasm' });
  for (const [name, sa, sb, ta, tb] of CASES) {
    const av = values(size(sa), 1);
    const bv = values(size(sb), 2);
    const ref = reference(av, sa, bv, sb, ta, tb);
    const got = tf.tidy(() => tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb), ta, tb));
    assert.equal(got.shape, ref.shape, name);
    const d = got.dataSync();
    got.dispose();
    let worst = 0;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i] - ref.data[i]));
    assert.ok(worst < 1e-4, `${name}: max difference ${worst}`);
  }
});

test('fused matMul (bias + activation) with fast paths equals matMul + bias + relu', async () => {
  await init({ backend: 'wasm' });
  for (const [name, sa, sb, ta, tb] of CASES.filter((c) => c[1].length <= 3 && c[2].length <= 3)) {
    const got = tf.tidy(() => {
      const a = tf.tensor(values(size(sa), 3), sa);
      const b = tf.tensor(values(size(sb), 4), sb);
      const N = tb ? sb[sb.length - 2] : sb[sb.length - 1];
      const bias = tf.tensor1d(values(N, 5));
      const fused = tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
      const plain = tf.relu(tf.add(tf.matMul(a, b, ta, tb), bias));
      return tf.max(tf.abs(tf.sub(fused, plain))).dataSync()[0];
    });
    assert.ok(got < 1e-4, `${name}: fused differs by ${got}`);
  }
});

test('gradients through the fast paths equal the original kernels, and nothing leaks', async () => {
  await init({ backend: 'wasm' });
  const a = tf.tensor(values(60 * 24, 6), [60, 24]);
  const b = tf.tensor(values(24 * 36, 7), [24, 36]);
  const q = tf.tensor(values(6 * 33 * 32, 8), [6, 33, 32]);
  const k = tf.tensor(values(6 * 40 * 32, 9), [6, 40, 32]);
  const f = (x: tf.Tensor, y: tf.Tensor, u: tf.Tensor, v: tf.Tensor) => tf.add(tf.sum(tf.square(tf.matMul(x, y))), tf.sum(tf.sin(tf.matMul(u, v, false, true))));
  const run = () => {
    const before = tf.memory().numTensors;
    const gs = tf.grads(f)([a, b, q, k]);
    const data = gs.map((g) => g.dataSync());
    gs.forEach((g) => g.dispose());
    assert.is(tf.memory().numTensors, before, 'no tensors leaked');
    return data;
  };
  const fast = run();
  uninstallWasmFastMatMul();
  let slow: Float32Array[];
  try {
    slow = run() as Float32Array[];
  } finally {
    installWasmFastMatMul();
  }
  fast.forEach((g, i) => {
    let worst = 0;
    let scale = 0;
    for (let j = 0; j < g.length; j++) {
      worst = Math.max(worst, Math.abs(g[j] - slow[i][j]));
      scale = Math.max(scale, Math.abs(slow[i][j]));
    }
    assert.ok(worst <= 1e-5 * Math.max(1, scale), `gradient ${i}: ${worst} (scale ${scale})`);
  });
  [a, b, q, k].forEach((t) => t.dispose());
});

test.run();
