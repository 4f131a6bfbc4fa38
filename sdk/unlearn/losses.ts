/**
 * Loss primitives of SafeEraser's unlearning methods, over logits + labels with Hugging Face
 * semantics: `labels` are aligned with `input_ids` (the shift happens here: logits at position t
 * predict the label at t+1) and −100 marks positions that carry no loss (prompt, image, padding).
 *
 * The formulas follow the official training loop (yuu250/SafeEraser, forget.py and
 * data_module.py):
 * - ga / gd / pd terms use `model(**inputs).loss`, i.e. the mean token cross-entropy over the
 *   answer tokens of the whole micro-batch            → `answerNll`
 * - idk (po) concatenates the forget batch (answers replaced by a refusal) and the retain batch
 *   into one batch and takes its `.loss`: one token-weighted mean over both  → `pooledNll`
 * - kl uses `F.kl_div(log p_θ, log p_ref, reduction='batchmean', log_target=True)` on the
 *   logits flattened to [batch·seq, vocab]: Σ p_ref (log p_ref − log p_θ) over every position and
 *   vocabulary entry, divided by batch·seq (all positions, padding included)  → `klToReference`
 * - NPO (Zhang et al. 2024, beyond the paper): −(2/β)·mean_i log σ(−β (log π_θ(y_i|x_i) −
 *   log π_ref(y_i|x_i))) with sequence log-probabilities summed over answer tokens → `npoLoss`
 */
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '../runtime/tf';
import { IGNORE_INDEX } from '../model/processor';
import { answerNll as modelAnswerNll, answerPositions, gatherRows, labelsToArray, tokenNll } from '../model/layers';

/** The label of positions that carry no loss (prompt, image, padding): model/processor's. */
export { IGNORE_INDEX };

export type Labels = number[][] | Tensor2D;

/** The labels as arrays, checked against the logits' [B, T] (RangeError naming both shapes). */
function checkedLabels(logits: Tensor3D, labels: Labels): number[][] {
  const [b, t, v] = logits.shape;
  const arr = labelsToArray(labels);
  const shape = Array.isArray(labels) ? [arr.length, ...(arr.length && arr.every((r) => r.length === arr[0].length) ? [arr[0].length] : [])] : labels.shape;
  if (arr.length !== b || arr.some((r) => r.length !== t)) {
    throw new RangeError(`labels shape [${shape}] does not match logits [${b}, ${t}, ${v}]`);
  }
  return arr;
}

/**
 * The answer tokens' negative log-likelihoods [N] (only those rows of the logits go through the
 * log-softmax; nothing is one-hot over the vocabulary) and the sequence of each; `nll` is null
 * when the batch has no answer token.
 */
function answerTokens(logits: Tensor3D, labels: Labels): { nll: Tensor1D | null; seq: number[]; rows: number[] } {
  const [B, T, V] = logits.shape;
  const { rows, targets, seq } = answerPositions(B, T, V, checkedLabels(logits, labels));
  return { nll: rows.length ? tokenNll(logits, rows, targets) : null, seq, rows };
}

/** Σ over each sequence's answer tokens of `x` [N] → [B] (a [B, N] 0/1 matmul: UnsortedSegmentSum is missing on WASM). */
function sumPerSequence(x: Tensor1D, seq: number[], B: number): Tensor1D {
  const w = new Float32Array(B * seq.length);
  seq.forEach((b, i) => (w[b * seq.length + i] = 1));
  return tf.reshape(tf.matMul(tf.tensor2d(w, [B, seq.length]), tf.reshape(x, [-1, 1])), [B]) as Tensor1D;
}

/**
 * Shifted per-token log-probabilities of the labels and the mask of positions that count.
 * Returns `logp` [B, T−1] (0 where masked) and `mask` [B, T−1] (float 0/1). Only the answer
 * rows' log-softmax is computed (gathered, not one-hot over the vocabulary).
 */
export function tokenLogProbs(logits: Tensor3D, labels: Labels): { logp: Tensor2D; mask: Tensor2D } {
  return tf.tidy(() => {
    const [b, t] = logits.shape;
    const { nll, rows } = answerTokens(logits, labels);
    const index = new Int32Array(b * (t - 1));
    const mask = new Float32Array(b * (t - 1));
    rows.forEach((r, i) => {
      const k = Math.floor(r / t) * (t - 1) + (r % t);
      index[k] = i + 1;
      mask[k] = 1;
    });
    // no answer token: zeros, still connected to the logits (so gradients are zeros, not an error)
    const values = nll ? tf.concat([tf.zeros([1]), tf.neg(nll)]) : tf.mul(tf.sum(logits), 0).reshape([1]);
    const logp = tf.reshape(gatherRows(values, index), [b, t - 1]) as Tensor2D;
    return { logp, mask: tf.tensor2d(mask, [b, t - 1]) };
  });
}

/** Mean token cross-entropy over answer positions (label ≠ −100): HF's `outputs.loss` (model/layers' `answerNll`). */
export function answerNll(logits: Tensor3D, labels: Labels): Scalar {
  return modelAnswerNll(logits, checkedLabels(logits, labels));
}

/**
 * One mean token cross-entropy over several batches pooled together, as if they had been
 * concatenated along the batch axis (the official `idk` loss concatenates forget and retain).
 */
export function pooledNll(parts: Array<{ logits: Tensor3D; labels: Labels }>): Scalar {
  return tf.tidy(() => {
    let sum: Tensor = tf.scalar(0);
    let count = 0;
    for (const p of parts) {
      const { nll, rows } = answerTokens(p.logits, p.labels);
      sum = tf.add(sum, nll ? tf.sum(nll) : tf.mul(tf.sum(p.logits), 0));
      count += rows.length;
    }
    return tf.div(sum, Math.max(count, 1)) as Scalar;
  });
}

/** Per-sequence log-probability of the answer: Σ over answer tokens of log p(y_t). [B] */
export function sequenceLogProbs(logits: Tensor3D, labels: Labels): Tensor1D {
  return tf.tidy(() => {
    const B = logits.shape[0];
    const { nll, seq } = answerTokens(logits, labels);
    if (!nll) return tf.mul(tf.sum(logits, [1, 2]), 0) as Tensor1D;
    return tf.neg(sumPerSequence(nll, seq, B)) as Tensor1D;
  });
}

/**
 * KL(p_ref ‖ p_θ) over all positions, batch mean as the official code computes it:
 * Σ_{b,t,v} p_ref (log p_ref − log p_θ) / (B·T).
 */
export function klToReference(refLogits: Tensor3D, logits: Tensor3D): Scalar {
  return tf.tidy(() => {
    const [b, t] = logits.shape;
    if (refLogits.shape.join() !== logits.shape.join()) {
      throw new RangeError(`reference logits [${refLogits.shape}] and logits [${logits.shape}] differ in shape`);
    }
    const lr = tf.logSoftmax(refLogits, -1);
    const lc = tf.logSoftmax(logits, -1);
    return lr.exp().mul(lr.sub(lc)).sum().div(b * t) as Scalar;
  });
}

/**
 * NPO loss: −(2/β)·mean_i log σ(−β·(logp_θ,i − logp_ref,i)). `logpTheta` and `logpRef` are the
 * per-sequence answer log-probabilities ([B]); the reference is computed once per batch from the
 * frozen starting model.
 */
export function npoLoss(logpTheta: Tensor1D, logpRef: Tensor1D, beta = 0.1): Scalar {
  return tf.tidy(() => {
    const ratio = logpTheta.sub(logpRef).mul(-beta);
    // log σ(z) = −softplus(−z); tf.logSigmoid's custom gradient loses its saved input inside
    // tf.tidy under a gradient tape, so it is written with softplus, whose kernel gradient keeps it.
    const logSig = tf.softplus(ratio.neg()).neg();
    return logSig.mean().mul(-2 / beta) as Scalar;
  });
}
