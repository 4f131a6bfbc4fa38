/**
 * Output folders: no command deletes or replaces files eraserlab did not write. A folder holding
 * a foreign file is refused with a ConfigError naming it, the file stays; eraserlab's own output
 * of the same kind is replaced (atomically) or resumed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { data, runtime, unlearn } from '../../sdk';
import { capture, savedTinyModel, tempDir, tinyDataset, tinyModel, userFile } from './helpers';

test.before(async () => {
  await runtime.init();
});

test('generate --out into a folder holding a foreign file: exit 1, the file is still there', async () => {
  const dir = tempDir('gen-foreign');
  const mine = userFile(dir);
  const r = await capture(['generate', '--out', dir, '--scale', 'tiny', '--images', '6']);
  assert.is(r.rc, 1);
  assert.is(
    r.err,
    `ConfigError: eraserlab generate: refusing to write a generated dataset to ${dir}: it holds files eraserlab did not write (my-notes.txt) (1 problem):\n` +
      '  - --out: name a new or empty folder; eraserlab never deletes or replaces files it did not write (its own output folders carry a .eraserlab marker)\n',
  );
  assert.is(fs.readFileSync(mine, 'utf8'), 'precious\n');
  assert.equal(fs.readdirSync(dir), ['my-notes.txt']);
  // `--out .` is the same case: the working folder is never wiped
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const dot = await capture(['generate', '--out', '.', '--scale', 'tiny', '--images', '6']);
    assert.is(dot.rc, 1);
    assert.match(dot.err, 'refusing to write a generated dataset to');
  } finally {
    process.chdir(cwd);
  }
  assert.is(fs.readFileSync(mine, 'utf8'), 'precious\n');
});

test("generate replaces its own output of the same kind; not another kind's", async () => {
  const dir = path.join(tempDir('gen-own'), 'ds');
  assert.is((await capture(['generate', '--out', dir, '--scale', 'tiny', '--images', '6', '--seed', '1'])).rc, 0);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, '.eraserlab'), 'utf8')), { kind: 'eraserlab.dataset', version: 1, command: 'generateSynthetic' });
  const again = await capture(['generate', '--out', dir, '--scale', 'tiny', '--images', '6', '--seed', '2']);
  assert.is(again.rc, 0, again.err);
  assert.match(again.out, 'seed 2, 6 harmful images');
  // a results folder is eraserlab's, but not a dataset: refused
  const other = tempDir('gen-other');
  fs.writeFileSync(path.join(other, '.eraserlab'), JSON.stringify({ kind: 'eraserlab.run', version: 1 }));
  const r = await capture(['generate', '--out', other, '--scale', 'tiny']);
  assert.is(r.rc, 1);
  assert.match(r.err, `refusing to write a generated dataset to ${other}: it holds main-job results`);
});

test('pretrain --out into a foreign folder is refused before any training', async () => {
  const dir = tempDir('pretrain-foreign');
  const mine = userFile(dir, 'thesis.tex');
  const t0 = Date.now();
  const r = await capture(['pretrain', '--out', dir, '--steps', '1', '--no-eval']);
  assert.is(r.rc, 1);
  assert.match(r.err, `ConfigError: eraserlab pretrain: refusing to write a trained model to ${dir}: it holds files eraserlab did not write (thesis.tex)`);
  assert.ok(Date.now() - t0 < 5000, 'refused at once');
  assert.is(fs.readFileSync(mine, 'utf8'), 'precious\n');
});

test('the SDK save functions refuse foreign folders too (model.save, saveSafeEraser)', async () => {
  const m = await tinyModel();
  const dir = tempDir('save-model');
  const mine = userFile(dir, 'README.md');
  try {
    await (m as unknown as { save(d: string): Promise<void> }).save(dir);
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.match((e as Error).message, `refusing to write a trained model to ${dir}: it holds files eraserlab did not write (README.md)`);
  } finally {
    m.dispose();
  }
  assert.ok(fs.existsSync(mine));
  const ds = await tinyDataset();
  const target = tempDir('save-ds');
  const f = userFile(target);
  try {
    await data.saveSafeEraser(ds, target);
    assert.unreachable('should refuse');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.match((e as Error).message, `refusing to write a generated dataset to ${target}: it holds files eraserlab did not write (my-notes.txt) (1 problem):\n  - dir: name a new or empty folder`);
  }
  assert.ok(fs.existsSync(f));
});

test('unlearn --out into a foreign folder is refused; --force never replaces foreign files', async () => {
  const ds = await tinyDataset();
  const modelDir = await savedTinyModel();
  const dir = tempDir('unlearn-foreign');
  const mine = userFile(dir);
  for (const extra of [[], ['--force']]) {
    const r = await capture(['unlearn', '--method', 'ga', '--steps', '1', '--model', modelDir, '--dataset', ds.dir, '--out', dir, '--probe', '1', ...extra]);
    assert.is(r.rc, 1);
    assert.match(r.err, `ConfigError: eraserlab unlearn: refusing to write unlearning checkpoints and results to ${dir}: it holds files eraserlab did not write (my-notes.txt)`);
  }
  assert.equal(fs.readdirSync(dir), ['my-notes.txt']);
});

test('unlearn refuses another experiment in its own folder; --force replaces it (ours only)', async () => {
  const ds = await tinyDataset();
  const modelDir = await savedTinyModel();
  const out = path.join(tempDir('unlearn-force'), 'runs');
  const base = ['unlearn', '--method', 'ga', '--steps', '1', '--model', modelDir, '--dataset', ds.dir, '--out', out, '--probe', '1'];
  assert.is((await capture([...base, '--seed', '1'])).rc, 0);
  const other = await capture([...base, '--seed', '2']);
  assert.is(other.rc, 1);
  assert.match(other.err, `ConfigError: outDir ${path.join(out, 'ga')} already holds checkpoints of another run (final)`);
  assert.match(other.err, 'its options differ');
  const forced = await capture([...base, '--seed', '2', '--force']);
  assert.is(forced.rc, 0, forced.err);
  assert.match(forced.out, '--force: replacing the checkpoints of another experiment');
  assert.is(JSON.parse(fs.readFileSync(path.join(out, 'ga', 'final', 'run.json'), 'utf8')).options.seed, 2);
  // a foreign file inside the method folder stops --force
  userFile(path.join(out, 'ga'));
  const stopped = await capture([...base, '--seed', '3', '--force']);
  assert.is(stopped.rc, 1);
  assert.match(stopped.err, `ConfigError: --force cannot replace ${path.join(out, 'ga')}: it holds files eraserlab did not write (my-notes.txt)`);
  assert.ok(fs.existsSync(path.join(out, 'ga', 'my-notes.txt')));
});

test("export-official keeps the repository's own forget_lora.yaml as .orig and refuses a foreign eraserlab_run.json", async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'po', batchSize: 2, steps: 1 });
  const run = path.join(tempDir('export-run'), 'ckpt');
  await u.save(run);
  u.dispose();
  m.dispose();
  const repo = tempDir('repo');
  fs.mkdirSync(path.join(repo, 'config'));
  fs.writeFileSync(path.join(repo, 'config', 'forget_lora.yaml'), 'model_family: llava-7b\n');
  const r = await capture(['export-official', '--run', run, '--out', repo]);
  assert.is(r.rc, 0, r.err);
  assert.match(r.out, `Kept the repository's own config/forget_lora.yaml as ${path.join(repo, 'config', 'forget_lora.yaml.orig')}`);
  assert.is(fs.readFileSync(path.join(repo, 'config', 'forget_lora.yaml.orig'), 'utf8'), 'model_family: llava-7b\n');
  assert.match(fs.readFileSync(path.join(repo, 'config', 'forget_lora.yaml'), 'utf8'), /^# written by eraserlab export-official/);
  // ours is replaced freely on the next export; the kept original stays
  assert.is((await capture(['export-official', '--run', run, '--out', repo])).rc, 0);
  assert.is(fs.readFileSync(path.join(repo, 'config', 'forget_lora.yaml.orig'), 'utf8'), 'model_family: llava-7b\n');
  // a foreign file where eraserlab_run.json goes is refused
  const repo2 = tempDir('repo2');
  fs.writeFileSync(path.join(repo2, 'eraserlab_run.json'), '{"mine": true}');
  const e = await capture(['export-official', '--run', run, '--out', repo2]);
  assert.is(e.rc, 1);
  assert.match(e.err, `ConfigError: Refusing to replace ${path.join(repo2, 'eraserlab_run.json')}: eraserlab did not write it`);
  assert.is(fs.readFileSync(path.join(repo2, 'eraserlab_run.json'), 'utf8'), '{"mine": true}');
});

test.run();
