// Interval functions against reference values (scipy.stats 1.17 for the quantiles and binomial
// tails; the Wilson formula evaluated independently), bootstrap determinism, and the paired
// test's null behaviour.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metrics } from '../../sdk';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

test('normal and t quantiles match scipy', () => {
  close(metrics.normalQuantile(0.975), 1.959963984540054, 1e-8, 'z.975');
  close(metrics.normalQuantile(0.995), 2.5758293035489004, 1e-8, 'z.995');
  close(metrics.normalQuantile(0.001), -3.090232306167813, 1e-8, 'z.001');
  const t975: Record<number, number> = { 1: 12.706204736174694, 2: 4.302652729749462, 4: 2.7764451051977934, 9: 2.262157162798205, 29: 2.045229642132703, 200: 1.9718962236339088 };
  for (const [df, q] of Object.entries(t975)) close(metrics.tQuantile(0.975, Number(df)), q, 1e-7, `t.975(${df})`);
  const cdf: Record<number, number> = { 1: 0.20871440016015272, 2: 0.16162351590802015, 9: 0.11295318633652467, 200: 0.09754859465442814 };
  for (const [df, p] of Object.entries(cdf)) close(metrics.tCdf(-1.3, Number(df)), p, 1e-9, `tcdf(-1.3, ${df})`);
  close(metrics.tQuantile(0.025, 4), -2.7764451051977934, 1e-7);
});

test('wilson: 30 of 104 at 95% is [0.2102, 0.3818]; edges stay in [0, 1]', () => {
  const w = metrics.wilson(30, 104);
  close(w.low, 0.21015909303902086, 1e-7, 'low');
  close(w.high, 0.3818345568877857, 1e-7, 'high');
  assert.is(w.method, 'wilson');
  assert.is(w.level, 0.95);
  assert.is(Number(w.low.toFixed(4)), 0.2102);
  assert.is(Number(w.high.toFixed(4)), 0.3818);
  const zero = metrics.wilson(0, 10);
  assert.is(zero.low, 0);
  close(zero.high, 0.2775327998628892, 1e-7);
  const all = metrics.wilson(10, 10);
  close(all.low, 0.7224672001371107, 1e-7);
  assert.is(all.high, 1);
  // a 99% interval is wider
  const w99 = metrics.wilson(30, 104, 0.99);
  assert.ok(w99.low < w.low && w99.high > w.high);
  assert.ok(Number.isNaN(metrics.wilson(0, 0).low));
  // half-width at p = 0.5: 96 items give about ±10 points
  close(metrics.wilsonHalfWidth(96), (0.598075975470137 - 0.401924024529863) / 2, 1e-7);
  assert.throws(() => metrics.wilson(11, 10), /wilson: count out of range \(1 problem\):\n  - count: must be in \[0, n = 10\]; got 11/);
  assert.throws(() => metrics.wilson(1, 10, 95), /invalid confidence level[\s\S]*must be a number in \(0, 1\), e.g. 0.95; got 95/);
});

test('tInterval: mean, sample sd and the t interval across seeds', () => {
  const s = metrics.tInterval([1, 2, 3]);
  assert.is(s.n, 3);
  assert.is(s.mean, 2);
  assert.is(s.sd, 1);
  close(s.low, 2 - 4.302652729749462 / Math.sqrt(3), 1e-7);
  close(s.high, 2 + 4.302652729749462 / Math.sqrt(3), 1e-7);
  assert.is(s.method, 't');
  const one = metrics.tInterval([0.4, NaN]);
  assert.is(one.n, 1);
  assert.is(one.mean, 0.4);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.low));
});

test('bootstrapMean: deterministic by seed, brackets the mean, matches the normal theory on a large sample', () => {
  const values = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 101) / 100); // spread over [0, 1]
  const a = metrics.bootstrapMean(values, { seed: 5 });
  const b = metrics.bootstrapMean(values, { seed: 5 });
  const c = metrics.bootstrapMean(values, { seed: 6 });
  assert.equal(a, b);
  assert.ok(a.low !== c.low || a.high !== c.high, 'another seed resamples differently');
  const mean = values.reduce((x, y) => x + y, 0) / values.length;
  const sd = Math.sqrt(values.reduce((x, y) => x + (y - mean) ** 2, 0) / (values.length - 1));
  const half = (1.96 * sd) / Math.sqrt(values.length);
  assert.ok(a.low < mean && mean < a.high);
  close(a.low, mean - half, 0.006, 'bootstrap low ≈ normal theory');
  close(a.high, mean + half, 0.006, 'bootstrap high ≈ normal theory');
  // constant values: a zero-width interval
  const k = metrics.bootstrapMean([0.3, 0.3, 0.3]);
  close(k.low, 0.3, 1e-12);
  close(k.high, 0.3, 1e-12);
  // clusters whose members agree resample as units: the interval is wider than the rows' one
  const clustered = Array.from({ length: 60 }, (_, i) => (Math.floor(i / 4) % 3 === 0 ? 1 : 0));
  const keys = clustered.map((_, i) => Math.floor(i / 4));
  const rowsCi = metrics.bootstrapMean(clustered, { seed: 1 });
  const clusterCi = metrics.bootstrapMean(clustered, { seed: 1, clusters: keys });
  assert.ok(clusterCi.high - clusterCi.low > 1.5 * (rowsCi.high - rowsCi.low), `${JSON.stringify(clusterCi)} vs ${JSON.stringify(rowsCi)}`);
  assert.throws(() => metrics.bootstrapMean([1, 2], { clusters: ['a'] }), /bootstrap: clusters do not match the values \(1 problem\):\n  - clusters: 1 cluster keys for 2 values/);
});

test('pairedTest: identical inputs give p = 1 and an interval around 0', () => {
  const a = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const t = metrics.pairedTest(a, a.slice(), { clusters: a.map((_, i) => Math.floor(i / 5)) });
  assert.is(t.diff, 0);
  assert.is(t.pValue, 1);
  assert.ok(t.low <= 0 && t.high >= 0);
  assert.is(t.low, 0);
  assert.is(t.high, 0);
  assert.is(t.n, 50);
  assert.is(t.clusters, 10);
  // mcnemar: no discordant pair → p = 1
  assert.is(metrics.mcnemar(a, a).pValue, 1);
});

test('pairedTest: a real difference is detected; the exact sign-flip p-value is the textbook one', () => {
  // 5 records, b lower on every one: exact p = 2 / 2^5
  const a = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const b = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const t = metrics.pairedTest(a, b, { clusters: [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] });
  assert.is(t.exact, true);
  close(t.pValue, 2 / 32, 1e-12);
  assert.is(t.diff, -1);
  // many records: sampled sign flips, p at the floor 1 / (R + 1)
  const n = 60;
  const big = metrics.pairedTest(Array(n).fill(1), Array.from({ length: n }, (_, i) => (i % 6 === 0 ? 1 : 0)), { resamples: 999, seed: 3 });
  assert.is(big.exact, false);
  close(big.pValue, 1 / 1000, 1e-12);
  assert.ok(big.high < 0, 'interval excludes 0');
  close(big.diff, -50 / 60, 1e-12);
  // deterministic by seed
  assert.equal(metrics.pairedTest([1, 0, 1, 1], [0, 0, 1, 0], { seed: 9 }), metrics.pairedTest([1, 0, 1, 1], [0, 0, 1, 0], { seed: 9 }));
  // mcnemar matches scipy.stats.binomtest(2, 12).pvalue
  const m = metrics.mcnemar([...Array(10).fill(1), 0, 0, 1], [...Array(10).fill(0), 1, 1, 1]);
  assert.equal([m.b10, m.b01], [10, 2]);
  close(m.pValue, 0.03857421875, 1e-12);
  assert.throws(() => metrics.pairedTest([1], [1, 0]), /pairedTest: the two samples are not paired \(1 problem\):\n  - b: 2 values for 1 in a/);
});

test.run();
