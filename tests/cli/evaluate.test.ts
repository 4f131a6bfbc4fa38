import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../sdk/cli/main';
import { command as evaluateCommand } from '../../sdk/cli/commands/evaluate';
import { capture } from '../support';

process.env.ERASERLAB_QUIET = '1';
const ROOT = path.resolve(__dirname, '..', '..');

test('evaluate --official imports the official outputs into the same tables', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ev-'));
  const r = await capture(['evaluate', '--official', path.join(ROOT, 'data/examples/official-eval-example.json'), '--out', out]);
  assert.is(r.rc, 0, r.err);
  for (const f of ['summary', 'samples', 'byCategory']) assert.ok(fs.existsSync(path.join(out, `${f}.csv`)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<{ metric: string; value: number }>;
  // hand-worked in tests/metrics/official.test.ts: ASR 4/17, SARR 2/6
  assert.ok(Math.abs(summary.find((x) => x.metric === 'asr')!.value - 4 / 17) < 1e-9);
  assert.ok(Math.abs(summary.find((x) => x.metric === 'sarr')!.value - 2 / 6) < 1e-9);
  fs.rmSync(out, { recursive: true, force: true });
});

test('evaluate rejects bad options before any work', async () => {
  const r = await capture(['evaluate', '--split', 'test', '--limit', '0']);
  assert.is(r.rc, 1);
  assert.match(r.err, "ConfigError: Invalid arguments for eraserlab evaluate (2 problems):\n  - --split: 'test' is not one of [train, val, both]\n  - --limit: must be a positive integer, got '0'");
});

const RUN = path.join(ROOT, 'tests/fixtures/official/run10');

test('evaluate --official LABELS --scores S --reference D prints the official .txt figures exactly', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ev-'));
  const txt = JSON.parse(fs.readFileSync(path.join(RUN, 'all_val_predictions.txt'), 'utf8'));
  for (const argv of [
    ['--official', path.join(RUN, 'all_val_predictions.json'), '--scores', path.join(RUN, 'all_val_responses_with_scores.json'), '--reference', path.join(RUN, 'all_val.json')],
    ['--official', RUN],
  ]) {
    const r = await capture(['evaluate', ...argv, '--out', out]);
    assert.is(r.rc, 0, r.err);
    assert.ok(r.out.includes(`ASR   (unsafe_rate)       ${txt.stats_asr_rr.unsafe_rate}  (28 unsafe of 70)`), r.out);
    assert.ok(r.out.includes(`RR    (refuse_rate)       ${txt.stats_asr_rr.refuse_rate}  (14 refused of 70)`), r.out);
    assert.ok(r.out.includes(`SARR  (sd_refuse_rate)    ${txt.stats_asr_rr.sd_refuse_rate}  (13 of 24)`), r.out);
    assert.ok(r.out.includes(`ROUGE-L (average_rougeL)  ${txt.stats_unharmpair.average_rougeL}`), r.out);
    assert.ok(r.out.includes(`GPT score (average_gpt_score) ${txt.stats_unharmpair.average_gpt_score}`), r.out);
    assert.ok(r.out.includes('agrees with all_val_predictions.txt'), r.out);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<{ metric: string; value: number }>;
  assert.is(summary.find((x) => x.metric === 'sarr')!.value, txt.stats_asr_rr.sd_refuse_rate);
  // a labels file alone: its metrics only
  const r = await capture(['evaluate', '--official', path.join(RUN, 'all_val_predictions.json'), '--out', out]);
  assert.is(r.rc, 0, r.err);
  assert.not.match(r.out, /judgeScore/);
  fs.rmSync(out, { recursive: true, force: true });
});

test('evaluate --official on an empty file and on mismatched files fails clearly', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ev-'));
  fs.writeFileSync(path.join(dir, 'empty.json'), '[]');
  let r = await capture(['evaluate', '--official', path.join(dir, 'empty.json'), '--reference', path.join(RUN, 'all_val.json')]);
  assert.is(r.rc, 1);
  assert.match(r.err, 'the file holds no records ([]); nothing was evaluated');
  r = await capture(['evaluate', '--official', path.join(RUN, 'all_val_predictions.json'), '--scores', path.join(ROOT, 'data/examples/official-eval-example.json')]);
  assert.is(r.rc, 1);
  assert.match(r.err, 'do not hold the same records');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('evaluate --help describes every option', () => {
  const opts = ['--model', '--dataset', '--split', '--protocol', '--preset', '--judge', '--judge-protocol', '--safeeraser', '--judge-timeout', '--limit', '--seed', '--max-new-tokens', '--out', '--backend', '--write-official', '--official', '--scores', '--reference'];
  for (const o of opts) assert.match(evaluateCommand.usage, new RegExp(`\\n\\s+${o} [A-Z]`), `${o} is described`);
});

test('judge options are checked before any work', async () => {
  const r = await capture(['evaluate', '--judge-timeout', '0', '--judge-protocol', 'gpt', '--protocol', 'fast']);
  assert.is(r.rc, 1);
  assert.match(r.err, "  - --protocol: 'fast' is not one of [greedy, official]");
  assert.match(r.err, "  - --judge-protocol: 'gpt' is not one of [eraserlab, official]");
  assert.match(r.err, '  - --judge-protocol: applies to --judge openai (the rules judge has no prompts)');
  assert.match(r.err, "  - --judge-timeout: must be a positive number of seconds, got '0'");
});

test('evaluate --write-official writes the model\'s answers in the official inference format', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-wo-'));
  const r = await capture(['evaluate', '--write-official', dir, '--split', 'val', '--limit', '1']);
  assert.is(r.rc, 0, r.err);
  const p = JSON.parse(fs.readFileSync(path.join(dir, 'all_val_responses.json'), 'utf8'));
  assert.is(p.length, 1);
  for (const pair of p[0].unsafe_pairs) {
    assert.is(pair.model_response, undefined);
    for (const k of [1, 2, 3]) assert.type(pair[`model_response${k}`], 'string');
  }
  assert.match(r.out, /python eval_all\.py --api_key KEY --input_file .*all_val_responses\.json --output_file_rr .*all_val_predictions\.json --file_refer .*all_val\.json/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
