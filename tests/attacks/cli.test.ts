/**
 * `eraserlab attack` end to end at the test scale (tiny data, po ± PD, 2 unlearning steps, a
 * short retrained reference): attacks.csv with every family, figures' specs, the table; and
 * bad input refused before any work.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attacks } from '../../sdk';
import { capture } from '../support';

process.env.ERASERLAB_QUIET = '1';
process.env.ERASERLAB_SCALE = 'test';

test('--help lists every attack with its family and defaults', async () => {
  const r = await capture(['attack', '--help']);
  assert.is(r.rc, 0, r.err);
  for (const n of attacks.attackNames()) assert.ok(new RegExp(`^  ${n.replace(/[+]/g, '\\+')} +(relearn|prompt|image|mia) `, 'm').test(r.out), n);
  assert.match(r.out, 'steps=4,8,16');
});

test('bad input: unknown attack, k < 1 and an empty slice are refused before anything runs', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-attack-bad-'));
  let r = await capture(['attack', '--attacks', 'loss,bogus', '--out', out]);
  assert.is(r.rc, 1);
  assert.match(r.err, `ConfigError: Invalid arguments for eraserlab attack (1 problem):\n  - --attacks: Unknown attack 'bogus'. Must be one of [${attacks.attackNames().join(', ')}]`);
  r = await capture(['attack', '--param', 'relearn-forget.steps=0', '--param', 'relearn-benign.fraction=0.001', '--reference', 'none', '--out', out]);
  assert.is(r.rc, 1);
  assert.match(r.err, 'params.relearn-forget.steps: expected a list of integers ≥ 1 (each ≥ 1), got [0]');
  assert.match(r.err, 'params.relearn-benign.fraction: 0.001 of');
  assert.not.match(r.err, 'unlearning');
  assert.equal(fs.readdirSync(out), [], 'nothing written');
});

test('eraserlab attack at the test scale writes attacks.csv with the relearn, prompt, image and mia families', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-attack-'));
  const r = await capture(['attack', '--out', out, '--no-figures']);
  assert.is(r.rc, 0, r.err);
  const rows = attacks.readAttacks(out);
  const fams = new Set(rows.map((x) => x.family));
  for (const f of ['relearn', 'prompt', 'image', 'mia', 'baseline', 'reference']) assert.ok(fams.has(f as never), f);
  assert.equal([...new Set(rows.map((x) => x.method))], ['vanilla', 'po', 'po+pd', 'retrained']);
  assert.ok(rows.filter((x) => x.method === 'po+pd').every((x) => x.pd === true));
  const csv = fs.readFileSync(path.join(out, 'attacks.csv'), 'utf8');
  assert.ok(csv.startsWith('method,pd,attack,family,metric,split,value,n\n'));
  assert.match(r.out, '| model | PD | forget rate |');
  assert.match(fs.readFileSync(path.join(out, 'attacks.md'), 'utf8'), '| retrained |');
});

test('eraserlab attack --results R: the methods, dataset, model and steps of a finished eraserlab run; results go into R', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-attack-run-'));
  const run = await capture(['run', '--out', out, '--no-figures']);
  assert.is(run.rc, 0, run.err);
  const r = await capture(['attack', '--results', out, '--reference', 'none', '--attacks', 'relearn-forget,prefix-injection,blur,loss', '--no-figures']);
  assert.is(r.rc, 0, r.err);
  const rows = attacks.readAttacks(out);
  assert.equal([...new Set(rows.map((x) => x.method))], ['vanilla', 'po', 'po+pd']);
  assert.equal([...new Set(rows.map((x) => x.family))].sort(), ['baseline', 'image', 'mia', 'prompt', 'relearn']);
  const bad = await capture(['attack', '--results', path.join(out, 'methods')]);
  assert.is(bad.rc, 1);
  assert.match(bad.err, 'run.json is missing: not a folder written by `eraserlab run`');
});

test.run();
