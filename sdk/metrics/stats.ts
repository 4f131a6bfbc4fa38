/**
 * Interval estimates and paired tests for the numbers eraserlab reports (docs/metrics.md,
 * "Uncertainty"): the Wilson score interval for proportions, a seeded percentile bootstrap for
 * means (resampling records, not rows), a Student t interval across seeds, and the paired
 * comparison of two methods on the same items: a paired bootstrap interval of the difference and
 * a sign-flip permutation p-value (exact when the paired units are few), plus McNemar's exact
 * test. Pure functions; everything random draws from a seeded `Rng`, so equal seeds give equal
 * intervals.
 */
import { ConfigError } from '../runtime/errors';
import { Rng } from '../runtime/rng';

/** How an interval was computed (the `ciMethod` column of a summary). */
export type IntervalMethod = 'wilson' | 'bootstrap' | 't' | 'none';

export interface Interval {
  low: number;
  high: number;
  method: IntervalMethod;
  /** Coverage, e.g. 0.95. */
  level: number;
}

/** The default coverage of every interval eraserlab reports. */
export const DEFAULT_LEVEL = 0.95;
/** Bootstrap resamples unless told otherwise. */
export const DEFAULT_RESAMPLES = 2000;
/** Seed of the summary bootstrap unless told otherwise (intervals are reproducible). */
export const DEFAULT_BOOTSTRAP_SEED = 17;

function checkLevel(level: number, where: string): void {
  if (!(level > 0 && level < 1)) {
    throw new ConfigError(`${where}: invalid confidence level`, [{ path: 'level', message: `must be a number in (0, 1), e.g. 0.95; got ${level}` }]);
  }
}

// ---------------------------------------------------------------------------------------------
// Distributions

/** Standard normal quantile (Acklam's rational approximation; relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

function logGamma(x: number): number {
  // Lanczos (g = 7, n = 9)
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = g[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += g[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized incomplete beta I_x(a, b) (continued fraction, modified Lentz). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  f = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return (front * f) / a;
}

/** Student t cumulative distribution function with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Student t quantile (bisection on the CDF; |error| < 1e-10). */
export function tQuantile(p: number, df: number): number {
  if (!(df > 0)) return NaN;
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// One-sample intervals

/**
 * Wilson score interval for `count` successes out of `n` (Wilson 1927). Unlike the normal
 * (Wald) interval it stays inside [0, 1] and is not degenerate at 0 or n successes.
 */
export function wilson(count: number, n: number, level = DEFAULT_LEVEL): Interval {
  checkLevel(level, 'wilson');
  if (!(n > 0)) return { low: NaN, high: NaN, method: 'wilson', level };
  if (!(count >= 0 && count <= n)) {
    throw new ConfigError('wilson: count out of range', [{ path: 'count', message: `must be in [0, n = ${n}]; got ${count}` }]);
  }
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = count / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half), method: 'wilson', level };
}

/** Half-width of the Wilson interval at proportion `p` with `n` items (how fine a rate is resolved). */
export function wilsonHalfWidth(n: number, p = 0.5, level = DEFAULT_LEVEL): number {
  const w = wilson(p * n, n, level);
  return (w.high - w.low) / 2;
}

export interface BootstrapOptions {
  /** Seed of the resampling (default 17): equal seeds give equal intervals. */
  seed?: number;
  /** Resamples (default 2000). */
  resamples?: number;
  level?: number;
  /**
   * The unit resampled: values with the same cluster key are drawn together (e.g. the four
   * answers of one record). Default: each value on its own.
   */
  clusters?: readonly (string | number)[];
}

function quantileSorted(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Group values by cluster key: per-cluster sum and count (in first-seen order). */
function clusterSums(values: readonly number[], clusters?: readonly (string | number)[]): { sums: number[]; counts: number[] } {
  if (clusters && clusters.length !== values.length) {
    throw new ConfigError('bootstrap: clusters do not match the values', [{ path: 'clusters', message: `${clusters.length} cluster keys for ${values.length} values` }]);
  }
  if (!clusters) return { sums: values.slice(), counts: values.map(() => 1) };
  const index = new Map<string | number, number>();
  const sums: number[] = [];
  const counts: number[] = [];
  values.forEach((v, i) => {
    let k = index.get(clusters[i]);
    if (k === undefined) {
      k = sums.length;
      index.set(clusters[i], k);
      sums.push(0);
      counts.push(0);
    }
    sums[k] += v;
    counts[k]++;
  });
  return { sums, counts };
}

function resampleRatio(sums: readonly number[], counts: readonly number[], rng: Rng, resamples: number): Float64Array {
  const m = sums.length;
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < m; i++) {
      const k = rng.int(m);
      s += sums[k];
      c += counts[k];
    }
    stats[r] = s / c;
  }
  return stats.sort();
}

/**
 * Percentile bootstrap interval of the mean of `values`, resampling clusters (records) with
 * replacement when `clusters` is given. Deterministic for a given seed.
 */
export function bootstrapMean(values: readonly number[], opts: BootstrapOptions = {}): Interval {
  const level = opts.level ?? DEFAULT_LEVEL;
  checkLevel(level, 'bootstrapMean');
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new ConfigError('bootstrapMean: invalid resamples', [{ path: 'resamples', message: `must be an integer ≥ 1; got ${resamples}` }]);
  }
  if (values.length === 0) return { low: NaN, high: NaN, method: 'bootstrap', level };
  const { sums, counts } = clusterSums(values, opts.clusters);
  const stats = resampleRatio(sums, counts, new Rng(opts.seed ?? DEFAULT_BOOTSTRAP_SEED), resamples);
  const a = (1 - level) / 2;
  return { low: quantileSorted(stats, a), high: quantileSorted(stats, 1 - a), method: 'bootstrap', level };
}

export interface SeedStats {
  /** Number of seeds with a finite value. */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); NaN for one seed. */
  sd: number;
  /** Student t interval of the mean across seeds (NaN bounds for one seed). */
  low: number;
  high: number;
  method: 't';
  level: number;
}

/** Mean, sample standard deviation and a t interval across seeds (non-finite values skipped). */
export function tInterval(values: readonly number[], level = DEFAULT_LEVEL): SeedStats {
  checkLevel(level, 'tInterval');
  const v = values.filter(Number.isFinite);
  const n = v.length;
  let mean = n ? v.reduce((a, b) => a + b, 0) / n : NaN;
  if (n) mean += v.reduce((a, b) => a + (b - mean), 0) / n; // one correction pass: equal values give their value exactly
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  if (n < 2) return { n, mean, sd, low: NaN, high: NaN, method: 't', level };
  const half = (tQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, low: mean - half, high: mean + half, method: 't', level };
}

// ---------------------------------------------------------------------------------------------
// Paired comparisons

export interface PairedOptions extends BootstrapOptions {}

export interface PairedResult {
  /** Mean of a over the paired items. */
  meanA: number;
  meanB: number;
  /** mean(b) − mean(a). */
  diff: number;
  /** Paired bootstrap interval of the difference (resampling clusters of pairs). */
  low: number;
  high: number;
  level: number;
  /** Two-sided sign-flip permutation p-value of the difference (exact when ≤ 16 clusters differ). */
  pValue: number;
  /** Paired items (rows) and clusters (resampling units). */
  n: number;
  clusters: number;
  /** Whether the p-value enumerated every sign assignment. */
  exact: boolean;
}

/**
 * Compare b against a on the same items: `a[i]` and `b[i]` are the two methods' values on item
 * i (e.g. 1 = refusal, 0 = normal answer). The interval resamples clusters of items (records)
 * with replacement; the p-value flips the sign of each cluster's difference at random (the
 * null: the two methods are exchangeable on every item), exactly when few clusters differ.
 * Identical inputs give diff 0, interval [0, 0] and p = 1.
 */
export function pairedTest(a: readonly number[], b: readonly number[], opts: PairedOptions = {}): PairedResult {
  if (a.length !== b.length) {
    throw new ConfigError('pairedTest: the two samples are not paired', [{ path: 'b', message: `${b.length} values for ${a.length} in a (must be the same items in the same order)` }]);
  }
  const level = opts.level ?? DEFAULT_LEVEL;
  checkLevel(level, 'pairedTest');
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const n = a.length;
  if (n === 0) return { meanA: NaN, meanB: NaN, diff: NaN, low: NaN, high: NaN, level, pValue: NaN, n: 0, clusters: 0, exact: true };
  const d = a.map((x, i) => b[i] - x);
  const meanA = a.reduce((s, x) => s + x, 0) / n;
  const meanB = b.reduce((s, x) => s + x, 0) / n;
  const diff = meanB - meanA;
  const { sums, counts } = clusterSums(d, opts.clusters);
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const stats = resampleRatio(sums, counts, Rng.derive(seed, 'paired-bootstrap'), resamples);
  const q = (1 - level) / 2;
  const low = quantileSorted(stats, q);
  const high = quantileSorted(stats, 1 - q);
  // sign-flip permutation on cluster sums: T = |Σ sᵢ εᵢ|, εᵢ = ±1
  const nz = sums.filter((s) => s !== 0);
  const tObs = Math.abs(nz.reduce((s, x) => s + x, 0));
  const eps = 1e-9 * Math.max(1, nz.reduce((s, x) => s + Math.abs(x), 0));
  let pValue: number;
  let exact: boolean;
  if (nz.length <= 16) {
    exact = true;
    const total = 2 ** nz.length;
    let hits = 0;
    for (let mask = 0; mask < total; mask++) {
      let t = 0;
      for (let i = 0; i < nz.length; i++) t += mask & (1 << i) ? -nz[i] : nz[i];
      if (Math.abs(t) >= tObs - eps) hits++;
    }
    pValue = hits / total;
  } else {
    exact = false;
    const rng = Rng.derive(seed, 'sign-flip');
    let hits = 0;
    for (let r = 0; r < resamples; r++) {
      let t = 0;
      for (let i = 0; i < nz.length; i++) t += rng.next() < 0.5 ? -nz[i] : nz[i];
      if (Math.abs(t) >= tObs - eps) hits++;
    }
    pValue = (hits + 1) / (resamples + 1);
  }
  return { meanA, meanB, diff, low, high, level, pValue, n, clusters: sums.length, exact };
}

/**
 * McNemar's exact test for paired binary outcomes: two-sided binomial p-value of the discordant
 * pairs (a = 1, b = 0 versus a = 0, b = 1). No discordant pair gives p = 1.
 */
export function mcnemar(a: readonly number[], b: readonly number[]): { b01: number; b10: number; pValue: number } {
  if (a.length !== b.length) {
    throw new ConfigError('mcnemar: the two samples are not paired', [{ path: 'b', message: `${b.length} values for ${a.length} in a` }]);
  }
  let b01 = 0;
  let b10 = 0;
  a.forEach((x, i) => {
    if (x === 1 && b[i] === 0) b10++;
    else if (x === 0 && b[i] === 1) b01++;
  });
  const m = b01 + b10;
  if (m === 0) return { b01, b10, pValue: 1 };
  const k = Math.min(b01, b10);
  // P(X ≤ k), X ~ Bin(m, 1/2), in log space
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(m, i) - m * Math.LN2);
  return { b01, b10, pValue: Math.min(1, 2 * tail) };
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}
