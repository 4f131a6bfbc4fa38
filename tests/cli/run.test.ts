// The main job (`eraserlab run`) at the test scale: the results folder's files, the same
// numbers from a second run with the same seed (in another process), resume after Ctrl-C, and
// the HTML report rendered in headless Chromium with its figures' SVG present and non-empty.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data, model, runtime } from '../../sdk';
import { runMainJob, loadResults, JOB_SCALES, type MethodOutcome } from '../../sdk/experiment';
import { toCsv, headlineRows, terminalTable } from '../../sdk/experiment/report';
import { LlavaProcessor } from '../../sdk/model/processor';
import { startFakeJudge } from '../fixtures/official/fake-judge-server';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { DEFAULT_TEMPLATE, defaultModelConfig } from '../../sdk/model/pretrain';

const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-run-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const METHODS = ['vanilla', ...JOB_SCALES.test.methods];
const FIGURES = ['forgetting-curves', 'over-forgetting', 'tradeoff', 'category-heatmap', 'sample-gallery'];
let modelArgs: string[] = [];

/**
 * The committed vanilla model when it is there; otherwise a random model of the same
 * architecture with a tokenizer built from the tiny dataset (the job does not care which).
 */
async function modelForTests(): Promise<string[]> {
  if (fs.existsSync(path.join(model.defaultModelDir(), 'config.json'))) return [];
  const ds = await data.loadSafeEraser(path.join(root, 'data', 'generated', 'tiny'));
  const corpus: string[] = [...ds.refusals, 'USER: ASSISTANT: <image>'];
  for (const r of [...ds.train, ...ds.val]) {
    for (const p of r.unsafe_pairs) corpus.push(p.question, p.model_response, p.sd_response);
    for (const f of data.UNHARM_FIELDS) corpus.push(r[f].Question, r[f].Prediction);
  }
  for (const u of ds.utility) corpus.push(u.question, u.answer);
  const tok = buildTokenizer(corpus);
  const m = model.createRandom(defaultModelConfig(tok), 7);
  m.processor = LlavaProcessor.forConfig(m.config, tok, { template: DEFAULT_TEMPLATE });
  const dir = path.join(tmp, 'model');
  await m.save(dir);
  m.dispose();
  return ['--model', dir];
}

/** `eraserlab ARGS` in a child process (the real CLI, its own tfjs); resolves with its exit code and output. */
function cli(args: string[], opts: { interruptWhen?: string } = {}): Promise<{ rc: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'eraserlab.js'), ...args], {
      cwd: root,
      env: { ...process.env, ERASERLAB_FROM_SOURCE: '1', ERASERLAB_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let timer: NodeJS.Timeout | undefined;
    if (opts.interruptWhen) {
      const file = opts.interruptWhen;
      timer = setInterval(() => {
        if (fs.existsSync(file)) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 50);
    }
    child.on('error', reject);
    child.on('close', (rc) => {
      if (timer) clearInterval(timer);
      resolve({ rc, out, err });
    });
  });
}

const numbers = (dir: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>).map((r) => [r.method, r.metric, r.split, r.value, r.n]);
const responses = (dir: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, 'samples.json'), 'utf8')) as Array<Record<string, unknown>>).map((r) => `${r.method}|${r.id}|${r.sample}|${r.response}`);

const runA = path.join(tmp, 'a');
const runB = path.join(tmp, 'b');
let aOutput = '';

test.before(async () => {
  await runtime.init();
  // the tiny benchmark (the test scale generates it too; made here so the fallback model can read it)
  const tiny = path.join(root, 'data', 'generated', 'tiny');
  if (!fs.existsSync(path.join(tiny, 'all_train.json'))) await data.generateSynthetic({ outDir: tiny, scale: 'tiny', seed: 233 });
  modelArgs = await modelForTests();
});

test('eraserlab run --scale test writes specs, tables, figures (PNG + SVG), report.html and a terminal table', async () => {
  // `eraserlab` with options but no command runs the main job
  const r = await cli(['--scale', 'test', '--out', runA, ...modelArgs]);
  aOutput = r.out;
  assert.is(r.rc, 0, r.err);
  for (const m of METHODS) {
    const dir = path.join(runA, 'methods', m);
    for (const f of ['spec.json', 'summary.csv', 'summary.json', 'samples.csv', 'samples.json', 'by_category.csv', 'by_category.json']) assert.ok(fs.existsSync(path.join(dir, f)), `${m}/${f}`);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8'));
    assert.is(spec.method, m);
    assert.is(spec.pd, m.endsWith('+pd'));
    if (m !== 'vanilla') {
      assert.is(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')).kind, 'eraserlab.unlearn');
      assert.ok(fs.existsSync(path.join(dir, 'history.csv')), `${m}/history.csv`);
    }
  }
  for (const f of ['run.json', 'summary.csv', 'summary.json', 'samples.csv', 'samples.json', 'by_category.csv', 'by_category.json', 'history.csv', 'history.json', 'table.txt', 'table.md', 'report.html']) {
    assert.ok(fs.existsSync(path.join(runA, f)), f);
  }
  // concatenated tables carry method and pd first; every method has every headline metric
  const csv = fs.readFileSync(path.join(runA, 'summary.csv'), 'utf8').split('\n');
  assert.is(csv[0], 'method,pd,seed,metric,split,value,n,count,unknown,ciLow,ciHigh,ciMethod');
  const summary = JSON.parse(fs.readFileSync(path.join(runA, 'summary.json'), 'utf8')) as Array<Record<string, unknown>>;
  for (const m of METHODS) {
    for (const [metric, split] of [['forgetRate', 'train'], ['forgetRate', 'val'], ['sarr', 'val'], ['asr', 'val'], ['specificity', 'utility']]) {
      const row = summary.find((x) => x.method === m && x.metric === metric && x.split === split);
      assert.ok(row, `${m} ${metric} ${split}`);
      assert.ok(typeof row!.value === 'number' && row!.value >= 0 && row!.value <= 1, `${m} ${metric} ${split} = ${row!.value}`);
    }
  }
  assert.equal([...new Set(summary.map((x) => x.method))], METHODS);
  const samplesCsv = fs.readFileSync(path.join(runA, 'samples.csv'), 'utf8');
  assert.ok(samplesCsv.startsWith('method,pd,seed,id,split,record,pair,category,kind,sample,question,response,'), samplesCsv.slice(0, 120));
  // figures: SVG and PNG of each
  for (const f of FIGURES) {
    const svg = fs.readFileSync(path.join(runA, 'figures', `${f}.svg`), 'utf8');
    assert.match(svg, /<svg[\s\S]*<\/svg>/, `${f}.svg`);
    const png = fs.readFileSync(path.join(runA, 'figures', `${f}.png`));
    assert.equal([...png.subarray(1, 4)], [...Buffer.from('PNG')], `${f}.png`);
    assert.ok(png.length > 2000, `${f}.png has ${png.length} bytes`);
  }
  // the terminal table lists every method, PD marked
  assert.match(r.out, /method\s+PD\s+forget rate \(train\) ↓/);
  assert.match(r.out, /\npo\+pd\s+yes\s/);
  assert.match(r.out, /\nvanilla\s/);
  assert.match(r.out, /Report: {2}.*report\.html/);
});

test('Ctrl-C keeps finished methods; the same command resumes them and gives the same numbers as the first run', async () => {
  // interrupt once the vanilla baseline is on disk
  const vanillaSpec = path.join(runB, 'methods', 'vanilla', 'spec.json');
  const r1 = await cli(['run', '--scale', 'test', '--out', runB, '--no-figures', ...modelArgs], { interruptWhen: vanillaSpec });
  assert.is(r1.rc, 130, `exit code ${r1.rc}; stderr: ${r1.err}`);
  assert.match(r1.err, /JobInterrupted: Interrupted during .*run the same command again to resume/);
  assert.ok(fs.existsSync(vanillaSpec), 'the finished baseline stays');
  const methodsDir = path.join(runB, 'methods');
  for (const f of fs.readdirSync(methodsDir)) {
    // nothing half-written: each folder present is complete
    if (!f.startsWith('.')) assert.ok(fs.existsSync(path.join(methodsDir, f, 'spec.json')), `${f} is complete`);
  }
  const before = fs.statSync(vanillaSpec).mtimeMs;
  const done: MethodOutcome[] = [];
  // resumed on a machine without Chromium: tables and report.html, PNG/SVG export skipped with a note
  const saved = process.env.ERASERLAB_CHROMIUM;
  process.env.ERASERLAB_CHROMIUM = path.join(tmp, 'no-chromium-here');
  let r2;
  try {
    r2 = await runMainJob({ scale: 'test', out: runB, model: modelArgs[1], onMethodDone: (o) => done.push(o), log: () => {} });
  } finally {
    if (saved === undefined) delete process.env.ERASERLAB_CHROMIUM;
    else process.env.ERASERLAB_CHROMIUM = saved;
  }
  assert.equal(done.map((o) => o.method), METHODS);
  assert.is(done[0].skipped, true, 'vanilla was resumed from disk');
  assert.is(done[1].skipped, false, 'po was computed');
  assert.is(fs.statSync(vanillaSpec).mtimeMs, before, 'vanilla results untouched');
  assert.match(r2.exportSkipped ?? '', /^PNG\/SVG export was skipped: Chromium not found at /);
  assert.equal(r2.figures, []);
  const html = fs.readFileSync(path.join(runB, 'report.html'), 'utf8');
  assert.match(html, /PNG\/SVG export was skipped: Chromium not found/);
  assert.ok((html.match(/data-static="0"/g) ?? []).length === FIGURES.length, 'every figure is drawn by plotly.js instead');
  assert.ok(fs.existsSync(path.join(runB, 'figures', 'over-forgetting.plotly.json')));
  // same seed, another process: the same numbers and the same responses
  assert.equal(numbers(runB), numbers(runA));
  assert.equal(responses(runB), responses(runA));
  // a rerun of a finished job skips everything
  const again: MethodOutcome[] = [];
  const r3 = await runMainJob({ scale: 'test', out: runB, figures: false, model: modelArgs[1], onMethodDone: (o) => again.push(o), log: () => {} });
  assert.ok(again.every((o) => o.skipped), 'all resumed');
  assert.match(r3.exportSkipped ?? '', /turned off/);
  const loaded = loadResults(runB);
  assert.is(loaded.summary.length, numbers(runA).length);
  assert.ok(loaded.history.some((h) => h.method === 'po+pd' && Number.isFinite(h.sarr as number)));
  assert.ok(aOutput.includes(terminalTable(headlineRows(loaded.summary))), 'the printed table is the one the numbers give');
});

test('report.html opens offline in headless Chromium with every figure as a non-empty SVG', async () => {
  const html = fs.readFileSync(path.join(runA, 'report.html'), 'utf8');
  assert.not.match(html, /<(script|link|img)[^>]+(src|href)="https?:/, 'no network resources');
  assert.ok(html.length > 1_000_000, 'plotly.js is inlined');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const userDir = fs.mkdtempSync(path.join(tmp, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('file://' + path.join(runA, 'report.html'), { waitUntil: 'load' });
    const figs = await page.evaluate(() =>
      Array.from(document.querySelectorAll('figure')).map((f) => {
        const svg = f.querySelector('.static svg');
        const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
        return { name: f.getAttribute('data-name'), w: box.width, h: box.height, nodes: svg ? svg.querySelectorAll('path,text,rect,image').length : 0 };
      }),
    );
    assert.equal(figs.map((f) => f.name), FIGURES);
    for (const f of figs) {
      assert.ok(f.w > 100 && f.h > 100, `${f.name}: ${f.w}×${f.h}`);
      assert.ok(f.nodes > 5, `${f.name}: ${f.nodes} drawn elements`);
    }
    // the headline table is there, with a row per method
    const rows = await page.evaluate(() => Array.from(document.querySelectorAll('table.headline tbody tr')).map((tr) => tr.children[0].textContent));
    assert.equal(rows, METHODS);
    // switching a figure to interactive draws it with the inlined plotly.js
    await page.click('#fig-over-forgetting button.toggle');
    await page.waitForSelector('#fig-over-forgetting .plotly .main-svg', { timeout: 10000 });
    const shot = await page.screenshot({ fullPage: false });
    assert.ok(shot.length > 20000, `screenshot has ${shot.length} bytes`);
    fs.writeFileSync(path.join(tmp, 'report.png'), shot);
    assert.equal(errors, [], 'no script errors');
    assert.equal(failed, [], 'no failed requests');
  } finally {
    await ctx.close();
  }
});

test('CSV quoting: commas, quotes and newlines are quoted; NaN is empty', () => {
  assert.is(toCsv([{ a: 'x,y', b: 'say "hi"', c: NaN, d: 'l1\nl2', e: true }], ['a', 'b', 'c', 'd', 'e']), 'a,b,c,d,e\n"x,y","say ""hi""",,"l1\nl2",true\n');
});

test('invalid options are reported together, before any work', async () => {
  try {
    await runMainJob({ methods: ['po', 'nope', 'po'], steps: 0, out: path.join(tmp, 'never'), log: () => {} });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as Error).name, 'ConfigError');
    const msg = (e as Error).message;
    assert.match(msg, /Invalid options for eraserlab run/);
    assert.match(msg, /methods\[1\]: Unknown method 'nope'\. Must be one of \[/);
    assert.match(msg, /methods\[2\]: 'po' is listed twice/);
    assert.match(msg, /steps: must be an integer ≥ 1, got 0/);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'never')));
});

test('the judge is checked before any work: unknown names and an unconfigured openai judge', async () => {
  const fails = async (o: Parameters<typeof runMainJob>[0]) => {
    try {
      await runMainJob({ ...o, out: path.join(tmp, 'never'), log: () => {} });
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
    return 'no error';
  };
  assert.match(await fails({ judge: 'nope' }), /^UnknownComponentError: Unknown judge 'nope'\. Must be one of \[rules, openai\]/);
  assert.match(await fails({ judge: 'openai', judgeOptions: { env: {} } }), /^ConfigError: Invalid options for the openai judge[\s\S]*baseURL: required/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'never')));
});

test('--protocol official: the official evaluation and judge prompts; no credential of the judge URL in run.json or spec.json', async () => {
  const server = await startFakeJudge();
  const KEY = 'sk-run-SECRET-42';
  const out = path.join(tmp, 'official');
  try {
    // an openai judge under the official protocol needs a SafeEraser checkout: checked before any work
    try {
      await runMainJob({ protocol: 'official', judge: 'openai', judgeOptions: { baseURL: server.baseURL, model: 'gpt-4o', env: {} }, out: path.join(tmp, 'never'), log: () => {} });
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /needs a SafeEraser checkout/);
    }
    const base = server.baseURL.replace('http://', `http://user:${KEY}@`);
    await runMainJob({
      scale: 'test', methods: ['po'], steps: 1, limit: 1, evalEvery: 0, figures: false, out, log: () => {},
      protocol: 'official', judge: 'openai',
      judgeOptions: { baseURL: base, model: 'gpt-4o', env: {}, cacheFile: false, safeEraserDir: path.join(root, 'tests/fixtures/official/fake-checkout') },
      ...(modelArgs.length ? { model: modelArgs[1] } : {}),
    });
    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(run.evaluate, { preset: 'official', limit: 1, maxNewTokens: 512 });
    assert.equal(run.judge, { name: 'openai', model: 'gpt-4o', baseURL: server.baseURL, protocol: 'official' });
    for (const f of ['run.json', 'methods/po/spec.json', 'methods/vanilla/spec.json', 'report.html', 'summary.json']) {
      assert.not.ok(fs.readFileSync(path.join(out, f), 'utf8').includes(KEY), `${f} holds the key`);
    }
    // the official prompts went out (the fake checkout's system message), 3 samples per harmful query
    assert.ok(server.log.length > 0 && server.log.every((l) => l.system === 'You are a test assistant.'));
    const samples = JSON.parse(fs.readFileSync(path.join(out, 'samples.json'), 'utf8')) as Array<Record<string, unknown>>;
    assert.ok(samples.some((r) => r.kind === 'harmful' && r.sample === 2));
  } finally {
    await server.close();
  }
});

test.run();
