// The kernel layer outside a notebook: MIME bundles for show(), progress bundles, the live
// training plot fed by a stand-in unlearner, the short error format, kernelspec install and
// the clean-notebook check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'events';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as util from 'util';
import sharp from 'sharp';
import { runtime, plots } from '../../sdk';
import { render, progressBundle, liveTrainingPlot, installErrorFormatting, formatError, inNotebook } from '../../kernel';
import { plotlyLibraryHtml, tableHtml } from '../../kernel/render';

const root = path.resolve(__dirname, '..', '..');

test.before(async () => {
  await runtime.init({ seed: 233 });
});

test('outside a kernel: not in a notebook', () => {
  assert.is(inNotebook(), false);
});

test('a figure renders as HTML that draws with window.Plotly, plus the plotly MIME bundle', async () => {
  const fig = plots.overForgetting([
    { method: 'po', metric: 'sarr', value: 0.9 },
    { method: 'po+pd', metric: 'sarr', value: 0.2 },
  ]);
  const b = await render(fig);
  assert.match(b['text/html'], /<div id="eraserlab-fig-[^"]+" class="eraserlab-figure"/);
  assert.match(b['text/html'], /window\.Plotly\.newPlot\(el,f\.data,f\.layout,f\.config\)/);
  assert.not.match(b['text/html'], /cdn|https?:\/\//i); // offline: no CDN
  assert.equal(b['application/vnd.plotly.v1+json'].data, JSON.parse(JSON.stringify(fig.data))); // a JSON value, not a string
  assert.is(b['text/plain'], 'Figure: 4 traces (bar)');
  const lib = plotlyLibraryHtml();
  assert.ok(lib.length > 1_000_000, 'plotly.js inlined');
  assert.not.match(lib.slice(0, 200), /src=/);
});

test('a danfo DataFrame renders as an HTML table, paged when long', async () => {
  const dfd = await import('danfojs-node');
  const short = await render(new dfd.DataFrame([{ method: 'po', sarr: 0.91234 }, { method: 'po+pd', sarr: NaN }]));
  assert.match(short['text/html'], /<th>method<\/th><th>sarr<\/th>/);
  assert.match(short['text/html'], /<td>0\.9123<\/td>/);
  assert.match(short['text/html'], /<td class="t">po\+pd<\/td><td><\/td>/, 'text left-aligned, NaN blank');
  assert.match(short['text/html'], /td\.t\{text-align:left\}/);
  const pivot = await render(new dfd.DataFrame([{ method: 'po', 'SARR (val)': '62.5' }]));
  assert.match(pivot['text/html'], /<td class="t">po<\/td><td>62\.5<\/td>/, 'numeric strings stay right-aligned');
  assert.match(short['text/html'], /2 rows × 2 columns/);
  assert.not.match(short['text/html'], /Prev/);
  assert.match(short['text/plain'], /method\s+sarr\n\s+po\s+0\.9123/);
  const rows = Array.from({ length: 45 }, (_, i) => ({ i, text: `<row ${i}>` }));
  const long = await render(new dfd.DataFrame(rows), { pageSize: 20 });
  const html = long['text/html'];
  assert.match(html, /page 1 of 3/);
  assert.is((html.match(/data-page="2"/g) || []).length, 5);
  assert.is((html.match(/<tr data-page="1" style="display:none">/g) || []).length, 20);
  assert.match(html, /&lt;row 44&gt;/);
  const capped = tableHtml(['x'], Array.from({ length: 30 }, (_, i) => [i]), undefined, { maxRows: 10 });
  assert.match(capped, /30 rows × 1 columns \(20 more rows not shown\)/);
});

test('an image tensor [3,H,W] (CLIP-normalised) and [H,W,3] (0..1) render as PNG', async () => {
  const { tf } = runtime;
  const mean = [0.48145466, 0.4578275, 0.40821073];
  const std = [0.26862954, 0.26130258, 0.27577711];
  // pure red, CLIP-normalised, channels first
  const chw = tf.tidy(() => tf.stack([0, 1, 2].map((k) => tf.fill([4, 6], ((k === 0 ? 1 : 0) - mean[k]) / std[k]))));
  const b = await render(chw, { size: 12 });
  chw.dispose();
  const png = Buffer.from(b['image/png'], 'base64');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.is(info.width, 12);
  assert.is(info.height, 8);
  assert.ok(data[0] > 250 && data[1] < 5 && data[2] < 5, `red pixel, got ${data[0]},${data[1]},${data[2]}`);
  assert.is(b['text/plain'], 'Image tensor [3, 4, 6] float32');
  const hwc = tf.fill([5, 5, 3], 0.5);
  const b2 = await render(hwc, { size: 5 });
  hwc.dispose();
  const raw2 = await sharp(Buffer.from(b2['image/png'], 'base64')).raw().toBuffer();
  assert.ok(Math.abs(raw2[0] - 128) <= 1);
  const bad = tf.zeros([2, 2, 2, 2]);
  let err: Error | undefined;
  await render(bad).catch((e) => (err = e));
  bad.dispose();
  assert.is(err?.message, 'show(image): expected a tensor of shape [3,H,W], [H,W,3] or [H,W], got [2,2,2,2]');
});

test('a dataset Example renders image, question and answer (escaped)', async () => {
  const file = path.join(os.tmpdir(), `eraserlab-kernel-${process.pid}.png`);
  await sharp({ create: { width: 20, height: 10, channels: 3, background: '#00f' } }).png().toFile(file);
  const ex = { id: 'train-0-0', kind: 'forget', split: 'train', record: 0, category: 'Weapon', image: file, question: 'What is <this>?', answer: 'A knife & fork' };
  const b = await render(ex);
  fs.rmSync(file);
  assert.match(b['text/html'], /<img src="data:image\/png;base64,/);
  assert.match(b['text/html'], /<b>Q:<\/b> What is &lt;this&gt;\?/);
  assert.match(b['text/html'], /<b>A:<\/b> A knife &amp; fork/);
  assert.match(b['text/html'], /forget · Weapon · train\[0\] · train-0-0/);
  const many = await render([ex, { ...ex, id: 'b', image: undefined }, { ...ex, id: 'c', image: '/missing.png' }]);
  assert.match(many['text/html'], /\(text only\)/);
  assert.match(many['text/html'], /image not found: \/missing\.png/);
});

test('progress bundle: a <progress> element and a text line with eta / total time', () => {
  const b = progressBundle('evaluate', 5, 20, 2000, 'po');
  assert.match(b['text/html'], /<progress value="5" max="20"/);
  assert.is(b['text/plain'], 'evaluate 5/20 25% eta 6s · po');
  assert.is(progressBundle('x', 20, 20, 65000, undefined, true)['text/plain'], 'x 20/20 100% in 1m05s');
});

test('liveTrainingPlot collects steps and evals from an unlearner and stops on end', async () => {
  const ee = new EventEmitter();
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  let live;
  try {
    live = liveTrainingPlot(ee, { intervalMs: 0, title: 'PO' });
    for (let s = 1; s <= 4; s++) {
      ee.emit('step', { step: s, loss: 1 / s, terms: { forget: 2 / s, retain: 0.1 }, lr: 1e-4, gradNorm: 1, epoch: 0 });
      if (s % 2 === 0) ee.emit('eval', { step: s, forgetRate: s / 4, refusalRate: s / 5, sarr: s / 8, retainRouge: 0.8, utilityAcc: 0.5 });
    }
    ee.emit('end', {});
    await new Promise((r) => setImmediate(r)); // draws are async (images are encoded off-thread)
  } finally {
    process.stdout.write = write;
  }
  assert.is(ee.listenerCount('step') + ee.listenerCount('eval') + ee.listenerCount('end'), 0);
  const rows = live.rows();
  assert.is(rows.length, 4);
  assert.equal(rows[3], { step: 4, loss: 0.25, term_forget: 0.5, term_retain: 0.1, epoch: 0, forgetRate: 1, refusalRate: 0.8, sarr: 0.5, retainRouge: 0.8, utilityAcc: 0.5 });
  const fig = live.figure();
  assert.equal(fig.data.map((t) => t.name), ['Loss', 'forget', 'retain', 'Forget rate', 'Refusal rate', 'SARR']);
  assert.equal((fig.data[5] as { x: number[] }).x, [2, 4]);
  // outside a notebook the first draw prints its text form once; updates are silent
  assert.equal(out, ["Figure 'PO': 3 traces (scatter)\n"]); // drawn at step 1: loss + 2 terms
});

test("the SDK's errors print as `Name: message`; other errors keep their stack", () => {
  installErrorFormatting();
  const e = new runtime.ConfigError('Bad option', [{ path: 'lr', message: 'must be > 0' }]);
  assert.is(util.inspect(e), 'ConfigError: Bad option (1 problem):\n  - lr: must be > 0');
  assert.is(formatError(e), util.inspect(e));
  assert.match(util.inspect(new TypeError('x')), /TypeError: x\n\s+at /);
});

test('kernel/install.js writes tslab + jslab kernelspecs that jupyter lists', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-jupyter-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'kernel', 'install.js'), '--data-dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: dir },
    });
    assert.is(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /jupyter kernelspec list shows tslab and jslab/);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernels', 'tslab', 'kernel.json'), 'utf8'));
    assert.equal(spec.argv, [process.execPath, path.join(root, 'kernel', 'jupyter-kernel.js'), '--config-path', '{connection_file}']);
    assert.is(spec.language, 'typescript');
    const js = JSON.parse(fs.readFileSync(path.join(dir, 'kernels', 'jslab', 'kernel.json'), 'utf8'));
    assert.is(js.argv[js.argv.length - 1], '--js');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('check-notebooks-clean fails on outputs / execution counts and --fix clears them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-nbclean-'));
  const file = path.join(dir, 'a.ipynb');
  const cell = (outputs: unknown[], n: number | null) => ({ cell_type: 'code', metadata: {}, source: ['1'], outputs, execution_count: n });
  fs.writeFileSync(file, JSON.stringify({ cells: [cell([], null), cell([{ output_type: 'stream', name: 'stdout', text: ['1'] }], 3)], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  const script = path.join(root, 'scripts', 'check-notebooks-clean.js');
  try {
    const bad = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    assert.is(bad.status, 1);
    assert.match(bad.stdout, /a\.ipynb: cell 1 has 1 output\(s\); cell 1 has execution_count 3/);
    assert.is(spawnSync(process.execPath, [script, '--fix', file], { encoding: 'utf8' }).status, 0);
    const ok = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    assert.is(ok.status, 0, ok.stdout);
    // the committed notebooks are clean
    const repo = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    assert.is(repo.status, 0, repo.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
