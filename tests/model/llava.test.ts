// Config validation (a real llava-hf config completes to the right sizes), the answer loss's
// label semantics, and the layer maths against closed forms.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as model from '../../sdk/model';
import * as runtime from '../../sdk/runtime';

const tf = runtime.tf;

// config.json of llava-hf/llava-1.5-7b-hf, as published (most fields left to the HF defaults).
const LLAVA_7B = {
  architectures: ['LlavaForConditionalGeneration'],
  ignore_index: -100,
  image_token_index: 32000,
  model_type: 'llava',
  pad_token_id: 32001,
  projector_hidden_act: 'gelu',
  text_config: { _name_or_path: 'lmsys/vicuna-7b-v1.5', architectures: ['LlamaForCausalLM'], max_position_embeddings: 4096, model_type: 'llama', rms_norm_eps: 1e-5, torch_dtype: 'float16', vocab_size: 32064 },
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.36.0.dev0',
  vision_config: { hidden_size: 1024, image_size: 336, intermediate_size: 4096, model_type: 'clip_vision_model', num_attention_heads: 16, num_hidden_layers: 24, patch_size: 14, projection_dim: 768, vocab_size: 32000 },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  vocab_size: 32064,
};

test.before(async () => {
  await runtime.init();
});

test('the llava-1.5-7b-hf config completes with HF defaults; parameter count matches the Hub', () => {
  const c = model.parseLlavaConfig(LLAVA_7B);
  assert.is(c.text_config.hidden_size, 4096);
  assert.is(c.text_config.num_hidden_layers, 32);
  assert.is(c.text_config.num_key_value_heads, 32);
  assert.is(c.text_config.head_dim, 128);
  assert.is(c.text_config.rope_theta, 10000);
  assert.is(c.vision_config.hidden_act, 'quick_gelu');
  assert.is(c.vision_config.layer_norm_eps, 1e-5);
  assert.is(model.numImageTokens(c), 576);
  assert.is(model.visionLayersUsed(c), 23);
  const specs = model.expectedParams(c);
  const n = specs.reduce((s, p) => s + p.hfShape.reduce((a, b) => a * b, 1), 0);
  assert.is(n, 7063427072); // LlavaForConditionalGeneration llava-1.5-7b-hf
  assert.ok(specs.some((s) => s.key === 'lm_head.weight'));
  // key layouts round-trip
  for (const layout of model.CHECKPOINT_LAYOUTS) {
    for (const s of specs) assert.is(model.toCanonical(model.fromCanonical(s.key, layout), layout), s.key);
  }
  assert.is(model.fromCanonical('model.vision_tower.encoder.layers.0.mlp.fc1.weight', 'legacy'), 'vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight');
  assert.is(model.detectLayout(['vision_tower.vision_model.embeddings.class_embedding', 'language_model.model.norm.weight']), 'legacy');
});

test('transformers-5 rope_parameters and image_token_id are read', () => {
  const c = model.parseLlavaConfig({ ...LLAVA_7B, image_token_index: undefined, image_token_id: 7, text_config: { ...LLAVA_7B.text_config, rope_parameters: { rope_theta: 5e5, rope_type: 'default' } } });
  assert.is(c.text_config.rope_theta, 5e5);
  assert.is(c.image_token_index, 7);
});

test('unsupported options: every problem, with its path', () => {
  try {
    model.parseLlavaConfig({
      ...LLAVA_7B,
      vision_feature_layer: [-2, -5],
      text_config: { ...LLAVA_7B.text_config, model_type: 'mistral', num_key_value_heads: 5, rope_parameters: { rope_type: 'yarn' } },
      vision_config: { ...LLAVA_7B.vision_config, model_type: 'siglip_vision_model', hidden_act: 'relu' },
    }, 'x/config.json');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.equal(
      (e as runtime.ConfigError).issues.map((i) => i.path),
      ['text_config.model_type', 'vision_config.model_type', 'vision_config.hidden_act', 'vision_feature_layer', 'text_config.rope_parameters.rope_type', 'text_config.num_key_value_heads'],
    );
    assert.match((e as Error).message, "Unsupported LLaVA config x/config.json (6 problems):\n  - text_config.model_type: unsupported text model 'mistral'; must be 'llama'");
  }
});

test('answerNll: HF shift, -100 ignored, mean over answer tokens; per-sequence variant', () => {
  const logits = tf.tensor3d([[[1, 2, 3], [0, 0, 0], [3, 1, 0], [1, 1, 1]], [[0, 5, 0], [2, 0, 1], [0, 0, 0], [1, 2, 3]]]);
  const labels = [[-100, 2, -100, 0], [-100, -100, 1, -100]];
  const lsm = (r: number[], y: number) => -(r[y] - Math.log(r.reduce((s, x) => s + Math.exp(x), 0)));
  // row 0: logits at t=0 predict 2, at t=2 predict 0; row 1: t=1 predicts 1
  const a = lsm([1, 2, 3], 2);
  const b = lsm([3, 1, 0], 0);
  const c = lsm([2, 0, 1], 1);
  const loss = model.answerNll(logits, labels);
  assert.ok(Math.abs(loss.dataSync()[0] - (a + b + c) / 3) < 1e-6);
  const per = model.answerNllPerSequence(logits, labels).dataSync();
  assert.ok(Math.abs(per[0] - (a + b) / 2) < 1e-6 && Math.abs(per[1] - c) < 1e-6, `${per}`);
  const none = model.answerNll(logits, [[-100, -100, -100, -100], [-100, -100, -100, -100]]);
  assert.is(none.dataSync()[0], 0);
  assert.throws(() => model.answerNll(logits, [[0, 3, 0, 0], [0, 0, 0, 0]]), /labels\[0\]\[1\] = 3 is not a token id in \[0, 3\) nor -100/);
  tf.dispose([logits, loss, none]);
});

test('exact GELU, quick_gelu, RMSNorm and LayerNorm against closed forms', () => {
  const xs = [-3, -1, -0.5, 0, 0.3, 1, 2.5];
  const x = tf.tensor1d(xs);
  // erf-based GELU values from torch.nn.functional.gelu (float64)
  const torchGelu = [-0.0040496941, -0.1586552539, -0.1542687694, 0, 0.1853734267, 0.8413447461, 2.4844758367];
  const g = model.gelu(x).dataSync();
  xs.forEach((_, i) => assert.ok(Math.abs(g[i] - torchGelu[i]) < 2e-6, `gelu(${xs[i]}) = ${g[i]}`));
  const q = model.quickGelu(x).dataSync();
  xs.forEach((v, i) => assert.ok(Math.abs(q[i] - v / (1 + Math.exp(-1.702 * v))) < 1e-6));
  const r = model.rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0).dataSync();
  const rms = Math.sqrt(12.5);
  assert.ok(Math.abs(r[0] - 3 / rms) < 1e-6 && Math.abs(r[1] - 8 / rms) < 1e-6);
  const l = model.layerNorm(tf.tensor2d([[1, 3]]), tf.tensor1d([1, 1]), tf.tensor1d([0, 10]), 0).dataSync();
  assert.ok(Math.abs(l[0] + 1) < 1e-6 && Math.abs(l[1] - 11) < 1e-6);
  x.dispose();
});

test('positions from an attention mask count real tokens only', () => {
  assert.equal(model.positionsFromMask([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]]), [[1, 1, 0, 1, 2], [0, 1, 2, 1, 1]]);
});

test.run();
