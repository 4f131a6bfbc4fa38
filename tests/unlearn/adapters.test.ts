// Freeing an Unlearner never undoes the unlearning: the trained adapters stay with the model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metrics, runtime, unlearn } from '../../sdk';
import { tf, tinyDataset, tinyModel } from './helpers';

const BASE = { batchSize: 2, steps: 4, lr: 2e-2, lora: { r: 4, alpha: 32 }, evalEvery: 0 };

test.before(async () => {
  await runtime.init();
});

/** Logits of the model on the first forget examples (one fixed batch). */
async function logitsOf(m: Awaited<ReturnType<typeof tinyModel>>, ds: Awaited<ReturnType<typeof tinyDataset>>): Promise<Float32Array> {
  const exs = unlearn.forgetExamples(ds, 'train').slice(0, 2);
  const b = await (m.processor as unknown as { encode: (e: unknown, o: unknown) => Promise<{ inputIds: number[][]; attentionMask: number[][]; pixelValues?: ReturnType<typeof tf.zeros> }> }).encode(exs, { withAnswer: true });
  const out = tf.tidy(() => m.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, pixelValues: b.pixelValues as never }).logits.dataSync().slice() as Float32Array);
  b.pixelValues?.dispose();
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('dispose() keeps the trained adapters: the model still answers as unlearned, not as vanilla', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel(4);
  const before = await logitsOf(m, ds);
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE });
  await u.run({ progress: false });
  const trained = await logitsOf(m, ds);
  assert.ok(maxAbsDiff(before, trained) > 1e-3, 'the run changed the model');
  u.dispose();
  assert.ok(u.isDisposed);
  const afterDispose = await logitsOf(m, ds);
  assert.is(maxAbsDiff(trained, afterDispose), 0, 'dispose() must not change what the model computes');
  let err: unknown;
  await u.run({ progress: false }).catch((e) => (err = e));
  assert.match(String(err), /This Unlearner has been disposed/);
  // the model frees the adapters with itself: nothing left behind
  const n0 = tf.memory().numTensors;
  const adapterTensors = (m as unknown as { adapters: { modules: Map<string, unknown> } }).adapters.modules.size * 2;
  const paramTensors = m.params.size;
  m.dispose();
  assert.is(tf.memory().numTensors, n0 - adapterTensors - paramTensors);
});

test('evaluating a disposed model is a clear error, not vanilla numbers', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel(4);
  m.dispose();
  try {
    await metrics.evaluate(m as never, ds as never, { split: 'val', limit: 1, maxNewTokens: 2 });
    assert.unreachable('evaluate accepted a disposed model');
  } catch (e) {
    assert.is((e as Error).name, 'ConfigError');
    assert.match(JSON.stringify((e as { issues: unknown }).issues), /the model has been disposed/);
  }
});

test('a second run on a model that still carries adapters is refused; mergeAdapters() folds them in', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel(4);
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE });
  await u.run({ progress: false });
  u.dispose();
  try {
    unlearn.create(m, ds, { method: 'po', ...BASE });
    assert.unreachable('a second Unlearner replaced the first run\'s adapters');
  } catch (e) {
    assert.is((e as Error).name, 'ConfigError');
    assert.match(JSON.stringify((e as { issues: unknown }).issues), /already carries LoRA adapters/);
  }
  const trained = await logitsOf(m, ds);
  const n0 = tf.memory().numTensors;
  u.mergeAdapters();
  assert.ok(tf.memory().numTensors < n0, 'the adapter tensors are freed');
  const merged = await logitsOf(m, ds);
  assert.ok(maxAbsDiff(trained, merged) < 1e-4, `merged weights compute the same (Δ ${maxAbsDiff(trained, merged)})`);
  const v = unlearn.create(m, ds, { method: 'po', ...BASE, steps: 1 });
  await v.run({ progress: false });
  v.dispose();
  const n1 = tf.memory().numTensors;
  v.discardAdapters();
  assert.ok(tf.memory().numTensors < n1, 'discardAdapters() frees the adapters');
  assert.is((m as unknown as { adapters?: unknown }).adapters, undefined);
  m.dispose();
});

test.run();
