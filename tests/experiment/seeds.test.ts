// The main job over several seeds at the test scale: per-seed folders (each resumable), tables
// with a seed column, the aggregate across seeds (mean, sd, t interval, per-seed values), mean
// ± sd in the headline table, the paired ±PD comparison (file, terminal table, report section)
// and figures with error bars and seed bands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { experiment, metrics } from '../../sdk';
import { capture } from '../support';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-seeds-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const out = path.join(tmp, 'r');
const METHODS = ['vanilla', ...experiment.JOB_SCALES.test.methods];
const readJson = (f: string) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'));

test('eraserlab run --seeds 1,2: per-seed results, the aggregate, mean ± sd and the paired comparison', async () => {
  const { rc, out: stdout, err: stderr } = await capture(['run', '--scale', 'test', '--seeds', '1,2', '--out', out, '--no-figures']);
  assert.is(rc, 0, stderr);
  const r = { table: fs.readFileSync(path.join(out, 'table.txt'), 'utf8').trimEnd(), report: path.join(out, 'report.html'), comparisonTable: fs.readFileSync(path.join(out, 'comparison.txt'), 'utf8').trimEnd(), headline: experiment.headlineRowsWithSd(experiment.loadResults(out).summarySeeds) };
  assert.ok(stdout.includes(r.table), 'the headline table is printed');
  assert.ok(stdout.includes(`With and without PD (paired on the same items and seeds; Δ in points, 95% CI, p):\n${r.comparisonTable}`), stdout);
  for (const s of [1, 2]) {
    for (const m of METHODS) {
      const spec = JSON.parse(fs.readFileSync(path.join(out, 'seeds', String(s), 'methods', m, 'spec.json'), 'utf8'));
      assert.is(spec.seed, s, `${s}/${m} ran with its seed`);
    }
  }
  assert.equal(readJson('run.json').seeds, [1, 2]);

  // per-seed rows: every method × seed × metric, with its interval
  const summary = readJson('summary.json') as Array<Record<string, any>>;
  const sarr = summary.filter((x) => x.metric === 'sarr' && x.split === 'val');
  assert.equal(sarr.map((x) => `${x.method}@${x.seed}`), [1, 2].flatMap((s) => METHODS.map((m) => `${m}@${s}`)));
  for (const x of sarr) assert.ok(x.ciMethod === 'wilson' && x.ciLow <= x.value && x.value <= x.ciHigh, JSON.stringify(x));
  // the two seeds are two runs: the training losses differ (batches and adapters are seeded)
  const hist = readJson('history.json') as Array<Record<string, any>>;
  assert.equal([...new Set(hist.map((h) => h.seed))], [1, 2]);
  const loss = (seed: number) => hist.find((h) => h.method === 'po' && h.seed === seed && h.step === 1)!.loss;
  assert.is.not(loss(1), loss(2));
  const samples = readJson('samples.json') as Array<Record<string, any>>;

  // the aggregate: mean, sample sd, t interval and each seed's value, checked against the per-seed rows
  const agg = readJson('summary_seeds.json') as Array<Record<string, any>>;
  assert.equal(Object.keys(agg[0]), ['method', 'pd', 'metric', 'split', 'value', 'sd', 'seeds', 'ciLow', 'ciHigh', 'ciMethod', 'seed_1', 'seed_2']);
  for (const a of agg.filter((x) => ['sarr', 'forgetRate', 'asr'].includes(x.metric))) {
    const vals = [1, 2].map((s) => summary.find((x) => x.method === a.method && x.metric === a.metric && x.split === a.split && x.seed === s)!.value);
    assert.equal([a.seed_1, a.seed_2], vals);
    const t = metrics.tInterval(vals);
    assert.ok(Math.abs(a.value - t.mean) < 1e-12 && Math.abs(a.sd - t.sd) < 1e-12, `${a.method} ${a.metric}`);
    // rates: the t interval clipped to [0, 1]
    if (t.sd > 0) assert.ok(Math.abs(a.ciHigh - Math.min(1, t.high)) < 1e-9 && Math.abs(a.ciLow - Math.max(0, t.low)) < 1e-9 && a.ciMethod === 't', JSON.stringify(a));
  }

  // headline: mean ± sd; the printed table is table.txt
  assert.is(fs.readFileSync(path.join(out, 'table.txt'), 'utf8'), r.table + '\n');
  const poRow = r.headline.find((h) => h.method === 'po')!;
  const sarrAgg = agg.find((x) => x.method === 'po' && x.metric === 'sarr' && x.split === 'val')!;
  assert.is(poRow.sarrVal, sarrAgg.value);
  assert.is(poRow.sd!.sarrVal, sarrAgg.sd);
  assert.match(fs.readFileSync(path.join(out, 'table.md'), 'utf8'), /\| po \|  \| [\d.]+ ± [\d.]+ \|/);

  // paired comparison po vs po+pd, pairs across both seeds (records × seeds resampled)
  const cmp = readJson('comparison.json') as Array<Record<string, any>>;
  assert.equal(cmp.map((c) => `${c.a}/${c.b}/${c.metric}/${c.split}`), ['po/po+pd/sarr/train', 'po/po+pd/sarr/val', 'po/po+pd/forgetRate/train', 'po/po+pd/forgetRate/val']);
  for (const c of cmp) {
    assert.ok(c.ciLow <= c.diff + 1e-12 && c.diff <= c.ciHigh + 1e-12 && c.pValue > 0 && c.pValue <= 1, JSON.stringify(c));
    const perSeed = samples.filter((x) => x.method === 'po' && x.split === c.split && x.kind === (c.metric === 'sarr' ? 'sd' : 'harmful'));
    assert.is(c.n, perSeed.length, 'every response of both seeds is paired');
  }
  // the same numbers as metrics.compare on the samples
  const again = metrics.compareRows(samples, { a: 'po', b: 'po+pd' });
  assert.equal(again.map((c) => [c.diff, c.ciLow, c.ciHigh, c.pValue]), cmp.map((c) => [c.diff, c.ciLow, c.ciHigh, c.pValue]));
  assert.match(r.comparisonTable, /^method\s+vs\s+metric\s+split\s+without PD\s+with PD\s+Δ \(with − without\)\s+95% CI of Δ\s+p/);
  assert.match(fs.readFileSync(path.join(out, 'comparison.md'), 'utf8'), /\| po \| po\+pd \| SARR \| val \|/);

  // the report: mean ± sd note, the comparison section
  const html = fs.readFileSync(r.report, 'utf8');
  assert.match(html, /Mean ± sample standard deviation across 2 seeds \(1, 2\)/);
  assert.match(html, /<h2>With and without PD: paired comparison<\/h2>/);
  assert.match(html, /<table class="comparison">/);
  assert.match(html, /<h2>95% intervals<\/h2>\n<details><summary>\d+ rows \(mean across seeds with its t interval\)/);

  // figures: error bars from the t intervals, bands across seeds on the forgetting curves
  const over = JSON.parse(fs.readFileSync(path.join(out, 'figures', 'over-forgetting.plotly.json'), 'utf8'));
  assert.ok(over.data.every((t: any) => t.error_y && t.error_y.visible), 'every bar trace has error bars');
  const curves = JSON.parse(fs.readFileSync(path.join(out, 'figures', 'forgetting-curves.plotly.json'), 'utf8'));
  assert.ok(curves.data.some((t: any) => t.fill === 'toself'), 'seed bands');

  // loadResults reads the new tables back
  const loaded = experiment.loadResults(out);
  assert.is(loaded.summarySeeds.length, agg.length);
  assert.is(loaded.comparison.length, cmp.length);
});

test('experiment.run({seeds: [1, 2, 3]}) resumes per seed: only seed 3 runs; bad seed lists are ConfigErrors', async () => {
  const before = fs.statSync(path.join(out, 'seeds', '1', 'methods', 'po', 'spec.json')).mtimeMs;
  const done: Array<{ seed: number; skipped: boolean }> = [];
  const r = await experiment.run({ scale: 'test', out, seeds: [1, 2, 3], figures: false, log: () => {}, onMethodDone: (o) => done.push({ seed: o.seed, skipped: o.skipped }) });
  assert.equal(done.map((d) => d.seed), [1, 2, 3].flatMap((s) => METHODS.map(() => s)));
  assert.ok(done.filter((d) => d.seed !== 3).every((d) => d.skipped), 'seeds 1 and 2 resumed from disk');
  assert.ok(done.filter((d) => d.seed === 3).every((d) => !d.skipped), 'seed 3 computed');
  assert.is(fs.statSync(path.join(out, 'seeds', '1', 'methods', 'po', 'spec.json')).mtimeMs, before);
  const agg = JSON.parse(fs.readFileSync(path.join(out, 'summary_seeds.json'), 'utf8')) as Array<Record<string, any>>;
  assert.ok(agg.every((a) => 'seed_3' in a) && agg.some((a) => a.seeds === 3));
  assert.is(r.headline.length, METHODS.length);
  assert.equal(r.seeds, [1, 2, 3]);
  assert.match(r.table, /po\+pd\s+yes\s+[\d.]+ ± [\d.]+/);
  const bad = await capture(['run', '--seeds', '1,x', '--scale', 'test', '--out', path.join(tmp, 'never')]);
  assert.is(bad.rc, 1);
  assert.match(bad.err, /ConfigError: Invalid arguments for eraserlab run[\s\S]*--seeds: must be comma-separated non-negative integers \(e\.g\. 1,2,3\), got '1,x'/);
  for (const [opts, msg] of [
    [{ seeds: [] }, /seeds: must be a non-empty list of seeds/],
    [{ seeds: [1, 1] }, /seeds: seed 1 is listed twice/],
    [{ seeds: [1, -2] }, /seeds\[1\]: must be an integer ≥ 0, got -2/],
    [{ seeds: [1], seed: 4 }, /seed: give seed or seeds, not both/],
  ] as const) {
    try {
      await experiment.run({ scale: 'test', out: path.join(tmp, 'never'), log: () => {}, ...(opts as object) });
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.is((e as Error).name, 'ConfigError', String(e));
      assert.match((e as Error).message, msg);
    }
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'never')));
});

test.run();
