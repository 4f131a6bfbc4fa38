// importOfficial on the files the official eval_all.py writes (tests/fixtures/official/run10:
// a 10-record dataset, eraserlab's answers written by writeOfficial in ckpt_infer.py's format,
// judged by the official eval_all.py with the fake judge of fake-judge.json; see
// scripts/official-eval-harness.py), and writeOfficial itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as dfd from 'danfojs-node';
import { importOfficial, readOfficialStats, writeOfficial, parsePythonJson, type RecordLike } from '../../sdk/metrics';
import { ConfigError, DatasetError } from '../../sdk/runtime/errors';
import { cannedResponder } from '../fixtures/official/canned';

const RUN = path.join(__dirname, '../fixtures/official/run10');
const LABELS = path.join(RUN, 'all_val_predictions.json');
const SCORES = path.join(RUN, 'all_val_responses_with_scores.json');
const REF = path.join(RUN, 'all_val.json');
const TXT = path.join(RUN, 'all_val_predictions.txt');
const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
const summaryOf = (df: dfd.DataFrame) => Object.fromEntries((dfd.toJSON(df) as any[]).map((r) => [r.metric, r]));

test('object form: the imported figures equal the official .txt exactly', () => {
  const txt = readOfficialStats(TXT);
  const r = importOfficial({ labels: LABELS, scores: SCORES, reference: REF });
  const s = summaryOf(r.summary);
  for (const [ours, theirs] of [['asr', txt.asr], ['rr', txt.rr], ['sarr', txt.sarr], ['rougeL_official', txt.rougeL_official], ['judgeScore', txt.judgeScore]] as const) {
    assert.ok(Math.abs(s[ours].value - (theirs as number)) <= 1e-9, `${ours}: ${s[ours].value} vs ${theirs}`);
    assert.is((r.official as any)[ours], theirs, `official.${ours}`);
  }
  assert.equal(r.official!.stats_asr_rr, txt.stats_asr_rr);
  assert.equal(r.official!.stats_unharmpair, txt.stats_unharmpair);
  // the denominators: empty responses skipped, None and exception kept
  assert.is(s.asr.n, txt.stats_asr_rr!.total_asr_queries);
  assert.is(s.sarr.n, txt.stats_asr_rr!.total_sd_rr_queries);
  assert.ok(s.asr.unknown > 0, 'None/exception labels are in the fixture');
  // the fixture's own numbers, so a wrong fixture cannot pass silently
  assert.equal([txt.stats_asr_rr!.total_asr_queries, txt.stats_asr_rr!.unsafe_count, txt.stats_asr_rr!.refuse_count, txt.stats_asr_rr!.total_sd_rr_queries, txt.stats_asr_rr!.sd_refuse_count], [70, 28, 14, 24, 13]);
  assert.is(s.judgeScore.n, 30);
  // GPT-Score not clamped: "85" counts 85
  assert.ok(r.rows.some((x) => x.kind === 'retain' && x.score === 85));
  // the reference gives the forget rate (model_response is deleted from the labels file)
  assert.ok(s.forgetRate.value > 0);
  // category from the harmful image's folder, as eval_all.py picks its template
  const cats = new Set(r.rows.map((x) => x.category));
  assert.equal([...cats].sort(), ['HateSpeech', 'IllegalActivity', 'Privacy', 'Sex', 'Violence', 'Weapon']);
});

test('folder form finds the files by content; labels or scores alone give only their metrics', () => {
  const r = importOfficial(RUN);
  assert.is(path.basename(r.files!.labels!), 'all_val_predictions.json');
  assert.is(path.basename(r.files!.scores!), 'all_val_responses_with_scores.json');
  assert.is(path.basename(r.files!.reference!), 'all_val.json');
  assert.is(path.basename(r.files!.stats!), 'all_val_predictions.txt');
  const l = summaryOf(importOfficial({ labels: LABELS }).summary);
  assert.equal(Object.keys(l).sort(), ['asr', 'rr', 'sarr']); // no forget rate without the reference, no zeros
  const sc = importOfficial({ scores: SCORES });
  assert.equal(Object.keys(summaryOf(sc.summary)).sort(), ['judgeScore', 'rougeL_official']);
  assert.is(sc.official!.stats_asr_rr, undefined);
  // without the reference, the scored pairs are those carrying scores: the same figures
  assert.is(sc.official!.stats_unharmpair!.average_gpt_score, readOfficialStats(TXT).judgeScore);
});

function expectError(fn: () => unknown, cls: Function, parts: (string | RegExp)[]) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, cls);
    for (const p of parts) {
      if (typeof p === 'string') assert.ok((e as Error).message.includes(p), `message should contain ${JSON.stringify(p)}:\n${(e as Error).message}`);
      else assert.match((e as Error).message, p);
    }
    return;
  }
  assert.unreachable('expected an error');
}

test('mismatched files, interrupted runs, empty files and bad stats are clear errors', () => {
  const labels = read(LABELS);
  const ref = read(REF);
  expectError(() => importOfficial({ labels, reference: ref.slice(0, 9) }), DatasetError, ['do not hold the same records', 'reference: 9 records, labels has 10 (the dataset file may hold more records, not fewer)']);
  // a longer dataset file is paired by position, as eval_all.py's zip does
  assert.is(importOfficial({ labels: labels.slice(0, 4), reference: ref }).official!.stats_asr_rr!.total_asr_queries > 0, true);
  const other = read(REF);
  other[3].image_path = 'images/Sex/99.png';
  other[5].unsafe_pairs[1].question = 'Another question?';
  expectError(() => importOfficial({ labels, reference: other }), DatasetError, [
    'The official files labels and reference do not hold the same records (2 problems)',
    'reference[3].image_path: "images/Sex/99.png" but labels[3] has "images/Sex/3.png"',
    "reference[5].unsafe_pairs: its harmful queries differ from labels[5]'s",
  ]);
  const cut = read(LABELS);
  delete cut[6].unsafe_pairs[0].gpt_result_ASR_model_response1;
  expectError(() => importOfficial({ labels: cut }), DatasetError, [
    'labels[6].unsafe_pairs[0].gpt_result_ASR_model_response1: missing: a non-empty response without its label (an interrupted eval_all.py run?)',
  ]);
  expectError(() => importOfficial({ labels: [] }), DatasetError, ['the file holds no records ([]); nothing was evaluated']);
  expectError(() => importOfficial({ reference: REF }), ConfigError, ['Nothing to import']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'official-'));
  fs.writeFileSync(path.join(dir, 'x.txt'), JSON.stringify({ stats_asr_rr: { unsafe_rate: 'high' } }));
  expectError(() => readOfficialStats(path.join(dir, 'x.txt')), DatasetError, ['x.txt.stats_asr_rr.unsafe_rate: must be a number (got "high")', 'x.txt.stats_unharmpair: missing']);
  fs.copyFileSync(LABELS, path.join(dir, 'a.json'));
  fs.copyFileSync(LABELS, path.join(dir, 'b.json'));
  expectError(() => importOfficial(dir), ConfigError, ['labels: 2 candidates (a.json, b.json); pass {labels, scores, reference} explicitly']);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Python json: NaN and Infinity read back', () => {
  const v = parsePythonJson('[{"GPT-Score": NaN, "s": "NaN, Infinity", "x": -Infinity, "y": Infinity}]') as any[];
  assert.ok(Number.isNaN(v[0]['GPT-Score']));
  assert.is(v[0].s, 'NaN, Infinity');
  assert.is(v[0].x, -Infinity);
  assert.is(v[0].y, Infinity);
});

test("writeOfficial writes ckpt_infer.py's format: the fixture's input to eval_all.py, byte for byte", async () => {
  const records = read(REF) as RecordLike[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'write-official-'));
  // images resolve against the dataset folder
  const r = await writeOfficial(null, { train: [], val: records, dir: RUN }, { split: 'val', dir, responder: cannedResponder(records) });
  assert.is(r.file, path.join(dir, 'all_val_responses.json'));
  assert.is(fs.readFileSync(r.file, 'utf8'), fs.readFileSync(path.join(RUN, 'all_val_responses.json'), 'utf8'));
  const p = read(r.file);
  // model_response removed, model_response1..3 added; sd_response kept where the benign image is missing (record 3)
  assert.is(p[0].unsafe_pairs[0].model_response, undefined);
  assert.equal(Object.keys(p[0].unsafe_pairs[0]), ['question', 'sd_response', 'model_response1', 'model_response2', 'model_response3']);
  assert.is(p[3].unsafe_pairs[0].sd_response, records[3].unsafe_pairs[0].sd_response);
  // a blank question is never asked: the dataset's Prediction stays
  assert.is(p[4].UnharmPair_text2.Prediction, (records[4] as any).UnharmPair_text2.Prediction);
  // the harmful image was used for the retain text questions too
  let asked: any[] = [];
  await writeOfficial(null, { train: [], val: records.slice(0, 1), dir: RUN }, {
    split: 'val', dir, responder: { async respond(prompts, o) { asked.push(...prompts.map((q) => ({ ...q, o }))); return prompts.map(() => Array(o.numSamples).fill('a')); } },
  });
  const text1 = asked.find((q) => q.id === 'val/0/retain/0');
  assert.is(text1.image, path.join(RUN, 'images/Violence/0.png'));
  const harm = asked.find((q) => q.id === 'val/0/harmful/0');
  assert.equal([harm.o.numSamples, harm.o.temperature, harm.o.topP, harm.o.maxNewTokens], [3, 1, 0.9, 512]);
  assert.match(harm.o.template.system, /^A chat between a curious user and an artificial intelligence assistant/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
