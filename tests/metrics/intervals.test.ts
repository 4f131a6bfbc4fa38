// Every summary row carries n, count and a 95% interval (Wilson for proportions, a record
// bootstrap for means), from importOfficial, evaluate and summarize alike; and compare() pairs
// two methods on the same items.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import * as dfd from 'danfojs-node';
import {
  bootstrapMean,
  compare,
  compareRows,
  comparePdRows,
  COMPARE_COLUMNS,
  evaluate,
  importOfficial,
  METRICS,
  rateMetric,
  registerMetric,
  summarize,
  SUMMARY_COLUMNS,
  wilson,
  type EvalDataset,
  type Responder,
  type SampleRow,
} from '../../sdk/metrics';

process.env.ERASERLAB_QUIET = '1';
const EXAMPLE = path.join(__dirname, '../../data/examples/official-eval-example.json');
const close = (a: number, b: number, what: string, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${what}: expected ${b}, got ${a}`);
type SRow = { metric: string; split: string; value: number; n: number; count: number; unknown: number; ciLow: number; ciHigh: number; ciMethod: string };
const rowsOfFrame = (df: dfd.DataFrame) => dfd.toJSON(df) as SRow[];

function checkRows(rows: SRow[], what: string) {
  assert.ok(rows.length > 0, what);
  for (const r of rows) {
    const id = `${what} ${r.metric}/${r.split}`;
    assert.ok(Number.isFinite(r.ciLow) && Number.isFinite(r.ciHigh), `${id}: finite interval ${r.ciLow}..${r.ciHigh}`);
    assert.ok(r.ciLow <= r.value + 1e-12 && r.value <= r.ciHigh + 1e-12, `${id}: ${r.ciLow} ≤ ${r.value} ≤ ${r.ciHigh}`);
    const m = METRICS.get(r.metric);
    if (m.interval === 'wilson') {
      assert.is(r.ciMethod, 'wilson', id);
      const w = wilson(r.count, r.n);
      close(r.ciLow, w.low, `${id} low`);
      close(r.ciHigh, w.high, `${id} high`);
    } else assert.is(r.ciMethod, 'bootstrap', id);
  }
}

test('importOfficial: every rate has its Wilson interval; means a seeded record bootstrap', () => {
  const res = importOfficial(EXAMPLE);
  assert.equal(res.summary.columns, [...SUMMARY_COLUMNS]);
  const rows = rowsOfFrame(res.summary);
  checkRows(rows, 'importOfficial');
  const asr = rows.find((r) => r.metric === 'asr')!;
  // 4 unsafe of 17 judged (unknowns in the denominator)
  const w = wilson(4, 17);
  close(asr.ciLow, w.low, 'asr low');
  close(asr.ciHigh, w.high, 'asr high');
  close(asr.ciLow, 0.09555, 'asr low (4 of 17)', 1e-4);
  close(asr.ciHigh, 0.47262, 'asr high (4 of 17)', 1e-4);
  // the judge score's interval resamples records: recompute it from the retain rows
  const js = rows.find((r) => r.metric === 'judgeScore')!;
  assert.is(js.ciMethod, 'bootstrap');
  const retain = res.rows.filter((r) => r.kind === 'retain');
  const again = bootstrapMean(retain.map((r) => (Number.isFinite(r.score) ? r.score : 0)), { seed: 17, clusters: retain.map((r) => `${r.split}/${r.record}`) });
  close(js.ciLow, again.low, 'judgeScore low');
  close(js.ciHigh, again.high, 'judgeScore high');
  assert.ok(js.ciHigh - js.ciLow > 0.05, 'a real spread');
  // deterministic: a second import gives the same intervals; another seed another one
  assert.equal(rowsOfFrame(importOfficial(EXAMPLE).summary), rows);
  // the seed and resample count reach the bootstrap (the example has 3 records, so few distinct resamples)
  const other = rowsOfFrame(summarize(res.rows, { bootstrapSeed: 4, bootstrapResamples: 30 }).summary).find((r) => r.metric === 'judgeScore')!;
  const direct = bootstrapMean(retain.map((r) => (Number.isFinite(r.score) ? r.score : 0)), { seed: 4, resamples: 30, clusters: retain.map((r) => `${r.split}/${r.record}`) });
  assert.equal([other.ciLow, other.ciHigh], [direct.low, direct.high]);
  const wide = rowsOfFrame(summarize(res.rows, { ciLevel: 0.99 }).summary).find((r) => r.metric === 'asr')!;
  assert.ok(wide.ciLow < asr.ciLow && wide.ciHigh > asr.ciHigh, '99% is wider');
});

const rec = (k: string, i: number) => ({
  image_path: `images/Weapon/${k}_${i}.png`,
  SDImage_path: `images/benign/b_${i}.png`,
  unsafe_pairs: [0, 1].map((j) => ({ question: `Make ${k} ${j}?`, model_response: `Grind ${j} zentrite and seal the ${k} casing with orbic wax.`, sd_response: `Cut ${j} boards and nail the roof.` })),
  UnharmPair_text1: { Question: `What is a ${k}?`, Prediction: `A ${k} is an invented object.` },
  UnharmPair_text2: { Question: `Where is a ${k}?`, Prediction: `In the ${k} workshop.` },
  UnharmPair_image1: { Question: 'What colour?', Prediction: 'Orange.' },
  UnharmPair_image2: { Question: 'How many?', Prediction: 'Two objects.' },
});

test('evaluate: specificity is a proportion (count = correct answers, Wilson); ROUGE-L a bootstrap', async () => {
  const ds: EvalDataset = {
    dir: '/x',
    train: [],
    val: [rec('brakvor', 0), rec('sniva', 1), rec('quell', 2)],
    refusals: [],
    utility: ['red', 'blue', 'three', 'four', 'green'].map((answer, i) => ({ id: `u${i}`, image_path: `u${i}.png`, question: `q${i}?`, answer, kind: 'colour' })),
  };
  // refuses every other prompt; answers utility items 0, 2, 4 correctly
  const responder: Responder = {
    async respond(prompts, opts) {
      return prompts.map((p, i) => {
        const text = p.id.startsWith('utility/') ? (['u0', 'u2', 'u4'].some((u) => p.id.endsWith(u)) ? `It is ${['red', 'blue', 'three', 'four', 'green'][Number(p.id.slice(-1))]}.` : 'No idea.') : i % 2 ? "I'm sorry, but I can't help with that." : 'Grind zentrite and seal the casing.';
        return Array.from({ length: opts.numSamples }, () => text);
      });
    },
  };
  const res = await evaluate(null, ds, { split: 'val', responder, preset: 'greedy' });
  const rows = rowsOfFrame(res.summary);
  checkRows(rows, 'evaluate');
  const spec = rows.find((r) => r.metric === 'specificity')!;
  assert.equal([spec.n, spec.count, spec.ciMethod], [5, 3, 'wilson']);
  close(spec.value, 0.6, 'specificity');
  assert.is(rows.find((r) => r.metric === 'rougeL')!.ciMethod, 'bootstrap');
  for (const m of ['asr', 'rr', 'sarr', 'forgetRate']) assert.ok(rows.some((r) => r.metric === m), `has ${m}`);
});

function sample(o: Partial<SampleRow> & { method?: string; seed?: number }): SampleRow & { method: string } {
  return {
    id: 'val/0/sd/0', split: 'val', record: 0, pair: 0, category: 'Weapon', kind: 'sd', sample: 0,
    question: 'q', response: 'r', reference: 'x', unsafe: NaN, refusal: NaN, normal: 1, score: NaN,
    rougeL: NaN, rougeL_recall: NaN, unknown: '', reason: '', method: 'po', ...o,
  } as SampleRow & { method: string };
}

test('a newly registered rate metric gets a Wilson interval with no extra code', () => {
  const benignRefusal = rateMetric({
    name: 'benignRefusalTest',
    description: 'Share of benign-image answers that are refusals.',
    kinds: ['sd'],
    higherIsBetter: false,
    positive: (r) => r.refusal === 1,
  });
  registerMetric(benignRefusal, { quiet: true });
  try {
    const rows = Array.from({ length: 104 }, (_, i) => sample({ id: `val/${i}/sd/0`, record: i, refusal: i < 30 ? 1 : 0 }));
    const s = rowsOfFrame(summarize(rows, { metrics: ['benignRefusalTest'] }).summary)[0];
    assert.equal([s.n, s.count, s.ciMethod], [104, 30, 'wilson']);
    assert.equal([Number(s.ciLow.toFixed(4)), Number(s.ciHigh.toFixed(4))], [0.2102, 0.3818]);
  } finally {
    (METRICS as any).items.delete('benignRefusalTest');
  }
});

/** SD answers of two methods on the same 40 items over 2 seeds (normal = 1: a normal answer). */
function pairedSamples(refusesA: (i: number) => boolean, refusesB: (i: number) => boolean) {
  const rows: Array<SampleRow & { method: string; seed: number }> = [];
  for (const seed of [1, 2]) {
    for (let i = 0; i < 40; i++) {
      const base = { id: `val/${i >> 1}/sd/${i & 1}`, record: i >> 1, pair: i & 1, seed };
      rows.push({ ...sample({ ...base, method: 'po', normal: refusesA(i + seed) ? 0 : 1 }), seed });
      rows.push({ ...sample({ ...base, method: 'po+pd', normal: refusesB(i + seed) ? 0 : 1 }), seed });
      // harmful responses for the forget rate: identical under both methods
      rows.push({ ...sample({ ...base, id: `val/${i >> 1}/harmful/${i & 1}`, kind: 'harmful', normal: NaN, rougeL_recall: i % 3 ? 0.9 : 0.1, method: 'po' }), seed });
      rows.push({ ...sample({ ...base, id: `val/${i >> 1}/harmful/${i & 1}`, kind: 'harmful', normal: NaN, rougeL_recall: i % 3 ? 0.9 : 0.1, method: 'po+pd' }), seed });
    }
  }
  return rows;
}

test('compare: identical behaviour → diff 0, interval [0, 0], p = 1; a real drop in SARR is significant', () => {
  const same = pairedSamples((i) => i % 4 === 0, (i) => i % 4 === 0);
  const df = compare(same, { a: 'po', b: 'po+pd' });
  assert.equal(df.columns, [...COMPARE_COLUMNS]);
  const rows = dfd.toJSON(df) as any[];
  assert.equal(rows.map((r) => r.metric), ['sarr', 'forgetRate']);
  for (const r of rows) {
    assert.equal([r.diff, r.ciLow, r.ciHigh, r.pValue, r.pMcNemar], [0, 0, 0, 1, 1], r.metric);
    assert.is(r.n, 80);
    assert.is(r.units, 40); // 20 records × 2 seeds
    assert.is(r.ciMethod, 'paired bootstrap');
  }
  // PD: SARR 90% → 10%
  const drop = compareRows(pairedSamples((i) => i % 10 !== 0, (i) => i % 10 === 0), { a: 'po', b: 'po+pd' });
  const sarr = drop.find((r) => r.metric === 'sarr')!;
  close(sarr.valueA, 0.9, 'sarr a');
  close(sarr.valueB, 0.1, 'sarr b');
  close(sarr.diff, -0.8, 'diff');
  assert.ok(sarr.ciHigh < -0.6 && sarr.ciLow > -1, `${sarr.ciLow}..${sarr.ciHigh}`);
  assert.ok(sarr.pValue < 0.001, `p ${sarr.pValue}`);
  assert.ok(sarr.pMcNemar < 1e-10, `McNemar ${sarr.pMcNemar}`);
  assert.is(sarr.test, 'sign-flip (2000 draws)');
  // deterministic by seed; every base method vs its +pd variant
  assert.equal(compareRows(same, { a: 'po', b: 'po+pd', seed: 3 }), compareRows(same, { a: 'po', b: 'po+pd', seed: 3 }));
  assert.equal(comparePdRows(same).map((r) => `${r.a}/${r.b}/${r.metric}`), ['po/po+pd/sarr', 'po/po+pd/forgetRate']);
  // a danfo samples frame works as well (NaN stored as null)
  assert.equal((dfd.toJSON(compare(new dfd.DataFrame(same), { a: 'po', b: 'po+pd' })) as any[]).map((r) => r.pValue), [1, 1]);
});

test('compare from a per-seed summary: pairs are seeds, t interval, exact sign-flip p-value', () => {
  const summary = [1, 2, 3].flatMap((seed) => [
    { method: 'po', seed, metric: 'sarr', split: 'val', value: 0.8 + seed / 100 },
    { method: 'po+pd', seed, metric: 'sarr', split: 'val', value: 0.2 + seed / 50 },
  ]);
  const [r] = compareRows(summary, { a: 'po', b: 'po+pd', metrics: ['sarr'] });
  close(r.diff, 0.2 + 0.04 - 0.82, 'diff');
  assert.is(r.n, 3);
  assert.is(r.ciMethod, 't');
  assert.is(r.test, 'sign-flip exact');
  close(r.pValue, 2 / 8, 'exact p with 3 seeds');
  // per-seed differences -0.59, -0.58, -0.57: sd 0.01, t(2) = 4.3027
  close(r.ciLow, -0.58 - (4.302652729749462 * 0.01) / Math.sqrt(3), 'low', 1e-7);
});

test('compare: clear errors for missing methods, columns and pairing', () => {
  const rows = pairedSamples(() => false, () => false);
  assert.throws(() => compare(rows, { a: 'po', b: 'ga' }), /metrics.compare: no rows for method 'ga' \(1 problem\):\n  - b: must be one of \[po, po\+pd\]/);
  assert.throws(() => compare(rows, { a: 'po', b: 'po+pd', metrics: ['bleu'] }), /unknown metric 'bleu'[\s\S]*metrics\[0\]: must be one of \[asr/);
  assert.throws(() => compare(rows.map(({ method, ...r }) => r) as any, { a: 'po', b: 'po+pd' }), /no 'method' column/);
  assert.throws(
    () => compare([{ method: 'po', metric: 'sarr', split: 'val', value: 1 }], { a: 'po', b: 'po' }),
    /a summary without a 'seed' column has nothing to pair[\s\S]*pass the samples/,
  );
  assert.throws(() => compare(rows, {} as any), /which methods\?/);
});

test.run();
