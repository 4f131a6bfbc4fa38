/** `eraserlab run --attacks`: the main job, then the attack sweep into the same results folder and report. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attacks } from '../../sdk';
import { capture } from '../support';

process.env.ERASERLAB_QUIET = '1';
process.env.ERASERLAB_SCALE = 'test';

test('run --attacks with an unknown attack or a bad parameter fails before any method runs', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-run-attacks-bad-'));
  const r = await capture(['run', '--out', out, '--attacks', 'loss,bogus']);
  assert.is(r.rc, 1);
  assert.match(r.err, `attacks: Unknown attack 'bogus'. Must be one of [${attacks.attackNames().join(', ')}]`);
  assert.not.ok(fs.existsSync(path.join(out, 'methods')), 'nothing ran');
  const r2 = await capture(['run', '--out', out, '--reference', 'none']);
  assert.is(r2.rc, 1);
  assert.match(r2.err, '--reference: applies to --attacks');
});

test('run --attacks: attacks.csv, attacks.md and a robustness section in report.html beside the main results', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-run-attacks-'));
  const r = await capture(['run', '--out', out, '--no-figures', '--attacks', 'relearn-forget,prefix-injection,blur,loss', '--reference', 'none']);
  assert.is(r.rc, 0, r.err);
  const rows = attacks.readAttacks(out);
  assert.equal([...new Set(rows.map((x) => x.method))], ['vanilla', 'po', 'po+pd']);
  assert.equal([...new Set(rows.map((x) => x.family))].sort(), ['baseline', 'image', 'mia', 'prompt', 'relearn']);
  assert.ok(fs.existsSync(path.join(out, 'summary.csv')), 'the main job ran too');
  assert.match(fs.readFileSync(path.join(out, 'attacks.md'), 'utf8'), '| po+pd | ✓ |');
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  assert.match(html, 'Robustness: is it really forgotten?');
  assert.match(html, 'id="fig-relearning"');
  assert.match(html, 'id="fig-robustness"');
  assert.match(r.out, 'Robustness: ');
});

test.run();
