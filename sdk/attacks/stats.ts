/**
 * The two statistics the attacks report beside rates: the ROC AUC of a score separating two
 * groups (as sklearn's roc_auc_score computes it: the Mann–Whitney probability, ties count ½)
 * and the two-sample Kolmogorov–Smirnov test with its exact two-sided p-value (what
 * scipy.stats.ks_2samp returns in its default mode for samples this small).
 */

/**
 * AUC of `score` for telling `positive` from `negative` samples: P(score(pos) > score(neg)) +
 * ½·P(tie). 0.5 = the score cannot tell them apart. NaN scores are not allowed.
 */
export function rocAuc(negative: readonly number[], positive: readonly number[]): number {
  if (negative.length === 0 || positive.length === 0) return NaN;
  // rank-sum form: sort once, average ranks over ties
  const all = [...negative.map((v) => ({ v, pos: false })), ...positive.map((v) => ({ v, pos: true }))].sort((a, b) => a.v - b.v);
  let rankSumPos = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (all[t].pos) rankSumPos += avgRank;
    i = j + 1;
  }
  const nP = positive.length;
  const nN = negative.length;
  return (rankSumPos - (nP * (nP + 1)) / 2) / (nP * nN);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export interface KsResult {
  /** sup |F_x − F_y| of the two empirical CDFs. */
  statistic: number;
  /** Exact two-sided p-value: P(D ≥ statistic) when both samples come from one continuous distribution. */
  pvalue: number;
}

/**
 * Two-sample Kolmogorov–Smirnov test. The p-value is exact: the share of the C(n+m, n)
 * equally likely merge orders whose ECDF gap reaches the observed D, counted on the lattice
 * (probabilities propagated, so no counts overflow).
 */
export function ks2samp(x: readonly number[], y: readonly number[]): KsResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { statistic: NaN, pvalue: NaN };
  const a = [...x].sort((p, q) => p - q);
  const b = [...y].sort((p, q) => p - q);
  // D with right-continuous ECDFs evaluated at every data point
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n && a[i] <= v) i++;
    while (j < m && b[j] <= v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return { statistic: d, pvalue: ksPvalue(d, n, m) };
}

/**
 * The exact two-sided p-value of a two-sample KS statistic `d` for sample sizes `n` and `m`:
 * P(D ≥ d) under the null hypothesis.
 */
export function ksPvalue(d: number, n: number, m: number): number {
  if (!(n > 0 && m > 0) || !Number.isFinite(d)) return NaN;
  // on the lattice, gaps are multiples of 1/lcm: h = D·lcm (rounded, as scipy does)
  const g = gcd(n, m);
  const lcm = (n / g) * m;
  const h = Math.round(d * lcm);
  if (h === 0) return 1;
  // P(path leaves the band |i·(m/g) − j·(n/g)| < h), moving right (x) or up (y) uniformly:
  // the probability mass entering a cell outside the band is the chance of a first exit
  // there; summed directly (no 1 − P(inside)), so tiny p-values keep their precision
  const mg = m / g;
  const ng = n / g;
  let outside = 0;
  let prev = new Float64Array(m + 1);
  let cur = new Float64Array(m + 1);
  prev[0] = 1;
  for (let jj = 1; jj <= m; jj++) {
    const mass = prev[jj - 1] * ((m - jj + 1) / (n + m - jj + 1));
    if (jj * ng >= h) {
      outside += mass;
      prev[jj] = 0;
    } else prev[jj] = mass;
  }
  for (let ii = 1; ii <= n; ii++) {
    for (let jj = 0; jj <= m; jj++) {
      // arriving from (ii−1, jj) by an x step, or from (ii, jj−1) by a y step
      const fromX = prev[jj] * ((n - ii + 1) / (n + m - ii + 1 - jj));
      const fromY = jj > 0 ? cur[jj - 1] * ((m - jj + 1) / (n + m - ii - jj + 1)) : 0;
      if (Math.abs(ii * mg - jj * ng) >= h) {
        outside += fromX + fromY;
        cur[jj] = 0;
      } else cur[jj] = fromX + fromY;
    }
    [prev, cur] = [cur, prev];
  }
  return Math.min(1, Math.max(0, outside));
}
