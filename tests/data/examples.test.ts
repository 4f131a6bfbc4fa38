import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import { data, runtime } from '../../sdk';
import { tinyDataset } from './helpers';
import { invalid } from '../support';

let ds: InstanceType<typeof data.SafeEraserDataset>;
test.before(async () => {
  ds = await data.loadSafeEraser(await tinyDataset());
});

test('forget / sd / refusal examples: one per unsafe pair, absolute image paths', () => {
  const f = data.examples(ds, 'train', 'forget');
  const sd = data.examples(ds, 'train', 'sd');
  const po = data.examples(ds, 'train', 'refusal', { seed: 1 });
  assert.is(f.length, 48);
  assert.is(sd.length, 48);
  assert.is(po.length, 48);
  assert.equal(f[5], {
    split: 'train',
    record: 1,
    category: ds.categoryOf('train', 1),
    id: 'train/1/forget/1',
    kind: 'forget',
    pair: 1,
    image: path.join(ds.dir, ds.train[1].image_path),
    question: ds.train[1].unsafe_pairs[1].question,
    answer: ds.train[1].unsafe_pairs[1].model_response,
  });
  // PD: the same query on the benign image
  assert.is(sd[5].question, f[5].question);
  assert.is(sd[5].image, path.join(ds.dir, ds.train[1].SDImage_path));
  assert.is(sd[5].answer, ds.train[1].unsafe_pairs[1].sd_response);
  assert.ok(po.every((e) => ds.refusals.includes(e.answer)));
  assert.ok(new Set(po.map((e) => e.answer)).size > 5, 'refusals vary');
  assert.equal(data.examples(ds, 'train', 'refusal', { seed: 1 }), po);
  assert.not.equal(data.examples(ds, 'train', 'refusal', { seed: 2 }).map((e) => e.answer), po.map((e) => e.answer));
});

test('retain and utility examples', () => {
  const rt = data.examples(ds, 'val', 'retain_text');
  const ri = data.examples(ds, 'val', 'retain_image');
  assert.is(rt.length, 24);
  assert.is(ri.length, 24);
  assert.is(rt[0].image, undefined);
  assert.is(rt[1].question, ds.val[0].UnharmPair_text2.Question);
  assert.is(ri[1].answer, ds.val[0].UnharmPair_image2.Prediction);
  assert.is(ri[1].image, ds.imagePath(ds.val[0].image_path));
  const u = data.examples(ds, 'utility', 'utility');
  assert.is(u.length, 38);
  assert.is(u[0].split, 'utility');
  assert.ok(path.isAbsolute(u[0].image as string));
  assert.equal(data.examples(ds, 'train', 'utility'), u);
});

test('bad kinds and splits name the valid ones', () => {
  assert.throws(() => data.examples(ds, 'train', invalid('harmful')), (e: Error) =>
    e instanceof runtime.ConfigError && e.message === "Unknown example kind 'harmful'. Must be one of [forget, sd, retain_text, retain_image, utility, refusal, aligned]");
  assert.throws(() => data.examples(ds, 'utility', 'forget'), (e: Error) => e.message === "Unknown split 'utility' for kind 'forget'. Must be one of [train, val]");
});

test('pairing forget with retain is seeded and covers the pool before repeating', () => {
  const f = data.examples(ds, 'train', 'forget');
  const pool = data.examples(ds, 'train', 'retain_text');
  const a = data.pairForgetWithRetain(f, pool, 233);
  assert.is(a.length, f.length);
  assert.equal(a.map((p) => p.forget.id), f.map((e) => e.id));
  assert.equal(data.pairForgetWithRetain(f, pool, 233), a);
  assert.not.equal(data.pairForgetWithRetain(f, pool, 234).map((p) => p.retain.id), a.map((p) => p.retain.id));
  // 48 forget, 24 retain: each retain example used exactly twice
  const uses = new Map<string, number>();
  for (const p of a) uses.set(p.retain.id, (uses.get(p.retain.id) ?? 0) + 1);
  assert.is(uses.size, 24);
  assert.ok([...uses.values()].every((n) => n === 2));
  const s = new data.PairedSampler(f, pool, { seed: 233 });
  assert.equal(s.pairs(0), a);
  assert.not.equal(s.pairs(1).map((p) => p.retain.id), a.map((p) => p.retain.id));
  assert.throws(() => data.pairForgetWithRetain(f, []), /retain pool is empty/);
});

test('batches: sizes, seeded shuffle, dropLast', () => {
  const xs = Array.from({ length: 10 }, (_, i) => i);
  assert.equal(data.batches(xs, 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.equal(data.batches(xs, 4, { dropLast: true }).length, 2);
  const s1 = data.batches(xs, 3, { shuffle: true, seed: 5 });
  assert.equal(data.batches(xs, 3, { shuffle: true, seed: 5 }), s1);
  assert.equal(s1.flat().sort((a, b) => a - b), xs);
  assert.not.equal(s1.flat(), xs);
  assert.throws(() => data.batches(xs, 0), /batchSize must be an integer ≥ 1, got 0/);
});

test('trainingBatches: forget, PD and PO rows aligned; retain paired; reproducible per epoch', () => {
  const b = data.trainingBatches(ds, { batchSize: 8, seed: 3 });
  assert.is(b.length, 6);
  for (const batch of b) {
    assert.is(batch.forget.length, 8);
    batch.forget.forEach((f, i) => {
      assert.is(batch.pd[i].record, f.record);
      assert.is(batch.pd[i].pair, f.pair);
      assert.is(batch.pd[i].kind, 'sd');
      assert.is(batch.pd[i].question, f.question);
      assert.is(batch.refusal[i].image, f.image);
      assert.ok(ds.refusals.includes(batch.refusal[i].answer));
      assert.ok(batch.retain[i].kind.startsWith('retain_'));
    });
  }
  assert.equal(data.trainingBatches(ds, { batchSize: 8, seed: 3 }), b);
  const e1 = data.trainingBatches(ds, { batchSize: 8, seed: 3, epoch: 1 });
  assert.not.equal(e1[0].forget.map((x) => x.id), b[0].forget.map((x) => x.id));
});

test.run();
