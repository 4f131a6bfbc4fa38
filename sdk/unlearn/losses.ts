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
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '../model/tftypes';

export const IGNORE_INDEX = -100;

export type Labels = number[][] | Tensor2D;

function labelsTensor(labels: Labels): Tensor2D {
  return (Array.isArray(labels) ? tf.tensor2d(labels, undefined, 'int32') : labels) as Tensor2D;
}

/**
 * Shifted per-token log-probabilities of the labels and the mask of positions that count.
 * Returns `logp` [B, T−1] (0 where masked) and `mask` [B, T−1] (float 0/1).
 */
export function tokenLogProbs(logits: Tensor3D, labels: Labels): { logp: Tensor2D; mask: Tensor2D } {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape;
    const lab = labelsTensor(labels);
    if (lab.shape[0] !== b || lab.shape[1] !== t) {
      throw new RangeError(`labels shape [${lab.shape}] does not match logits [${b}, ${t}, ${v}]`);
    }
    const pred = logits.slice([0, 0, 0], [b, t - 1, v]);
    const target = lab.slice([0, 1], [b, t - 1]);
    const mask = target.notEqual(tf.scalar(IGNORE_INDEX, 'int32')).toFloat() as Tensor2D;
    const safe = tf.where(mask.cast('bool'), target, tf.zerosLike(target)) as Tensor2D;
    const logSm = tf.logSoftmax(pred, -1);
    // one-hot · log-softmax: differentiable and exact; the vocabulary dimension is already
    // materialised by the log-softmax.
    const picked = logSm.mul(tf.oneHot(safe.cast('int32'), v)).sum(-1) as Tensor2D;
    return { logp: picked.mul(mask) as Tensor2D, mask };
  });
}

/** Mean token cross-entropy over answer positions (label ≠ −100): HF's `outputs.loss`. */
export function answerNll(logits: Tensor3D, labels: Labels): Scalar {
  return tf.tidy(() => {
    const { logp, mask } = tokenLogProbs(logits, labels);
    return logp.sum().neg().div(tf.maximum(mask.sum(), 1)) as Scalar;
  });
}

/**
 * One mean token cross-entropy over several batches pooled together, as if they had been
 * concatenated along the batch axis (the official `idk` loss concatenates forget and retain).
 */
export function pooledNll(parts: Array<{ logits: Tensor3D; labels: Labels }>): Scalar {
  return tf.tidy(() => {
    let sum: Tensor = tf.scalar(0);
    let count: Tensor = tf.scalar(0);
    for (const p of parts) {
      const { logp, mask } = tokenLogProbs(p.logits, p.labels);
      sum = sum.add(logp.sum().neg());
      count = count.add(mask.sum());
    }
    return sum.div(tf.maximum(count, 1)) as Scalar;
  });
}

/** Per-sequence log-probability of the answer: Σ over answer tokens of log p(y_t). [B] */
export function sequenceLogProbs(logits: Tensor3D, labels: Labels): Tensor1D {
  return tf.tidy(() => tokenLogProbs(logits, labels).logp.sum(-1) as Tensor1D);
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
