import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as dfd from 'danfojs-node';
import { plots } from '../../sdk';
import { byCategoryRows, CATS, historyRows, METHODS, summaryRows } from './fixtures';

const traces = (fig: plots.Figure, type: string) => fig.data.filter((t) => t.type === type);

test('forgettingCurves: a danfo history gives loss + each term on top and eval rates below, NaN rows skipped', () => {
  const fig = plots.forgettingCurves(new dfd.DataFrame(historyRows(12)), { title: 'PO' });
  const names = fig.data.map((t) => t.name);
  assert.equal(names, ['Loss', 'forget', 'retain', 'Forget rate', 'Refusal rate', 'SARR']);
  const loss = fig.data[0] as { x: number[]; y: number[]; yaxis: string };
  assert.is(loss.x.length, 12);
  assert.is(loss.yaxis, 'y');
  const sarr = fig.data[5] as { x: number[]; y: number[]; yaxis: string };
  assert.equal(sarr.x, [4, 8, 12]); // evaluated steps only
  assert.ok(Math.abs(sarr.y[2] - 0.7) < 1e-9);
  assert.is(sarr.yaxis, 'y2');
  assert.ok(fig.layout.yaxis2, 'second panel');
  assert.ok(JSON.stringify(fig).includes('"PO"'));
  // JSON-serialisable (no NaN sneaking in as null in the eval series)
  assert.not.ok(JSON.stringify(sarr).includes('null'));
});

test('forgettingCurves overlay: several methods → colour per method, total loss only', () => {
  const fig = plots.forgettingCurves([...historyRows(8, 'ga'), ...historyRows(8, 'po')], { layout: 'overlay' });
  const top = fig.data.filter((t) => t.yaxis === 'y');
  assert.equal(top.map((t) => t.name), ['ga', 'po']);
  const colours = new Set(fig.data.map((t) => (t.line as { color: string }).color));
  assert.is(colours.size, 2);
});

test('forgettingCurves panels (default for several methods): a panel per method, a colour per metric, one legend', () => {
  const fig = plots.forgettingCurves([...historyRows(8, 'ga'), ...historyRows(8, 'ga+pd'), ...historyRows(8, 'po')]);
  const axes = [...new Set(fig.data.map((t) => t.xaxis))];
  assert.equal(axes, ['x', 'x2', 'x3']);
  const titles = (fig.layout.annotations as Array<{ text: string }>).map((a) => a.text);
  assert.equal(titles, ['ga', 'ga+pd', 'po']);
  const legend = fig.data.filter((t) => t.showlegend).map((t) => t.name);
  assert.equal(legend, ['Forget rate', 'Refusal rate', 'SARR'], 'each metric once in the legend');
  const colourOf = (name: string) => new Set(fig.data.filter((t) => t.name === name).map((t) => (t.line as { color: string }).color));
  assert.is(colourOf('Forget rate').size, 1, 'same metric, same colour in every panel');
  assert.not.equal([...colourOf('Forget rate')], [...colourOf('SARR')], 'forget rate and SARR differ');
  for (const k of ['yaxis', 'yaxis2', 'yaxis3']) assert.equal((fig.layout[k] as { range: number[] }).range, [0, 1.05]);
});

test('forgettingCurves: no eval columns → one panel', () => {
  const fig = plots.forgettingCurves([{ step: 1, loss: 1 }, { step: 2, loss: 0.5 }]);
  assert.is(fig.data.length, 1);
  assert.is(fig.layout.yaxis2, undefined);
});

test('forgettingCurves: a frame without step is an error naming the columns', () => {
  assert.throws(
    () => plots.forgettingCurves([{ loss: 1 }]),
    (e: Error) => e.name === 'ConfigError' && e.message.startsWith("forgettingCurves(history): missing column 'step'") && e.message.includes('the frame has [loss]'),
  );
});

test('overForgetting: grouped bars, methods on x, without/with PD, SARR (val) left and forget rate right', () => {
  const fig = plots.overForgetting(new dfd.DataFrame(summaryRows()));
  const bars = traces(fig, 'bar') as Array<{ name: string; x: string[]; y: number[]; xaxis: string; marker: { color: string } }>;
  assert.is(bars.length, 4);
  assert.equal(bars[0].x, METHODS);
  assert.equal(bars.map((b) => b.name), ['without PD', 'with PD', 'without PD', 'with PD']);
  assert.equal(bars.map((b) => b.xaxis), ['x', 'x', 'x2', 'x2']);
  // po is the 4th method (i = 3): SARR without PD 0.6 + 0.24 = 0.84 on train, ×0.95 on val
  assert.ok(Math.abs(bars[0].y[3] - 0.84 * 0.95) < 1e-9);
  assert.ok(Math.abs(bars[1].y[3] - 0.16 * 0.95) < 1e-9);
  assert.is.not(bars[0].marker.color, bars[1].marker.color);
  assert.is(fig.layout.barmode, 'group');
  const train = plots.overForgetting(summaryRows(), { sarrSplit: 'train' }).data[0] as { y: number[] };
  assert.ok(Math.abs(train.y[3] - 0.84) < 1e-9);
});

test('overForgetting: a method with no PD variant leaves the PD bar empty; no sarr rows is an error', () => {
  const rows = [
    { method: 'vanilla', metric: 'sarr', value: 0.1 },
    { method: 'po', metric: 'sarr', value: 0.9 },
    { method: 'po+pd', metric: 'sarr', value: 0.2 },
  ];
  const fig = plots.overForgetting(rows);
  assert.equal((fig.data[0] as { x: string[] }).x, ['vanilla', 'po']);
  assert.equal((fig.data[1] as { y: unknown[] }).y, [null, 0.2]);
  assert.throws(() => plots.overForgetting([{ method: 'po', metric: 'asr', value: 1 }]), /overForgetting\(summary\): no 'sarr' rows \(1 problem\):\n  - metric: found \[asr\]/);
});

test('tradeoff: one labelled point per method and variant; circle vs diamond', () => {
  const fig = plots.tradeoff(summaryRows());
  assert.is(fig.data.length, METHODS.length);
  const po = fig.data.find((t) => t.name === 'po') as { x: number[]; y: number[]; text: string[]; marker: { symbol: string[] } };
  assert.equal(po.text, ['po', 'po+pd']);
  assert.equal(po.marker.symbol, ['circle', 'diamond']);
  assert.ok(Math.abs(po.x[0] - (0.9 - 0.06) * 0.95) < 1e-9); // forgetRate on val
  assert.ok(Math.abs(po.y[1] - 0.62 * 0.95) < 1e-9); // specificity is the default utility
  assert.match(JSON.stringify(fig.layout.yaxis), /Specificity \(utility\)/);
  const r = plots.tradeoff(summaryRows(), { y: 'rougeL' });
  assert.match(JSON.stringify(r.layout.yaxis), /ROUGE-L/);
  assert.throws(() => plots.tradeoff(summaryRows(), { y: 'bleu' }), /tradeoff\(summary\): no 'bleu' rows/);
});

test('categoryHeatmap: six categories in paper order × metrics, values in cells', () => {
  // category order of the rows must not matter (stable sort keeps the metric order)
  const rows = byCategoryRows().sort((a, b) => String(b.category).localeCompare(String(a.category)));
  const fig = plots.categoryHeatmap(rows);
  const h = fig.data[0] as { x: string[]; y: string[]; z: number[][]; zmin: number; zmax: number };
  assert.equal(h.y, CATS);
  assert.equal(h.x, ['ASR', 'RR', 'SARR', 'Forget<br>rate']);
  assert.ok(Math.abs(h.z[0][0] - 1 / 7) < 1e-9);
  assert.ok(Math.abs(h.z[5][2] - (6 / 7 + 0.05)) < 1e-9);
  assert.is(h.zmin, 0);
  assert.is(h.zmax, 1);
  const two = plots.categoryHeatmap([
    ...byCategoryRows().map((r) => ({ ...r, method: 'po' })),
    ...byCategoryRows().map((r) => ({ ...r, method: 'po+pd' })),
  ]);
  assert.is((two.data[0] as { x: string[] }).x.length, 8);
  const one = plots.categoryHeatmap(byCategoryRows().map((r) => ({ ...r, method: 'po' })), { method: 'po', metrics: ['sarr'] });
  assert.equal((one.data[0] as { x: string[] }).x, ['SARR']);
  assert.throws(() => plots.categoryHeatmap(byCategoryRows().map((r) => ({ ...r, method: 'po' })), { method: 'ga' }), /no rows for method 'ga' \(1 problem\):\n  - method: must be one of \[po\]/);
});

test('sampleGallery: images as data URIs in layout.images, text escaped and wrapped', async () => {
  const sharp = (await import('sharp')).default;
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).png().toBuffer();
  const uri = `data:image/png;base64,${png.toString('base64')}`;
  const fig = plots.sampleGallery([
    { image: uri, question: 'What is <this>?', before: 'A long answer '.repeat(10), after: 'I cannot help with that.', caption: 'Weapon · 1' },
    { question: 'Text only?', before: 'yes', after: 'no' },
  ]);
  const images = fig.layout.images as Array<{ source: string }>;
  assert.is(images.length, 1);
  assert.is(images[0].source, uri);
  const texts = (fig.layout.annotations as Array<{ text: string }>).map((a) => a.text);
  assert.ok(texts.includes('What is &lt;this&gt;?'));
  assert.ok(texts.some((t) => t.startsWith('A long answer') && t.includes('<br>')));
  assert.ok(texts.includes('<b>After unlearning</b>'));
  assert.ok(texts.includes('<i>(text only)</i>'));
  assert.is(fig.data.length, 0);
  assert.ok((fig.layout.height as number) > 300);
  // an image file path is read and embedded; a missing one is reported in the figure
  const os = await import('os');
  const path = await import('path');
  const fs = await import('fs');
  const file = path.join(os.tmpdir(), `eraserlab-gallery-${process.pid}.png`);
  fs.writeFileSync(file, png);
  const fromPath = plots.sampleGallery([{ image: file, question: 'q' }, { image: '/no/such.png', question: 'q2' }]);
  fs.rmSync(file);
  assert.is((fromPath.layout.images as Array<{ source: string }>)[0].source, uri);
  assert.ok((fromPath.layout.annotations as Array<{ text: string }>).some((a) => a.text === '<i>(image not found)</i>'));
  const limited = plots.sampleGallery(Array.from({ length: 20 }, (_, i) => ({ question: `q${i}`, response: 'r' })), { limit: 3 });
  const lt = (limited.layout.annotations as Array<{ text: string }>).map((a) => a.text);
  assert.ok(lt.includes('q2') && !lt.includes('q3'));
  assert.ok(lt.includes('<b>Response</b>'));
});

test('imageDataUri makes a small PNG thumbnail', async () => {
  const sharp = (await import('sharp')).default;
  const os = await import('os');
  const path = await import('path');
  const file = path.join(os.tmpdir(), `eraserlab-thumb-${process.pid}.png`);
  await sharp({ create: { width: 400, height: 200, channels: 3, background: '#00ff00' } }).png().toFile(file);
  const uri = await plots.imageDataUri(file, 100);
  const meta = await sharp(Buffer.from(uri.split(',')[1], 'base64')).metadata();
  assert.is(meta.width, 100);
  assert.is(meta.height, 50);
  (await import('fs')).rmSync(file);
});

test.run();
