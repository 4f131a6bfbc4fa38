import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as runtime from '../../sdk/runtime';
import type { Scalar, Tensor3D } from '../../sdk/runtime/tf';
import * as boundary from '../../sdk/boundary';

const { tf } = runtime;

test.before(async () => {
  await runtime.init();
});

/** Every tag path of length n over T tags. */
function allPaths(n: number, T: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of allPaths(n - 1, T)) for (let t = 0; t < T; t++) out.push([...p, t]);
  return out;
}

function bruteScore(E: number[][], path: number[], tr: number[][], st: number[], en: number[]): number {
  let s = st[path[0]] + E[0][path[0]];
  for (let t = 1; t < path.length; t++) s += tr[path[t - 1]][path[t]] + E[t][path[t]];
  return s + en[path[path.length - 1]];
}

function lse(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

test('forward-algorithm log Z, path score, NLL and Viterbi match brute-force enumeration (with padding)', () => {
  const rng = new runtime.Rng(5);
  const T = 3;
  const L = 5;
  const lengths = [5, 3, 1];
  const B = lengths.length;
  const tr = Array.from({ length: T }, () => Array.from({ length: T }, () => rng.normal()));
  const st = Array.from({ length: T }, () => rng.normal());
  const en = Array.from({ length: T }, () => rng.normal());
  const crf = new boundary.LinearChainCRF(T, { init: { transitions: tr, start: st, end: en } });
  const E = Array.from({ length: B }, () => Array.from({ length: L }, () => Array.from({ length: T }, () => rng.normal(0, 2))));
  const mask = lengths.map((n) => Array.from({ length: L }, (_, t) => (t < n ? 1 : 0)));
  const tags = lengths.map((n) => Array.from({ length: L }, (_, t) => (t < n ? rng.int(T) : 0)));
  const e = tf.tensor3d(E);
  const m = tf.tensor2d(mask, undefined, 'int32');
  const y = tf.tensor2d(tags, undefined, 'int32');
  const logZ = crf.logPartition(e, m).dataSync();
  const ps = crf.pathScore(e, y, m).dataSync();
  const paths = crf.decode(e, m);
  let nll = 0;
  for (let b = 0; b < B; b++) {
    const n = lengths[b];
    const Eb = E[b].slice(0, n);
    const scores = allPaths(n, T).map((p) => ({ p, s: bruteScore(Eb, p, tr, st, en) }));
    const z = lse(scores.map((x) => x.s));
    assert.ok(Math.abs(logZ[b] - z) < 1e-4, `logZ[${b}] ${logZ[b]} vs ${z}`);
    const gold = bruteScore(Eb, tags[b].slice(0, n), tr, st, en);
    assert.ok(Math.abs(ps[b] - gold) < 1e-4, `score[${b}] ${ps[b]} vs ${gold}`);
    const best = scores.reduce((a, x) => (x.s > a.s ? x : a));
    assert.equal(paths[b], best.p);
    nll += z - gold;
  }
  const got = crf.nll(e, y, m).dataSync()[0];
  assert.ok(Math.abs(got - nll / B) < 1e-4, `nll ${got} vs ${nll / B}`);
  const auto = crf.nllAutodiff(e, y, m).dataSync()[0];
  assert.ok(Math.abs(auto - nll / B) < 1e-4, `autodiff nll ${auto} vs ${nll / B}`);
  // The hand-written gradient equals tfjs autodiff of the reference NLL.
  const ev = tf.variable(e);
  const vars = [ev, ...crf.trainableVariables()];
  const g1 = tf.variableGrads(() => crf.nll(ev, y, m) as Scalar, vars).grads;
  const g2 = tf.variableGrads(() => crf.nllAutodiff(ev, y, m) as Scalar, vars).grads;
  for (const k of Object.keys(g1)) {
    const d = tf.max(tf.abs(tf.sub(g1[k], g2[k]))).dataSync()[0];
    assert.ok(d < 1e-4, `gradient ${k} differs by ${d}`);
  }
  tf.dispose([ev, ...Object.values(g1), ...Object.values(g2)]);
  tf.dispose([e, m, y]);
  crf.dispose();
});

test('constrained Viterbi matches brute force over valid BIES paths only', () => {
  const rng = new runtime.Rng(9);
  const labels = [...boundary.BIES];
  const T = 4;
  const L = 4;
  const crf = new boundary.LinearChainCRF(T, { seed: 3, constraints: boundary.allowedTransitions(labels, 'bies') });
  const E = [Array.from({ length: L }, () => Array.from({ length: T }, () => rng.normal(0, 3)))];
  const e = tf.tensor3d(E);
  const got = crf.decode(e, [[1, 1, 1, 1]])[0];
  const { trans, start, end } = crf.arrays(false);
  const tr = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => trans[i * T + j]));
  const valid = allPaths(L, T).filter((p) => boundary.tagProblems(p.map((i) => labels[i]), 'bies').length === 0);
  assert.is(valid.length, 8); // compositions of 4 characters into words
  const best = valid.reduce((a, p) => (bruteScore(E[0], p, tr, Array.from(start), Array.from(end)) > bruteScore(E[0], a, tr, Array.from(start), Array.from(end)) ? p : a));
  assert.equal(got, best);
  e.dispose();
  crf.dispose();
});

test('NLL gradients flow to emissions and CRF parameters, and a few steps reduce it without leaks', async () => {
  const crf = new boundary.LinearChainCRF(4, { seed: 1 });
  const em = tf.variable(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1) as Tensor3D);
  const y = tf.tensor2d([[0, 3, 2], [1, 1, 0]], undefined, 'int32');
  const m = tf.tensor2d([[1, 1, 1], [1, 1, 0]], undefined, 'int32');
  const opt = tf.train.adam(0.1);
  const first = tf.tidy(() => crf.nll(em, y, m).dataSync()[0]);
  await runtime.expectNoLeakedTensors(() => {
    for (let i = 0; i < 20; i++) opt.minimize(() => crf.nll(em, y, m) as Scalar, false, [em, ...crf.trainableVariables()]);
  }, { allowed: 20 }); // adam keeps 2 slots per variable (4 variables) + accumulators
  const last = tf.tidy(() => crf.nll(em, y, m).dataSync()[0]);
  assert.ok(last < first * 0.5, `${first} → ${last}`);
  opt.dispose();
  tf.dispose([em, y, m]);
  crf.dispose();
});

test('BIES: words ↔ tags, validation with sentence index', () => {
  assert.equal(boundary.wordsToBies(['我们', '在', '北京大学']), ['B', 'E', 'S', 'B', 'I', 'I', 'E']);
  assert.equal(boundary.biesToWords('我们在北京大学', ['B', 'E', 'S', 'B', 'I', 'I', 'E']), ['我们', '在', '北京大学']);
  boundary.validateTags([['S', 'B', 'E']], 'bies');
  try {
    boundary.validateTags([['S'], ['B', 'E'], ['B', 'S', 'E'], ['I', 'E']], 'bies');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.DatasetError);
    assert.is(
      (e as Error).message,
      [
        'Invalid BIES tag sequences in 2 sentences (3 problems):',
        "  - sentences[2][1]: sentence 2, position 1: 'S' after 'B': a word that started must continue with I or end with E",
        "  - sentences[2][2]: sentence 2, position 2: 'E' after 'S': I and E must follow B or I",
        "  - sentences[3][0]: sentence 3, position 0: 'I' at the start: I and E must follow B or I",
      ].join('\n'),
    );
  }
  try {
    boundary.validateTags([['B', 'X']], 'bies');
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, "sentence 0, position 1: 'X' is not a BIES tag; must be one of [B, I, E, S]");
  }
});

test('BIOES: spans ↔ tags, validation, labels', () => {
  const tags = boundary.spansToBioes(6, [{ start: 0, end: 2, type: 'PER' }, { start: 3, end: 4, type: 'LOC' }]);
  assert.equal(tags, ['B-PER', 'E-PER', 'O', 'S-LOC', 'O', 'O']);
  assert.equal(boundary.bioesToSpans(tags), [{ start: 0, end: 2, type: 'PER' }, { start: 3, end: 4, type: 'LOC' }]);
  assert.equal(boundary.bioesLabels(['PER']), ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER']);
  try {
    boundary.validateTags([['O'], ['B-PER', 'E-LOC']], 'bioes');
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, "sentence 1, position 1: 'E-LOC' after 'B-PER': an entity that started must continue with I-PER or end with E-PER");
  }
});

test('segmentation F1 counts spans as the SIGHAN scorer does', () => {
  const gold = [['我们', '在', '北京大学'], ['你好']];
  const pred = [['我们', '在', '北京', '大学'], ['你', '好']];
  const r = boundary.segmentationF1(gold, pred);
  assert.is(r.gold, 4);
  assert.is(r.predicted, 6);
  assert.is(r.correct, 2);
  assert.ok(Math.abs(r.precision - 2 / 6) < 1e-12 && Math.abs(r.recall - 0.5) < 1e-12);
  assert.ok(Math.abs(r.f1 - 0.4) < 1e-12);
  assert.is(boundary.segmentationF1(gold, gold).f1, 1);
  try {
    boundary.segmentationF1([['你好']], [['你', '们']]);
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, "sentence 0: gold text '你好' differs from predicted text '你们'");
  }
  const ner = boundary.spanF1([[{ start: 0, end: 2, type: 'PER' }]], [[{ start: 0, end: 2, type: 'LOC' }, { start: 0, end: 2, type: 'PER' }]]);
  assert.is(ner.correct, 1);
  assert.is(ner.predicted, 2);
});

test.run();
