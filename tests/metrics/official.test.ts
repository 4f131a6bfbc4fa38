import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as dfd from 'danfojs-node';
import { importOfficial } from '../../sdk/metrics';
import { DatasetError } from '../../sdk/runtime/errors';

const EXAMPLE = path.join(__dirname, '../../data/examples/official-eval-example.json');
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: expected ${b}, got ${a}`);

function summaryMap(df: dfd.DataFrame) {
  const out: Record<string, { value: number; n: number; count: number; unknown: number }> = {};
  for (const r of dfd.toJSON(df) as any[]) out[`${r.metric}/${r.split}`] = r;
  return out;
}

test('importOfficial on the shipped example matches hand-computed metrics', () => {
  const res = importOfficial(EXAMPLE);
  const s = summaryMap(res.summary);
  // 17 judged harmful responses (one empty model_response3 skipped): 4 Unsafe, 10 refuse;
  // a None and an exception stay in the denominators.
  close(s['asr/val'].value, 4 / 17, 'asr');
  assert.is(s['asr/val'].n, 17);
  assert.is(s['asr/val'].count, 4);
  assert.is(s['asr/val'].unknown, 2);
  close(s['rr/val'].value, 10 / 17, 'rr');
  assert.is(s['rr/val'].unknown, 2);
  // 6 sd responses: 2 refuse, 1 None (in the denominator)
  close(s['sarr/val'].value, 2 / 6, 'sarr');
  assert.is(s['sarr/val'].unknown, 1);
  // 11 retain answers with scores (one with an empty Prediction was never scored)
  close(s['rougeL_official/val'].value, 6 / 11, 'rougeL_official');
  close(s['judgeScore/val'].value, 6.4 / 11, 'judgeScore');
  assert.is(s['judgeScore/val'].n, 11);
  // 5 responses copy their model_response verbatim (one of them judged 'exception')
  close(s['forgetRate/val'].value, 5 / 17, 'forgetRate');
  // no references given: no ROUGE-L F, no specificity
  assert.is(s['rougeL/val'], undefined);
  assert.is(s['specificity/val'], undefined);
  assert.equal(res.samples.shape, [17 + 6 + 11, res.samples.columns.length]);
  const cats = (dfd.toJSON(res.byCategory) as any[]).filter((r) => r.metric === 'asr');
  const byCat = Object.fromEntries(cats.map((r) => [r.category, r.value]));
  close(byCat.Weapon, 1 / 6, 'Weapon');
  close(byCat.Violence, 2 / 6, 'Violence');
  close(byCat.Privacy, 1 / 5, 'Privacy');
});

test('importOfficial with the reference split file adds ROUGE-L F against the gold answers', () => {
  const data = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  const refs = data.map((r: any) => ({ ...r, UnharmPair_text1: { ...r.UnharmPair_text1, Prediction: r.UnharmPair_text1.Prediction || 'A reader reads cards.' } }));
  const res = importOfficial(data, { reference: refs, split: 'val' });
  const s = summaryMap(res.summary);
  // references equal the predictions here: F = 1 for every scored retain answer
  close(s['rougeL/val'].value, 1, 'rougeL');
  assert.is(s['rougeL/val'].n, 11);
});

function expectIssues(fn: () => unknown, header: RegExp, parts: string[]) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, DatasetError);
    assert.match((e as Error).message, header);
    for (const p of parts) assert.ok((e as Error).message.includes(p), `message should contain ${JSON.stringify(p)}:\n${(e as Error).message}`);
    return e as DatasetError;
  }
  assert.unreachable('expected a DatasetError');
}

test('missing fields: one error naming every record and field', () => {
  const data = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  delete data[0].unsafe_pairs[1].gpt_result_ASR_model_response2;
  delete data[2].UnharmPair_image1['GPT-Score'];
  data[1].unsafe_pairs[0].gpt_result_RR_model_response1 = 'maybe';
  const err = expectIssues(() => importOfficial(data), /^Cannot import official evaluation file records \(3 problems\):/, [
    'records[0].unsafe_pairs[1].gpt_result_ASR_model_response2: missing (the judge result for a non-empty response)',
    'records[1].unsafe_pairs[0].gpt_result_RR_model_response1: must be one of [refuse, normal, None, exception] (got "maybe")',
    'records[2].UnharmPair_image1.GPT-Score: missing (must be a number; got undefined)',
  ])!;
  assert.equal(err.issues.map((i) => [i.record, i.field]), [
    [0, 'unsafe_pairs[1].gpt_result_ASR_model_response2'],
    [1, 'unsafe_pairs[0].gpt_result_RR_model_response1'],
    [2, 'UnharmPair_image1.GPT-Score'],
  ]);
});

test('response list length mismatch and non-array input are clear errors', () => {
  const data = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  delete data[1].unsafe_pairs[1].model_response3;
  expectIssues(() => importOfficial(data), /Cannot import official evaluation file/, [
    'records[1].unsafe_pairs[1]: response list length mismatch: 2 model responses (model_response1..2), the first pair of the file has 3',
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'official-'));
  const f = path.join(dir, 'eval_val.json');
  fs.writeFileSync(f, JSON.stringify({ records: [] }));
  expectIssues(() => importOfficial(f), /Cannot import official evaluation file/, ['eval_val.json: expected a JSON array of records, got object']);
  fs.writeFileSync(f, '[{"image_path": ');
  expectIssues(() => importOfficial(f), /invalid JSON/, ['eval_val.json']);
  expectIssues(() => importOfficial(path.join(dir, 'nope.json')), /file not found/, ['nope.json']);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
