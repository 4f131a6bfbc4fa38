/**
 * Per-character boundary vectors (BABERT §3.1, "boundary-aware representation").
 *
 * Layout, for maxN = N: one slot per (length n, position p) with n = 1..N and p = 0..n−1 (p is
 * the character's offset inside the n-gram), ordered by n then p:
 *   slot(n, p) = n(n−1)/2 + p      → N(N+1)/2 slots (10 for N = 4)
 * and each slot holds [PMI, LE, RE] of the n-gram sentence[i−p .. i−p+n) when that n-gram lies
 * inside one Han run of the sentence and is in the dictionary; otherwise [0, 0, 0]. So the
 * vector has 3·N(N+1)/2 dimensions (30 for N = 4): dims 3·slot + {0: PMI, 1: LE, 2: RE}.
 * Non-Han characters (punctuation, Latin, digits) get all-zero vectors.
 *
 * With `normalize` (what pretraining uses), each statistic is divided by its root mean square
 * over the dictionary (PMI over n-grams of length ≥ 2), so the three have comparable scale and
 * "absent" stays exactly 0.
 */
import { isHanCode } from './corpus';
import type { NgramStatistics } from './statistics';

export interface VectorOptions {
  /** Divide each statistic by its RMS over the dictionary (default false: raw values). */
  normalize?: boolean;
}

export function boundaryDim(maxN: number): number {
  return (3 * maxN * (maxN + 1)) / 2;
}

/** Index of the first of the three dims of slot (n, p); n is 1-based, p 0-based. */
export function slotOffset(n: number, p: number): number {
  return 3 * ((n * (n - 1)) / 2 + p);
}

/** A name for every dimension, e.g. `n2p1.pmi` (length 2, second character). */
export function boundaryDimNames(maxN: number): string[] {
  const out: string[] = [];
  for (let n = 1; n <= maxN; n++) for (let p = 0; p < n; p++) for (const s of ['pmi', 'le', 're']) out.push(`n${n}p${p}.${s}`);
  return out;
}

const scales = new WeakMap<NgramStatistics, [number, number, number]>();

/** RMS of PMI (length ≥ 2), LE and RE over the dictionary; cached per statistics object. */
export function statScales(stats: NgramStatistics): [number, number, number] {
  let s = scales.get(stats);
  if (s) return s;
  let p = 0;
  let np = 0;
  let l = 0;
  let r = 0;
  let n = 0;
  for (const [k, v] of stats.entries()) {
    if (k.length >= 2) {
      p += v.pmi * v.pmi;
      np++;
    }
    l += v.le * v.le;
    r += v.re * v.re;
    n++;
  }
  const rms = (x: number, c: number) => (c > 0 && x > 0 ? Math.sqrt(x / c) : 1);
  s = [rms(p, np), rms(l, n), rms(r, n)];
  scales.set(stats, s);
  return s;
}

/**
 * Boundary vectors for every character (UTF-16 code unit) of `sentence`: a Float32Array of
 * length sentence.length × boundaryDim(maxN), row-major. `maxN` defaults to the dictionary's.
 */
export function vectors(sentence: string, stats: NgramStatistics, opts: VectorOptions & { maxN?: number } = {}): Float32Array {
  const N = opts.maxN ?? stats.maxN;
  const D = boundaryDim(N);
  const L = sentence.length;
  const out = new Float32Array(L * D);
  const [sp, sl, sr] = opts.normalize ? statScales(stats) : [1, 1, 1];
  // Han-run id of each position (−1 for non-Han) so n-grams never cross a boundary.
  const run = new Int32Array(L);
  let id = 0;
  for (let i = 0; i < L; i++) {
    if (isHanCode(sentence.charCodeAt(i))) run[i] = i > 0 && run[i - 1] >= 0 ? run[i - 1] : id++;
    else run[i] = -1;
  }
  for (let start = 0; start < L; start++) {
    if (run[start] < 0) continue;
    for (let n = 1; n <= N && start + n <= L; n++) {
      if (run[start + n - 1] !== run[start]) break;
      const st = stats.get(sentence.slice(start, start + n));
      if (!st) continue;
      for (let p = 0; p < n; p++) {
        const o = (start + p) * D + slotOffset(n, p);
        out[o] = st.pmi / sp;
        out[o + 1] = st.le / sl;
        out[o + 2] = st.re / sr;
      }
    }
  }
  return out;
}

/** The same as `vectors` but as an array of per-character arrays (for display and notebooks). */
export function vectorRows(sentence: string, stats: NgramStatistics, opts: VectorOptions = {}): number[][] {
  const flat = vectors(sentence, stats, opts);
  const D = boundaryDim(stats.maxN);
  const rows: number[][] = [];
  for (let i = 0; i < sentence.length; i++) rows.push(Array.from(flat.subarray(i * D, (i + 1) * D)));
  return rows;
}
