/**
 * Membership inference as OpenUnlearning defines it (locuslab/open-unlearning,
 * src/evals/metrics/mia/): per-answer scores signed like the loss (higher = less likely a
 * member) and the AUC between the forget answers (label 0) and held-out answers of the same
 * kind (label 1): AUC 1 when forget answers are far more likely, 0.5 when indistinguishable.
 *
 * - loss:    the answer's mean token NLL (`avg_loss`, every answer token incl. EOS);
 * - zlib:    avg_loss / len(zlib(answer text, UTF-8)) (Carlini et al. 2021);
 * - min_k:   −mean of the k·N lowest token log-probs (Shi et al. 2024), N = answer tokens
 *            without the EOS prediction, at least one;
 * - min_k++: the same over (log p(x_t) − μ_t)/σ_t with μ_t, σ_t² the mean and variance of
 *            log p(z) under the model's own next-token distribution, σ² clamped at 1e-6
 *            (Zhang et al. 2024).
 * OpenUnlearning's TOFU configs use k = 0.4 for both Min-K variants.
 */
import * as zlib from 'zlib';
import { tf } from '../runtime/tf';
import type { Tensor } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import { progress } from '../runtime/progress';
import { processorOf } from '../unlearn/seams';
import type { UnlearnableModel, UnlearnExample } from '../unlearn/types';
import { IGNORE_INDEX } from '../unlearn/losses';
import type { AnswerStats, MiaAttackDefinition } from './types';

function minKMean(values: Float32Array | number[], k: number): number {
  if (values.length === 0) return 0;
  const sorted = Array.from(values).sort((a, b) => a - b);
  const num = Math.max(1, Math.floor(sorted.length * k));
  let s = 0;
  for (let i = 0; i < num; i++) s += sorted[i];
  return -(s / num);
}

const K = { type: 'number' as const, default: 0.4, min: 0, max: 1, doc: 'share of the lowest-scoring tokens averaged (OpenUnlearning TOFU: 0.4)' };

export const MIA_ATTACKS: readonly MiaAttackDefinition[] = [
  {
    name: 'loss',
    family: 'mia',
    doc: "LOSS attack: the answer's mean token NLL (Yeom et al. 2018)",
    params: {},
    score: (s) => s.avgLoss,
  },
  {
    name: 'zlib',
    family: 'mia',
    doc: 'mean token NLL divided by the zlib-compressed length of the answer (Carlini et al. 2021)',
    params: {},
    score: (s) => s.avgLoss / zlib.deflateSync(Buffer.from(s.text, 'utf8')).length,
  },
  {
    name: 'min_k',
    family: 'mia',
    doc: 'Min-K% Prob: −mean of the k% lowest token log-probs (Shi et al. 2024)',
    params: { k: K },
    score: (s, p) => minKMean(s.tokenLogProbs, Number(p.k)),
  },
  {
    name: 'min_k++',
    family: 'mia',
    doc: "Min-K%++: Min-K% over log-probs standardised by the model's own next-token distribution (Zhang et al. 2024)",
    params: { k: K },
    score: (s, p) => {
      const z = new Float32Array(s.tokenLogProbs.length);
      for (let i = 0; i < z.length; i++) z[i] = (s.tokenLogProbs[i] - s.mu[i]) / Math.sqrt(Math.max(s.sigma2[i], 1e-6));
      return minKMean(z, Number(p.k));
    },
  },
];

/**
 * Per-answer statistics under `model` (teacher forcing, no dropout): token log-probs, Min-K%++'s
 * μ and σ² and the mean NLL, in batches; every tensor is freed before the next batch.
 */
export async function answerStats(model: UnlearnableModel, examples: readonly UnlearnExample[], opts: { batchSize?: number; label?: string } = {}): Promise<AnswerStats[]> {
  const proc = processorOf(model);
  const bs = Math.max(1, opts.batchSize ?? 16);
  const out: AnswerStats[] = [];
  const bar = progress(examples.length, opts.label ?? 'membership scores');
  for (let i = 0; i < examples.length; i += bs) {
    const chunk = examples.slice(i, i + bs);
    const enc = await proc.encode([...chunk], { withAnswer: true });
    let arrays: { logp: Float32Array; mu: Float32Array; second: Float32Array; T: number };
    try {
      const ts = tf.tidy(() => {
        const logits = model.forward({ inputIds: enc.inputIds, attentionMask: enc.attentionMask, pixelValues: enc.pixelValues, training: false }).logits;
        const [b, t, v] = logits.shape;
        const logSm = tf.logSoftmax(logits.slice([0, 0, 0], [b, t - 1, v]), -1);
        const next = tf.tensor2d(enc.inputIds.map((r) => r.slice(1)), [b, t - 1], 'int32');
        const picked = logSm.mul(tf.oneHot(next, v)).sum(-1);
        const p = logSm.exp();
        const mu = p.mul(logSm).sum(-1);
        const second = p.mul(logSm.square()).sum(-1);
        return [picked, mu, second] as Tensor[];
      });
      try {
        arrays = { logp: ts[0].dataSync() as Float32Array, mu: ts[1].dataSync() as Float32Array, second: ts[2].dataSync() as Float32Array, T: enc.inputIds[0].length };
      } finally {
        for (const t of ts) t.dispose();
      }
    } finally {
      enc.pixelValues?.dispose();
    }
    const T1 = arrays.T - 1;
    chunk.forEach((ex, r) => {
      const labels = enc.labels[r];
      const idx: number[] = [];
      for (let t = 0; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) idx.push(t);
      if (idx.length === 0) throw new ConfigError('An answer has no tokens to score', [{ path: ex.id, message: `empty answer '${ex.answer}'` }]);
      // mean NLL over every labelled token (shifted: position t−1 predicts label t)
      let nll = 0;
      for (const t of idx) nll -= arrays.logp[r * T1 + t - 1];
      const kept = idx.slice(0, -1); // OpenUnlearning: the EOS prediction is left out of the token-wise scores
      const take = (a: Float32Array) => Float32Array.from(kept.map((t) => a[r * T1 + t - 1]));
      const mu = take(arrays.mu);
      const second = take(arrays.second);
      const sigma2 = mu.map((m, q) => second[q] - m * m);
      out.push({ tokenLogProbs: take(arrays.logp), mu, sigma2, avgLoss: nll / idx.length, text: ex.answer });
    });
    bar.tick(chunk.length);
  }
  bar.done();
  return out;
}
