// The unlearning losses gather the answer rows' log-probabilities (model/layers' tokenNll) instead
// of a one-hot over the whole [B, T, V] logits. The earlier one-hot implementation is kept below,
// verbatim, as the reference: values and gradients must agree on fixtures of the shapes training
// uses (several label patterns, a batch without answer tokens, large logits).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, unlearn, model } from '../../sdk';
import { Rng } from '../../sdk/runtime/rng';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '../../sdk/runtime/tf';

const tf = runtime.tf;
type Labels = number[][];

// --- reference: sdk/unlearn/losses.ts before the change ----------------------------------------
function refTokenLogProbs(logits: Tensor3D, labels: Labels): { logp: Tensor2D; mask: Tensor2D } {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const lab = tf.tensor2d(labels, undefined, 'int32');
    const pred = logits.slice([0, 0, 0], [b, t - 1, v]);
    const target = lab.slice([0, 1], [b, t - 1]);
    const mask = target.notEqual(tf.scalar(-100, 'int32')).toFloat() as Tensor2D;
    const safe = tf.where(mask.cast('bool'), target, tf.zerosLike(target)) as Tensor2D;
    const logSm = tf.logSoftmax(pred, -1);
    const picked = logSm.mul(tf.oneHot(safe.cast('int32'), v)).sum(-1) as Tensor2D;
    return { logp: picked.mul(mask) as Tensor2D, mask };
  });
}
function refAnswerNll(logits: Tensor3D, labels: Labels): Scalar {
  return tf.tidy(() => {
    const { logp, mask } = refTokenLogProbs(logits, labels);
    return logp.sum().neg().div(tf.maximum(mask.sum(), 1)) as Scalar;
  });
}
function refPooledNll(parts: Array<{ logits: Tensor3D; labels: Labels }>): Scalar {
  return tf.tidy(() => {
    let sum: Tensor = tf.scalar(0);
    let count: Tensor = tf.scalar(0);
    for (const p of parts) {
      const { logp, mask } = refTokenLogProbs(p.logits, p.labels);
      sum = sum.add(logp.sum().neg());
      count = count.add(mask.sum());
    }
    return sum.div(tf.maximum(count, 1)) as Scalar;
  });
}
function refSequenceLogProbs(logits: Tensor3D, labels: Labels): Tensor1D {
  return tf.tidy(() => refTokenLogProbs(logits, labels).logp.sum(-1) as Tensor1D);
}

// --- fixtures --------------------------------------------------------------------------------

function logitsOf(B: number, T: number, V: number, seed: number, scale: number): Tensor3D {
  const rng = new Rng(seed);
  const a = new Float32Array(B * T * V);
  for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return tf.tensor3d(a, [B, T, V]);
}
/** Prompt positions −100, then an answer of random length, then padding −100 (as the processor labels). */
function labelsOf(B: number, T: number, V: number, seed: number, answers = true): Labels {
  const rng = new Rng(seed);
  return Array.from({ length: B }, () => {
    const start = 1 + Math.floor(rng.next() * (T / 2));
    const len = answers ? 1 + Math.floor(rng.next() * (T - start - 1)) : 0;
    return Array.from({ length: T }, (_, t) => (t >= start && t < start + len ? Math.floor(rng.next() * V) : -100));
  });
}

const CASES = [
  { B: 2, T: 5, V: 6, scale: 2 },
  { B: 4, T: 24, V: 97, scale: 4 },
  { B: 3, T: 40, V: 211, scale: 12 },
];

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tol = 2e-5): void {
  assert.is(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

test.before(async () => {
  await runtime.init();
});

test('values: answerNll, pooledNll, sequenceLogProbs and tokenLogProbs equal the one-hot reference', () => {
  for (const [k, c] of CASES.entries()) {
    const logits = logitsOf(c.B, c.T, c.V, 10 + k, c.scale);
    const other = logitsOf(c.B, c.T, c.V, 20 + k, c.scale);
    const labels = labelsOf(c.B, c.T, c.V, 30 + k);
    const none = labelsOf(c.B, c.T, c.V, 40 + k, false);
    const name = `B${c.B} T${c.T} V${c.V}`;
    for (const [lab, tag] of [[labels, 'answers'], [none, 'no answer']] as const) {
      close(unlearn.answerNll(logits, lab as Labels).dataSync(), refAnswerNll(logits, lab as Labels).dataSync(), `${name} ${tag} answerNll`);
      close(unlearn.sequenceLogProbs(logits, lab as Labels).dataSync(), refSequenceLogProbs(logits, lab as Labels).dataSync(), `${name} ${tag} sequenceLogProbs`);
      const a = unlearn.tokenLogProbs(logits, lab as Labels);
      const r = refTokenLogProbs(logits, lab as Labels);
      close(a.logp.dataSync(), r.logp.dataSync(), `${name} ${tag} logp`);
      assert.equal(Array.from(a.mask.dataSync()), Array.from(r.mask.dataSync()), `${name} ${tag} mask`);
      assert.equal(a.logp.shape, r.logp.shape);
      tf.dispose([a.logp, a.mask, r.logp, r.mask]);
    }
    close(
      unlearn.pooledNll([{ logits, labels }, { logits: other, labels: none }]).dataSync(),
      refPooledNll([{ logits, labels }, { logits: other, labels: none }]).dataSync(),
      `${name} pooledNll`,
    );
    // model/layers' answerNll is the same function
    close(model.answerNll(logits, labels).dataSync(), unlearn.answerNll(logits, labels).dataSync(), `${name} model.answerNll`, 0);
    tf.dispose([logits, other]);
  }
});

test('gradients with respect to the logits equal the reference (GA, PO pooled, NPO sequence terms)', () => {
  for (const [k, c] of CASES.entries()) {
    const logits = logitsOf(c.B, c.T, c.V, 50 + k, c.scale);
    const ref = logitsOf(c.B, c.T, c.V, 60 + k, c.scale);
    const labels = labelsOf(c.B, c.T, c.V, 70 + k);
    const none = labelsOf(c.B, c.T, c.V, 80 + k, false);
    const name = `B${c.B} T${c.T} V${c.V}`;
    const pairs: Array<[string, (x: Tensor3D) => Scalar, (x: Tensor3D) => Scalar]> = [
      ['answerNll', (x) => unlearn.answerNll(x, labels), (x) => refAnswerNll(x, labels)],
      ['answerNll (no answer)', (x) => unlearn.answerNll(x, none), (x) => refAnswerNll(x, none)],
      ['pooledNll', (x) => unlearn.pooledNll([{ logits: x, labels }, { logits: ref, labels: none }]), (x) => refPooledNll([{ logits: x, labels }, { logits: ref, labels: none }])],
      [
        'npoLoss',
        (x) => unlearn.npoLoss(unlearn.sequenceLogProbs(x, labels), unlearn.sequenceLogProbs(ref, labels), 0.1),
        (x) => unlearn.npoLoss(refSequenceLogProbs(x, labels), refSequenceLogProbs(ref, labels), 0.1),
      ],
      ['tokenLogProbs', (x) => unlearn.tokenLogProbs(x, labels).logp.sum() as Scalar, (x) => refTokenLogProbs(x, labels).logp.sum() as Scalar],
    ];
    for (const [what, f, g] of pairs) {
      const ga = tf.grad(f as (x: Tensor) => Tensor)(logits);
      const gb = tf.grad(g as (x: Tensor) => Tensor)(logits);
      close(ga.dataSync(), gb.dataSync(), `${name} ∂${what}`, 1e-4);
      tf.dispose([ga, gb]);
    }
    tf.dispose([logits, ref]);
  }
});

test('no tensors leak; bad labels are refused with their shape or position', () => {
  const logits = logitsOf(2, 6, 9, 1, 3);
  const labels = labelsOf(2, 6, 9, 2);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const t = unlearn.tokenLogProbs(logits, labels);
    tf.dispose([unlearn.answerNll(logits, labels), unlearn.pooledNll([{ logits, labels }]), unlearn.sequenceLogProbs(logits, labels), t.logp, t.mask]);
    tf.dispose(tf.grad((x: Tensor) => unlearn.pooledNll([{ logits: x as Tensor3D, labels }]))(logits));
  }
  assert.is(tf.memory().numTensors, before);
  assert.throws(() => unlearn.sequenceLogProbs(logits, [[1, 2]]), /labels shape \[1,2\] does not match logits \[2, 6, 9\]/);
  assert.throws(() => unlearn.answerNll(logits, [[-100, 9, -100, -100, -100, -100], labels[1]]), /labels\[0\]\[1\] = 9 is not a token id in \[0, 9\)/);
  logits.dispose();
});

test.run();
