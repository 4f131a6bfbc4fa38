import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime } from '../../sdk';
import { createRandom } from '../../sdk/model/load';
import type { LlavaModel } from '../../sdk/model/llava';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, LoraAdapters, peftTargetRegex } from '../../sdk/model/lora';
import { readSafetensors } from '../../sdk/model/safetensors';
import { computeGradients, disposeGrads } from '../../sdk/model/optim';
import { answerNll } from '../../sdk/model/layers';

const { tf } = runtime;

const CONFIG = {
  image_token_index: 63,
  text_config: { vocab_size: 64, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64 },
  vision_config: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, image_size: 16, patch_size: 8 },
};
const IDS = [[1, 5, 63, 63, 63, 63, 7, 9, 11, 2]];

function pixels() {
  return tf.tidy(() => tf.sin(tf.reshape(tf.range(0, 3 * 16 * 16), [1, 3, 16, 16])) as ReturnType<typeof tf.tensor4d>);
}

function logitsOf(m: LlavaModel, training = false): Float32Array {
  const pv = pixels();
  const { logits } = m.forward({ inputIds: IDS, pixelValues: pv, training });
  const d = Float32Array.from(logits.dataSync() as Float32Array);
  logits.dispose();
  pv.dispose();
  return d;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Give every B a seeded non-zero value so the adapters change the output. */
function randomiseB(lora: LoraAdapters, seed: number): void {
  let k = 0;
  for (const p of lora.modules.values()) {
    const s = seed + k++;
    tf.tidy(() => p.B.assign(tf.mul(tf.sin(tf.add(tf.reshape(tf.range(0, p.B.size), p.B.shape), s)), 0.05)));
  }
}

test.before(async () => {
  await runtime.init();
});

test('SafeEraser defaults: r 32, α 256, dropout 0.05 on the language model q/k/v/o/gate/up/down; B = 0 keeps the model unchanged', () => {
  const m = createRandom(CONFIG, 1);
  const base = logitsOf(m);
  const lora = LoraAdapters.create(m);
  assert.is(lora.r, 32);
  assert.is(lora.alpha, 256);
  assert.is(lora.dropout, 0.05);
  assert.is(lora.scale, 8);
  assert.is(lora.modules.size, 2 * 7);
  for (const key of lora.modules.keys()) assert.ok(key.startsWith('model.language_model.layers.'), key);
  const q = lora.modules.get('model.language_model.layers.0.self_attn.q_proj')!;
  assert.equal(q.A.shape, [24, 32]);
  assert.equal(q.B.shape, [32, 24]);
  const k = lora.modules.get('model.language_model.layers.0.self_attn.k_proj')!;
  assert.equal(k.B.shape, [32, 12]);
  const a = q.A.dataSync();
  const bound = 1 / Math.sqrt(24);
  assert.ok(a.every((x) => Math.abs(x) <= bound), 'kaiming-uniform bound 1/sqrt(in)');
  assert.ok(Math.max(...Array.from(a)) > 0.8 * bound);
  lora.attach(m);
  assert.ok(maxAbsDiff(logitsOf(m), base) < 1e-6);
  // projector trained, vision frozen
  const train = lora.trainableParams(m);
  assert.ok(train.has('model.language_model.layers.1.mlp.down_proj.lora_B.weight'));
  assert.ok(train.has('model.multi_modal_projector.linear_1.weight'));
  assert.not.ok([...train.keys()].some((k2) => k2.includes('vision_tower')));
  assert.is(train.size, 2 * 7 * 2 + 4);
  assert.equal([...lora.trainableParams().keys()], [...train.keys()], 'the projector comes from the adapters\' own model by default');
  lora.dispose();
  m.dispose();
});

test('the hook computes W x + (α/r)·B A x; merge gives the same logits; unmerge restores the weights', () => {
  const m = createRandom(CONFIG, 2);
  const lora = LoraAdapters.create(m, { r: 4, alpha: 8, dropout: 0 });
  randomiseB(lora, 3);
  lora.attach(m);
  const key = 'model.language_model.layers.1.self_attn.o_proj';
  const x = tf.tidy(() => tf.cos(tf.reshape(tf.range(0, 2 * 3 * 24), [2, 3, 24])));
  const y = tf.tidy(() => m.linear(key, x));
  const want = tf.tidy(() => {
    const p = lora.modules.get(key)!;
    const x2 = tf.reshape(x, [6, 24]) as ReturnType<typeof tf.tensor2d>;
    const w = m.params.get(`${key}.weight`)! as unknown as ReturnType<typeof tf.tensor2d>;
    return tf.reshape(tf.add(tf.matMul(x2, w), tf.mul(tf.matMul(tf.matMul(x2, p.A as unknown as ReturnType<typeof tf.tensor2d>), p.B as unknown as ReturnType<typeof tf.tensor2d>), 2)), [2, 3, 24]);
  });
  assert.equal(y.shape, [2, 3, 24]);
  assert.ok(maxAbsDiff(y.dataSync(), want.dataSync()) < 1e-5);
  tf.dispose([x, y, want]);

  const w0 = Float32Array.from(m.params.get(`${key}.weight`)!.dataSync() as Float32Array);
  const adapted = logitsOf(m);
  lora.detach(m);
  const base = logitsOf(m);
  assert.ok(maxAbsDiff(adapted, base) > 1e-3, 'adapters change the output');
  lora.attach(m);
  lora.merge(m);
  assert.ok(lora.merged);
  assert.ok(maxAbsDiff(logitsOf(m), adapted) < 1e-4, 'merged = adapted');
  lora.detach(m);
  assert.ok(maxAbsDiff(logitsOf(m), adapted) < 1e-4, 'merged weights alone = adapted');
  lora.attach(m);
  lora.unmerge();
  assert.ok(maxAbsDiff(m.params.get(`${key}.weight`)!.dataSync(), w0) < 1e-6, 'unmerge restores W');
  assert.ok(maxAbsDiff(logitsOf(m), adapted) < 1e-5);
  assert.throws(() => lora.unmerge(), /LoRA adapters are not merged/);
  lora.dispose();
  m.dispose();
});

test('dropout only in training passes, seeded: same seed same masks', () => {
  const run = (seed: number) => {
    const m = createRandom(CONFIG, 4);
    const lora = LoraAdapters.create(m, { r: 4, alpha: 8, dropout: 0.5, seed });
    randomiseB(lora, 1);
    lora.attach(m);
    const evalA = logitsOf(m);
    const evalB = logitsOf(m);
    const tr = logitsOf(m, true);
    lora.dispose();
    m.dispose();
    return { evalA, evalB, tr };
  };
  const a = run(7);
  const b = run(7);
  const c = run(8);
  assert.ok(maxAbsDiff(a.evalA, a.evalB) === 0);
  assert.ok(maxAbsDiff(a.tr, a.evalA) > 1e-4, 'dropout changes training passes');
  assert.ok(maxAbsDiff(a.tr, b.tr) === 0, 'same seed, same masks');
  assert.ok(maxAbsDiff(a.tr, c.tr) > 1e-6, 'another seed, other masks');
});

test('gradients flow to B (and A once B ≠ 0) through the model', () => {
  const m = createRandom(CONFIG, 5);
  const lora = LoraAdapters.create(m, { r: 4, alpha: 8, dropout: 0 });
  lora.attach(m);
  const pv = pixels();
  const labels = [[-100, -100, -100, -100, -100, -100, 7, 9, 11, 2]];
  const params = lora.trainableParams(m);
  const { loss, grads } = computeGradients(() => answerNll(m.forward({ inputIds: IDS, pixelValues: pv, training: true }).logits, labels), params);
  assert.ok(loss > 0);
  const gB = grads.get('model.language_model.layers.0.self_attn.v_proj.lora_B.weight')!;
  const gA = grads.get('model.language_model.layers.0.self_attn.v_proj.lora_A.weight')!;
  assert.ok(tf.tidy(() => tf.max(tf.abs(gB)).dataSync()[0]) > 0, 'B gets a gradient');
  assert.is(tf.tidy(() => tf.max(tf.abs(gA)).dataSync()[0]), 0, 'A gets none while B = 0');
  assert.ok(tf.tidy(() => tf.max(tf.abs(grads.get('model.multi_modal_projector.linear_2.weight')!)).dataSync()[0]) > 0, 'projector trained');
  disposeGrads(grads);
  pv.dispose();
  lora.dispose();
  m.dispose();
});

test('save in PEFT layout and load back: same keys, shapes, config, logits; projector restored', async () => {
  const m = createRandom(CONFIG, 6);
  const lora = LoraAdapters.create(m, { r: 4, alpha: 16, dropout: 0.05, baseModelNameOrPath: 'llava-hf/llava-1.5-7b-hf' });
  randomiseB(lora, 9);
  lora.attach(m);
  tf.tidy(() => {
    const p = m.params.get('model.multi_modal_projector.linear_2.bias')!;
    p.assign(tf.add(p, 0.25));
  });
  const adapted = logitsOf(m);
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-lora-')), 'adapter');
  await lora.save(dir, m);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8'));
  assert.is(cfg.peft_type, 'LORA');
  assert.is(cfg.task_type, 'CAUSAL_LM');
  assert.is(cfg.r, 4);
  assert.is(cfg.lora_alpha, 16);
  assert.is(cfg.lora_dropout, 0.05);
  assert.is(cfg.target_modules, '.*language_model.*\\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)');
  assert.is(cfg.target_modules, peftTargetRegex(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']));
  assert.equal(cfg.modules_to_save, ['multi_modal_projector']);
  assert.is(cfg.base_model_name_or_path, 'llava-hf/llava-1.5-7b-hf');
  const { tensors } = readSafetensors(path.join(dir, ADAPTER_WEIGHTS));
  assert.equal(tensors.get('base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight')!.shape, [4, 24]);
  assert.equal(tensors.get('base_model.model.model.language_model.layers.0.self_attn.k_proj.lora_B.weight')!.shape, [12, 4]);
  assert.equal(tensors.get('base_model.model.model.language_model.layers.1.mlp.down_proj.lora_A.weight')!.shape, [4, 40]);
  assert.equal(tensors.get('base_model.model.model.multi_modal_projector.linear_1.weight')!.shape, [24, 16]);
  assert.is(tensors.size, 2 * 7 * 2 + 4);
  // A's saved [r, in] is the transpose of memory [in, r]
  const a0 = lora.modules.get('model.language_model.layers.0.self_attn.q_proj')!.A.arraySync() as number[][];
  const aS = tensors.get('base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight')!.data;
  assert.ok(Math.abs(aS[1 * 24 + 5] - a0[5][1]) < 1e-7);

  const m2 = createRandom(CONFIG, 6); // same base, projector not yet trained
  assert.ok(maxAbsDiff(logitsOf(m2), adapted) > 1e-3);
  const re = LoraAdapters.load(dir, m2);
  assert.is(m2.adapters, re);
  assert.is(re.r, 4);
  assert.is(re.alpha, 16);
  assert.ok(re.trainProjector);
  assert.is(re.modules.size, 14);
  assert.ok(maxAbsDiff(logitsOf(m2), adapted) < 1e-5, 'reloaded adapters reproduce the logits');
  lora.dispose();
  re.dispose();
  m.dispose();
  m2.dispose();
});

test('bad adapters and options are named errors', async () => {
  const m = createRandom(CONFIG, 7);
  assert.throws(() => LoraAdapters.create(m, { r: 0, targetModules: ['q_proj', 'qkv'] }), (e: Error) =>
    e instanceof runtime.ConfigError &&
    e.message === "Invalid LoRA options (2 problems):\n  - r: must be an integer ≥ 1, got 0\n  - targetModules: unknown module 'qkv'. Must be one of [down_proj, fc1, fc2, gate_proj, k_proj, linear_1, linear_2, lm_head, o_proj, out_proj, q_proj, up_proj, v_proj]",
  );
  const lora = LoraAdapters.create(m, { r: 4, trainProjector: false });
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-lora-bad-')), 'adapter');
  await lora.save(dir);
  const other = createRandom({ ...CONFIG, text_config: { ...CONFIG.text_config, hidden_size: 32 } }, 1);
  try {
    LoraAdapters.load(dir, other);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.CheckpointError);
    assert.is(
      (e as Error).message,
      `Adapter tensor 'base_model.model.model.language_model.layers.0.mlp.down_proj.lora_B.weight' in ${path.join(dir, ADAPTER_WEIGHTS)} has shape [24, 4] but r 4 and the model's model.language_model.layers.0.mlp.down_proj need [32, 4]`,
    );
  }
  assert.throws(() => LoraAdapters.load(path.join(dir, 'nope'), m), (e: Error) => e instanceof runtime.CheckpointError && e.message.startsWith('No adapter_config.json in '));
  lora.dispose();
  m.dispose();
  other.dispose();
});

test('no leaked tensors: forward with adapters, merge/unmerge', async () => {
  const m = createRandom(CONFIG, 8);
  const lora = LoraAdapters.create(m, { r: 4 });
  lora.attach(m);
  logitsOf(m, true);
  await runtime.expectNoLeakedTensors(() => {
    for (let i = 0; i < 5; i++) logitsOf(m, true);
    lora.merge(m);
    lora.unmerge();
  }, { label: 'lora' });
  lora.dispose();
  m.dispose();
});

test.run();
