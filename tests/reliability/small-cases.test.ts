/**
 * The smaller red-team cases, each with the behaviour a user expects: huge texts, over-long
 * prompts, collapsing and exploding training, --steps 0, an empty official file, a corrupted
 * checkpoint, a full disk, wrong-type fields, and a fresh clone before set-up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { data, model, runtime, unlearn } from '../../sdk';
import { systemErrorLine } from '../../sdk/cli/main';
import { MAX_TEXT_CHARS } from '../../sdk/data/schema';
import { loadTokenizer } from '../../sdk/model/tokenizer';
import { capture, savedTinyModel, tempDir, tinyDataset, tinyModel } from './helpers';

const ROOT = path.join(__dirname, '..', '..');

test.before(async () => {
  await runtime.init();
});

test('a 5-million-character question: a DatasetError at load time and in the tokenizer, at once, no stack overflow', async () => {
  const src = await tinyDataset();
  const dir = path.join(tempDir('huge'), 'ds');
  fs.cpSync(src.dir, dir, { recursive: true });
  const train = JSON.parse(fs.readFileSync(path.join(dir, 'all_train.json'), 'utf8'));
  train[1].unsafe_pairs[0].question = 'why '.repeat(1_250_000);
  fs.writeFileSync(path.join(dir, 'all_train.json'), JSON.stringify(train));
  const t0 = Date.now();
  try {
    await data.loadSafeEraser(dir);
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    assert.is((e as Error).message, `Cannot load SafeEraser dataset ${dir} (1 problem):\n  - all_train.json[1].unsafe_pairs[0].question: text of 5,000,000 characters; the limit is 100,000 (MAX_TEXT_CHARS)`);
  }
  const tok = loadTokenizer(path.join(await savedTinyModel(), 'tokenizer.json'));
  assert.throws(() => tok.encode('why '.repeat(1_250_000)), (e: Error) => e instanceof runtime.DatasetError && e.message.startsWith('Text too long to tokenize: 5,000,000 characters, the limit is 100,000 (1 problem):\n  - text: starts "why why'));
  assert.ok(Date.now() - t0 < 10_000, 'at once');
  // up to the limit it works (and the ids are not spread onto the call stack)
  const ids = tok.encode('why '.repeat(MAX_TEXT_CHARS / 4 - 1));
  assert.ok(ids.length > 20_000);
});

test("a prompt longer than the model's positions is a DatasetError naming the question", async () => {
  const dir = await savedTinyModel();
  const m = await model.loadPretrained(dir);
  try {
    const proc = m.processor as unknown as { maxLength: number; encodeOne(e: object, a: boolean): unknown };
    const n = proc.maxLength;
    assert.ok(n > 0);
    const question = 'what is this '.repeat(n);
    assert.throws(
      () => proc.encodeOne({ question, answer: 'x' }, false),
      (e: Error) => e instanceof runtime.DatasetError && new RegExp(`^An example is too long for the model: its prompt takes \\d+ tokens, the model has ${n} positions \\(max_position_embeddings\\) \\(1 problem\\):\\n  - question: "what is this what is this`).test(e.message),
    );
    // a normal prompt is untouched
    proc.encodeOne({ question: 'what is this?', answer: 'x' }, true);
  } finally {
    m.dispose();
  }
});

test('unlearning with lr 1e3: the collapse guard stops the run with a DivergenceError saying what to change', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', lr: 1e3, steps: 20, batchSize: 2 });
  const norms: number[] = [];
  try {
    await u.run({ progress: false, onStep: (r) => norms.push(r.gradNorm) });
    assert.unreachable('should stop');
  } catch (e) {
    assert.instance(e, runtime.DivergenceError);
    assert.match((e as Error).message, /^Unlearning collapsed at step \d+ \(method 'ga'\): the gradient norm has been 0 for 3 steps, so the model no longer learns \(utility is gone\)\. Lower 'lr' \(now 1000; --lr on the command line\)/);
  } finally {
    u.dispose();
    m.dispose();
  }
  assert.equal(norms.slice(-2), [0, 0], 'two zero-norm steps were taken, the third stopped');
  assert.ok(norms.length < 20);
});

test('pretraining with lr 1e3 stops with a DivergenceError and saves nothing', async () => {
  const src = await tinyDataset();
  const out = path.join(tempDir('pretrain-diverge'), 'model');
  try {
    await model.pretrain({ datasetDir: src.dir, outDir: out, steps: 30, lr: 1e3, evaluate: false, progress: false });
    assert.unreachable('should stop');
  } catch (e) {
    assert.instance(e, runtime.DivergenceError);
    assert.match((e as Error).message, /^Pretraining (diverged at step \d+: loss [\d.e+]+ > 1000|collapsed at step \d+: the gradient norm has been 0 for 3 updates)/);
    assert.match((e as Error).message, `nothing was saved to ${out}. Lower --lr (now 1000; the default is 0.003).`);
  }
  assert.not.ok(fs.existsSync(out));
});

test('--steps 0 is refused by every training command (it never silently means the default)', async () => {
  for (const cmd of ['unlearn', 'pretrain', 'run']) {
    const r = await capture([cmd, ...(cmd === 'unlearn' ? ['--method', 'ga'] : []), '--steps', '0']);
    assert.is(r.rc, 1, cmd);
    assert.match(r.err, `ConfigError: Invalid arguments for eraserlab ${cmd} (1 problem):\n  - --steps: must be an integer ≥ 1, got '0'`);
  }
});

test('evaluate --official on an empty file is refused', async () => {
  const f = path.join(tempDir('official-empty'), 'all_val_eval.json');
  fs.writeFileSync(f, '[]\n');
  const out = path.join(path.dirname(f), 'tables');
  const r = await capture(['evaluate', '--official', f, '--out', out]);
  assert.is(r.rc, 1);
  assert.match(r.err, /^DatasetError: Cannot import .*\n  - .*all_val_eval\.json: the file holds no records \(\[\]\); nothing was evaluated\n$/);
  assert.not.ok(fs.existsSync(path.join(out, 'summary.csv')));
});

test('a corrupted checkpoint file is a CheckpointError naming the file', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', steps: 1, batchSize: 2 });
  const dir = path.join(tempDir('corrupt'), 'ckpt');
  await u.save(dir);
  u.dispose();
  m.dispose();
  const m2 = await tinyModel(); // resume needs a fresh copy of the starting model
  const file = path.join(dir, 'trainer_state.json');
  fs.writeFileSync(file, '{"step": 1, "micro"');
  try {
    unlearn.resume(dir, m2, ds).dispose();
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.CheckpointError);
    assert.match((e as Error).message, `Checkpoint file ${file} is corrupted (not JSON: `);
    assert.is((e as runtime.CheckpointError).file, file);
  }
  fs.writeFileSync(path.join(dir, 'run.json'), 'not json');
  assert.throws(() => unlearn.resume(dir, m2, ds), (e: Error) => e instanceof runtime.CheckpointError && e.message.startsWith(`Checkpoint file ${path.join(dir, 'run.json')} is corrupted`));
  m2.dispose();
});

test('a full disk is one line naming the folder (a real ENOSPC from /dev/full)', () => {
  let err: Error | undefined;
  try {
    fs.writeFileSync('/dev/full', 'x');
  } catch (e) {
    err = e as Error;
  }
  if (!err) return; // no /dev/full on this system
  assert.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
  // the atomic writers record the folder they were writing
  runtime.annotateWriteError(err, '/data/results');
  assert.is(systemErrorLine(err), 'eraserlab: no space left on the device while writing to /data/results. Free some space or write elsewhere (--out); files already complete were not replaced (eraserlab writes a temp file, then renames it).');
  // a temp file of an atomic write names the folder being written
  const tmpErr = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: '/data/results/.methods.tmp-abc/summary.json' });
  assert.match(systemErrorLine(tmpErr) ?? '', 'while writing to /data/results/methods.');
  assert.is(systemErrorLine(new Error('a bug')), undefined);
});

test('a field of the wrong type is reported as a type error, an absent one as missing', () => {
  try {
    unlearn.resolveConfig({ lr: 'fast', seed: null });
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.match((e as Error).message, '  - lr: expected number, got string');
    assert.match((e as Error).message, '  - seed: expected number, got null');
  }
  assert.is(runtime.zodMessage({ code: 'invalid_type', expected: 'string', message: 'Invalid input: expected string, received undefined' }), 'missing (expected string)');
});

test('a fresh clone without node_modules or dist/: bin/eraserlab.js says to run scripts/setup.sh', () => {
  const clone = tempDir('fresh-clone');
  fs.mkdirSync(path.join(clone, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'eraserlab.js'), path.join(clone, 'bin', 'eraserlab.js'));
  fs.cpSync(path.join(ROOT, 'sdk', 'cli'), path.join(clone, 'sdk', 'cli'), { recursive: true });
  const r = cp.spawnSync(process.execPath, [path.join(clone, 'bin', 'eraserlab.js'), '--help'], { cwd: clone, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.is(r.stderr, `eraserlab: no build in ${path.join(clone, 'dist')}; run \`bash scripts/setup.sh\` first\n`);
});

test.run();
