// Figures with uncertainty: error bars from the summary's intervals on the over-forgetting and
// trade-off figures, bands across seeds on the forgetting curves, and all of them kept in the
// exported SVG (Plotly draws error bars as `g.errorbar` paths, bands as filled paths).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import sharp from 'sharp';
import { metrics, plots } from '../../sdk';
import { historyRows, summaryRows } from './fixtures';

/** The fixture summary with Wilson intervals from its n and count. */
function withIntervals(): Record<string, unknown>[] {
  return summaryRows().map((r) => {
    const w = metrics.wilson(Number(r.count), Number(r.n));
    return { ...r, ciLow: w.low, ciHigh: w.high, ciMethod: 'wilson' };
  });
}

type Bar = { name: string; y: number[]; error_y?: { array: number[]; arrayminus: number[]; symmetric: boolean; visible: boolean } };

test('overForgetting: error bars from ciLow/ciHigh; none when the frame has no intervals', () => {
  const rows = withIntervals();
  const fig = plots.overForgetting(rows);
  const bars = fig.data as Bar[];
  const po = rows.find((r) => r.method === 'po' && r.metric === 'sarr' && r.split === 'val')!;
  const e = bars[0].error_y!;
  assert.ok(e && e.visible && !e.symmetric);
  assert.ok(Math.abs(e.array[3] - (Number(po.ciHigh) - Number(po.value))) < 1e-12);
  assert.ok(Math.abs(e.arrayminus[3] - (Number(po.value) - Number(po.ciLow))) < 1e-12);
  assert.ok(e.array.every((x) => x > 0));
  assert.is(plots.overForgetting(summaryRows()).data[0].error_y, undefined);
});

test('overForgetting on a per-seed frame: mean across seeds with its t interval', () => {
  const rows = [1, 2, 3].flatMap((seed) => [
    { method: 'po', seed, metric: 'sarr', split: 'val', value: 0.7 + seed / 10 },
    { method: 'po+pd', seed, metric: 'sarr', split: 'val', value: 0.1 },
  ]);
  const bars = plots.overForgetting(rows).data as Bar[];
  const t = metrics.tInterval([0.8, 0.9, 1.0]);
  assert.ok(Math.abs(bars[0].y[0] - 0.9) < 1e-12);
  assert.ok(Math.abs(bars[0].error_y!.array[0] - (t.high - 0.9)) < 1e-9);
  assert.ok(Math.abs(bars[1].error_y!.array[0]) < 1e-12, 'no spread across seeds');
});

test('tradeoff: error bars in x and y', () => {
  const fig = plots.tradeoff(withIntervals());
  const po = fig.data.find((t) => t.name === 'po') as { error_x: { array: number[] }; error_y: { array: number[] } };
  assert.is(po.error_x.array.length, 2);
  assert.is(po.error_y.array.length, 2);
  assert.ok(po.error_x.array[0] > 0 && po.error_y.array[1] > 0);
});

test('forgettingCurves: several seeds → mean line and a mean ± sd band per series', () => {
  const h = [1, 2, 3].flatMap((seed) => historyRows(12).map((r) => ({ ...r, seed, sarr: Number.isFinite(r.sarr as number) ? (r.sarr as number) + seed / 100 : NaN })));
  const fig = plots.forgettingCurves(h);
  const bands = fig.data.filter((t) => t.fill === 'toself') as Array<{ name: string; x: number[]; y: number[] }>;
  assert.equal(bands.map((b) => b.name), ['Loss ± sd', 'forget ± sd', 'retain ± sd', 'Forget rate ± sd', 'Refusal rate ± sd', 'SARR ± sd']);
  const sarrBand = bands[5];
  assert.equal(sarrBand.x, [4, 8, 12, 12, 8, 4]);
  // at step 12: seeds give 0.71, 0.72, 0.73 → mean 0.72, sd 0.01
  assert.ok(Math.abs(sarrBand.y[2] - 0.73) < 1e-9 && Math.abs(sarrBand.y[3] - 0.71) < 1e-9, JSON.stringify(sarrBand.y));
  const sarr = fig.data.find((t) => t.name === 'SARR') as { x: number[]; y: number[] };
  assert.equal(sarr.x, [4, 8, 12]);
  assert.ok(Math.abs(sarr.y[2] - 0.72) < 1e-9);
  // several methods (one panel each): a band per rate in every panel
  const multi = plots.forgettingCurves([...h.map((r) => ({ ...r, method: 'po' })), ...h.map((r) => ({ ...r, method: 'po+pd' }))]);
  const mb = multi.data.filter((t) => t.fill === 'toself') as Array<{ name: string; xaxis: string }>;
  assert.equal(mb.map((b) => `${b.name}@${b.xaxis}`), ['po: Forget rate ± sd@x', 'po: Refusal rate ± sd@x', 'po: SARR ± sd@x', 'po+pd: Forget rate ± sd@x2', 'po+pd: Refusal rate ± sd@x2', 'po+pd: SARR ± sd@x2']);
  // one seed: no bands
  assert.is(plots.forgettingCurves(historyRows(12)).data.filter((t) => t.fill === 'toself').length, 0);
});

test('exported SVG and PDF keep the error bars and bands', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ci-'));
  const exporter = new plots.Exporter();
  try {
    const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;
    const over = await exporter.export(plots.overForgetting(withIntervals()), path.join(dir, 'over.svg'));
    const svg = fs.readFileSync(over.file, 'utf8');
    // 4 bar traces × 5 methods, one whisker each
    assert.is(count(svg, /class="errorbar"/g), 20, 'error bars in the SVG');
    assert.ok(count(svg, /class="yerror"/g) >= 20);
    const plain = await exporter.export(plots.overForgetting(summaryRows()), path.join(dir, 'plain.svg'));
    assert.is(count(fs.readFileSync(plain.file, 'utf8'), /class="errorbar"/g), 0);
    const trade = await exporter.export(plots.tradeoff(withIntervals()), path.join(dir, 'trade.svg'));
    const tsvg = fs.readFileSync(trade.file, 'utf8');
    assert.ok(count(tsvg, /class="xerror"/g) >= 10 && count(tsvg, /class="yerror"/g) >= 10, 'x and y error bars');
    const h = [1, 2].flatMap((seed) => historyRows(12).map((r) => ({ ...r, seed, loss: (r.loss as number) + seed / 10 })));
    const curves = await exporter.export(plots.forgettingCurves(h), path.join(dir, 'curves.svg'));
    // six bands (loss, two terms, three rates): Plotly writes rgba fills as fill + fill-opacity
    assert.is(count(fs.readFileSync(curves.file, 'utf8'), /fill-opacity: 0\.18/g), 6, 'the bands are filled');
    // the PDF: rasterised with poppler, the page with error bars has dark whisker pixels the plain one lacks
    const raster = async (fig: plots.Figure, name: string) => {
      const r = await exporter.export(fig, path.join(dir, `${name}.pdf`));
      spawnSync('pdftoppm', ['-png', '-r', '100', '-singlefile', r.file, path.join(dir, name)]);
      return sharp(path.join(dir, `${name}.png`)).greyscale().raw().toBuffer();
    };
    const withBars = await raster(plots.overForgetting(withIntervals()), 'over');
    const without = await raster(plots.overForgetting(summaryRows()), 'plainpdf');
    assert.is(withBars.length, without.length);
    let darker = 0;
    for (let i = 0; i < withBars.length; i++) if (withBars[i] < 100 && without[i] > 200) darker++;
    assert.ok(darker > 100, `${darker} whisker pixels in the PDF`);
  } finally {
    await exporter.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
