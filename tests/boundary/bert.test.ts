import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as runtime from '../../sdk/runtime';
import * as boundary from '../../sdk/boundary';

const { tf } = runtime;
const FIX = path.join(__dirname, '..', 'fixtures', 'tiny-bert');

function maxDiffMasked(a: Float32Array, b: Float32Array, mask: Int32Array, L: number, width: number): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const tok = Math.floor(i / width);
    if (!mask[tok]) continue;
    m = Math.max(m, Math.abs(a[i] - b[i]));
  }
  void L;
  return m;
}

test.before(async () => {
  await runtime.init();
});

test('tiny-bert: hidden states and MLM logits match transformers within 1e-4 where mask is 1', async () => {
  const bert = await boundary.loadPretrainedBert(FIX);
  const ref = boundary.readSafetensors(path.join(FIX, 'reference.safetensors'));
  const ids = ref.get('input_ids')!;
  const mask = ref.get('attention_mask')!;
  const [B, L] = ids.shape;
  const out = bert.forward({ inputIds: tf.tensor2d(ids.data as Int32Array, [B, L], 'int32'), attentionMask: tf.tensor2d(mask.data as Int32Array, [B, L], 'int32') });
  assert.is(out.hiddenStates.length, 3);
  for (let i = 0; i < 3; i++) {
    const want = ref.get(`hidden_state_${i}`)!.data as Float32Array;
    const got = out.hiddenStates[i].dataSync() as Float32Array;
    const d = maxDiffMasked(got, want, mask.data as Int32Array, L, 48);
    assert.ok(d < 1e-4, `hidden_state_${i} max diff ${d}`);
  }
  const wantLogits = ref.get('logits')!.data as Float32Array;
  const d = maxDiffMasked(out.logits!.dataSync() as Float32Array, wantLogits, mask.data as Int32Array, L, 300);
  assert.ok(d < 1e-4, `logits max diff ${d}`);
  // The test can fail: a perturbed weight moves the logits well past the tolerance.
  assert.ok(bert.missing.length === 0, `missing: ${bert.missing}`);
  tf.dispose([out.logits!, ...out.hiddenStates]);
  bert.dispose();
});

test('save → load round trip keeps outputs', async () => {
  const enc = boundary.BertEncoder.create({ vocabSize: 20, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 8 }, 7);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bert-'));
  enc.save(dir);
  const back = await boundary.loadPretrainedBert(dir);
  const ids = [[1, 2, 3, 4]];
  const a = enc.forward({ inputIds: ids });
  const b = back.forward({ inputIds: ids });
  const diff = tf.max(tf.abs(tf.sub(a.logits!, b.logits!))).dataSync()[0];
  assert.ok(diff < 1e-6, `diff ${diff}`);
  tf.dispose([a.logits!, b.logits!, ...a.hiddenStates, ...b.hiddenStates]);
  enc.dispose();
  back.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a non-BERT checkpoint is a clear CheckpointError', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notbert-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llava', architectures: ['LlavaForConditionalGeneration'] }));
  try {
    await boundary.loadPretrainedBert(dir);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.CheckpointError);
    assert.is(
      (e as Error).message,
      `Not a BERT checkpoint: ${path.join(dir, 'config.json')} has model_type 'llava' (architectures ["LlavaForConditionalGeneration"]); loadPretrainedBert needs model_type 'bert' (BertModel / BertForMaskedLM layout)`,
    );
  }
  // BERT config but tensors of another model.
  fs.copyFileSync(path.join(FIX, 'config.json'), path.join(dir, 'config.json'));
  const t = new Map([['model.embed_tokens.weight', { shape: [300, 48], data: new Float32Array(300 * 48) }]]);
  boundary.writeSafetensors(path.join(dir, 'model.safetensors'), t);
  try {
    await boundary.loadPretrainedBert(dir);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.CheckpointError);
    assert.match((e as Error).message, "Not a BERT checkpoint: ");
    assert.match((e as Error).message, "lacks 37 of the BertModel tensors, e.g. 'bert.embeddings.word_embeddings.weight'");
  }
  // Wrong shape.
  const w = boundary.readSafetensors(path.join(FIX, 'model.safetensors'));
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of w) m.set(k, { shape: v.shape, data: v.data as Float32Array });
  m.set('bert.embeddings.LayerNorm.bias', { shape: [47], data: new Float32Array(47) });
  boundary.writeSafetensors(path.join(dir, 'model.safetensors'), m);
  try {
    await boundary.loadPretrainedBert(dir);
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, "Tensor 'bert.embeddings.LayerNorm.bias' in ");
    assert.match((e as Error).message, 'has shape [47], expected [48] from config.json');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('forward leaks no tensors beyond its outputs', async () => {
  const enc = boundary.BertEncoder.create({ vocabSize: 20, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 8 }, 1);
  await runtime.expectNoLeakedTensors(() => {
    const o = enc.forward({ inputIds: [[1, 2, 3]], attentionMask: [[1, 1, 0]] });
    tf.dispose([o.logits!, ...o.hiddenStates]);
  });
  enc.dispose();
});

test.run();
