import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime } from '../../sdk';
import {
  AdamW,
  clipByGlobalNorm,
  computeGradients,
  cosineSchedule,
  defaultNoDecay,
  disposeGrads,
  GradientAccumulator,
} from '../../sdk/model/optim';
import { installWasmFastMatMul, uninstallWasmFastMatMul, wasmNativeAdamW } from '../../sdk/runtime/wasm-matmul';
import { nativeBlasStatus } from '../../sdk/runtime/native-blas';

const { tf } = runtime;
type Tensor = runtime.Tensor;
type Variable = runtime.Variable;

let uid = 0;
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = ''): void {
  assert.is(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.unreachable(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

function vars(spec: Record<string, number[] | number[][]>): Map<string, Variable> {
  const m = new Map<string, Variable>();
  for (const [k, v] of Object.entries(spec)) m.set(k, tf.variable(tf.tensor(v as number[]), true, `optim-test/${k}/${uid++}`));
  return m;
}

function disposeAll(m: Map<string, Variable>): void {
  for (const v of m.values()) v.dispose();
}

test.before(async () => {
  await runtime.init();
});

test('AdamW: two hand-computed steps; decay on weights, none on biases', () => {
  const p = vars({ 'layer.weight': [1, -2], 'layer.bias': [1, -2] });
  const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.01, maxGradNorm: 0 });
  const g = () => new Map<string, Tensor>([
    ['layer.weight', tf.tensor([0.5, 0.1])],
    ['layer.bias', tf.tensor([0.5, 0.1])],
  ]);
  // step 1: p ← p·(1 − 0.1·0.01); m̂ = g, v̂ = g², so the Adam move is lr·sign(g) = 0.1
  let gr = g();
  const info = opt.applyGradients(gr);
  disposeGrads(gr);
  assert.is(info.lr, 0.1);
  assert.is(info.step, 0);
  close(info.gradNorm !== undefined ? [info.gradNorm] : [], [Math.sqrt(2 * (0.25 + 0.01))], 1e-6, 'gradNorm');
  close(p.get('layer.weight')!.dataSync(), [0.999 - 0.1, -1.998 - 0.1], 1e-6, 'weight after 1');
  close(p.get('layer.bias')!.dataSync(), [0.9, -2.1], 1e-6, 'bias after 1');
  // step 2, same gradient: bias-corrected moments are again g and g²
  gr = g();
  opt.applyGradients(gr);
  disposeGrads(gr);
  close(p.get('layer.weight')!.dataSync(), [0.899 * 0.999 - 0.1, -2.098 * 0.999 - 0.1], 1e-6, 'weight after 2');
  close(p.get('layer.bias')!.dataSync(), [0.8, -2.2], 1e-6, 'bias after 2');
  assert.is(opt.step, 2);
  opt.dispose();
  disposeAll(p);
});

test('AdamW + clipping + cosine warm-up equal torch.optim.AdamW / clip_grad_norm_ / LambdaLR (pinned from PyTorch 1.13, float64)', () => {
  const init = (n: number, off: number) => Array.from({ length: n }, (_, i) => Math.cos(0.37 * i + off));
  const W = tf.variable(tf.tensor(init(12, 0.1), [3, 4]), true, `optim-test/W/${uid++}`);
  const b = tf.variable(tf.tensor(init(4, 1.3)), true, `optim-test/b/${uid++}`);
  const nw = tf.variable(tf.tensor(init(4, 2.2).map((x) => 1 + 0.1 * x)), true, `optim-test/nw/${uid++}`);
  const params = new Map<string, Variable>([
    ['model.layers.0.mlp.weight', W],
    ['model.layers.0.mlp.bias', b],
    ['model.layers.0.input_layernorm.weight', nw],
  ]);
  const total = 6;
  const opt = new AdamW(params, { schedule: cosineSchedule({ lr: 0.05, totalSteps: total, warmupRatio: 0.2 }), weightDecay: 0.01, maxGradNorm: 1.0 });
  const norms: number[] = [];
  const lrs: number[] = [];
  for (let step = 0; step < total; step++) {
    const s = step % 2 === 0 ? 3.0 : 0.2;
    const grads = new Map<string, Tensor>([
      ['model.layers.0.mlp.weight', tf.tensor(Array.from({ length: 12 }, (_, i) => s * Math.sin(0.5 * i + step)), [3, 4])],
      ['model.layers.0.mlp.bias', tf.tensor(Array.from({ length: 4 }, (_, i) => s * Math.sin(0.9 * i - step)))],
      ['model.layers.0.input_layernorm.weight', tf.tensor(Array.from({ length: 4 }, (_, i) => s * Math.cos(0.3 * i + 2 * step)))],
    ]);
    const r = opt.applyGradients(grads);
    disposeGrads(grads);
    norms.push(r.gradNorm);
    lrs.push(r.lr);
  }
  close(norms, [9.91879601121556, 0.6514958423226197, 8.70529018528719, 0.6738517993413121, 9.365983093950259, 0.6045084268176739], 1e-4, 'norms');
  close(lrs, [0.0, 0.025, 0.05, 0.04267766952966369, 0.025, 0.0073223304703363135], 1e-9, 'lrs');
  close(W.dataSync(), [0.8975147796281363, 0.7864886937398012, 0.5881669874748054, 0.3156335170940768, -0.005321559615886803, -0.3265734339578132, -0.5933322161769161, -0.7930940865278725, -0.9070601553395737, -0.9083072258070684, -0.7825086725349487, -0.5470243947364557], 2e-5, 'W');
  close(b.dataSync(), [0.3635615019978382, -0.07653581254023878, -0.5026192175593529, -0.8489200160408789], 2e-5, 'b');
  close(nw.dataSync(), [0.9245198619015389, 0.8998469054036463, 0.8863412134208648, 0.8869121227995775], 2e-5, 'norm weight');
  opt.dispose();
  disposeAll(params);
});

test('lrScale gives a parameter its own learning rate (PyTorch param groups)', () => {
  const p = vars({ 'vision.weight': [1, -2], 'text.weight': [1, -2] });
  const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.01, maxGradNorm: 0, lrScale: (k) => (k.startsWith('vision.') ? 0.5 : 1) });
  const g = new Map<string, Tensor>([
    ['vision.weight', tf.tensor([0.5, 0.1])],
    ['text.weight', tf.tensor([0.5, 0.1])],
  ]);
  opt.applyGradients(g);
  disposeGrads(g);
  close(p.get('text.weight')!.dataSync(), [0.999 - 0.1, -1.998 - 0.1], 1e-6, 'text');
  close(p.get('vision.weight')!.dataSync(), [0.9995 - 0.05, -1.999 - 0.05], 1e-6, 'vision (half lr, half decay)');
  opt.dispose();
  disposeAll(p);
});

test('no weight decay on biases and norms (transformers Trainer grouping)', () => {
  for (const k of ['model.language_model.layers.0.input_layernorm.weight', 'model.language_model.norm.weight', 'model.vision_tower.pre_layrnorm.weight', 'model.vision_tower.encoder.layers.0.layer_norm1.bias', 'model.multi_modal_projector.linear_1.bias', 'model.language_model.layers.1.post_attention_layernorm.weight']) {
    assert.ok(defaultNoDecay(k), k);
  }
  for (const k of ['model.language_model.layers.0.self_attn.q_proj.weight', 'lm_head.weight', 'model.language_model.embed_tokens.weight', 'model.multi_modal_projector.linear_1.weight']) {
    assert.not.ok(defaultNoDecay(k), k);
  }
});

test('cosine schedule with warm-up ratio (ceil, first step at 0, ends at 0)', () => {
  const s = cosineSchedule({ lr: 1e-4, totalSteps: 100, warmupRatio: 0.06 });
  assert.is(s(0), 0);
  close([s(3), s(6), s(53), s(100)], [5e-5, 1e-4, 0.5e-4, 0], 1e-12, 'lr');
  const noWarm = cosineSchedule({ lr: 1, totalSteps: 4 });
  close([0, 1, 2, 3].map(noWarm), [1, 0.5 * (1 + Math.cos(Math.PI / 4)), 0.5, 0.5 * (1 + Math.cos((3 * Math.PI) / 4))], 1e-12, 'no warm-up');
});

test('clipByGlobalNorm scales to maxNorm and reports the norm before', () => {
  const g = { a: tf.tensor([3, 0]), b: tf.tensor([0, 4]) };
  const { grads, norm } = clipByGlobalNorm(g, 1);
  close([norm], [5], 1e-6);
  close(grads.get('a')!.dataSync(), [3 / (5 + 1e-6), 0], 1e-6);
  close(grads.get('b')!.dataSync(), [0, 4 / (5 + 1e-6)], 1e-6);
  const small = clipByGlobalNorm(g, 10);
  close(small.grads.get('b')!.dataSync(), [0, 4], 0);
  disposeGrads(grads);
  disposeGrads(small.grads);
  disposeGrads(g);
});

test('gradient accumulation: mean over micro-batches; computeGradients keys by our names', () => {
  const p = vars({ w: [1, 2] });
  const acc = new GradientAccumulator();
  const x1 = tf.tensor([1, 1]);
  const x2 = tf.tensor([3, -1]);
  for (const x of [x1, x2]) {
    const { loss, grads } = computeGradients(() => tf.sum(tf.mul(p.get('w')!, x)) as ReturnType<typeof tf.scalar>, p);
    assert.ok(Number.isFinite(loss));
    acc.add(grads);
    disposeGrads(grads);
  }
  assert.is(acc.count, 2);
  const mean = acc.take();
  close(mean.get('w')!.dataSync(), [2, 0], 1e-6, 'mean grad');
  assert.is(acc.count, 0);
  disposeGrads(mean);
  x1.dispose();
  x2.dispose();
  acc.dispose();
  disposeAll(p);
});

function trainRun(steps: number, resumeAt?: number): number[] {
  const p = vars({ 'w.weight': [[0.5, -0.3], [0.2, 0.8]], 'w.bias': [0.1, -0.1] });
  const sched = cosineSchedule({ lr: 0.05, totalSteps: steps, warmupRatio: 0.1 });
  let opt = new AdamW(p, { schedule: sched });
  const x = tf.tensor([[1, 2], [-1, 0.5], [0.3, 0.3]]);
  const y = tf.tensor([[1, 0], [0, 1], [1, 1]]);
  for (let s = 0; s < steps; s++) {
    if (resumeAt !== undefined && s === resumeAt) {
      const st = opt.getState();
      opt.dispose();
      opt = new AdamW(p, { schedule: sched });
      opt.setState(st);
      disposeGrads(st.m);
      disposeGrads(st.v);
    }
    const { grads } = computeGradients(() => tf.tidy(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, p.get('w.weight')!), p.get('w.bias')!), y)))) as ReturnType<typeof tf.scalar>, p);
    opt.applyGradients(grads);
    disposeGrads(grads);
  }
  const out = [...p.get('w.weight')!.dataSync(), ...p.get('w.bias')!.dataSync()];
  opt.dispose();
  disposeAll(p);
  x.dispose();
  y.dispose();
  return out;
}

test('deterministic, and resuming from getState/setState continues bit-for-bit', () => {
  const a = trainRun(20);
  const b = trainRun(20);
  const c = trainRun(20, 9);
  assert.equal(a, b);
  assert.equal(a, c);
});

test('setState with a mismatched state is a ConfigError listing each problem', () => {
  const p = vars({ a: [1, 2] });
  const opt = new AdamW(p);
  try {
    opt.setState({ step: 1, m: new Map([['a', tf.zeros([3])]]), v: new Map() });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is((e as Error).message, 'AdamW.setState: the state does not match the optimised parameters (2 problems):\n  - m.a: shape [3] but the parameter is [2]\n  - v.a: missing');
  }
  assert.throws(() => {
    const g = new Map([['zzz', tf.zeros([1])]]);
    try {
      opt.applyGradients(g);
    } finally {
      disposeGrads(g);
    }
  }, /AdamW: gradient for 'zzz', which is not one of the optimised parameters/);
  opt.dispose();
  disposeAll(p);
});

test('a parameter without a gradient keeps its value and moments exactly (PyTorch skips grad None)', () => {
  const p = vars({ w: [0.5, -0.25, 2], bias: [1, 2] });
  const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.1, maxGradNorm: 1.0 });
  const step = (names: string[]) => {
    const g = new Map(names.map((k) => [k, tf.onesLike(p.get(k)!)] as [string, Tensor]));
    opt.applyGradients(g);
    disposeGrads(g);
  };
  step(['w', 'bias']);
  const before = opt.getState();
  const biasBefore = Array.from(p.get('bias')!.dataSync());
  const wBefore = Array.from(p.get('w')!.dataSync());
  step(['w']);
  const after = opt.getState();
  assert.equal(Array.from(p.get('bias')!.dataSync()), biasBefore, 'bias not moved (nor decayed)');
  assert.equal(Array.from(after.m.get('bias')!.dataSync()), Array.from(before.m.get('bias')!.dataSync()), 'bias moments kept');
  assert.equal(Array.from(after.v.get('bias')!.dataSync()), Array.from(before.v.get('bias')!.dataSync()));
  assert.not.equal(Array.from(p.get('w')!.dataSync()), wBefore, 'w moved');
  for (const st of [before, after]) tf.dispose([...st.m.values(), ...st.v.values()]);
  opt.dispose();
  disposeAll(p);
});

test('the native AdamW pass equals the tensor path (clipping, decay, per-parameter lr), and leaks nothing', () => {
  if (!nativeBlasStatus().loaded) return; // the addon is not built here: only the tensor path exists
  const run = (native: boolean) => {
    uninstallWasmFastMatMul();
    installWasmFastMatMul({ native });
    assert.is(wasmNativeAdamW() !== undefined, native);
    const rng = runtime.Rng.derive(5, 'optim/native');
    const init = (n: number) => Array.from({ length: n }, () => rng.normal(0, 1));
    const p = vars({ 'vision.w': init(300), 'lm.w': init(257), 'lm.bias': init(7) });
    const opt = new AdamW(p, { schedule: cosineSchedule({ lr: 0.05, totalSteps: 6, warmupRatio: 0.2 }), weightDecay: 0.1, maxGradNorm: 1.0, lrScale: (k) => (k.startsWith('vision.') ? 0.1 : 1) });
    const before = tf.memory().numTensors;
    const norms: number[] = [];
    for (let s = 0; s < 6; s++) {
      // gradients large enough that clipping is active on some steps and not on others
      const g = new Map([...p].map(([k, v]) => [k, tf.tidy(() => tf.mul(tf.tensor(init(v.size), v.shape), s % 2 ? 0.01 : 1))] as [string, Tensor]));
      norms.push(opt.applyGradients(g).gradNorm);
      disposeGrads(g);
    }
    assert.is(tf.memory().numTensors, before, 'no tensors leaked');
    const out = [...p].map(([k, v]) => [k, Array.from(v.dataSync())] as const);
    const st = opt.getState();
    const moments = [...st.m.values(), ...st.v.values()].map((t) => Array.from(t.dataSync()));
    tf.dispose([...st.m.values(), ...st.v.values()]);
    opt.dispose();
    disposeAll(p);
    return { out, norms, moments };
  };
  try {
    const fast = run(true);
    const ref = run(false);
    close(fast.norms, ref.norms, 1e-5, 'grad norms');
    fast.out.forEach(([k, d], i) => close(d, ref.out[i][1], 1e-6, k));
    fast.moments.forEach((d, i) => close(d, ref.moments[i], 1e-6, `moment ${i}`));
  } finally {
    uninstallWasmFastMatMul();
    installWasmFastMatMul();
  }
});

test('no leaked tensors over 100 steps (grads, clipping, accumulation)', async () => {
  const p = vars({ 'w.weight': [[0.5, -0.3], [0.2, 0.8]], 'w.bias': [0.1, -0.1] });
  const opt = new AdamW(p, { schedule: cosineSchedule({ lr: 0.01, totalSteps: 100, warmupRatio: 0.06 }) });
  const acc = new GradientAccumulator();
  const x = tf.tensor([[1, 2], [-1, 0.5]]);
  const loss = () => tf.tidy(() => tf.sum(tf.square(tf.add(tf.matMul(x, p.get('w.weight')!), p.get('w.bias')!)))) as ReturnType<typeof tf.scalar>;
  // warm one step so lazily created kernels/temporaries do not count
  await runtime.expectNoLeakedTensors(() => {
    for (let s = 0; s < 100; s++) {
      for (let k = 0; k < 2; k++) {
        const { grads } = computeGradients(loss, p);
        acc.add(grads);
        disposeGrads(grads);
      }
      const mean = acc.take();
      opt.applyGradients(mean);
      disposeGrads(mean);
    }
  }, { label: 'AdamW 100 steps' });
  assert.is(opt.step, 100);
  opt.dispose();
  acc.dispose();
  x.dispose();
  disposeAll(p);
});

test.run();
