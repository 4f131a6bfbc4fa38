// The probes' and pretraining's ROUGE-L variants now run on the one LCS of sdk/text/rouge.ts.
// They must give the numbers the earlier private implementations gave: those are kept below,
// verbatim, as references, and both are compared on every pair of texts of a generated
// dataset (questions, answers, responses, refusals) plus edge cases (empty, punctuation only,
// apostrophes, non-ASCII letters, repeated words).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data } from '../../sdk';
import { lcsLength, lcsLengthDP, plainWords, rougeLF1, rougeLRecall, wordTokens } from '../../sdk/text/rouge';
import { Rng } from '../../sdk/runtime/rng';

// --- references: the implementations sdk/unlearn/probe.ts and sdk/model/pretrain.ts had -------

function refTokens(s: string): string[] {
  return s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}
function refLcs(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}
function refRougeLRecall(response: string, reference: string): number {
  const ref = refTokens(reference);
  if (ref.length === 0) return 0;
  return refLcs(refTokens(response), ref) / ref.length;
}
function refWords(s: string): string[] {
  return s.toLowerCase().replace(/[^a-z0-9\s']/g, ' ').split(/\s+/).filter(Boolean);
}
function refRougeLF1(candidate: string, reference: string): number {
  const a = refWords(candidate);
  const b = refWords(reference);
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 1 : 0;
  const dp = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let prev = 0;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = a[i - 1] === b[j - 1] ? prev + 1 : Math.max(dp[j], dp[j - 1]);
      prev = tmp;
    }
  }
  const lcs = dp[b.length];
  if (lcs === 0) return 0;
  const p = lcs / a.length;
  const r = lcs / b.length;
  return (2 * p * r) / (p + r);
}

// --- fixture texts ---------------------------------------------------------------------------

const EDGE = [
  '',
  '   ',
  '?!.,',
  "I can't tell; I won't say.",
  "can't won't don't",
  'Café naïve — Zürich 北京 2024',
  'the the the shape shape',
  'THE SHAPE IS RED.',
  'the shape is red',
  'red is the shape',
  "o'clock 'quoted' words'",
];

let texts: string[] = [];

test.before(async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-text-')), 'ds');
  process.on('exit', () => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  await data.generateSynthetic({ outDir: dir, scale: 'tiny', seed: 7, progress: false, utility: 6 });
  const ds = await data.loadSafeEraser(dir);
  const set = new Set<string>(EDGE);
  for (const r of [...ds.train, ...ds.val]) {
    for (const p of r.unsafe_pairs) [p.question, p.model_response, p.sd_response].forEach((t) => set.add(t));
    for (const f of data.UNHARM_FIELDS) [r[f].Question, r[f].Prediction].forEach((t) => set.add(t));
  }
  for (const u of ds.utility) [u.question, u.answer].forEach((t) => set.add(t));
  for (const r of ds.refusals) set.add(r);
  // mutated copies: dropped and swapped words, so pairs share long but imperfect subsequences
  const rng = new Rng(11);
  for (const t of [...set].slice(0, 80)) {
    const w = t.split(' ');
    if (w.length < 3) continue;
    const i = Math.floor(rng.next() * w.length);
    const j = Math.floor(rng.next() * w.length);
    [w[i], w[j]] = [w[j], w[i]];
    w.splice(Math.floor(rng.next() * w.length), 1);
    set.add(w.join(' '));
  }
  texts = [...set];
  assert.ok(texts.length > 100, `only ${texts.length} fixture texts`);
});

test('tokenizers: the same tokens as the references', () => {
  for (const t of texts) {
    assert.equal(wordTokens(t), refTokens(t), t);
    assert.equal(plainWords(t), refWords(t), t);
  }
});

test('lcsLength equals the reference DP on word tokens of every pair', () => {
  let nonzero = 0;
  for (const a of texts) {
    for (const b of texts) {
      const x = wordTokens(a);
      const y = wordTokens(b);
      const want = refLcs(x, y);
      assert.is(lcsLength(x, y), want, `${a} | ${b}`);
      if (want > 0 && want < Math.max(x.length, y.length)) nonzero++;
    }
  }
  assert.ok(nonzero > 1000, `too few partial overlaps to test: ${nonzero}`);
  assert.is(lcsLengthDP([1, 2, 3, 4], [2, 4, 3]), 2);
});

test('rougeLRecall (probes) and rougeLF1 (pretraining) give the references’ numbers exactly', () => {
  let between = 0;
  for (const a of texts) {
    for (const b of texts) {
      const r = rougeLRecall(a, b);
      assert.is(r, refRougeLRecall(a, b), `recall ${a} | ${b}`);
      const f = rougeLF1(a, b);
      assert.is(f, refRougeLF1(a, b), `F1 ${a} | ${b}`);
      if (f > 0 && f < 1) between++;
    }
  }
  assert.ok(between > 1000, `too few fractional scores to test: ${between}`);
  // pinned values
  assert.is(rougeLF1('There are two shapes.', 'There are three shapes.'), 0.75);
  assert.is(rougeLF1('', ''), 1);
  assert.is(rougeLRecall('Café naïve', 'café au lait naïve'), 0.5);
  assert.is(rougeLRecall('anything', ''), 0);
});

test.run();
