import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime, unlearn } from '../../sdk';
import { snapshot, tinyDataset, tinyModel } from './helpers';

const BASE = { batchSize: 2, gradientAccumulationSteps: 2, steps: 6, lr: 2e-3, lora: { r: 4, alpha: 32 } };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-unlearner-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test.before(async () => {
  await runtime.init();
});

test('step() returns step, loss, terms, lr, gradNorm; history has the contract columns', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'gd+pd', ...BASE, steps: 20 });
  const seen: number[] = [];
  const off = u.on('step', (r) => seen.push(r.step));
  const r1 = await u.step();
  const r2 = await u.step();
  off();
  await u.step();
  assert.equal(seen, [1, 2]);
  assert.is(r1.step, 1);
  assert.is(r1.lr, 0, 'first update of a warm-up runs at lr 0 (transformers)');
  assert.ok(r2.lr > 0);
  assert.equal(Object.keys(r1.terms).sort(), ['forget_nll', 'pd', 'retain_nll']);
  const h = u.history;
  assert.equal(h.columns, ['step', 'epoch', 'loss', 'lr', 'gradNorm', 'term_forget_nll', 'term_retain_nll', 'term_pd', 'forgetRate', 'refusalRate', 'sarr', 'retainRouge', 'utilityAcc']);
  assert.is(h.shape[0], 3);
  assert.ok(Number.isNaN(u.historyRows[0].sarr));
  u.dispose();
  m.dispose();
});

test('same seed, same backend: identical losses step by step', async () => {
  const ds = await tinyDataset();
  const losses: number[][] = [];
  for (let k = 0; k < 2; k++) {
    const m = await tinyModel(5);
    const u = unlearn.create(m, ds, { method: 'po+pd', ...BASE, steps: 3 });
    const out = await u.run({ progress: false });
    losses.push(out.map((r) => r.loss));
    u.dispose();
    m.dispose();
  }
  assert.equal(losses[0], losses[1]);
  assert.is(losses[0].length, 3);
});

test('resume continues bit-for-bit: 6 straight = 3 + save + resume + 3', async () => {
  const ds = await tinyDataset();
  const straightModel = await tinyModel(3);
  const a = unlearn.create(straightModel, ds, { method: 'kl+pd', ...BASE });
  const straight = (await a.run({ progress: false })).map((r) => [r.loss, r.gradNorm, r.lr]);
  a.dispose();
  straightModel.dispose();

  const m1 = await tinyModel(3);
  const b = unlearn.create(m1, ds, { method: 'kl+pd', ...BASE });
  const first = (await b.run({ steps: 3, progress: false })).map((r) => [r.loss, r.gradNorm, r.lr]);
  const dir = path.join(tmp, 'resume-ckpt');
  await b.save(dir);
  b.dispose();
  m1.dispose();
  for (const f of ['run.json', 'trainer_state.json', 'trainable.safetensors', 'optimizer.safetensors', 'history.csv', 'history.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);

  const m2 = await tinyModel(3); // a fresh copy of the starting model
  const c = unlearn.resume(dir, m2, ds);
  assert.is(c.stepCount, 3);
  const rest = (await c.run({ progress: false })).map((r) => [r.loss, r.gradNorm, r.lr]);
  assert.equal([...first, ...rest], straight);
  assert.is(c.history.shape[0], 6);
  c.dispose();
  m2.dispose();
});

test('no tensors leak across repeated steps', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  for (const method of ['npo+pd', 'kl']) {
    const u = unlearn.create(m, ds, { method, ...BASE, steps: 20 });
    await u.step();
    await runtime.expectNoLeakedTensors(async () => {
      for (let i = 0; i < 4; i++) await u.step();
    }, { label: method });
    u.dispose();
    u.discardAdapters();
  }
  m.dispose();
});

test('probe every evalEvery steps: eval events, history columns filled, rates in [0, 1]', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE, steps: 2, probe: { forget: 3, sd: 3, retain: 3, utility: 3, maxNewTokens: 4 } });
  const evals: unlearn.EvalRecord[] = [];
  const ends: unlearn.EndRecord[] = [];
  u.on('end', (e) => ends.push(e));
  await u.run({ evalEvery: 1, onEval: (e) => evals.push(e), progress: false });
  assert.equal(evals.map((e) => e.step), [1, 2]);
  for (const e of evals) for (const k of ['forgetRate', 'refusalRate', 'sarr', 'retainRouge', 'utilityAcc'] as const) assert.ok(e[k] >= 0 && e[k] <= 1, `${k}=${e[k]}`);
  assert.equal(ends, [{ step: 2, reason: 'done' }]);
  assert.ok(!Number.isNaN(u.historyRows[1].sarr));
  u.dispose();
  m.dispose();
});

test('divergence stops with the step and term named, keeping the last good weights', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE, warmupRatio: 0, lr: 0.05, maxLoss: 6, steps: 50, outDir: path.join(tmp, 'diverge') });
  let before = snapshot(m);
  u.on('step', () => (before = snapshot(m)));
  try {
    await u.run({ progress: false });
    assert.unreachable('should diverge');
  } catch (e) {
    assert.instance(e, runtime.DivergenceError);
    const msg = (e as Error).message;
    assert.match(msg, /^Unlearning diverged at step \d+ \(method 'ga'\): term 'forget_nll' exploded \(\|\d/);
    assert.match(msg, /The weights are those of step \d+ \(the last good step\)\. Lower 'lr' \(now 0\.05\), set 'stopForgetNll'/);
    const after = snapshot(m);
    for (const [k, v] of before) assert.equal(after.get(k), v, k);
    assert.not.ok(fs.existsSync(path.join(tmp, 'diverge', 'final')), 'a diverged run writes no final checkpoint');
  }
  u.dispose();
  m.dispose();
});

test('the stopping rule ends gradient ascent when the forget NLL passes the bound', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE, warmupRatio: 0, lr: 0.05, steps: 30, stopForgetNll: 6.2 });
  const ends: string[] = [];
  u.on('end', (e) => ends.push(e.reason));
  const out = await u.run({ progress: false });
  assert.ok(out.length < 30, `stopped after ${out.length}`);
  assert.ok(out[out.length - 1].terms.forget_nll >= 6.2);
  assert.equal(ends, ['stopped']);
  u.dispose();
  m.dispose();
});

test('checkpoints every N steps and at the end, with the run spec', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const out = path.join(tmp, 'ckpts');
  const u = unlearn.create(m, ds, { method: 'ga+pd', ...BASE, steps: 4, checkpointEvery: 2, outDir: out, meta: { note: 'test' } });
  await u.run({ progress: false });
  assert.equal(fs.readdirSync(out).sort(), ['checkpoint-2', 'checkpoint-4', 'final']);
  const spec = JSON.parse(fs.readFileSync(path.join(out, 'final', 'run.json'), 'utf8')) as unlearn.RunSpec;
  assert.equal(spec.method, { name: 'ga+pd', config: { pdWeight: 0.5 } });
  assert.is(spec.options.seed, 233);
  assert.is(spec.schedule.totalSteps, 4);
  assert.ok(spec.versions.tfjs && spec.versions.eraserlab);
  assert.equal(spec.meta, { note: 'test' });
  const csv = fs.readFileSync(path.join(out, 'final', 'history.csv'), 'utf8').trim().split('\n');
  assert.is(csv.length, 5);
  assert.is(csv[0], 'step,epoch,loss,lr,gradNorm,term_forget_nll,term_pd,forgetRate,refusalRate,sarr,retainRouge,utilityAcc');
  u.dispose();
  u.discardAdapters();

  // another experiment into the same outDir is refused before any step; nothing is replaced
  const saved = fs.readFileSync(path.join(out, 'checkpoint-2', 'trainable.safetensors'));
  const other = unlearn.create(m, ds, { method: 'ga+pd', ...BASE, lr: 0.5, steps: 4, checkpointEvery: 2, outDir: out });
  const steps: number[] = [];
  other.on('step', (r) => steps.push(r.step));
  try {
    await other.run({ progress: false });
    assert.unreachable('should refuse the outDir');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      `outDir ${out} already holds checkpoints of another run (checkpoint-2) (1 problem):\n  - outDir: its options differ from this run's; pick another outDir, or remove ${path.join(out, 'checkpoint-2')} and its siblings`,
    );
  }
  assert.equal(steps, []);
  assert.ok(fs.readFileSync(path.join(out, 'checkpoint-2', 'trainable.safetensors')).equals(saved));
  other.dispose();
  other.discardAdapters();
  // the same experiment again (other probing, same training) may write there
  const again = unlearn.create(m, ds, { method: 'ga+pd', ...BASE, steps: 4, checkpointEvery: 2, outDir: out, meta: { note: 'rerun' }, evalEvery: 0 });
  await again.run({ progress: false });
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'final', 'run.json'), 'utf8')).meta, { note: 'rerun' });
  again.dispose();
  m.dispose();
});

test('abort signal stops cleanly after the current step', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE, steps: 10 });
  const ac = new AbortController();
  const ends: string[] = [];
  u.on('end', (e) => ends.push(e.reason));
  const out = await u.run({ progress: false, signal: ac.signal, onStep: (r) => r.step === 2 && ac.abort() });
  assert.is(out.length, 2);
  assert.equal(ends, ['aborted']);
  u.dispose();
  m.dispose();
});

test.run();
