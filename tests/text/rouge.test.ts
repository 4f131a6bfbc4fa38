import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rougeL, rougeLOfficial, rougeTokenize, rougeLTokens, lcsLength, porterStem } from '../../sdk/metrics';
import { lcsLengthDP } from '../../sdk/text/rouge';
import { Rng } from '../../sdk/runtime/rng';

const close = (a: number, b: number, tol = 1e-5, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: expected ${b}, got ${a}`);

// rouge_score's own test data (rouge/testdata/{target,prediction}.txt, lines 0 and 1) and the
// values its tests assert (taken from ROUGE-1.5.5).
const TARGETS = [
  "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n",
  "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n",
];
const PREDICTIONS = [
  "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n",
  "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n",
];

/** rouge1 from our tokens (unigram overlap with clipped counts), to check the stemmer on rouge_score's data. */
function rouge1(pred: string[], ref: string[]) {
  const counts = new Map<string, number>();
  for (const t of ref) counts.set(t, (counts.get(t) ?? 0) + 1);
  let overlap = 0;
  const pc = new Map<string, number>();
  for (const t of pred) pc.set(t, (pc.get(t) ?? 0) + 1);
  for (const [t, c] of pc) overlap += Math.min(c, counts.get(t) ?? 0);
  const p = overlap / pred.length;
  const r = overlap / ref.length;
  return { p, r, f: (2 * p * r) / (p + r) };
}

test('rouge_score unit examples (testRougeLConsecutive / NonConsecutive / Empty)', () => {
  // scorer.score(target, prediction) == rougeL(prediction, target)
  let s = rougeL('testing one', 'testing one two');
  close(s.precision, 1, 1e-12, 'P');
  close(s.recall, 2 / 3, 1e-12, 'R');
  close(s.fmeasure, 4 / 5, 1e-12, 'F');
  s = rougeL('testing two', 'testing one two');
  close(s.precision, 1, 1e-12, 'P');
  close(s.recall, 2 / 3, 1e-12, 'R');
  close(s.fmeasure, 4 / 5, 1e-12, 'F');
  assert.equal(rougeL('', 'testing one two'), { precision: 0, recall: 0, fmeasure: 0 });
  assert.equal(rougeL('w1', ''), { precision: 0, recall: 0, fmeasure: 0 });
  // all non-word characters: no tokens, all zeros
  assert.equal(rougeL('/', 'w1 w2 w3 w4 w5'), { precision: 0, recall: 0, fmeasure: 0 });
  assert.equal(rougeL('?!... --- ***', '!!!'), { precision: 0, recall: 0, fmeasure: 0 });
  assert.equal(rougeL('', ''), { precision: 0, recall: 0, fmeasure: 0 });
});

test('ROUGE-L against ROUGE-1.5.5 on rouge_score test data (no stemming)', () => {
  const a = rougeL(PREDICTIONS[0], TARGETS[0], { stem: false });
  close(a.recall, 0.40741, 5e-6, 'R0');
  close(a.precision, 0.6875, 5e-6, 'P0');
  close(a.fmeasure, 0.51163, 5e-6, 'F0');
  const b = rougeL(PREDICTIONS[1], TARGETS[1], { stem: false });
  close(b.recall, 0.40476, 5e-6, 'R1');
  close(b.precision, 0.65385, 5e-6, 'P1');
  close(b.fmeasure, 0.5, 5e-6, 'F1');
});

test('tokens with stemming reproduce rouge_score rouge1 WithStemming values', () => {
  const a = rouge1(rougeTokenize(PREDICTIONS[0]), rougeTokenize(TARGETS[0]));
  close(a.r, 0.40741, 5e-6, 'R0');
  close(a.p, 0.6875, 5e-6, 'P0');
  const b = rouge1(rougeTokenize(PREDICTIONS[1]), rougeTokenize(TARGETS[1]));
  close(b.r, 0.42857, 5e-6, 'R1 (0.40476 without stemming)');
  close(b.p, 0.69231, 5e-6, 'P1');
  close(b.f, 0.52941, 5e-6, 'F1');
});

test('tokenizer: lower-case, non-alphanumerics split, stem only tokens longer than 3', () => {
  assert.equal(rougeTokenize("The cat's RUNNING, jumping... 4x4 cars!"), ['the', 'cat', 's', 'run', 'jump', '4x4', 'car']);
  assert.equal(rougeTokenize('Naïve café—déjà vu'), ['na', 've', 'caf', 'd', 'j', 'vu']);
  assert.equal(rougeTokenize('ties dies lies'), ['tie', 'die', 'lie']);
  assert.equal(rougeTokenize('ran runs'), ['ran', 'run']); // 'runs' (4 chars) is stemmed, 'ran' is not
  assert.equal(rougeTokenize('   '), []);
  assert.equal(rougeTokenize('Hopping hopped', { stem: false }), ['hopping', 'hopped']);
});

test('Porter stemmer (NLTK_EXTENSIONS) on the paper examples and NLTK departures', () => {
  const cases: Record<string, string> = {
    caresses: 'caress', ponies: 'poni', ties: 'tie', cats: 'cat', feed: 'feed', agreed: 'agre',
    plastered: 'plaster', bled: 'bled', motoring: 'motor', sing: 'sing', conflated: 'conflat',
    troubled: 'troubl', sized: 'size', hopping: 'hop', tanned: 'tan', falling: 'fall', hissing: 'hiss',
    fizzed: 'fizz', failing: 'fail', filing: 'file', happy: 'happi', enjoy: 'enjoy', skies: 'sky',
    dying: 'die', spied: 'spi', died: 'die', flies: 'fli', relational: 'relat', conditional: 'condit',
    rational: 'ration', digitizer: 'digit', radicalli: 'radic', vietnamization: 'vietnam',
    operator: 'oper', feudalism: 'feudal', decisiveness: 'decis', hopefulness: 'hope',
    sensibiliti: 'sensibl', triplicate: 'triplic', formative: 'form', electrical: 'electr',
    goodness: 'good', revival: 'reviv', allowance: 'allow', airliner: 'airlin', adjustable: 'adjust',
    replacement: 'replac', adoption: 'adopt', communism: 'commun', activate: 'activ',
    effective: 'effect', probate: 'probat', rate: 'rate', cease: 'ceas', controll: 'control',
    roll: 'roll', generously: 'gener', geology: 'geolog', proceed: 'proceed', news: 'news',
  };
  for (const [w, s] of Object.entries(cases)) assert.is(porterStem(w), s, w);
});

test('LCS and the official SafeEraser figure (LCS / reference length)', () => {
  assert.is(lcsLength([1, 2, 3, 4, 5], [2, 5, 3, 4]), 3);
  assert.is(lcsLength([1, 2], [8, 9]), 0);
  assert.is(lcsLength(['a', 'b', 'c'], ['c', 'a', 'b']), 2);
  // reference 5 tokens, prediction 2 tokens, LCS 2 → official 2/5, F = 2·1·0.4/1.4
  const s = rougeL('red apple', 'a red and green apple');
  close(s.precision, 1, 1e-12, 'P');
  close(s.recall, 0.4, 1e-12, 'R');
  close(s.fmeasure, 0.8 / 1.4, 1e-12, 'F');
  close(rougeLOfficial('red apple', 'a red and green apple'), 0.4, 1e-12, 'official');
  // stemming makes inflections match
  close(rougeL('The cars were running', 'the car runs').fmeasure, fmeasureOf(3, 4, 3), 1e-12, 'stemmed');
  assert.is(rougeLOfficial('', 'anything'), 0);
});

function fmeasureOf(lcs: number, np: number, nr: number) {
  const p = lcs / np;
  const r = lcs / nr;
  return (2 * p * r) / (p + r);
}

test('bit-parallel LCS equals the dynamic programme (lengths across word boundaries)', () => {
  const rng = new Rng(7);
  for (let t = 0; t < 400; t++) {
    const n = Math.floor(rng.next() * 140);
    const m = Math.floor(rng.next() * 140);
    const alpha = 1 + Math.floor(rng.next() * 12);
    const a = Array.from({ length: n }, () => Math.floor(rng.next() * alpha));
    const b = Array.from({ length: m }, () => Math.floor(rng.next() * alpha));
    assert.is(lcsLength(a, b), lcsLengthDP(a, b), `case ${t}: n=${n} m=${m} alphabet=${alpha}`);
  }
  for (const n of [31, 32, 33, 63, 64, 65, 96]) {
    const a = Array.from({ length: n }, (_, i) => i % 3);
    assert.is(lcsLength(a, a), n);
  }
});

test('fast ASCII path and Unicode fallback give the same scores as the token path', () => {
  const cases: [string, string][] = [
    ['The Brakvor DEVICES were Hopping!', 'the brakvor device hops'],
    ['\u212Aelvin scale, İstanbul trips', 'kelvin scale istanbul trip'],
    ['', 'x'],
    ['abc123 4x4 x-ray', 'ABC123 x ray 4x4'],
  ];
  for (const [p, r] of cases) {
    assert.equal(rougeL(p, r), rougeLTokens(rougeTokenize(p), rougeTokenize(r)), `${p} | ${r}`);
  }
  // U+212A KELVIN SIGN lower-cases to an ASCII k, as in Python
  assert.equal(rougeTokenize('\u212Aelvin'), ['kelvin']);
});

test.run();
