/** `eraserlab run --attacks`: the main job, then the attack sweep into the same results folder and report. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attacks } from '../../sdk';
import { main } from '../../sdk/cli/main';

process.env.ERASERLAB_QUIET = '1';
process.env.ERASERLAB_SCALE = 'test';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  (process.stdout as unknown as { write: unknown }).write = (s: string) => ((out += s), true);
  (process.stderr as unknown as { write: unknown }).write = (s: string) => ((err += s), true);
  try {
    return { code: await main(argv), out, err };
  } finally {
    (process.stdout as unknown as { write: unknown }).write = wo;
    (process.stderr as unknown as { write: unknown }).write = we;
  }
}

test('run --attacks with an unknown attack or a bad parameter fails before any method runs', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-run-attacks-bad-'));
  const r = await cli(['run', '--out', out, '--attacks', 'loss,bogus']);
  assert.is(r.code, 1);
  assert.match(r.err, `attacks: Unknown attack 'bogus'. Must be one of [${attacks.attackNames().join(', ')}]`);
  assert.not.ok(fs.existsSync(path.join(out, 'methods')), 'nothing ran');
  const r2 = await cli(['run', '--out', out, '--reference', 'none']);
  assert.is(r2.code, 1);
  assert.match(r2.err, '--reference: applies to --attacks');
});

test('run --attacks: attacks.csv, attacks.md and a robustness section in report.html beside the main results', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-run-attacks-'));
  const r = await cli(['run', '--out', out, '--no-figures', '--attacks', 'relearn-forget,prefix-injection,blur,loss', '--reference', 'none']);
  assert.is(r.code, 0, r.err);
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
