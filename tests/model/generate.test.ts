// Generation with the KV cache: batching ragged prompts, sampling, EOS, progress, abort, and no
// leaked tensors over 100 generated tokens or 100 forward/backward steps. Also the padding
// semantics of forward() and the LinearHook.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import * as model from '../../sdk/model';
import * as runtime from '../../sdk/runtime';

const tf = runtime.tf;
const DIR = path.join(__dirname, '..', 'fixtures', 'tiny-llava');
const ref = model.readSafetensors(path.join(DIR, 'reference.safetensors')).tensors;
const imagePrompt = Array.from(ref.get('input_ids')!.data);
const textPrompt = [1, 10, 11, 12, 40, 41];
let m: model.LlavaModel;
let pv: ReturnType<typeof tf.tensor4d>;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test.before(async () => {
  await runtime.init();
  m = await model.loadPretrained(DIR);
  const p = ref.get('pixel_values')!;
  pv = tf.tensor4d(p.data as Float32Array, p.shape as [number, number, number, number]);
});

test.after(() => {
  m.dispose();
  pv.dispose();
});

test('left and right padding give the unpadded logits at real positions', () => {
  const T = textPrompt.length;
  const solo = m.forward({ inputIds: [textPrompt] }).logits;
  const left = m.forward({ inputIds: [[0, 0, 0, ...textPrompt]], attentionMask: [[0, 0, 0, ...textPrompt.map(() => 1)]] }).logits;
  const right = m.forward({ inputIds: [[...textPrompt, 0, 0]], attentionMask: [[...textPrompt.map(() => 1), 0, 0]] }).logits;
  const s = solo.dataSync();
  const l = tf.slice(left, [0, 3, 0], [1, T, -1]).dataSync();
  const r = tf.slice(right, [0, 0, 0], [1, T, -1]).dataSync();
  assert.ok(maxAbsDiff(s, l) < 1e-4, `left ${maxAbsDiff(s, l)}`);
  assert.ok(maxAbsDiff(s, r) < 1e-4, `right ${maxAbsDiff(s, r)}`);
  tf.dispose([solo, left, right]);
});

test('batched ragged prompts generate what each prompt generates alone', async () => {
  const a = await m.generate({ inputIds: [imagePrompt], pixelValues: pv, maxNewTokens: 8, eosTokenId: [] });
  const b = await m.generate({ inputIds: [textPrompt], maxNewTokens: 8, eosTokenId: [] });
  const both = await m.generate({ inputIds: [textPrompt, imagePrompt], pixelValues: pv, maxNewTokens: 8, eosTokenId: [] });
  assert.equal(both.sequences, [b.sequences[0], a.sequences[0]]);
  assert.equal(both.promptIndex, [0, 1]);
  assert.is(a.sequences[0].length, 8);
});

test('greedy generation equals argmax of a full forward, step by step (cache is consistent)', async () => {
  const r = await m.generate({ inputIds: [textPrompt], maxNewTokens: 5, eosTokenId: [] });
  const ids = [...textPrompt];
  for (let i = 0; i < 5; i++) {
    const logits = m.forward({ inputIds: [ids] }).logits;
    const last = tf.tidy(() => tf.argMax(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1]), -1).dataSync()[0]);
    logits.dispose();
    ids.push(last);
  }
  assert.equal(r.sequences[0], ids.slice(textPrompt.length));
});

test('sampling is seeded; numSamples rows are prompt-major; topK 1 is greedy', async () => {
  const opts = { inputIds: [textPrompt, [1, 20, 21]], maxNewTokens: 6, temperature: 1.0, topP: 0.9, numSamples: 3, eosTokenId: [] as number[] };
  const x = await m.generate({ ...opts, seed: 7 });
  const y = await m.generate({ ...opts, seed: 7 });
  const z = await m.generate({ ...opts, seed: 8 });
  assert.equal(x.sequences, y.sequences);
  assert.not.equal(x.sequences, z.sequences);
  assert.equal(x.promptIndex, [0, 0, 0, 1, 1, 1]);
  assert.is(x.sequences.length, 6);
  const greedy = await m.generate({ inputIds: [textPrompt], maxNewTokens: 6, eosTokenId: [] });
  const k1 = await m.generate({ inputIds: [textPrompt], maxNewTokens: 6, temperature: 2, topK: 1, seed: 3, eosTokenId: [] });
  assert.equal(k1.sequences, greedy.sequences);
});

test('several samples of an image prompt reuse its image', async () => {
  const r = await m.generate({ inputIds: [imagePrompt, textPrompt], pixelValues: pv, maxNewTokens: 4, numSamples: 2, eosTokenId: [] });
  const greedyImage = await m.generate({ inputIds: [imagePrompt], pixelValues: pv, maxNewTokens: 4, eosTokenId: [] });
  assert.equal(r.sequences[0], greedyImage.sequences[0]);
  assert.equal(r.sequences[1], greedyImage.sequences[0]);
});

test('sampleToken follows softmax(logits / T) and the top-p cut', () => {
  const logits = new Float32Array([2, 1, 0, -1]);
  const rng = new runtime.Rng(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[model.sampleToken(logits, 0, 4, { temperature: 1 }, rng)]++;
  const z = [2, 1, 0, -1].map(Math.exp);
  const s = z.reduce((a, b) => a + b);
  counts.forEach((c, i) => assert.ok(Math.abs(c / 4000 - z[i] / s) < 0.03, `token ${i}: ${c / 4000} vs ${z[i] / s}`));
  // p = [.644, .237, .087, .032]: topP 0.8 keeps the first two only.
  for (let i = 0; i < 500; i++) assert.ok(model.sampleToken(logits, 0, 4, { temperature: 1, topP: 0.8 }, rng) < 2);
  assert.is(model.sampleToken(logits, 0, 4, { temperature: 0 }, rng), 0);
});

test('stops at EOS (not included), reports progress, and honours abort', async () => {
  const greedy = await m.generate({ inputIds: [textPrompt], maxNewTokens: 6, eosTokenId: [] });
  const eos = greedy.sequences[0][2];
  const firstAt = greedy.sequences[0].indexOf(eos);
  const steps: number[] = [];
  const r = await m.generate({ inputIds: [textPrompt], maxNewTokens: 6, eosTokenId: eos, onProgress: (d) => steps.push(d) });
  assert.equal(r.sequences[0], greedy.sequences[0].slice(0, firstAt));
  assert.equal(r.finishReason, ['eos']);
  assert.equal(steps, Array.from({ length: firstAt + 1 }, (_, i) => i + 1));
  const ac = new AbortController();
  const a = await m.generate({ inputIds: [textPrompt], maxNewTokens: 50, eosTokenId: [], signal: ac.signal, onProgress: (d) => d === 3 && ac.abort() });
  assert.ok(a.aborted);
  assert.is(a.sequences[0].length, 3);
  assert.equal(a.finishReason, ['aborted']);
});

test('bad generate options are one ConfigError listing each', async () => {
  try {
    await m.generate({ inputIds: [[]], maxNewTokens: -1, topP: 2 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      'Invalid generate() options (3 problems):\n  - inputIds[0]: empty prompt\n  - maxNewTokens: must be an integer ≥ 0, got -1\n  - topP: must be in (0, 1], got 2',
    );
  }
});

test('100 generated tokens leave no tensors behind', async () => {
  await runtime.expectNoLeakedTensors(async () => {
    const r = await m.generate({ inputIds: [imagePrompt, textPrompt], pixelValues: pv, maxNewTokens: 100, eosTokenId: [], temperature: 0.7, topK: 20 });
    assert.is(r.sequences[0].length, 100);
  }, { label: 'generate' });
});

test('100 forward/backward steps leave no tensors behind', async () => {
  // 100 steps on a short text prompt (fast) plus a few through the vision tower.
  const step = (ids: number[], labels: number[], pixelValues?: typeof pv) => {
    const { value, grads } = tf.variableGrads(() => model.answerNll(m.forward({ inputIds: [ids], pixelValues, training: true }).logits, [labels]));
    tf.dispose([value, ...Object.values(grads)]);
  };
  const textLabels = textPrompt.map((t, j) => (j < 3 ? -100 : t));
  const imageLabels = imagePrompt.map((t, j) => (j < 20 ? -100 : t));
  await runtime.expectNoLeakedTensors(() => {
    for (let i = 0; i < 100; i++) step(textPrompt, textLabels);
    for (let i = 0; i < 3; i++) step(imagePrompt, imageLabels, pv);
  }, { label: 'forward/backward' });
});

test('every linear goes through the LinearHook, with the training flag', () => {
  const seen = new Map<string, boolean>();
  m.adapters = {
    apply(key, x, base, ctx) {
      seen.set(key, ctx.training);
      assert.equal(x.shape.slice(0, -1), base.shape.slice(0, -1));
      return key.endsWith('q_proj') && key.includes('language_model') ? tf.mul(base, 0) : base;
    },
  };
  try {
    const plain = m.forward({ inputIds: [imagePrompt], pixelValues: pv, training: true });
    const keys = [...seen.keys()];
    assert.ok(keys.includes('model.language_model.layers.1.mlp.down_proj'));
    assert.ok(keys.includes('model.vision_tower.encoder.layers.0.self_attn.out_proj'));
    assert.ok(keys.includes('model.multi_modal_projector.linear_2'));
    assert.ok(keys.includes('lm_head'));
    assert.ok([...seen.values()].every((t) => t === true));
    m.forward({ inputIds: [textPrompt] }).logits.dispose();
    assert.is(seen.get('lm_head'), false);
    m.adapters = undefined;
    const base = m.forward({ inputIds: [imagePrompt], pixelValues: pv });
    assert.ok(maxAbsDiff(plain.logits.dataSync(), base.logits.dataSync()) > 1e-3, 'the hook changes the output');
    tf.dispose([plain.logits, base.logits]);
  } finally {
    m.adapters = undefined;
  }
});

test.run();
