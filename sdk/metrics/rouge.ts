/**
 * ROUGE-L identical to Google's `rouge_score`:
 * `RougeScorer(['rougeL'], use_stemmer=True).score(reference, prediction)`.
 *
 * Tokenizer (`rouge_score/tokenize.py`): lower-case, every run of characters outside [a-z0-9]
 * becomes a space, split on whitespace, Porter-stem tokens longer than 3 characters (NLTK's
 * stemmer, see ./porter.ts), drop empty tokens. Score (`rouge_scorer._score_lcs`): if either
 * side has no tokens, all three numbers are 0; else precision = LCS / |prediction|,
 * recall = LCS / |reference|, F = 2PR / (P + R).
 *
 * The official SafeEraser script calls `scorer.score(model_answer, reference)` and reports the
 * `precision` field, which with that argument order is LCS / |reference| — the recall of
 * `rougeL(prediction, reference)`. `rougeLOfficial` returns that figure, named as such.
 *
 * This module imports nothing from the rest of the SDK so that both metrics and judges use it.
 */
import { porterStem } from './porter';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (default true, as `use_stemmer=True`). */
  stem?: boolean;
}

const NON_ALNUM = /[^a-z0-9]+/g;
const STEM_CACHE_MAX = 200_000;
const stemCache = new Map<string, string>();

function stemCached(token: string): string {
  let s = stemCache.get(token);
  if (s === undefined) {
    s = porterStem(token);
    if (stemCache.size >= STEM_CACHE_MAX) stemCache.clear();
    stemCache.set(token, s);
  }
  return s;
}

/** rouge_score's tokenizer (with stemming unless `{stem: false}`). */
export function rougeTokenize(text: string, opts: RougeOptions = {}): string[] {
  const stem = opts.stem ?? true;
  const parts = String(text ?? '').toLowerCase().replace(NON_ALNUM, ' ').split(' ');
  const out: string[] = [];
  for (const p of parts) {
    if (p.length === 0) continue;
    out.push(stem && p.length > 3 ? stemCached(p) : p);
  }
  return out;
}

// Token → small integer, so the LCS compares numbers. Grows with the vocabulary seen; cleared
// when large (ids only need to be consistent within one call).
const tokenIds = new Map<string, number>();
function idsOf(tokens: string[]): Int32Array {
  if (tokenIds.size > 1_000_000) tokenIds.clear();
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    let id = tokenIds.get(tokens[i]);
    if (id === undefined) {
      id = tokenIds.size;
      tokenIds.set(tokens[i], id);
    }
    out[i] = id;
  }
  return out;
}

let rowA = new Int32Array(256);
let rowB = new Int32Array(256);

/** Length of the longest common subsequence of two token lists (O(n·m) time, O(m) memory). */
export function lcsLength(a: ArrayLike<number> | string[], b: ArrayLike<number> | string[]): number {
  const x = Array.isArray(a) && typeof a[0] === 'string' ? idsOf(a as string[]) : (a as ArrayLike<number>);
  const y = Array.isArray(b) && typeof b[0] === 'string' ? idsOf(b as string[]) : (b as ArrayLike<number>);
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return 0;
  if (rowA.length < m + 1) {
    rowA = new Int32Array(m + 1);
    rowB = new Int32Array(m + 1);
  }
  let prev = rowA;
  let cur = rowB;
  prev.fill(0, 0, m + 1);
  for (let i = 1; i <= n; i++) {
    const xi = x[i - 1];
    cur[0] = 0;
    for (let j = 1; j <= m; j++) {
      if (xi === y[j - 1]) cur[j] = prev[j - 1] + 1;
      else {
        const up = prev[j];
        const left = cur[j - 1];
        cur[j] = up > left ? up : left;
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[m];
}

/** F-measure as rouge_score's `scoring.fmeasure`. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** ROUGE-L from already tokenised text (see `rougeTokenize`). */
export function rougeLTokens(prediction: string[], reference: string[]): RougeScore {
  if (prediction.length === 0 || reference.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(idsOf(reference), idsOf(prediction));
  const precision = lcs / prediction.length;
  const recall = lcs / reference.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/**
 * ROUGE-L of `prediction` against `reference`, equal to rouge_score's
 * `RougeScorer(['rougeL'], use_stemmer=True).score(reference, prediction)['rougeL']`.
 */
export function rougeL(prediction: string, reference: string, opts: RougeOptions = {}): RougeScore {
  return rougeLTokens(rougeTokenize(prediction, opts), rougeTokenize(reference, opts));
}

/**
 * The figure the official SafeEraser evaluation stores as `ROUGE-L`: LCS / reference length
 * (its `scorer.score(model_answer, reference).precision`), i.e. `rougeL(prediction, reference).recall`.
 */
export function rougeLOfficial(prediction: string, reference: string): number {
  return rougeL(prediction, reference).recall;
}
