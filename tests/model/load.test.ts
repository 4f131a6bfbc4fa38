// Loading and saving checkpoint folders: identical reload, the three key layouts, shards,
// half precision, a second differently sized checkpoint, and every kind of broken checkpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as model from '../../sdk/model';
import * as runtime from '../../sdk/runtime';

const tf = runtime.tf;
const FIX = path.join(__dirname, '..', 'fixtures', 'tiny-llava');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-load-'));
const textPrompt = [[1, 10, 11, 12, 40, 41]];
let m: model.LlavaModel;

test.before(async () => {
  await runtime.init();
  m = await model.loadPretrained(FIX, { processor: false });
});
test.after(() => {
  m.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function sameParams(a: model.LlavaModel, b: model.LlavaModel, tol = 0): void {
  assert.equal([...a.params.keys()].sort(), [...b.params.keys()].sort());
  for (const [k, v] of a.params) {
    const x = v.dataSync();
    const y = b.params.get(k)!.dataSync();
    assert.equal(v.shape, b.params.get(k)!.shape, k);
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
    assert.ok(d <= tol * (1 + Math.abs(x[0])), `${k} differs by ${d}`);
  }
}

/** Copy the fixture to a fresh folder, optionally rewriting its tensors or config. */
function brokenCopy(name: string, edit: { tensors?: (t: Map<string, model.TensorToWrite>) => void; config?: (c: Record<string, any>) => void }): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'generation_config.json']) fs.copyFileSync(path.join(FIX, f), path.join(dir, f));
  if (edit.tensors) {
    const t = model.readSafetensors(path.join(dir, 'model.safetensors')).tensors as Map<string, model.TensorToWrite>;
    edit.tensors(t);
    model.writeSafetensors(path.join(dir, 'model.safetensors'), t, { format: 'pt' });
  }
  if (edit.config) {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    edit.config(c);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  }
  return dir;
}

async function loadError(dir: string): Promise<Error> {
  try {
    const x = await model.loadPretrained(dir, { processor: false });
    x.dispose();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected loadPretrained to fail');
}

test('save writes the same files and key layout back; the reload is identical', async () => {
  const out = path.join(tmp, 'saved');
  await m.save(out);
  assert.equal(fs.readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors']);
  const a = model.readSafetensorsHeader(path.join(FIX, 'model.safetensors'));
  const b = model.readSafetensorsHeader(path.join(out, 'model.safetensors'));
  assert.equal([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  for (const [k, e] of a.tensors) assert.equal(b.tensors.get(k)!.shape, e.shape, k);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')), JSON.parse(fs.readFileSync(path.join(FIX, 'config.json'), 'utf8')));
  // byte-identical tensor data
  const ra = model.readSafetensors(path.join(FIX, 'model.safetensors')).tensors;
  const rb = model.readSafetensors(path.join(out, 'model.safetensors')).tensors;
  for (const [k, t] of ra) assert.equal(Array.from(rb.get(k)!.data), Array.from(t.data), k);
  const m2 = await model.loadPretrained(out);
  sameParams(m, m2);
  assert.is(m2.layout, 'transformers');
  m2.dispose();
  // saving again over the same folder replaces it atomically (no temp folders left)
  await m.save(out);
  assert.equal(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-') || f.includes('.old-')), []);
});

test('legacy and canonical layouts, shards, and F16 / BF16 load', async () => {
  for (const layout of ['legacy', 'canonical'] as const) {
    const out = path.join(tmp, layout);
    await m.save(out, { layout });
    const keys = [...model.readSafetensorsHeader(path.join(out, 'model.safetensors')).tensors.keys()];
    assert.ok(keys.includes(layout === 'legacy' ? 'vision_tower.vision_model.pre_layrnorm.weight' : 'model.vision_tower.pre_layrnorm.weight'));
    const r = await model.loadPretrained(out);
    assert.is(r.layout, layout);
    sameParams(m, r);
    r.dispose();
  }
  const sharded = path.join(tmp, 'sharded');
  await m.save(sharded, { maxShardBytes: 150_000 });
  assert.ok(fs.existsSync(path.join(sharded, 'model.safetensors.index.json')));
  assert.ok(!fs.existsSync(path.join(sharded, 'model.safetensors')));
  const s = await model.loadPretrained(sharded);
  sameParams(m, s);
  s.dispose();
  for (const dtype of ['F16', 'BF16'] as const) {
    const out = path.join(tmp, dtype);
    await m.save(out, { dtype });
    assert.is(model.readSafetensorsHeader(path.join(out, 'model.safetensors')).tensors.get('language_model.model.norm.weight')!.dtype, dtype);
    const h = await model.loadPretrained(out);
    sameParams(m, h, dtype === 'F16' ? 1e-3 : 1e-2);
    h.dispose();
  }
});

test('a second, differently sized checkpoint (createRandom → save → loadPretrained) loads and matches', async () => {
  const config: model.LlavaConfigInput = {
    text_config: { vocab_size: 100, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 3, num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 64, rms_norm_eps: 1e-5, attention_bias: true, eos_token_id: 2 },
    vision_config: { hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 2, image_size: 16, patch_size: 8, hidden_act: 'gelu' },
    image_token_index: 99,
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'full',
    tie_word_embeddings: true,
  };
  const r = model.createRandom(config, 5);
  assert.is(r.numImageTokens, 5);
  assert.ok(!r.params.has('lm_head.weight'), 'tied lm_head is the embedding');
  assert.ok(r.params.has('model.language_model.layers.2.self_attn.o_proj.bias'));
  const dir = path.join(tmp, 'second');
  await r.save(dir);
  const l = await model.loadPretrained(dir);
  sameParams(r, l);
  const ids = [[1, 3, 99, 99, 99, 99, 99, 7, 8]];
  const pv = tf.randomNormal([1, 3, 16, 16], 0, 1, 'float32', 1) as ReturnType<typeof tf.tensor4d>;
  const a = r.forward({ inputIds: ids, pixelValues: pv }).logits;
  const b = l.forward({ inputIds: ids, pixelValues: pv }).logits;
  assert.equal(a.shape, [1, 9, 100]);
  assert.equal(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const g = await l.generate({ inputIds: ids, pixelValues: pv, maxNewTokens: 4, eosTokenId: [] });
  assert.is(g.sequences[0].length, 4);
  tf.dispose([a, b, pv]);
  r.dispose();
  l.dispose();
});

test('createRandom is deterministic in its seed', () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(FIX, 'config.json'), 'utf8'));
  const a = model.createRandom(cfg, 1);
  const b = model.createRandom(cfg, 1);
  const c = model.createRandom(cfg, 2);
  sameParams(a, b);
  const k = 'model.language_model.layers.0.mlp.up_proj.weight';
  assert.not.equal(Array.from(a.params.get(k)!.dataSync()), Array.from(c.params.get(k)!.dataSync()));
  assert.equal(Array.from(a.params.get('model.language_model.norm.weight')!.dataSync()), new Array(48).fill(1));
  [a, b, c].forEach((x) => x.dispose());
});

test('missing folder, missing config.json, missing weights', async () => {
  const nowhere = path.join(tmp, 'nowhere');
  let e = await loadError(nowhere);
  assert.instance(e, runtime.CheckpointError);
  assert.is(e.message, `Checkpoint folder not found: ${nowhere}`);
  const noConfig = brokenCopy('noconfig', {});
  fs.rmSync(path.join(noConfig, 'config.json'));
  e = await loadError(noConfig);
  assert.is(e.message, `No config.json in ${noConfig}: a Hugging Face checkpoint folder needs config.json next to its safetensors`);
  const noWeights = brokenCopy('noweights', {});
  fs.rmSync(path.join(noWeights, 'model.safetensors'));
  e = await loadError(noWeights);
  assert.instance(e, runtime.CheckpointError);
  assert.is(e.message, `No checkpoint weights in ${noWeights}: expected model.safetensors or model.safetensors.index.json`);
});

test('truncated safetensors names the file and the tensor', async () => {
  const dir = brokenCopy('truncated', {});
  const f = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(f);
  fs.writeFileSync(f, buf.subarray(0, buf.length - 100));
  const e = (await loadError(dir)) as runtime.CheckpointError;
  assert.instance(e, runtime.CheckpointError);
  assert.is(e.file, f);
  assert.is(e.key, 'vision_tower.pre_layrnorm.weight');
  assert.match(e.message, `Truncated safetensors file ${f}: tensor 'vision_tower.pre_layrnorm.weight' ends at data byte`);
});

test('a tensor whose shape disagrees with config.json: key, expected and found shape', async () => {
  const k = 'language_model.model.layers.1.self_attn.k_proj.weight';
  const dir = brokenCopy('shape', { tensors: (t) => t.set(k, { shape: [48, 48], data: new Float32Array(48 * 48) }) });
  const e = (await loadError(dir)) as runtime.CheckpointError;
  assert.instance(e, runtime.CheckpointError);
  assert.is(e.message, `Tensor '${k}' in ${path.join(dir, 'model.safetensors')} has shape [48, 48] but config.json expects [24, 48] (num_key_value_heads 2 × head_dim 12, text_config.hidden_size 48)`);
  assert.is(e.key, k);
  // the config changed instead of the tensor
  const dir2 = brokenCopy('shape2', { config: (c) => (c.vision_config.intermediate_size = 60) });
  const e2 = await loadError(dir2);
  assert.is(e2.message, `Tensor 'vision_tower.encoder.layers.0.mlp.fc1.weight' in ${path.join(dir2, 'model.safetensors')} has shape [64, 32] but config.json expects [60, 32] (vision_config.hidden_size 32, intermediate_size 60)`);
});

test('a missing tensor, an unexpected tensor, an integer parameter', async () => {
  const dir = brokenCopy('missing', { tensors: (t) => t.delete('language_model.model.norm.weight') });
  let e = (await loadError(dir)) as runtime.CheckpointError;
  assert.instance(e, runtime.CheckpointError);
  assert.is(e.message, `Missing tensor 'language_model.model.norm.weight' (parameter model.language_model.norm.weight, shape [48]) in ${path.join(dir, 'model.safetensors')}`);
  const dir2 = brokenCopy('extra', { tensors: (t) => t.set('language_model.model.layers.0.mlp.extra.weight', { shape: [2], data: new Float32Array(2) }) });
  e = (await loadError(dir2)) as runtime.CheckpointError;
  assert.is(e.message, `Unexpected tensor 'language_model.model.layers.0.mlp.extra.weight' in ${path.join(dir2, 'model.safetensors')}: not a parameter of a LLaVA model with this config.json (layout 'transformers')`);
  const dir3 = brokenCopy('int', { tensors: (t) => t.set('language_model.model.norm.weight', { shape: [48], data: new Int32Array(48) }) });
  e = (await loadError(dir3)) as runtime.CheckpointError;
  assert.is(e.message, `Tensor 'language_model.model.norm.weight' in ${path.join(dir3, 'model.safetensors')} has dtype I32; parameters must be one of [F32, F16, BF16, F64]`);
  // buffers older checkpoints carry are skipped
  const dir4 = brokenCopy('buffers', { tensors: (t) => t.set('language_model.model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [6], data: new Float32Array(6) }) });
  const ok = await model.loadPretrained(dir4, { processor: false });
  ok.dispose();
});

test('unknown dtype in the file', async () => {
  const dir = brokenCopy('dtype', {});
  const f = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(f);
  const n = Number(buf.readBigUInt64LE(0));
  const header = buf.subarray(8, 8 + n).toString('utf8').replace('"dtype":"F32"', '"dtype":"F4"');
  const patched = Buffer.concat([buf.subarray(0, 8), Buffer.from(header.padEnd(n, ' ')), buf.subarray(8 + n)]);
  fs.writeFileSync(f, patched);
  const e = (await loadError(dir)) as runtime.CheckpointError;
  assert.instance(e, runtime.CheckpointError);
  assert.match(e.message, /^Unknown dtype 'F4' for tensor '[^']+' in .*model\.safetensors\. Must be one of \[F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\]$/);
});

test('unsupported config options are ConfigErrors naming the field', async () => {
  const dir = brokenCopy('rope', {
    config: (c) => {
      c.text_config.rope_scaling = { rope_type: 'linear', factor: 2 };
      c.text_config.hidden_act = 'gelu';
      c.vision_feature_select_strategy = 'cls';
    },
  });
  const e = await loadError(dir);
  assert.instance(e, runtime.ConfigError);
  assert.is(
    e.message,
    `Unsupported LLaVA config ${path.join(dir, 'config.json')} (3 problems):\n` +
      "  - text_config.hidden_act: unsupported activation 'gelu'; must be 'silu'\n" +
      "  - vision_feature_select_strategy: unsupported strategy 'cls'; must be one of [default, full]\n" +
      '  - text_config.rope_scaling: rope scaling is not supported (got {"rope_type":"linear","factor":2}); only the default rotary embedding',
  );
  const dir2 = brokenCopy('mt', { config: (c) => (c.model_type = 'llava_next') });
  assert.is((await loadError(dir2)).message, `Unsupported LLaVA config ${path.join(dir2, 'config.json')} (1 problem):\n  - model_type: unsupported model_type 'llava_next'; must be 'llava' (LLaVA-1.5 architecture)`);
  const dir3 = brokenCopy('types', { config: (c) => (c.text_config.hidden_size = 'big') });
  const e3 = await loadError(dir3);
  assert.instance(e3, runtime.ConfigError);
  assert.match(e3.message, `Invalid LLaVA config ${path.join(dir3, 'config.json')} (1 problem):\n  - text_config.hidden_size: `);
});

test('pixelValues of the wrong size, image tokens that do not match, ids outside the vocabulary', () => {
  const ids = [[1, ...new Array(16).fill(255), 5]];
  const pv = tf.zeros([1, 3, 64, 64]) as ReturnType<typeof tf.tensor4d>;
  assert.throws(
    () => m.forward({ inputIds: ids, pixelValues: pv }),
    (e: Error) => e instanceof runtime.ConfigError && e.message === 'pixelValues has shape [1, 3, 64, 64] but the vision tower expects [n, 3, 32, 32] (vision_config.num_channels 3, image_size 32) (1 problem):\n  - pixelValues: expected [n, 3, 32, 32], found [1, 3, 64, 64]',
  );
  pv.dispose();
  assert.throws(
    () => m.forward({ inputIds: ids }),
    (e: Error) => e instanceof runtime.ConfigError && e.message.startsWith('Image features and image tokens do not match: inputIds hold 16 image tokens (id 255) but pixelValues gives 0 image(s) × 16 features = 0'),
  );
  assert.throws(() => m.forward({ inputIds: [[1, 256]] }), (e: Error) => e instanceof runtime.ConfigError && e.message.startsWith('inputIds[0][1] = 256 is not a token id in [0, 256) (text_config.vocab_size 256)'));
  assert.throws(() => m.forward({ inputIds: [[1, 2], [1]] }), (e: Error) => e.message.startsWith('inputIds must be rectangular: row 1 has length 1, row 0 has 2'));
  const before = tf.memory().numTensors;
  m.forward({ inputIds: textPrompt }).logits.dispose();
  assert.is(tf.memory().numTensors, before);
});

test.run();
