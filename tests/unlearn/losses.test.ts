import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, unlearn } from '../../sdk';

const tf = runtime.tf;
const B = 2;
const T = 5;
const V = 6;

// Reference values computed with PyTorch 2 (F.cross_entropy ignore_index=-100,
// F.kl_div(log p_θ, log p_ref, reduction='batchmean', log_target=True) on [B·T, V], float64)
// on exactly these inputs; the script is in the comment of each expected value.
function mk(f: (b: number, t: number, v: number) => number) {
  const a: number[][][] = [];
  for (let b = 0; b < B; b++) {
    a.push([]);
    for (let t = 0; t < T; t++) {
      a[b].push([]);
      for (let v = 0; v < V; v++) a[b][t].push(f(b, t, v));
    }
  }
  return tf.tensor3d(a);
}
const labels = [
  [-100, -100, 2, 3, -100],
  [-100, 1, 4, 5, 0],
];

test.before(async () => {
  await runtime.init();
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('answer NLL matches HF loss (shifted, -100 ignored)', () => {
  const logits = mk((b, t, v) => 2 * Math.sin(1 + b * 7 + t * 3 + v * 0.5));
  close(unlearn.answerNll(logits, labels).dataSync()[0], 2.531435772833238);
  logits.dispose();
});

test('sequence log-probs, KL batchmean and NPO match PyTorch', () => {
  const logits = mk((b, t, v) => 2 * Math.sin(1 + b * 7 + t * 3 + v * 0.5));
  const ref = mk((b, t, v) => 1.5 * Math.cos(2 + b * 5 + t * 2 + v * 0.7));
  const seq = unlearn.sequenceLogProbs(logits, labels).arraySync();
  close(seq[0], -4.613430476291766);
  close(seq[1], -10.575184160707662);
  close(unlearn.klToReference(ref, logits).dataSync()[0], 0.7672261086699412);
  const n = tf.tidy(() => unlearn.npoLoss(unlearn.sequenceLogProbs(logits, labels), unlearn.sequenceLogProbs(ref, labels), 0.1).dataSync()[0]);
  close(n, 11.9501066426968, 1e-4);
  // pooled NLL = one mean over the concatenated batch (the official idk loss)
  close(unlearn.pooledNll([{ logits, labels }, { logits: ref, labels }]).dataSync()[0], 2.178108971885807);
  tf.dispose([logits, ref]);
});

test('KL of a model to itself is 0; NPO at the reference is 2/β·log 2', () => {
  const logits = mk((b, t, v) => Math.sin(b + t + v));
  close(unlearn.klToReference(logits, logits).dataSync()[0], 0, 1e-6);
  const s = unlearn.sequenceLogProbs(logits, labels);
  close(unlearn.npoLoss(s, s, 0.1).dataSync()[0], 20 * Math.log(2), 1e-5);
  tf.dispose([logits, s]);
});

test('loss primitives leak no tensors', async () => {
  const logits = mk((b, t, v) => Math.sin(b * t + v));
  await runtime.expectNoLeakedTensors(() => {
    for (let i = 0; i < 3; i++) {
      tf.dispose([unlearn.answerNll(logits, labels), unlearn.klToReference(logits, logits), unlearn.sequenceLogProbs(logits, labels)]);
    }
  });
  logits.dispose();
});

test('labels of the wrong shape are refused', () => {
  const logits = mk(() => 0);
  assert.throws(() => unlearn.answerNll(logits, [[1, 2, 3]]), /labels shape \[1,3\] does not match logits \[2, 5, 6\]/);
  logits.dispose();
});

test.run();
