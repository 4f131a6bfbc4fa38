// The main job through the SDK entry (`experiment.run`), as a notebook calls it: the results
// folder and the returned summary agree, and options are checked like the CLI checks them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { experiment } from '../../sdk';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-experiment-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('experiment.run at the test scale writes the results folder and returns its headline', async () => {
  const out = path.join(tmp, 'r');
  const done: string[] = [];
  const r = await experiment.run({ scale: 'test', out, figures: false, log: () => {}, onMethodDone: (o) => done.push(o.method) });
  assert.equal(done, ['vanilla', ...experiment.JOB_SCALES.test.methods]);
  assert.is(r.out, out);
  assert.is(r.report, path.join(out, 'report.html'));
  for (const f of ['run.json', 'summary.csv', 'summary.json', 'samples.json', 'by_category.json', 'history.json', 'table.txt', 'table.md', 'report.html']) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  assert.is(fs.readFileSync(path.join(out, 'table.txt'), 'utf8'), r.table + '\n');
  assert.match(r.exportSkipped ?? '', /turned off/);
  // the tables read back give the same headline as the job returned
  const loaded = experiment.loadResults(out);
  assert.equal(experiment.headlineRows(loaded.summary), r.headline);
  assert.equal(r.headline.map((h) => h.method), ['vanilla', 'po', 'po+pd']);
});

test('experiment.run and runMainJob are the same job; bad options are a ConfigError before any work', async () => {
  assert.type(experiment.runMainJob, 'function');
  try {
    await experiment.run({ methods: ['nope'], seed: -1, out: path.join(tmp, 'never'), log: () => {} });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.is((e as Error).name, 'ConfigError');
    assert.match((e as Error).message, /methods\[0\]: Unknown method 'nope'/);
    assert.match((e as Error).message, /seed: must be an integer ≥ 0, got -1/);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'never')));
});

test.run();
