/**
 * `eraserlab run` and its results folder: a foreign folder is refused, a different experiment
 * (another seed) is refused like `eraserlab unlearn` refuses another run's checkpoints, and
 * --force replaces eraserlab's own results.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { capture, savedTinyModel, tempDir, tinyDataset, userFile } from './helpers';

test('run --out into a foreign folder: exit 1, nothing written', async () => {
  const dir = tempDir('run-foreign');
  userFile(dir, 'paper.pdf');
  const r = await capture(['run', '--out', dir, '--scale', 'test', '--no-figures']);
  assert.is(r.rc, 1);
  assert.match(r.err, `ConfigError: eraserlab run: refusing to write main-job results to ${dir}: it holds files eraserlab did not write (paper.pdf)`);
  assert.equal(fs.readdirSync(dir), ['paper.pdf']);
});

test('run over a different experiment (another seed) is refused; --force replaces it', async () => {
  const ds = await tinyDataset();
  const model = await savedTinyModel();
  const out = path.join(tempDir('run-seed'), 'results');
  const args = ['run', '--out', out, '--dataset', ds.dir, '--model', model, '--methods', 'po', '--steps', '1', '--limit', '1', '--max-new-tokens', '2', '--eval-every', '0', '--no-figures'];
  const quiet = process.env.ERASERLAB_QUIET;
  process.env.ERASERLAB_QUIET = '1';
  try {
    const first = await capture([...args, '--seed', '233']);
    assert.is(first.rc, 0, first.err);
    const before = fs.readFileSync(path.join(out, 'summary.json'), 'utf8');
    const other = await capture([...args, '--seed', '5']);
    assert.is(other.rc, 1);
    assert.is(
      other.err,
      `ConfigError: ${out} holds the results of another experiment (seed 233 → 5) (1 problem):\n  - out: choose another results folder, or force: true (--force) to replace them; only eraserlab's own results are ever replaced\n`,
    );
    assert.is(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'), before, 'nothing replaced');
    // the same experiment again resumes (every method found on disk)
    const again = await capture([...args, '--seed', '233']);
    assert.is(again.rc, 0, again.err);
    assert.match(again.out, 'Resumed: vanilla, po');
    const forced = await capture([...args, '--seed', '5', '--force']);
    assert.is(forced.rc, 0, forced.err);
    assert.is(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).seed, 5);
    assert.is(JSON.parse(fs.readFileSync(path.join(out, 'methods', 'po', 'spec.json'), 'utf8')).seed, 5);
  } finally {
    if (quiet === undefined) delete process.env.ERASERLAB_QUIET;
    else process.env.ERASERLAB_QUIET = quiet;
  }
});

test.run();
