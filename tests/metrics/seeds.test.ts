// Across seeds: per-seed values, mean, sample sd and the t interval; one seed keeps its own interval.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as dfd from 'danfojs-node';
import { aggregateSeedRows, aggregateSeeds, formatMeanSd, tQuantile, wilson } from '../../sdk/metrics';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: expected ${b}, got ${a}`);

const perSeed = [1, 2, 3].flatMap((seed) => [
  { method: 'po', pd: false, seed, metric: 'sarr', split: 'val', value: [0.5, 0.6, 0.7][seed - 1], ciLow: 0.3, ciHigh: 0.8, ciMethod: 'wilson' },
  { method: 'po+pd', pd: true, seed, metric: 'sarr', split: 'val', value: 0.1, ciLow: 0.02, ciHigh: 0.3, ciMethod: 'wilson' },
]);

test('mean, sample sd, t interval and per-seed columns', () => {
  const rows = aggregateSeedRows(perSeed);
  assert.is(rows.length, 2);
  const po = rows[0];
  assert.equal([po.method, po.pd, po.metric, po.split, po.seeds, po.ciMethod], ['po', false, 'sarr', 'val', 3, 't']);
  close(po.value, 0.6, 'mean');
  close(po.sd, 0.1, 'sd');
  close(po.ciLow, 0.6 - (tQuantile(0.975, 2) * 0.1) / Math.sqrt(3), 'low');
  close(po.ciHigh, 0.6 + (4.302652729749462 * 0.1) / Math.sqrt(3), 'high');
  assert.equal([po.seed_1, po.seed_2, po.seed_3], [0.5, 0.6, 0.7]);
  assert.is(rows[1].pd, true);
  for (const [k, v] of [['sd', 0], ['ciLow', 0.1], ['ciHigh', 0.1]] as const) close(rows[1][k], v, k); // no spread across seeds
  const df = aggregateSeeds(new dfd.DataFrame(perSeed));
  assert.equal(df.columns, ['method', 'pd', 'metric', 'split', 'value', 'sd', 'seeds', 'ciLow', 'ciHigh', 'ciMethod', 'seed_1', 'seed_2', 'seed_3']);
});

test('one seed keeps its own interval; a missing seed is NaN and not counted', () => {
  const w = wilson(3, 10);
  const [one] = aggregateSeedRows([{ method: 'po', seed: 7, metric: 'asr', split: 'train', value: 0.3, ciLow: w.low, ciHigh: w.high, ciMethod: 'wilson' }]);
  assert.equal([one.value, one.seeds, one.ciLow, one.ciHigh, one.ciMethod], [0.3, 1, w.low, w.high, 'wilson']);
  assert.ok(Number.isNaN(one.sd));
  const gap = aggregateSeedRows([...perSeed.filter((r) => !(r.method === 'po' && r.seed === 2))]);
  assert.is(gap[0].seeds, 2);
  assert.ok(Number.isNaN(gap[0].seed_2));
  close(gap[0].value, 0.6, 'mean of 0.5 and 0.7');
  assert.throws(() => aggregateSeedRows([{ metric: 'asr', split: 'val', value: 1 }]), /every row needs a seed \(1 problem\):\n  - rows\[0\]\.seed: missing/);
});

test('formatMeanSd', () => {
  assert.is(formatMeanSd(0.5833, 0.0417), '58.3 ± 4.2');
  assert.is(formatMeanSd(0.5, NaN), '50.0');
  assert.is(formatMeanSd(0.51234, 0.01, false), '0.512 ± 0.010');
  assert.is(formatMeanSd(NaN, 0.1), '–');
});

test.run();
