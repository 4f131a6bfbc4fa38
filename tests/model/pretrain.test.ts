import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime } from '../../sdk';
import { generateSynthetic } from '../../sdk/data/synthetic';
import { accuracyTable, answerLoss, DEFAULT_KIND_WEIGHTS, pretrain, rougeLF1, weightedEpoch } from '../../sdk/model/pretrain';
import { Rng } from '../../sdk/runtime/rng';
import { command } from '../../sdk/cli/commands/pretrain';
import { createRandom } from '../../sdk/model/load';
import { answerNll } from '../../sdk/model/layers';
import { loadPretrained } from '../../sdk/model/load';
import { LlavaProcessor } from '../../sdk/model/processor';
import type { Example } from '../../sdk/data/examples';
import { invalid } from '../support';

const { tf } = runtime;

test.before(async () => {
  await runtime.init();
});

test('rougeLF1: LCS F-measure on words, case and punctuation ignored', () => {
  assert.is(rougeLF1('The shape is red.', 'the shape is red'), 1);
  assert.is(rougeLF1('There are two shapes.', 'There are three shapes.'), 0.75);
  assert.is(rougeLF1('', 'x'), 0);
  assert.is(rougeLF1('', ''), 1);
  // LCS "a c" = 2; P = 2/3, R = 2/2 → F = 0.8
  assert.ok(Math.abs(rougeLF1('a b c', 'a c') - 0.8) < 1e-12);
});

test('accuracyTable groups by split and kind (retain_text + retain_image = retain)', () => {
  const ex = (split: Example['split'], kind: Example['kind'], answer: string): Example => ({ id: `${split}/${kind}/${answer}`, kind, split, record: 0, question: 'q', answer });
  const exs = [ex('train', 'forget', 'a b c'), ex('train', 'forget', 'd e f'), ex('train', 'retain_text', 'x'), ex('train', 'retain_image', 'y'), ex('utility', 'utility', 'red')];
  const rows = accuracyTable(exs, ['a b c', 'nope', 'x', 'z', 'Red.']);
  assert.equal(rows.map((r) => [r.split, r.kind, r.n, r.correct]), [
    ['train', 'forget', 2, 1],
    ['train', 'retain', 2, 1],
    ['utility', 'utility', 1, 1],
  ]);
  assert.is(rows[0].rate, 0.5);
});

const TINY = {
  image_token_index: 60,
  text_config: { vocab_size: 62, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64 },
  vision_config: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, image_size: 16, patch_size: 8 },
};

test('answerLoss (lm_head on answer positions only) equals answerNll of the full logits, gradients included', () => {
  const m = createRandom(TINY, 3);
  const inputIds = [
    [1, 5, 60, 60, 60, 60, 7, 9, 11, 2],
    [1, 8, 60, 60, 60, 60, 12, 2, 0, 0],
  ];
  const labels = [
    [-100, -100, -100, -100, -100, -100, -100, 9, 11, 2],
    [-100, -100, -100, -100, -100, -100, 12, 2, -100, -100],
  ];
  const attentionMask = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  ];
  const pv = tf.tidy(() => tf.sin(tf.reshape(tf.range(0, 2 * 3 * 16 * 16), [2, 3, 16, 16])) as ReturnType<typeof tf.tensor4d>);
  const full = tf.tidy(() => answerNll(m.forward({ inputIds, pixelValues: pv, attentionMask }).logits, labels).dataSync()[0]);
  const fast = tf.tidy(() => answerLoss(m, { inputIds, labels, attentionMask, pixelValues: pv }).dataSync()[0]);
  assert.ok(Math.abs(full - fast) < 1e-5, `${full} vs ${fast}`);
  const key = 'model.language_model.layers.1.mlp.up_proj.weight';
  const v = m.params.get(key)!;
  const g1 = tf.variableGrads(() => answerNll(m.forward({ inputIds, pixelValues: pv, attentionMask }).logits, labels), [v]);
  const g2 = tf.variableGrads(() => answerLoss(m, { inputIds, labels, attentionMask, pixelValues: pv }), [v]);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(g1.grads[v.name], g2.grads[v.name]))).dataSync()[0]);
  assert.ok(d < 1e-5, `grad diff ${d}`);
  tf.dispose([g1.value, g2.value, g1.grads[v.name], g2.grads[v.name], pv]);
  m.dispose();
});

test("answerLoss normalize 'example': the mean over examples of each example's mean answer-token NLL", () => {
  const m = createRandom(TINY, 3);
  const inputIds = [
    [1, 5, 60, 60, 60, 60, 7, 9, 11, 2],
    [1, 8, 60, 60, 60, 60, 12, 2, 0, 0],
    [1, 8, 60, 60, 60, 60, 12, 2, 0, 0],
  ];
  const labels = [
    [-100, -100, -100, -100, -100, -100, -100, 9, 11, 2],
    [-100, -100, -100, -100, -100, -100, 12, 2, -100, -100],
    [-100, -100, -100, -100, -100, -100, -100, -100, -100, -100],
  ];
  const attentionMask = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
  ];
  const pv = tf.tidy(() => tf.sin(tf.reshape(tf.range(0, 3 * 3 * 16 * 16), [3, 3, 16, 16])) as ReturnType<typeof tf.tensor4d>);
  const one = (i: number) => tf.tidy(() => answerLoss(m, { inputIds: [inputIds[i]], labels: [labels[i]], attentionMask: [attentionMask[i]], pixelValues: tf.slice(pv, [i], [1]) as typeof pv }).dataSync()[0]);
  const perExample = tf.tidy(() => answerLoss(m, { inputIds, labels, attentionMask, pixelValues: pv }, { normalize: 'example' }).dataSync()[0]);
  // the third example has no answer token: it does not count
  const want = (one(0) + one(1)) / 2;
  assert.ok(Math.abs(perExample - want) < 1e-5, `${perExample} vs ${want}`);
  const perToken = tf.tidy(() => answerLoss(m, { inputIds, labels, attentionMask, pixelValues: pv }, { normalize: 'token' }).dataSync()[0]);
  assert.ok(Math.abs(perToken - (3 * one(0) + 2 * one(1)) / 5) < 1e-5, `${perToken}`);
  pv.dispose();
  m.dispose();
});

test('pretrain defaults: the image-only questions oversampled', () => {
  assert.equal({ ...DEFAULT_KIND_WEIGHTS }, { utility: 4, retain_image: 2 });
});

test('pretrain: tiny run writes a loadable checkpoint with tokenizer, processor config and spec; no leaks', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-pretrain-'));
  const dsDir = path.join(root, 'ds');
  await generateSynthetic({ outDir: dsDir, scale: 'tiny', images: 12, utility: 6, progress: false, seed: 5 });
  const out = path.join(root, 'vanilla');
  const losses: number[] = [];
  const r = await runtime.expectNoLeakedTensors(
    () =>
      pretrain({
        datasetDir: dsDir,
        outDir: out,
        seed: 7,
        steps: 4,
        batchSize: 8,
        lr: 1e-3,
        evalStride: 25,
        progress: false,
        overrides: { text: { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, head_dim: 8 }, vision: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2 } },
        onStep: (s) => losses.push(s.loss),
        command: 'test',
      }),
    { label: 'pretrain' },
  );
  assert.is(losses.length, 4);
  assert.ok(losses.every(Number.isFinite));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'processor_config.json', 'generation_config.json', 'pretrain_spec.json']) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  const spec = JSON.parse(fs.readFileSync(path.join(out, 'pretrain_spec.json'), 'utf8'));
  assert.is(spec.command, 'test');
  assert.is(spec.seed, 7);
  assert.is(spec.steps, 4);
  assert.equal(spec.kindWeights, { utility: 4, retain_image: 2 });
  assert.is(spec.lossNormalization, 'token');
  assert.ok(Array.isArray(spec.accuracy) && spec.accuracy.length > 0);
  assert.is(r.accuracy.reduce((a, row) => a + row.n, 0), Math.ceil((12 * 12 + 6 + 24) / 25)); // + 6 aligned images × 4 queries
  const m = await loadPretrained(out);
  assert.ok(m.processor instanceof LlavaProcessor);
  const p = m.processor as unknown as LlavaProcessor;
  assert.is(p.template.system, '');
  assert.is(p.numImageTokens, 16);
  assert.is(m.config.text_config.vocab_size, p.tokenizer.size);
  m.dispose();
});

test('weightedEpoch: integer weights repeat, fractions are drawn, 0 drops, all-1 draws nothing', () => {
  const kinds: Example['kind'][] = ['forget', 'sd', 'utility', 'retain_image', 'retain_text', 'utility'];
  const kindOf = (i: number) => kinds[i];
  const g = [0, 1, 2, 3, 4, 5];
  const rng = new Rng(1);
  const before = rng.getState();
  assert.equal(weightedEpoch(g, kindOf, {}, rng), g);
  assert.equal(weightedEpoch(g, kindOf, { forget: 1 }, rng), g);
  assert.equal(rng.getState(), before, 'unweighted epochs leave the rng alone (batch order unchanged)');
  assert.equal(weightedEpoch(g, kindOf, { utility: 3, sd: 0, retain_image: 2 }, rng), [0, 2, 2, 2, 3, 3, 4, 5, 5, 5]);
  // weight 1.5 over many examples: about half get a second copy
  const big = Array.from({ length: 4000 }, (_, i) => i);
  const n = weightedEpoch(big, () => 'utility', { utility: 1.5 }, new Rng(2)).length;
  assert.ok(n > 5800 && n < 6200, `1.5 × 4000 ≈ ${n}`);
});

test('bad kindWeights are a ConfigError naming the kind', async () => {
  try {
    await pretrain({ kindWeights: invalid({ utility: -1, bogus: 2 }), datasetDir: '/nonexistent' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      'Invalid pretrain options (2 problems):\n  - kindWeights.utility: must be a number ≥ 0, got -1\n  - kindWeights.bogus: unknown kind. Must be one of [forget, sd, retain_text, retain_image, utility, aligned]',
    );
  }
  try {
    await pretrain({ kindWeights: { forget: 0, sd: 0, retain_text: 0, retain_image: 0, utility: 0, aligned: 0 }, datasetDir: '/nonexistent' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, 'Invalid pretrain options (1 problem):\n  - kindWeights: at least one kind must have a weight > 0');
  }
});

test('eraserlab pretrain --kind-weights: bad entries are a ConfigError before any training', async () => {
  try {
    await command.run(['--kind-weights', 'utility=3,shapes=2,sd=-1,oops', '--no-eval']);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      "Invalid options for eraserlab pretrain (3 problems):\n  - --kind-weights: unknown kind 'shapes'. Must be one of [forget, sd, retain_text, retain_image, utility, aligned]\n  - --kind-weights: weight of sd must be a number ≥ 0, got '-1'\n  - --kind-weights: expected KIND=WEIGHT, got 'oops'",
    );
  }
});

test('eraserlab pretrain --loss-norm: only token or example', async () => {
  try {
    await command.run(['--loss-norm', 'sum', '--no-eval']);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is((e as Error).message, "Invalid options for eraserlab pretrain (1 problem):\n  - --loss-norm: expected token or example, got 'sum'");
  }
});

test('bad options are a ConfigError listing each problem', async () => {
  try {
    await pretrain({ steps: 0, batchSize: 1.5, lr: -1, datasetDir: '/nonexistent' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      'Invalid pretrain options (3 problems):\n  - steps: must be an integer ≥ 1, got 0\n  - batchSize: must be an integer ≥ 1, got 1.5\n  - lr: must be > 0, got -1',
    );
  }
});

test.run();
