/**
 * A linear-chain CRF over per-token emission scores (Lafferty et al. 2001), batched and masked:
 * score(y) = start[y0] + Σ_t E[t, y_t] + Σ_{t≥1} T[y_{t−1}, y_t] + end[y_last], over the
 * positions where the mask is 1 (masks are left-aligned: real tokens, then padding).
 * `nll` is the forward-algorithm negative log-likelihood (mean over sentences, differentiable
 * through tfjs); `decode` is Viterbi in plain JS, optionally constrained to the transitions a
 * tag scheme allows (so BIES output is always well-formed).
 */
import { tf } from '../runtime/tf';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { makeVariable } from './tftypes';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from '../runtime/tf';

export interface CrfConstraints {
  transitions: boolean[][];
  start: boolean[];
  end: boolean[];
}

export class LinearChainCRF {
  readonly transitions: Variable;
  readonly start: Variable;
  readonly end: Variable;

  constructor(readonly numTags: number, opts: { seed?: number; constraints?: CrfConstraints; init?: { transitions: number[][]; start: number[]; end: number[] } } = {}) {
    const rng = new Rng(opts.seed ?? DEFAULT_SEED);
    const T = numTags;
    const r = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-0.1, 0.1));
    this.transitions = makeVariable(opts.init ? tf.tensor2d(opts.init.transitions) : tf.tensor2d(r(T * T), [T, T]), `crf.transitions#${crfId}`);
    this.start = makeVariable(opts.init ? tf.tensor1d(opts.init.start) : tf.tensor1d(r(T)), `crf.start#${crfId}`);
    this.end = makeVariable(opts.init ? tf.tensor1d(opts.init.end) : tf.tensor1d(r(T)), `crf.end#${crfId++}`);
    this.constraints = opts.constraints;
  }

  constraints?: CrfConstraints;

  trainableVariables(): Variable[] {
    return [this.transitions, this.start, this.end];
  }

  /** log Z per sentence [B] by the forward algorithm. emissions [B,L,T], mask [B,L] (0/1). */
  logPartition(emissions: Tensor3D, mask: Tensor2D): Tensor1D {
    return tf.tidy(() => {
      const [, L, T] = emissions.shape;
      const m = mask.toFloat();
      let alpha: Tensor = tf.add(this.start, emissions.slice([0, 0, 0], [-1, 1, -1]).squeeze([1]));
      for (let t = 1; t < L; t++) {
        const e = emissions.slice([0, t, 0], [-1, 1, -1]); // [B,1,T]
        const s = tf.add(tf.add(alpha.expandDims(2), this.transitions.expandDims(0)), e); // [B,T,T]
        const next = tf.logSumExp(s, 1); // [B,T]
        const mt = m.slice([0, t], [-1, 1]); // [B,1]
        alpha = tf.add(tf.mul(mt, next), tf.mul(tf.sub(1, mt), alpha));
      }
      void T;
      return tf.logSumExp(tf.add(alpha, this.end), 1) as Tensor1D;
    });
  }

  /** Score of the given tag paths [B] (tags [B,L] int32; padded positions ignored). */
  pathScore(emissions: Tensor3D, tags: Tensor2D, mask: Tensor2D): Tensor1D {
    return tf.tidy(() => {
      const [B, L, T] = emissions.shape;
      const m = mask.toFloat();
      const y = tags.toInt();
      const emit = tf.sum(tf.mul(tf.sum(tf.mul(emissions, tf.oneHot(y, T).toFloat()), 2), m), 1);
      // Selections by one-hot products, not gather: gather's gradient needs UnsortedSegmentSum,
      // which the WASM backend lacks.
      const first = tf.sum(tf.mul(this.start, tf.oneHot(y.slice([0, 0], [-1, 1]).squeeze([1]), T)), 1);
      let trans: Tensor = tf.zeros([B]);
      if (L > 1) {
        const prev = y.slice([0, 0], [-1, L - 1]);
        const next = y.slice([0, 1], [-1, L - 1]);
        const flat = tf.add(tf.mul(prev, tf.scalar(T, 'int32')), next);
        const tv = tf.sum(tf.mul(this.transitions.reshape([1, 1, T * T]), tf.oneHot(flat, T * T)), 2);
        trans = tf.sum(tf.mul(tv, m.slice([0, 1], [-1, L - 1])), 1);
      }
      const lengths = tf.sum(m, 1).toInt();
      const lastIdx = tf.sub(lengths, tf.scalar(1, 'int32'));
      const lastTag = tf.sum(tf.mul(y, tf.oneHot(lastIdx, L).toInt()), 1).toInt();
      const last = tf.sum(tf.mul(this.end, tf.oneHot(lastTag, T)), 1);
      return tf.add(tf.add(emit, first), tf.add(trans, last)) as Tensor1D;
    });
  }

  /**
   * Mean negative log-likelihood over the batch. The forward–backward pass runs in plain JS with
   * an exact hand-written gradient (marginals − gold counts): for a handful of tags this is far
   * cheaper than L small tfjs ops each way. `nllAutodiff` is the same quantity through tfjs ops;
   * the tests check both against brute-force enumeration and each other.
   */
  nll(emissions: Tensor3D, tags: Tensor2D | number[][], mask: Tensor2D | number[][]): Tensor {
    const [B, L, T] = emissions.shape;
    const Y = Array.isArray(tags) ? tags.flat() : Array.from(tags.dataSync());
    const M = Array.isArray(mask) ? mask.flat() : Array.from(mask.dataSync());
    const f = tf.customGrad(((e: Tensor, tr: Tensor, st: Tensor, en: Tensor, save: (x: Tensor[]) => void) => {
      void save;
      const r = crfForwardBackward(e.dataSync(), tr.dataSync(), st.dataSync(), en.dataSync(), Y, M, B, L, T);
      return {
        value: tf.scalar(r.nll / B),
        gradFunc: (dy: Tensor) => {
          const k = dy.dataSync()[0] / B;
          const sc = (a: Float64Array) => Float32Array.from(a, (x) => x * k);
          return [tf.tensor3d(sc(r.dE), [B, L, T]), tf.tensor2d(sc(r.dTr), [T, T]), tf.tensor1d(sc(r.dStart)), tf.tensor1d(sc(r.dEnd))];
        },
      };
    }) as never) as unknown as (...xs: Tensor[]) => Tensor;
    return f(emissions, this.transitions, this.start, this.end);
  }

  /** The NLL through tfjs autodiff (reference implementation; slower). */
  nllAutodiff(emissions: Tensor3D, tags: Tensor2D, mask: Tensor2D): Tensor {
    return tf.tidy(() => tf.mean(tf.sub(this.logPartition(emissions, mask), this.pathScore(emissions, tags, mask))));
  }

  /**
   * Viterbi: the best tag path for each sentence (lengths from the mask). With `constrained`
   * (default true when constraints were given) disallowed transitions are never chosen.
   */
  decode(emissions: Tensor3D, mask: Tensor2D | number[][], opts: { constrained?: boolean } = {}): number[][] {
    const [B, L, T] = emissions.shape;
    const E = emissions.dataSync() as Float32Array;
    const M = Array.isArray(mask) ? mask.flat() : Array.from(mask.dataSync());
    return viterbiArrays(E, M, B, L, T, this.arrays(opts.constrained ?? true));
  }

  /** Transition parameters as arrays, with −∞ where the constraints forbid. */
  arrays(constrained = true): { trans: Float32Array; start: Float32Array; end: Float32Array } {
    const T = this.numTags;
    const trans = Float32Array.from(this.transitions.dataSync());
    const start = Float32Array.from(this.start.dataSync());
    const end = Float32Array.from(this.end.dataSync());
    const c = constrained ? this.constraints : undefined;
    if (c) {
      for (let i = 0; i < T; i++) {
        if (!c.start[i]) start[i] = -Infinity;
        if (!c.end[i]) end[i] = -Infinity;
        for (let j = 0; j < T; j++) if (!c.transitions[i][j]) trans[i * T + j] = -Infinity;
      }
    }
    return { trans, start, end };
  }

  dispose(): void {
    tf.dispose([this.transitions, this.start, this.end]);
  }
}

let crfId = 0;

/** Viterbi over flat arrays: emissions [B*L*T], mask [B*L]; returns each sentence's path. */
export function viterbiArrays(E: ArrayLike<number>, M: ArrayLike<number>, B: number, L: number, T: number, p: { trans: ArrayLike<number>; start: ArrayLike<number>; end: ArrayLike<number> }): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    let len = 0;
    for (let t = 0; t < L; t++) if (M[b * L + t]) len = t + 1;
    if (len === 0) {
      out.push([]);
      continue;
    }
    let score = new Float64Array(T);
    const back = new Int32Array(len * T);
    for (let j = 0; j < T; j++) score[j] = p.start[j] + E[(b * L) * T + j];
    for (let t = 1; t < len; t++) {
      const next = new Float64Array(T);
      for (let j = 0; j < T; j++) {
        let best = -Infinity;
        let arg = 0;
        for (let i = 0; i < T; i++) {
          const v = score[i] + p.trans[i * T + j];
          if (v > best) {
            best = v;
            arg = i;
          }
        }
        next[j] = best + E[(b * L + t) * T + j];
        back[t * T + j] = arg;
      }
      score = next;
    }
    let best = -Infinity;
    let arg = 0;
    for (let j = 0; j < T; j++) {
      const v = score[j] + p.end[j];
      if (v > best) {
        best = v;
        arg = j;
      }
    }
    const path = new Array<number>(len);
    path[len - 1] = arg;
    for (let t = len - 1; t > 0; t--) path[t - 1] = back[t * T + path[t]];
    out.push(path);
  }
  return out;
}

function lse(xs: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i] > m) m = xs[i];
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i] - m);
  return m + Math.log(s);
}

/**
 * Summed NLL over the batch and its gradient (marginals − gold indicator counts) with respect
 * to emissions, transitions, start and end, by the forward–backward algorithm in log space.
 */
export function crfForwardBackward(
  E: ArrayLike<number>, tr: ArrayLike<number>, st: ArrayLike<number>, en: ArrayLike<number>,
  Y: ArrayLike<number>, M: ArrayLike<number>, B: number, L: number, T: number,
): { nll: number; dE: Float64Array; dTr: Float64Array; dStart: Float64Array; dEnd: Float64Array } {
  const dE = new Float64Array(B * L * T);
  const dTr = new Float64Array(T * T);
  const dStart = new Float64Array(T);
  const dEnd = new Float64Array(T);
  let nll = 0;
  const tmp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < L; t++) if (M[b * L + t]) n = t + 1;
    if (n === 0) continue;
    const e = (t: number, j: number) => E[(b * L + t) * T + j];
    const alpha = new Float64Array(n * T);
    const beta = new Float64Array(n * T);
    for (let j = 0; j < T; j++) alpha[j] = st[j] + e(0, j);
    for (let t = 1; t < n; t++) {
      for (let j = 0; j < T; j++) {
        for (let i = 0; i < T; i++) tmp[i] = alpha[(t - 1) * T + i] + tr[i * T + j];
        alpha[t * T + j] = lse(tmp) + e(t, j);
      }
    }
    for (let i = 0; i < T; i++) beta[(n - 1) * T + i] = en[i];
    for (let t = n - 2; t >= 0; t--) {
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) tmp[j] = tr[i * T + j] + e(t + 1, j) + beta[(t + 1) * T + j];
        beta[t * T + i] = lse(tmp);
      }
    }
    for (let j = 0; j < T; j++) tmp[j] = alpha[(n - 1) * T + j] + en[j];
    const logZ = lse(tmp);
    // Gold path score.
    const y = (t: number) => Y[b * L + t];
    let score = st[y(0)] + e(0, y(0)) + en[y(n - 1)];
    for (let t = 1; t < n; t++) score += tr[y(t - 1) * T + y(t)] + e(t, y(t));
    nll += logZ - score;
    // Gradients: expected counts minus gold counts.
    for (let t = 0; t < n; t++) {
      for (let j = 0; j < T; j++) {
        const p = Math.exp(alpha[t * T + j] + beta[t * T + j] - logZ);
        dE[(b * L + t) * T + j] += p;
        if (t === 0) dStart[j] += p;
        if (t === n - 1) dEnd[j] += p;
      }
      dE[(b * L + t) * T + y(t)] -= 1;
    }
    dStart[y(0)] -= 1;
    dEnd[y(n - 1)] -= 1;
    for (let t = 1; t < n; t++) {
      for (let i = 0; i < T; i++) {
        const a = alpha[(t - 1) * T + i];
        for (let j = 0; j < T; j++) dTr[i * T + j] += Math.exp(a + tr[i * T + j] + e(t, j) + beta[t * T + j] - logZ);
      }
      dTr[y(t - 1) * T + y(t)] -= 1;
    }
  }
  return { nll, dE, dTr, dStart, dEnd };
}
