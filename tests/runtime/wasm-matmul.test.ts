import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init } from '../../sdk/runtime/backend';
import { tf, type Tensor, type Tensor3D } from '../../sdk/runtime/tf';
import * as fs from 'fs';
import { installWasmFastMatMul, uninstallWasmFastMatMul, wasmFastMatMulInstalled, wasmNativeAdamW, wasmNativeMatMulActive } from '../../sdk/runtime/wasm-matmul';
import { loadNativeBlas, nativeBlasStatus, openblasCoreType, productThreads } from '../../sdk/runtime/native-blas';

/** OpenBLAS's header is here, so the install step must have built the addon. */
const BLAS_EXPECTED = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h'].some((f) => fs.existsSync(f)) && process.env.ERASERLAB_NATIVE_BLAS !== '0';

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
  ['batch broadcast both ways (left to the original kernel)', [2, 1, 5, 6], [1, 3, 6, 4], false, false],
  ['empty inner dimension', [3, 4, 0], [0, 5], false, false],
];

test('the WASM backend installs the matMul fast paths', async () => {
  const info = await init({ backend: 'wasm' });
  assert.ok(wasmFastMatMulInstalled());
  assert.match(info.reason, 'matMul fast paths on');
});

test('the native OpenBLAS addon is built and used where OpenBLAS is installed', async () => {
  const info = await init({ backend: 'wasm' });
  const st = nativeBlasStatus();
  if (!BLAS_EXPECTED) {
    assert.not.ok(info.nativeBlas);
    return;
  }
  assert.ok(st.loaded, st.reason);
  assert.ok(wasmNativeMatMulActive());
  assert.ok(info.nativeBlas);
  assert.match(info.reason, /native OpenBLAS products \(1 thread(, large products split over 2 threads)?\)/);
  // the helper thread for large products: on by default on a multi-core machine, said in the reason
  assert.is(st.productThreads, productThreads());
  assert.is(/split over 2 threads/.test(info.reason), st.productThreads === 2);
  // the kernels OpenBLAS was told to use are the ones openblasCoreType() picks, and are named
  assert.is(st.coreType, process.env.OPENBLAS_CORETYPE);
  if (st.coreType) assert.match(info.reason, new RegExp(`, ${st.coreType} kernels`));
});

test('openblasCoreType: the user\'s OPENBLAS_CORETYPE wins, "auto" leaves OpenBLAS its own detection, else the CPU flags decide', () => {
  const saved = { o: process.env.OPENBLAS_CORETYPE, e: process.env.ERASERLAB_OPENBLAS_CORETYPE };
  try {
    process.env.OPENBLAS_CORETYPE = 'Haswell';
    assert.is(openblasCoreType(), 'Haswell');
    delete process.env.OPENBLAS_CORETYPE;
    process.env.ERASERLAB_OPENBLAS_CORETYPE = 'auto';
    assert.is(openblasCoreType(), undefined);
    process.env.ERASERLAB_OPENBLAS_CORETYPE = 'SkylakeX';
    assert.is(openblasCoreType(), 'SkylakeX');
    delete process.env.ERASERLAB_OPENBLAS_CORETYPE;
    const flags = fs.existsSync('/proc/cpuinfo') ? (fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags')) ?? '') : '';
    const expected = process.platform !== 'linux' || process.arch !== 'x64' ? undefined : /\bavx512_bf16\b/.test(flags) && /\bavx512f\b/.test(flags) ? 'Cooperlake' : /\bavx512f\b/.test(flags) && /\bavx512bw\b/.test(flags) ? 'SkylakeX' : /\bavx2\b/.test(flags) && /\bfma\b/.test(flags) ? 'Haswell' : undefined;
    assert.is(openblasCoreType(), expected);
  } finally {
    for (const [k, v] of [['OPENBLAS_CORETYPE', saved.o], ['ERASERLAB_OPENBLAS_CORETYPE', saved.e]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('native AdamW in place: the same values as the allocating update, and refused while another tensor shares a variable\'s memory', async () => {
  await init({ backend: 'wasm' });
  const native = wasmNativeAdamW();
  if (!native) return void assert.not.ok(BLAS_EXPECTED && wasmNativeMatMulActive(), 'the addon is active but wasmNativeAdamW() is undefined');
  const consts = Float64Array.of(0.5, 0.9, 0.1, 0.999, 0.001, Math.sqrt(0.001), 1e-8, 1 - 1e-5, 1e-3);
  // (inside tidy: the initial values are freed, so each variable owns its memory alone)
  const [p, m, v] = tf.tidy(() => [tf.variable(tf.tensor1d(values(1000, 1))), tf.variable(tf.tensor1d(values(1000, 2))), tf.variable(tf.abs(tf.tensor1d(values(1000, 3))))]);
  const g = tf.tensor1d(values(1000, 4));
  const before = tf.memory().numTensors;
  const [p1, m1, v1] = native.update(p, m, v, g, consts);
  const expected = [p1, m1, v1].map((t) => Array.from(t.dataSync()));
  tf.dispose([p1, m1, v1]);
  // a view sharing p's memory: nothing may be written, the view keeps its values
  const view = tf.reshape(p, [10, 100]);
  const old = Array.from(view.dataSync());
  assert.is(native.updateInPlace(p, m, v, g, consts), false);
  assert.equal(Array.from(view.dataSync()), old);
  view.dispose();
  assert.is(native.updateInPlace(p, m, v, g, consts), true);
  assert.equal(Array.from(p.dataSync()), expected[0]);
  assert.equal(Array.from(m.dataSync()), expected[1]);
  assert.equal(Array.from(v.dataSync()), expected[2]);
  assert.is(native.updateInPlace(p, m, v, p, consts), false, 'the gradient may not be one of the variables');
  assert.is(tf.memory().numTensors, before, 'no tensor made');
  tf.dispose([p, m, v, g]);
});

test('native gemm: strides, broadcast and transposes against the reference; bad arguments are clear errors', () => {
  const lib = loadNativeBlas();
  if (!lib) {
    assert.not.ok(BLAS_EXPECTED, nativeBlasStatus().reason);
    return;
  }
  // batch 3 of [4,5]ᵀ·[6,5]ᵀ... with B broadcast (stride 0)
  const a = values(3 * 5 * 4, 11);
  const b = values(6 * 5, 12);
  const c = new Float32Array(3 * 4 * 6);
  lib.gemm(a, b, c, 3, 4, 6, 5, true, true, 20, 0);
  const ref = reference(a, [3, 5, 4], b, [6, 5], true, true);
  for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i] - ref.data[i]) < 1e-5, `element ${i}`);
  assert.throws(() => lib.gemm(a, b, new Float32Array(10), 3, 4, 6, 5, true, true, 20, 0), /eraserlab_blas.gemm: operand sizes exceed the arrays given/);
  assert.throws(() => lib.gemm(a, b, c, 3, 4, 6, 5, true, true, 30, 0), /operand sizes exceed the arrays given/);
  assert.throws(() => lib.gemm(new Float64Array(4) as unknown as Float32Array, b, c, 1, 2, 2, 2, false, false, 0, 0), /eraserlab_blas.gemm: a must be a Float32Array/);
  assert.throws(() => lib.gemm(a, b, c, -1, 2, 2, 2, false, false, 0, 0), /eraserlab_blas.gemm: batch must be a non-negative integer/);
});

test('productThreads: ERASERLAB_PRODUCT_THREADS (1 or 2) wins, else 2 on a multi-core machine', () => {
  const saved = process.env.ERASERLAB_PRODUCT_THREADS;
  try {
    process.env.ERASERLAB_PRODUCT_THREADS = '1';
    assert.is(productThreads(), 1);
    process.env.ERASERLAB_PRODUCT_THREADS = '4';
    assert.is(productThreads(), 2);
    process.env.ERASERLAB_PRODUCT_THREADS = 'x';
    assert.is(productThreads(), 1);
    delete process.env.ERASERLAB_PRODUCT_THREADS;
    assert.is(productThreads(), require('os').cpus().length >= 2 ? 2 : 1);
  } finally {
    if (saved === undefined) delete process.env.ERASERLAB_PRODUCT_THREADS;
    else process.env.ERASERLAB_PRODUCT_THREADS = saved;
  }
});

test('native gemm split over two threads: the same bits as on one, for every transpose, above and below the split bound', () => {
  const lib = loadNativeBlas();
  if (!lib) {
    assert.not.ok(BLAS_EXPECTED, nativeBlasStatus().reason);
    return;
  }
  assert.ok(lib.setProductThreads && lib.getProductThreads && lib.productSplits, 'the addon has setProductThreads');
  const before = lib.getProductThreads!();
  // [m, n, k]: decode-step and training shapes whose halves are past OpenBLAS's small-matrix
  // bound (they split), an odd n, and one below the bound (it does not split).
  const shapes: Array<[number, number, number]> = [[4, 1280, 512], [160, 1280, 512], [512, 1648, 128], [7, 1001, 400], [4, 512, 512]];
  try {
    for (const [m, n, k] of shapes) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const a = values(m * k, m + n);
        const b = values(k * n, k + 1);
        const one = new Float32Array(m * n);
        const two = new Float32Array(m * n);
        lib.setProductThreads!(1);
        lib.gemm(a, b, one, 1, m, n, k, ta, tb, 0, 0);
        lib.setProductThreads!(2);
        assert.is(lib.getProductThreads!(), 2);
        const splits = lib.productSplits!();
        lib.gemm(a, b, two, 1, m, n, k, ta, tb, 0, 0);
        // split exactly when both column halves are past the bound (the last shape's are not)
        assert.is(lib.productSplits!() - splits, m * Math.ceil(n / 2 / 16) * 16 * k > 1e6 && m * (n - Math.ceil(n / 2 / 16) * 16) * k > 1e6 ? 1 : 0, `[${m}, ${n}, ${k}] split`);
        const diff = one.findIndex((v, i) => !Object.is(v, two[i]));
        assert.is(diff, -1, `[${m}, ${n}, ${k}] ta=${ta} tb=${tb}: element ${diff} differs`);
        if (m * n * k > 2e7) continue; // the float64 reference: small shapes only (time)
        const ref = reference(a, ta ? [k, m] : [m, k], b, tb ? [n, k] : [k, n], ta, tb);
        let worst = 0;
        for (let i = 0; i < two.length; i++) worst = Math.max(worst, Math.abs(two[i] - ref.data[i]));
        assert.ok(worst < 1e-3, `[${m}, ${n}, ${k}] ta=${ta} tb=${tb}: max difference ${worst} from the float64 reference`);
      }
    }
    assert.throws(() => lib.setProductThreads!(0), /eraserlab_blas.setProductThreads\(n\): n must be an integer ≥ 1/);
  } finally {
    lib.setProductThreads!(before);
  }
});

for (const path of ['native', 'js'] as const) test(`matMul with fast paths (${path}) equals a float64 reference (every case)`, async () => {
  await init({ backend: 'wasm' });
  uninstallWasmFastMatMul();
  installWasmFastMatMul({ native: path === 'native' });
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
  uninstallWasmFastMatMul();
  installWasmFastMatMul();
});

test('fused matMul (bias + activation) with fast paths equals matMul + bias + relu', async () => {
  await init({ backend: 'wasm' });
  for (const [name, sa, sb, ta, tb] of CASES.filter((c) => c[1].length <= 3 && c[2].length <= 3)) {
    const got = tf.tidy(() => {
      const a = tf.tensor(values(size(sa), 3), sa);
      const b = tf.tensor(values(size(sb), 4), sb);
      const N = tb ? sb[sb.length - 2] : sb[sb.length - 1];
      const bias = tf.tensor1d(values(N, 5));
      const fused = tf.fused.matMul({ a: a as Tensor3D, b: b as Tensor3D, transposeA: ta, transposeB: tb, bias, activation: 'relu' });
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
  const f = (x: Tensor, y: Tensor, u: Tensor, v: Tensor) => tf.add(tf.sum(tf.square(tf.matMul(x, y))), tf.sum(tf.sin(tf.matMul(u, v, false, true))));
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

test('gather with the fast path equals the original kernel on every axis, and range errors are kept', async () => {
  await init({ backend: 'wasm' });
  const x = tf.tensor(values(4 * 5 * 6, 13), [4, 5, 6]);
  const xi = tf.tensor(Int32Array.from({ length: 24 }, (_, i) => i * 7 - 50), [4, 6], 'int32');
  const cases: Array<[Tensor, number[], number]> = [
    [x, [3, 0, 3, 1], 0],
    [x, [4, 4, 0], 1],
    [x, [5, 0, 2, 2, 1], 2],
    [x, [2], -1],
    [xi, [1, 0, 1, 3], 0],
    [xi, [5, 5], 1],
  ];
  const run = () =>
    cases.map(([t, idx, axis]) =>
      tf.tidy(() => {
        const g = tf.gather(t, tf.tensor1d(idx, 'int32'), axis);
        const g2 = tf.gather(t, tf.tensor2d(idx.concat(idx), [2, idx.length], 'int32'), axis);
        return { shape: [g.shape, g2.shape], data: [Array.from(g.dataSync()), Array.from(g2.dataSync())] };
      }),
    );
  const fast = run();
  uninstallWasmFastMatMul();
  let slow: ReturnType<typeof run>;
  try {
    slow = run();
    assert.throws(() => tf.gather(x, tf.tensor1d([0, 4], 'int32'), 0), /GatherV2: the index value 4 is not in \[0, 3\]/);
  } finally {
    installWasmFastMatMul();
  }
  assert.equal(fast, slow);
  assert.throws(() => tf.gather(x, tf.tensor1d([0, 4], 'int32'), 0), /GatherV2: the index value 4 is not in \[0, 3\]/);
  assert.throws(() => tf.gather(x, tf.tensor1d([-1], 'int32'), 2), /GatherV2: the index value -1 is not in \[0, 5\]/);
  tf.dispose([x, xi]);
});

test('identity (clone) and same-dtype cast share memory without copying, and each side outlives the other', async () => {
  await init({ backend: 'wasm' });
  const buffers = tf.memory().numDataBuffers;
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const y = tf.clone(x);
  assert.is(tf.memory().numDataBuffers, buffers + 1, 'one buffer for both');
  x.dispose();
  assert.equal(Array.from(y.dataSync()), [1, 2, 3, 4]);
  const z = y.clone();
  y.dispose();
  assert.equal(z.shape, [2, 2]);
  assert.equal(Array.from(z.dataSync()), [1, 2, 3, 4]);
  const c = tf.cast(z, 'float32');
  const i = tf.cast(z, 'int32');
  assert.is(tf.memory().numDataBuffers, buffers + 2, 'a same-dtype cast shares, a real one copies');
  assert.equal(Array.from(i.dataSync()), [1, 2, 3, 4]);
  z.dispose();
  assert.equal(Array.from(c.dataSync()), [1, 2, 3, 4]);
  tf.dispose([c, i]);
  assert.is(tf.memory().numDataBuffers, buffers);
});

test.run();
