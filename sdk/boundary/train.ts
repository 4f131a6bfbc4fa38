/**
 * BABERT pretraining (L = L_MLM + λ·L_BA) and fine-tuning (encoder + CRF over BIES tags).
 *
 * L_BA (Jiang et al. 2022, §3.2) is the mean squared error between the normalised boundary
 * vectors of the characters (vectors.ts) and a linear projection W·h + b of the hidden states of
 * one intermediate encoder layer (`baLayer`, default the middle one), over real (non-padding)
 * characters. The plain-MLM baseline runs the very same loop with λ = 0 (same steps, batches,
 * masks and initial weights for a given seed), so the comparison differs in the objective only.
 */
import { tf } from '../runtime/tf';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { ConfigError, DivergenceError } from '../runtime/errors';
import { progress, type OnProgress } from '../runtime/progress';
import { BertEncoder, gatherEmbeddingRows } from './bert';
import { LinearChainCRF } from './crf';
import { allowedTransitions, BIES, biesToWords, wordsToBies } from './tags';
import { CharVocab, MASK_ID, PAD_ID } from './vocab';
import { boundaryDim, vectors } from './vectors';
import type { NgramStatistics } from './statistics';
import { makeVariable } from './tftypes';
import type { Tensor, Variable } from '../runtime/tf';

export type PretrainObjective = 'mlm' | 'mlm+ba';

export interface BertPretrainOptions {
  objective?: PretrainObjective;
  steps?: number;
  batchSize?: number;
  /** Sentences are cut to this many characters (default 32). */
  maxLength?: number;
  learningRate?: number;
  /** Share of characters chosen for MLM (default 0.15; of those 80% [MASK], 10% random, 10% kept). */
  maskProb?: number;
  /** Which hidden state L_BA reads: 0 = embeddings output, k = after layer k (default ceil(layers/2)). */
  baLayer?: number;
  /** λ, the weight of L_BA (default 1). */
  baWeight?: number;
  /** Global-norm gradient clipping (default 1). */
  clipNorm?: number;
  seed?: number;
  onProgress?: OnProgress;
  /** Show a progress bar (default true). */
  bar?: boolean;
  label?: string;
}

export interface PretrainLog {
  step: number;
  loss: number;
  mlm: number;
  ba: number;
}

function clipByGlobalNorm(grads: Record<string, Tensor>, maxNorm: number): Record<string, Tensor> {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(tf.addN(sq));
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    const out: Record<string, Tensor> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, scale);
    return out;
  });
}

/** One optimisation step with clipping; returns the loss parts as numbers. */
function step(opt: ReturnType<typeof tf.train.adam>, vars: Variable[], clip: number, lossFn: () => { total: Tensor; parts: Tensor[] }): number[] {
  const partsOut: number[] = [];
  tf.tidy(() => {
    let parts: Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const r = lossFn();
      parts = r.parts.map((p) => tf.keep(p));
      return r.total as never;
    }, vars);
    const v = value.dataSync()[0];
    if (!Number.isFinite(v)) throw new DivergenceError(`Training diverged: loss is ${v}`);
    opt.applyGradients(clipByGlobalNorm(grads as Record<string, Tensor>, clip) as never);
    partsOut.push(v, ...parts.map((p) => p.dataSync()[0]));
    tf.dispose(parts);
  });
  return partsOut;
}

/** Pad id sequences to the longest in the batch: ids [B,L], mask [B,L]. */
function padBatch(seqs: number[][]): { ids: number[][]; mask: number[][]; L: number } {
  const L = Math.max(1, ...seqs.map((s) => s.length));
  return {
    ids: seqs.map((s) => [...s, ...new Array(L - s.length).fill(PAD_ID)]),
    mask: seqs.map((s) => [...new Array(s.length).fill(1), ...new Array(L - s.length).fill(0)]),
    L,
  };
}

/**
 * Pretrain `encoder` in place on `sentences`. For 'mlm+ba', `stats` supplies the boundary
 * vectors; a projection head is created, trained and disposed here (it is not part of the
 * encoder, as in the paper, where only the encoder is fine-tuned).
 */
export function pretrainBert(encoder: BertEncoder, sentences: readonly string[], vocab: CharVocab, stats: NgramStatistics | undefined, opts: BertPretrainOptions = {}): PretrainLog[] {
  const objective = opts.objective ?? 'mlm';
  const steps = opts.steps ?? 200;
  const B = opts.batchSize ?? 32;
  const maxLength = Math.min(opts.maxLength ?? 32, encoder.config.maxPositions);
  const maskProb = opts.maskProb ?? 0.15;
  const baLayer = opts.baLayer ?? Math.ceil(encoder.config.numLayers / 2);
  const baWeight = objective === 'mlm+ba' ? (opts.baWeight ?? 1) : 0;
  const issues = [];
  if (objective !== 'mlm' && objective !== 'mlm+ba') issues.push({ path: 'objective', message: `'${String(objective)}' must be one of [mlm, mlm+ba]` });
  if (baLayer < 0 || baLayer > encoder.config.numLayers || !Number.isInteger(baLayer)) issues.push({ path: 'baLayer', message: `must be an integer in 0..${encoder.config.numLayers}, got ${baLayer}` });
  if (objective === 'mlm+ba' && !stats) issues.push({ path: 'stats', message: "objective 'mlm+ba' needs boundary statistics" });
  if (sentences.length === 0) issues.push({ path: 'sentences', message: 'no pretraining sentences' });
  if (!Number.isInteger(steps) || steps < 1) issues.push({ path: 'steps', message: `must be an integer ≥ 1, got ${steps}` });
  if (!Number.isInteger(B) || B < 1) issues.push({ path: 'batchSize', message: `must be an integer ≥ 1, got ${B}` });
  if (issues.length) throw new ConfigError('Invalid pretraining options', issues);
  const seed = opts.seed ?? DEFAULT_SEED;
  // Batches and masks depend on the seed only, not on the objective: both arms see the same data.
  const rngData = Rng.derive(seed, 'pretrain-data');
  const rngMask = Rng.derive(seed, 'pretrain-mask');
  const D = stats ? boundaryDim(stats.maxN) : 0;
  const H = encoder.config.hiddenSize;
  const rngHead = Rng.derive(seed, 'ba-head');
  const proj = baWeight > 0 ? [makeVariable(tf.tensor2d(Float32Array.from({ length: D * H }, () => rngHead.normal(0, 0.02)), [D, H])), makeVariable(tf.zeros([D]))] : [];
  const vars = [...encoder.trainableVariables(), ...proj];
  const opt = tf.train.adam(opts.learningRate ?? 1e-3);
  const bar = opts.bar === false ? undefined : progress(steps, opts.label ?? `pretrain ${objective}`);
  const log: PretrainLog[] = [];
  const V = encoder.config.vocabSize;
  let order = rngData.shuffle(sentences.map((_, i) => i));
  let cursor = 0;
  try {
    for (let s = 0; s < steps; s++) {
      const batch: string[] = [];
      while (batch.length < B) {
        if (cursor >= order.length) {
          order = rngData.shuffle(order);
          cursor = 0;
        }
        batch.push(sentences[order[cursor++]].slice(0, maxLength));
      }
      const seqs = batch.map((t) => vocab.encode(t));
      const { ids, mask, L } = padBatch(seqs);
      // MLM corruption.
      const inputs = ids.map((r) => r.slice());
      const targets: number[] = [];
      const positions: number[] = [];
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < seqs[b].length; t++) {
          if (rngMask.next() >= maskProb) continue;
          positions.push(b * L + t);
          targets.push(ids[b][t]);
          const r = rngMask.next();
          if (r < 0.8) inputs[b][t] = MASK_ID;
          else if (r < 0.9) inputs[b][t] = 5 + rngMask.int(Math.max(1, V - 5));
        }
      }
      if (positions.length === 0) {
        positions.push(0);
        targets.push(ids[0][0]);
        inputs[0][0] = MASK_ID;
      }
      let target: Float32Array | undefined;
      if (baWeight > 0 && stats) {
        target = new Float32Array(B * L * D);
        batch.forEach((t, b) => target!.set(vectors(t, stats, { normalize: true }), b * L * D));
      }
      const parts = step(opt, vars, opts.clipNorm ?? 1, () => {
        const out = encoder.forward({ inputIds: inputs, attentionMask: mask }, { mlm: false });
        const last = out.hiddenStates[out.hiddenStates.length - 1];
        const picked = gatherEmbeddingRows(last.reshape([B * L, H]), tf.tensor1d(positions, 'int32'));
        const logits = encoder.mlmLogits(picked);
        const mlm = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, 'int32'), V), logits);
        let total: Tensor = mlm;
        let ba: Tensor = tf.scalar(0);
        if (target) {
          const h = out.hiddenStates[baLayer].reshape([B * L, H]);
          const pred = tf.add(tf.matMul(h, proj[0], false, true), proj[1]);
          const m = tf.tensor2d(mask.flat(), [B * L, 1]);
          const diff = tf.mul(tf.sub(pred, tf.tensor2d(target, [B * L, D])), m);
          ba = tf.div(tf.sum(tf.square(diff)), tf.mul(tf.sum(m), D));
          total = tf.add(mlm, tf.mul(ba, baWeight));
        }
        return { total, parts: [mlm, ba] };
      });
      log.push({ step: s + 1, loss: parts[0], mlm: parts[1], ba: parts[2] });
      bar?.update(s + 1, `loss ${parts[0].toFixed(3)}`);
      opts.onProgress?.(s + 1, steps, `loss ${parts[0].toFixed(3)}`);
    }
  } finally {
    bar?.done();
    opt.dispose();
    tf.dispose(proj);
  }
  return log;
}

export interface FineTuneOptions {
  steps?: number;
  batchSize?: number;
  maxLength?: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  onProgress?: OnProgress;
  bar?: boolean;
  label?: string;
}

/**
 * A word segmenter: the encoder's last hidden state → linear emissions over BIES → a CRF with
 * BIES-constrained Viterbi decoding. Training updates the encoder too (full fine-tuning).
 */
export class Segmenter {
  readonly labels = [...BIES];
  readonly crf: LinearChainCRF;
  readonly head: Variable[];

  constructor(readonly encoder: BertEncoder, readonly vocab: CharVocab, seed = DEFAULT_SEED) {
    const rng = Rng.derive(seed, 'tagger-head');
    const H = encoder.config.hiddenSize;
    const T = this.labels.length;
    this.head = [makeVariable(tf.tensor2d(Float32Array.from({ length: T * H }, () => rng.normal(0, 0.02)), [T, H])), makeVariable(tf.zeros([T]))];
    this.crf = new LinearChainCRF(T, { seed, constraints: allowedTransitions(this.labels, 'bies') });
  }

  private emissions(ids: number[][], mask: number[][]): Tensor {
    const out = this.encoder.forward({ inputIds: ids, attentionMask: mask }, { mlm: false });
    const h = out.hiddenStates[out.hiddenStates.length - 1];
    const [B, L, H] = h.shape;
    return tf.add(tf.matMul(h.reshape([B * L, H]), this.head[0], false, true), this.head[1]).reshape([B, L, this.labels.length]);
  }

  /** Fine-tune on segmented sentences (arrays of words). Returns the loss per step. */
  train(examples: ReadonlyArray<readonly string[]>, opts: FineTuneOptions = {}): number[] {
    const steps = opts.steps ?? 200;
    const B = opts.batchSize ?? 32;
    const maxLength = Math.min(opts.maxLength ?? 32, this.encoder.config.maxPositions);
    const issues = [];
    if (examples.length === 0) issues.push({ path: 'examples', message: 'no training sentences' });
    if (!Number.isInteger(steps) || steps < 1) issues.push({ path: 'steps', message: `must be an integer ≥ 1, got ${steps}` });
    if (!Number.isInteger(B) || B < 1) issues.push({ path: 'batchSize', message: `must be an integer ≥ 1, got ${B}` });
    if (issues.length) throw new ConfigError('Invalid fine-tuning options', issues);
    const data = examples.map((words) => {
      const text = words.join('').slice(0, maxLength);
      const tags = wordsToBies(words).slice(0, maxLength);
      // A word cut by maxLength must still end properly: close it.
      if (tags.length && (tags[tags.length - 1] === 'B' || tags[tags.length - 1] === 'I')) tags[tags.length - 1] = tags[tags.length - 1] === 'B' ? 'S' : 'E';
      return { ids: this.vocab.encode(text), tags: tags.map((t) => this.labels.indexOf(t)) };
    });
    const rng = Rng.derive(opts.seed ?? DEFAULT_SEED, 'finetune-data');
    const vars = [...this.encoder.trainableVariables(), ...this.head, ...this.crf.trainableVariables()];
    const opt = tf.train.adam(opts.learningRate ?? 1e-3);
    const bar = opts.bar === false ? undefined : progress(steps, opts.label ?? 'fine-tune');
    const losses: number[] = [];
    let order = rng.shuffle(data.map((_, i) => i));
    let cursor = 0;
    try {
      for (let s = 0; s < steps; s++) {
        const batch = [];
        while (batch.length < B) {
          if (cursor >= order.length) {
            order = rng.shuffle(order);
            cursor = 0;
          }
          batch.push(data[order[cursor++]]);
        }
        const { ids, mask, L } = padBatch(batch.map((d) => d.ids));
        const tags = batch.map((d) => [...d.tags, ...new Array(L - d.tags.length).fill(0)]);
        const [loss] = step(opt, vars, opts.clipNorm ?? 1, () => {
          const em = this.emissions(ids, mask);
          const nll = this.crf.nll(em as never, tf.tensor2d(tags, undefined, 'int32'), tf.tensor2d(mask, undefined, 'int32'));
          return { total: nll, parts: [] };
        });
        losses.push(loss);
        bar?.update(s + 1, `nll ${loss.toFixed(3)}`);
        opts.onProgress?.(s + 1, steps, `nll ${loss.toFixed(3)}`);
      }
    } finally {
      bar?.done();
      opt.dispose();
    }
    return losses;
  }

  /** Segment sentences (longer ones are segmented in `maxLength` windows). */
  segment(sentences: readonly string[], opts: { batchSize?: number; maxLength?: number } = {}): string[][] {
    const maxLength = Math.min(opts.maxLength ?? this.encoder.config.maxPositions, this.encoder.config.maxPositions);
    const B = opts.batchSize ?? 64;
    // Cut into windows, tag each, then stitch.
    const pieces: Array<{ sent: number; text: string }> = [];
    sentences.forEach((s, i) => {
      for (let o = 0; o < s.length; o += maxLength) pieces.push({ sent: i, text: s.slice(o, o + maxLength) });
    });
    const words: string[][] = sentences.map(() => []);
    for (let i = 0; i < pieces.length; i += B) {
      const chunk = pieces.slice(i, i + B);
      const { ids, mask } = padBatch(chunk.map((p) => this.vocab.encode(p.text)));
      const paths = tf.tidy(() => this.crf.decode(this.emissions(ids, mask) as never, mask));
      chunk.forEach((p, k) => words[p.sent].push(...biesToWords(p.text, paths[k].map((t) => this.labels[t]))));
    }
    return words;
  }

  /** Dispose the head and CRF (the encoder belongs to the caller). */
  dispose(): void {
    tf.dispose(this.head);
    this.crf.dispose();
  }
}
