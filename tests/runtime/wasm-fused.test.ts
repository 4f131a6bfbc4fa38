// The fused layer kernels of the native addon (runtime/wasm-fused.ts, native/blas/src/fused.c)
// against the tensor path: values and gradients of each op on random inputs, the whole model
// (logits, loss, every parameter gradient, greedy tokens) with the kernels on and off, no
// leaked tensors, the switches, and the addon's argument errors. Without the addon
// (ERASERLAB_NATIVE_BLAS=0, or no OpenBLAS) the kernels must be inactive and the tensor path
// must run: those tests check that instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as model from '../../sdk/model';
import * as runtime from '../../sdk/runtime';
import { fusedAttention, fusedAttentionInference, fusedKernelsActive, fusedKvAppend, fusedLayerNorm, fusedLinear, fusedQuickGelu, fusedSoftmaxCrossEntropy, fusedRmsNorm, fusedRope, fusedSwiGlu, setFusedKernels } from '../../sdk/runtime/wasm-fused';
import { applyRope, ropeArrays, ropeTables, softmaxCrossEntropyRows } from '../../sdk/model/layers';
import { loadNativeBlas } from '../../sdk/runtime/native-blas';
import type { Tensor } from '../../sdk/runtime/tf';

const tf = runtime.tf;
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'tiny-llava');
let native = false;

function rand(shape: number[], seed: number, scale = 1): Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

/** max |a − b| relative to max |b| (1 when b is all zeros). */
function relDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.is(x.length, y.length, 'same size');
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / (m || 1);
}

/** The tensor path's attention: q [B,T,nh,D], k/v [B,S,kvh,D], causal with `past`, key mask. */
function referenceAttention(q: Tensor, k: Tensor, v: Tensor, o: { causal: boolean; past: number; keyMask?: number[][] }): Tensor {
  const [B, T, nh, D] = q.shape as [number, number, number, number];
  const S = k.shape[1] as number;
  const kvh = k.shape[2] as number;
  const G = nh / kvh;
  // query head h reads KV head ⌊h / G⌋
  const rep = (x: Tensor) => tf.concat(Array.from({ length: nh }, (_, h) => tf.slice(x, [0, 0, Math.floor(h / G), 0], [B, S, 1, D])), 2);
  const qh = tf.transpose(tf.mul(q, D ** -0.5), [0, 2, 1, 3]);
  const kh = tf.transpose(rep(k), [0, 2, 1, 3]);
  const vh = tf.transpose(rep(v), [0, 2, 1, 3]);
  const bias = new Float32Array(B * T * S);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) if ((o.causal && s > o.past + t) || (o.keyMask && !o.keyMask[b][s])) bias[(b * T + t) * S + s] = -1e9;
  const scores = tf.add(tf.matMul(qh, kh, false, true), tf.tensor4d(bias, [B, 1, T, S]));
  return tf.transpose(tf.matMul(tf.softmax(scores), vh), [0, 2, 1, 3]);
}

test.before(async () => {
  await runtime.init();
  native = fusedKernelsActive();
});

test('the fused kernels are active exactly when the native addon runs on WASM and they are not switched off', () => {
  const expected = runtime.backendInfo()?.backend === 'wasm' && runtime.backendInfo()?.nativeBlas === true && process.env.ERASERLAB_FUSED !== '0';
  assert.is(fusedKernelsActive(), expected, `active ${fusedKernelsActive()}, native BLAS ${runtime.backendInfo()?.nativeBlas}`);
  const prev = setFusedKernels(false);
  assert.is(fusedKernelsActive(), false);
  setFusedKernels(prev);
  assert.is(fusedKernelsActive(), expected);
});

test('ERASERLAB_FUSED=0 in the environment turns them off', () => {
  const code = "require('tsx/cjs'); const r = require('./sdk/runtime'); r.init().then(() => console.log(JSON.stringify({ active: r.fusedKernelsActive(), native: r.backendInfo().nativeBlas })))";
  const out = spawnSync(process.execPath, ['-e', code], { cwd: path.join(__dirname, '..', '..'), env: { ...process.env, ERASERLAB_FUSED: '0' }, encoding: 'utf8' });
  assert.is(out.status, 0, out.stderr);
  const r = JSON.parse(out.stdout.trim().split('\n').pop()!);
  assert.is(r.active, false);
});

test('attention: values and gradients match the tensor path (grouped KV heads, causal, key mask, a fully masked row)', () => {
  if (!native) return void assert.is(fusedKernelsActive(), false);
  const B = 2;
  const T = 7;
  const nh = 4;
  const kvh = 2;
  const D = 8;
  // row 1 is left-padded by 3: its first 3 queries see no key at all
  const keyMask = [Array(T).fill(1), [0, 0, 0, 1, 1, 1, 1]];
  for (const o of [
    { causal: true, past: 0, keyMask },
    { causal: false, past: 0, keyMask: undefined },
  ]) {
    tf.tidy(() => {
      const q = rand([B, T, nh, D], 1);
      const k = rand([B, T, kvh, D], 2);
      const v = rand([B, T, kvh, D], 3);
      const dy = rand([B, T, nh, D], 4);
      const f = (a: Tensor, b: Tensor, c: Tensor) => fusedAttention(a, b, c, { kvLayout: 'bthd', kvHeads: kvh, scale: D ** -0.5, ...o });
      const r = (a: Tensor, b: Tensor, c: Tensor) => referenceAttention(a, b, c, o);
      const before = tf.memory().numTensors;
      const y = f(q, k, v);
      assert.ok(relDiff(y, r(q, k, v)) < 1e-5, `forward ${relDiff(y, r(q, k, v))}`);
      const gf = tf.grads((a: Tensor, b: Tensor, c: Tensor) => f(a, b, c))([q, k, v], dy);
      const gr = tf.grads((a: Tensor, b: Tensor, c: Tensor) => r(a, b, c))([q, k, v], dy);
      ['dq', 'dk', 'dv'].forEach((name, i) => assert.ok(relDiff(gf[i], gr[i]) < 1e-5, `${name} (causal ${o.causal}): ${relDiff(gf[i], gr[i])}`));
      assert.ok(tf.memory().numTensors > before);
    });
  }
});

test('attention over a KV cache (head-major layout, past > 0) matches the tensor path, and the cache append matches concat', () => {
  if (!native) return;
  tf.tidy(() => {
    const B = 2;
    const past = 5;
    const T = 2;
    const nh = 4;
    const kvh = 2;
    const D = 8;
    const kPast = rand([B, past, kvh, D], 5);
    const vPast = rand([B, past, kvh, D], 6);
    const kNew = rand([B, T, kvh, D], 7);
    const vNew = rand([B, T, kvh, D], 8);
    const q = rand([B, T, nh, D], 9);
    const headMajor = (x: Tensor) => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B * kvh, x.shape[1] as number, D]);
    const kCache = fusedKvAppend(fusedKvAppend(undefined, kPast), kNew);
    const vCache = fusedKvAppend(headMajor(vPast), vNew);
    assert.equal(kCache.shape, [B * kvh, past + T, D]);
    assert.is(relDiff(kCache, headMajor(tf.concat([kPast, kNew], 1))), 0);
    assert.is(relDiff(vCache, headMajor(tf.concat([vPast, vNew], 1))), 0);
    const keyMask = [Array(past + T).fill(1), [0, 0, 1, 1, 1, 1, 1]];
    const y = fusedAttentionInference(q, kCache, vCache, { kvLayout: 'bhsd', kvHeads: kvh, causal: true, past, keyMask, scale: D ** -0.5 });
    const ref = referenceAttention(q, tf.concat([kPast, kNew], 1), tf.concat([vPast, vNew], 1), { causal: true, past, keyMask });
    assert.ok(relDiff(y, ref) < 1e-5, `${relDiff(y, ref)}`);
  });
});

test('RMSNorm, LayerNorm, SwiGLU and quick-GELU: values and gradients match the tensor path', () => {
  if (!native) return;
  tf.tidy(() => {
    const x = rand([3, 5, 16], 11, 2);
    const w = rand([16], 12);
    const b = rand([16], 13);
    const u = rand([3, 5, 16], 14);
    const dy = rand([3, 5, 16], 15);
    const eps = 1e-5;
    const cases: Array<[string, (...a: Tensor[]) => Tensor, (...a: Tensor[]) => Tensor, Tensor[]]> = [
      ['rmsNorm', (a, c) => fusedRmsNorm(a, c, eps), (a, c) => tf.mul(tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), eps))), c), [x, w]],
      [
        'layerNorm',
        (a, c, d) => fusedLayerNorm(a, c, d, eps),
        (a, c, d) => {
          const m = tf.mean(a, -1, true);
          const z = tf.sub(a, m);
          return tf.add(tf.mul(tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), -1, true), eps))), c), d);
        },
        [x, w, b],
      ],
      ['swiGlu', (g, v) => fusedSwiGlu(g, v), (g, v) => tf.mul(tf.mul(g, tf.sigmoid(g)), v), [x, u]],
      ['quickGelu', (a) => fusedQuickGelu(a), (a) => tf.mul(a, tf.sigmoid(tf.mul(a, 1.702))), [x]],
    ];
    for (const [name, fused, ref, inputs] of cases) {
      assert.ok(relDiff(fused(...inputs), ref(...inputs)) < 2e-6, `${name} forward ${relDiff(fused(...inputs), ref(...inputs))}`);
      const gf = tf.grads((...a: Tensor[]) => fused(...a))(inputs, dy);
      const gr = tf.grads((...a: Tensor[]) => ref(...a))(inputs, dy);
      gf.forEach((g, i) => assert.ok(relDiff(g, gr[i]) < 1e-5, `${name} gradient ${i}: ${relDiff(g, gr[i])}`));
    }
  });
});

test('linear: x·w (+ b) and its gradients are the bits of tf.matMul / tf.fused.matMul; a frozen weight costs no gradient product; no leaks', async () => {
  if (!native) return;
  const same = (a: Tensor, b: Tensor, what: string) => {
    assert.equal(a.shape, b.shape, `${what}: shape`);
    const x = a.dataSync();
    const y = b.dataSync();
    const i = x.findIndex((v, j) => !Object.is(v, y[j]));
    assert.is(i, -1, `${what}: element ${i} is ${x[i]}, tfjs gives ${y[i]}`);
  };
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    // [M, K] · [K, N]: a training-sized product (split over the helper thread) and a small one
    for (const [M, K, N] of [[512, 128, 1648], [7, 5, 3]]) {
      const x = rand([M, K], M + 1);
      const w = rand([K, N], K + 2, 0.1);
      const b = rand([N], N + 3);
      const dy = rand([M, N], 4);
      same(fusedLinear(x, w), tf.matMul(x, w), `[${M}, ${K}]·[${K}, ${N}] forward`);
      same(fusedLinear(x, w, b), tf.fused.matMul({ a: x, b: w, bias: b }), `[${M}, ${K}]·[${K}, ${N}] + b forward`);
      const gf = tf.grads((a: Tensor, c: Tensor, d: Tensor) => fusedLinear(a, c, d))([x, w, b], dy);
      const gt = tf.grads((a: Tensor, c: Tensor, d: Tensor) => tf.fused.matMul({ a: a as never, b: c as never, bias: d }))([x, w, b], dy);
      ['x', 'w', 'b'].forEach((n, i) => same(gf[i], gt[i], `[${M}, ${K}]·[${K}, ${N}] gradient of ${n}`));
    }
  });
  // only the gradients asked for run: with w frozen, no weight-gradient product
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
  const w = tf.randomNormal([4, 5], 0, 1, 'float32', 2);
  const dy = tf.ones([6, 5]);
  const prof = await tf.profile(() => {
    tf.tidy(() => {
      tf.grads((a: Tensor) => fusedLinear(a, w))([x], dy);
    });
  });
  const names = prof.kernels.map((k) => k.name);
  assert.ok(names.includes('EraserlabLinearGradX'), names.join(', '));
  assert.not.ok(names.includes('EraserlabLinearGradW'), names.join(', '));
  tf.dispose([x, w, dy]);
  assert.is(tf.memory().numTensors, before, 'no tensors left');
  const a = tf.zeros([2, 3]);
  const c = tf.zeros([4, 5]);
  assert.throws(() => fusedLinear(a, c), /fusedLinear: x \[2, 3\] · w \[4, 5\]: expected x \[M, K\], w \[K, N\], b \[N\]/);
  tf.dispose([a, c]);
});

test('cross-entropy: the value and gradient are the bits of the tensor ops (their exp is the WASM backend\'s own); bad targets are clear errors', () => {
  if (!native) return;
  const before = tf.memory().numTensors;
  const bits = (a: Tensor, b: Tensor, what: string) => {
    const x = a.dataSync();
    const y = b.dataSync();
    assert.is(x.length, y.length, `${what}: size`);
    const i = x.findIndex((v, j) => !Object.is(v, y[j]));
    assert.is(i, -1, `${what}: element ${i} is ${x[i]}, the tensor path gives ${y[i]}`);
  };
  tf.tidy(() => {
    // logits of a trained model's size and spread, a row with one huge logit (exp underflows
    // to 0 elsewhere) and a row of equal logits
    const N = 40;
    const V = 1648;
    const base = rand([N, V], 31, 6).arraySync() as number[][];
    base[1] = base[1].map((v, j) => (j === 7 ? 200 : v));
    base[2] = base[2].map(() => 0.25);
    const logits = tf.tensor2d(base);
    const targets = Array.from({ length: N }, (_, i) => (i * 37) % V);
    const dy = rand([N], 32);
    const path = (on: boolean) => {
      const prev = setFusedKernels(on);
      try {
        const value = softmaxCrossEntropyRows(logits, targets);
        const [grad] = tf.grads((l: Tensor) => softmaxCrossEntropyRows(l as never, targets))([logits], dy);
        return { value, grad };
      } finally {
        setFusedKernels(prev);
      }
    };
    const on = path(true);
    const off = path(false);
    bits(on.value, off.value, 'value');
    bits(on.grad, off.grad, 'gradient');
    bits(fusedSoftmaxCrossEntropy(logits, targets), off.value, 'value outside a tape');
    // exp itself, the kernel's e = exp(x − max) with max 0, against the WASM backend's Exp
    // over 2^20 arguments spread over [−112, 0] (exp(x − max) never sees more)
    const u = new Uint32Array(1 << 20);
    for (let i = 0; i < u.length; i++) u[i] = (0x80000000 + i * 1069) >>> 0;
    const xs = new Float32Array(u.buffer);
    const R = 1024;
    const C = xs.length / R + 1;
    const x = new Float32Array(R * C);
    for (let r = 0; r < R; r++) x.set(xs.subarray(r * (C - 1), (r + 1) * (C - 1)), r * C + 1);
    const e = new Float32Array(R * C);
    const dims = new Float64Array(2 + R);
    dims[0] = R;
    dims[1] = C;
    (loadNativeBlas() as unknown as { ceFwd: (...a: unknown[]) => void }).ceFwd(x, e, new Float32Array(R), new Float32Array(R), dims);
    bits(tf.tensor1d(e), tf.exp(tf.tensor1d(x)), 'exp over 2^20 arguments');
  });
  assert.is(tf.memory().numTensors, before, 'no tensors left');
  const l = tf.zeros([2, 3]);
  assert.throws(() => fusedSoftmaxCrossEntropy(l, [0, 3]), /fusedSoftmaxCrossEntropy: targets\[1\] = 3 is not a class in \[0, 3\)/);
  const ce = loadNativeBlas() as unknown as { ceFwd: (...a: unknown[]) => void };
  assert.throws(() => ce.ceFwd(new Float32Array(6), new Float32Array(6), new Float32Array(2), new Float32Array(2), new Float64Array([2, 3, 0, 3])), /eraserlab_blas.ceFwd: target 1 is 3, not a class in \[0, 3\)/);
  assert.throws(() => fusedSoftmaxCrossEntropy(l, [0]), /fusedSoftmaxCrossEntropy: logits \[2, 3\] and 1 targets: expected \[N, V\] and N targets/);
  l.dispose();
  assert.is(tf.memory().numTensors, before, 'no tensors left after the errors');
});

test('rotary embedding: the same values as the tensor path (bit for bit) and the transposed rotation as gradient', () => {
  if (!native) return;
  tf.tidy(() => {
    const positions = [[0, 1, 2, 3, 4], [1, 1, 0, 1, 2]];
    const x = rand([2, 5, 3, 8], 21, 3);
    const dy = rand([2, 5, 3, 8], 22);
    const arr = ropeArrays(positions, 8, 10000);
    const tables = ropeTables(positions, 8, 10000);
    assert.is(relDiff(fusedRope(x, arr.cos, arr.sin), applyRope(x as never, tables)), 0);
    const gf = tf.grad((a: Tensor) => fusedRope(a, arr.cos, arr.sin))(x, dy);
    const gr = tf.grad((a: Tensor) => applyRope(a as never, tables))(x, dy);
    assert.ok(relDiff(gf, gr) < 1e-6, `${relDiff(gf, gr)}`);
    assert.throws(() => fusedRope(x, arr.cos.subarray(8), arr.sin), /fusedRope: tables hold 72 values, 80 needed/);
  });
});

test('the model with the fused kernels on and off: same logits, loss, parameter gradients and greedy tokens; no leaked tensors', async () => {
  const m = await model.loadPretrained(FIXTURE);
  const ref = model.readSafetensors(path.join(FIXTURE, 'reference.safetensors')).tensors;
  const p = ref.get('pixel_values')!;
  const pv = tf.tensor4d(p.data as Float32Array, p.shape as [number, number, number, number]);
  const prompt = Array.from(ref.get('input_ids')!.data);
  const T = prompt.length;
  // one unpadded row and one left-padded by 2 (a padded row with the same image)
  const ids = [prompt, [0, 0, ...prompt.slice(0, T - 2)]];
  const mask = [prompt.map(() => 1), [0, 0, ...prompt.slice(0, T - 2).map(() => 1)]];
  const labels = ids.map((r, b) => r.map((t, j) => (j >= T - 4 && mask[b][j] ? t : -100)));
  const pv2 = tf.concat([pv, pv], 0);
  const run = (on: boolean) => {
    const prev = setFusedKernels(on);
    try {
      const vars = [...m.params.values()];
      const { value, grads } = tf.variableGrads(() => model.answerNll(m.forward({ inputIds: ids, attentionMask: mask, pixelValues: pv2 }).logits, labels), vars);
      const logits = m.forward({ inputIds: ids, attentionMask: mask, pixelValues: pv2 }).logits;
      return { value, logits, grads };
    } finally {
      setFusedKernels(prev);
    }
  };
  const off = run(false);
  const before = tf.memory().numTensors;
  const on = run(true);
  const made = tf.memory().numTensors - before;
  try {
    assert.is(made, 2 + Object.keys(on.grads).length, 'only the loss, the logits and the gradients are left');
    assert.ok(Math.abs(on.value.dataSync()[0] - off.value.dataSync()[0]) < 1e-5, 'loss');
    // logits at real positions (padded queries attend uniformly on both paths)
    assert.ok(relDiff(on.logits, off.logits) < 1e-5, `logits ${relDiff(on.logits, off.logits)}`);
    const names = [...m.params.keys()];
    const vars = [...m.params.values()];
    let worst = 0;
    let scale = 0;
    for (const g of Object.values(off.grads)) scale = Math.max(scale, ...Array.from(g.dataSync(), Math.abs));
    for (const [k, g] of Object.entries(on.grads)) {
      const d = relDiff(g, off.grads[k]) * Math.max(...Array.from(off.grads[k].dataSync(), Math.abs), 1e-30);
      const name = names[vars.findIndex((v) => v.name === k)];
      assert.ok(d / scale < 1e-5, `gradient of ${name}: ${d} against a largest gradient of ${scale}`);
      worst = Math.max(worst, d / scale);
    }
    const gen = async (on2: boolean) => {
      const prev = setFusedKernels(on2);
      try {
        return await m.generate({ inputIds: [prompt, prompt.slice(0, T - 3)], pixelValues: pv2, maxNewTokens: 12, eosTokenId: [] });
      } finally {
        setFusedKernels(prev);
      }
    };
    const n0 = tf.memory().numTensors;
    const g1 = await gen(true);
    assert.is(tf.memory().numTensors, n0, 'generation leaves no tensors');
    const g0 = await gen(false);
    assert.equal(g1.sequences, g0.sequences);
  } finally {
    tf.dispose([on.value, on.logits, off.value, off.logits, ...Object.values(on.grads), ...Object.values(off.grads), pv, pv2]);
    m.dispose();
  }
  if (!native) assert.is(fusedKernelsActive(), false, 'without the addon both runs took the tensor path');
});

test('the addon checks sizes and argument types before writing', () => {
  const lib = loadNativeBlas() as unknown as Record<string, (...a: unknown[]) => unknown> | undefined;
  if (!native || !lib) return;
  const f = (n: number) => new Float32Array(n);
  const dims = new Float64Array([1, 2, 2, 1, 1, 4, 0, 1, 0, 0.5, 0]);
  assert.throws(() => lib.attnFwd(f(8), f(8), f(8), f(8), f(3), null, dims), /attnFwd: probs holds 3 values, 4 needed/);
  assert.throws(() => lib.attnFwd(f(8), f(8), [1, 2], f(8), f(4), null, dims), /attnFwd: v must be a Float32Array/);
  assert.throws(() => lib.attnFwd(f(8), f(8), f(8), f(8), f(4), null, new Float64Array([1, 2, 2, 3, 2, 4, 0, 1, 0, 0.5, 0])), /heads a multiple of kvHeads/);
  assert.throws(() => lib.rmsFwd(f(8), f(4), f(8), f(1), new Float64Array([2, 4, 1e-6])), /rmsFwd: r holds 1 values, 2 needed/);
  assert.throws(() => lib.kvAppend(null, f(8), f(4), new Float64Array([1, 0, 2, 1, 4])), /kvAppend: out holds 4 values, 8 needed/);
  assert.throws(() => lib.swigluFwd(f(4), f(4)), /swigluFwd\(g, u, y\): 3 arguments expected/);
});

test.run();
