import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attacks, model, runtime, unlearn } from '../../sdk';
import { snapshot, tinyDataset, tinyModel } from '../unlearn/helpers';

test.before(async () => {
  await runtime.init();
});

test('relearnSlice: a seeded fraction or a category; an empty or total slice is an error naming the fix', async () => {
  const ds = await tinyDataset(12);
  const N = ds.train.length;
  const s = attacks.relearnSlice(ds.train, { fraction: 0.25, category: '' }, 1);
  assert.is(s.slice.length, Math.round(0.25 * N));
  assert.is(s.slice.length + s.rest.length, N);
  assert.equal(attacks.relearnSlice(ds.train, { fraction: 0.25, category: '' }, 1).slice, s.slice, 'seeded');
  const cat = String(ds.train[0].category);
  const c = attacks.relearnSlice(ds.train, { fraction: 0.1, category: cat }, 1);
  assert.ok(c.slice.every((i) => ds.train[i].category === cat) && c.slice.length > 0);
  assert.throws(
    () => attacks.relearnSlice(ds.train, { fraction: 0.01, category: '' }, 1, 'params.relearn-forget'),
    (e: Error) => e.message === `The relearning slice holds 0 records (1 problem):\n  - params.relearn-forget.fraction: 0.01 of ${N} forget records rounds to 0; use at least ${(0.5 / N).toPrecision(2)} (one record), or a category`,
  );
  assert.throws(
    () => attacks.relearnSlice(ds.train, { fraction: 0.1, category: 'Nope' }, 1),
    (e: Error) => e instanceof runtime.ConfigError && e.message.includes("no forget record has category 'Nope'. Must be one of ["),
  );
  assert.throws(() => attacks.relearnSlice(ds.train, { fraction: 1, category: '' }, 1), (e: Error) => e.message.startsWith('The relearning slice holds every forget record'));
});

test('relearnRecords: the benign variant trains on the retain pairs of the same records', async () => {
  const ds = await tinyDataset(12);
  const [r] = attacks.relearnRecords(ds.train, [0], 'benign') as Array<{ unsafe_pairs: Array<{ question: string; model_response: string }> }>;
  assert.is(r.unsafe_pairs.length, 4);
  assert.is(r.unsafe_pairs[0].question, ds.train[0].UnharmPair_text1.Question);
  assert.is(r.unsafe_pairs[0].model_response, ds.train[0].UnharmPair_text1.Prediction);
  assert.is(attacks.relearnRecords(ds.train, [0], 'forget')[0], ds.train[0]);
});

test('relearnModel: fine-tuning brings the slice answers back (NLL falls), then the unlearned model is restored exactly; no leaks', async () => {
  const ds = await tinyDataset(12);
  const m = await tinyModel(3, 12);
  // an "unlearned" model: gradient ascent with LoRA adapters attached
  const u = unlearn.create(m, ds, { method: 'ga', steps: 3, lr: 5e-3, seed: 1 });
  await u.run({ progress: false });
  const adapters = (m as unknown as { adapters?: unknown }).adapters;
  assert.ok(adapters, 'the Unlearner attached adapters');
  const before = snapshot(m);
  const slice = attacks.relearnSlice(ds.train, { fraction: 0.25, category: '' }, 1);
  const recs = attacks.relearnRecords(ds.train, slice.slice, 'forget');
  const exs = unlearn.forgetExamples({ ...ds, train: recs, val: [], refusals: ds.refusals, dir: ds.dir, imagePath: (p: string) => ds.imagePath(p) } as never, 'train');
  const nll = async () => (await attacks.answerStats(m, exs)).reduce((a, s) => a + s.avgLoss, 0) / exs.length;
  const nll0 = await nll();
  const curve: Array<[number, number]> = [];
  await runtime.expectNoLeakedTensors(
    () => attacks.relearnModel(m, ds, recs as never, { steps: [2, 6], lr: 1e-2, batchSize: 4, seed: 1, progress: false, measure: async (k) => void curve.push([k, await nll()]) }),
    { label: 'relearnModel' },
  );
  assert.equal(curve.map((c) => c[0]), [2, 6]);
  assert.ok(curve[1][1] < nll0 - 0.05, `the slice's answers are relearned: NLL ${nll0.toFixed(3)} → ${curve.map((c) => c[1].toFixed(3)).join(' → ')}`);
  // restored: the same weights, the same adapters attached, the same answers' NLL
  assert.is((m as unknown as { adapters?: unknown }).adapters, adapters);
  const after = snapshot(m);
  for (const [k, v] of before) assert.ok(after.get(k)!.every((x, i) => x === v[i]), `${k} restored exactly`);
  assert.ok(Math.abs((await nll()) - nll0) < 1e-6);
  u.dispose();
  (m as unknown as { dispose(): void }).dispose();
  void model;
});

test.run();
