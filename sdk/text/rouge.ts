/**
 * The one ROUGE-L / longest-common-subsequence implementation of eraserlab, a leaf module
 * (imports nothing from the rest of the SDK) used by metrics, the rules judge, the unlearning
 * probes and pretraining's accuracy check.
 *
 * One LCS (bit-parallel over token ids, `lcsLength`) under three tokenisations, each kept for
 * what its caller reports:
 *
 * - `rougeL` / `rougeLOfficial` / `rougeTokenize`: identical to Google's `rouge_score`
 *   (`RougeScorer(['rougeL'], use_stemmer=True).score(reference, prediction)`), the metrics'
 *   and the judge's figure. Tokenizer (`rouge_score/tokenize.py`): lower-case, every run of
 *   characters outside [a-z0-9] becomes a space, split on whitespace, Porter-stem tokens longer
 *   than 3 characters (NLTK's stemmer, see ./porter.ts), drop empty tokens. Score
 *   (`rouge_scorer._score_lcs`): if either side has no tokens, all three numbers are 0; else
 *   precision = LCS / |prediction|, recall = LCS / |reference|, F = 2PR / (P + R).
 *   The official SafeEraser script calls `scorer.score(model_answer, reference)` and reports the
 *   `precision` field, which with that argument order is LCS / |reference| — the recall of
 *   `rougeL(prediction, reference)`. `rougeLOfficial` returns that figure, named as such.
 * - `rougeLRecall` (the unlearning probes' retainRouge and match test): LCS / reference length
 *   over `wordTokens` (lower-cased runs of Unicode letters and digits, no stemming).
 * - `rougeLF1` (pretraining's accuracy check): the LCS F-measure over `plainWords` (lower-case,
 *   apostrophes kept inside words, other punctuation ignored, no stemming); two empty texts
 *   score 1.
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
const stemCache = new Map<string, string>();

function stemCached(token: string): string {
  let s = stemCache.get(token);
  if (s === undefined) {
    s = porterStem(token);
    if (stemCache.size >= 500_000) stemCache.clear();
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

// Token → small integer, so the LCS compares numbers. The caches grow with the vocabulary seen
// and are cleared together when large, only at the start of a public call (ids must stay
// consistent within one call).
const tokenIds = new Map<string, number>();
const CACHE_MAX = 500_000;

function maybeClearCaches(): void {
  if (tokenIds.size > CACHE_MAX || stemTable.size > CACHE_MAX || rawTable.size > CACHE_MAX) {
    tokenIds.clear();
    stemTable.clear();
    rawTable.clear();
    stemCache.clear();
  }
}

function idOf(token: string): number {
  let id = tokenIds.get(token);
  if (id === undefined) {
    id = tokenIds.size;
    tokenIds.set(token, id);
  }
  return id;
}

function idsOf(tokens: string[]): Int32Array {
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) out[i] = idOf(tokens[i]);
  return out;
}

/**
 * Open-addressing table: lower-case raw token → id of its stem (or of itself), looked up
 * straight from the text's characters (no substring is allocated on a hit).
 */
class TokenTable {
  keys: (string | undefined)[] = new Array(1 << 12);
  hashes = new Int32Array(1 << 12);
  vals = new Int32Array(1 << 12);
  size = 0;
  constructor(readonly stem: boolean) {}

  clear(): void {
    this.keys = new Array(1 << 12);
    this.hashes = new Int32Array(1 << 12);
    this.vals = new Int32Array(1 << 12);
    this.size = 0;
  }

  /** Id of the token s[start, end) (ASCII alphanumerics; upper case allowed), hash precomputed on its lower case. */
  lookup(s: string, start: number, end: number, hash: number): number {
    const len = end - start;
    let mask = this.keys.length - 1;
    let i = hash & mask;
    for (;;) {
      const k = this.keys[i];
      if (k === undefined) break;
      if (this.hashes[i] === hash && k.length === len) {
        let same = true;
        for (let q = 0; q < len; q++) {
          let c = s.charCodeAt(start + q);
          if (c >= 65 && c <= 90) c += 32;
          if (c !== k.charCodeAt(q)) {
            same = false;
            break;
          }
        }
        if (same) return this.vals[i];
      }
      i = (i + 1) & mask;
    }
    const tok = s.slice(start, end).toLowerCase();
    const id = idOf(this.stem && tok.length > 3 ? stemCached(tok) : tok);
    if ((this.size + 1) * 2 > this.keys.length) {
      this.grow();
      mask = this.keys.length - 1;
      i = hash & mask;
      while (this.keys[i] !== undefined) i = (i + 1) & mask;
    }
    this.keys[i] = tok;
    this.hashes[i] = hash;
    this.vals[i] = id;
    this.size++;
    return id;
  }

  private grow(): void {
    const oldK = this.keys;
    const oldH = this.hashes;
    const oldV = this.vals;
    const n = oldK.length * 2;
    this.keys = new Array(n);
    this.hashes = new Int32Array(n);
    this.vals = new Int32Array(n);
    const mask = n - 1;
    for (let j = 0; j < oldK.length; j++) {
      if (oldK[j] === undefined) continue;
      let i = oldH[j] & mask;
      while (this.keys[i] !== undefined) i = (i + 1) & mask;
      this.keys[i] = oldK[j];
      this.hashes[i] = oldH[j];
      this.vals[i] = oldV[j];
    }
  }
}

const stemTable = new TokenTable(true);
const rawTable = new TokenTable(false);

let idBuf = new Int32Array(1024);

/** Token ids of a text, as rougeTokenize would give them (fast path for ASCII text). */
function textIds(text: string, stem: boolean): Int32Array {
  const s = typeof text === 'string' ? text : String(text ?? '');
  const table = stem ? stemTable : rawTable;
  let n = 0;
  let start = -1;
  let hash = 0;
  const len = s.length;
  for (let i = 0; i <= len; i++) {
    let c = i < len ? s.charCodeAt(i) : 32;
    if (c >= 128) {
      // non-ASCII: Unicode lower-casing can yield ASCII letters (e.g. U+212A KELVIN SIGN → k)
      return idsOf(rougeTokenize(s, { stem }));
    }
    if (c >= 65 && c <= 90) c += 32;
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) {
      if (start < 0) {
        start = i;
        hash = 0x811c9dc5;
      }
      hash = Math.imul(hash ^ c, 0x01000193);
    } else if (start >= 0) {
      if (n >= idBuf.length) {
        const bigger = new Int32Array(idBuf.length * 2);
        bigger.set(idBuf);
        idBuf = bigger;
      }
      idBuf[n++] = table.lookup(s, start, i, hash >>> 1);
      start = -1;
    }
  }
  return idBuf.slice(0, n);
}

// Bit-parallel LCS (Hyyrö 2004, "Bit-parallel LCS-length computation revisited"): bit i of V
// stands for position i of `a`; for each symbol y of `b`, U = V & Match[y], V = (V + U) | (V − U);
// the LCS length is the number of zero bits of V. O(|b|·⌈|a|/32⌉) word operations.
let stamp = new Int32Array(1024);
let slot = new Int32Array(1024);
let callNo = 0;
let masks = new Uint32Array(1024);
let vec = new Uint32Array(64);

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function lcsBits(a: Int32Array, b: Int32Array): number {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return 0;
  const W = (m + 31) >>> 5;
  if (++callNo > 0x7ffffff0) {
    callNo = 1;
    stamp.fill(0);
  }
  let distinct = 0;
  for (let i = 0; i < m; i++) {
    const id = a[i];
    if (id >= stamp.length) {
      let size = stamp.length;
      while (size <= id) size *= 2;
      const s2 = new Int32Array(size);
      s2.set(stamp);
      stamp = s2;
      const l2 = new Int32Array(size);
      l2.set(slot);
      slot = l2;
    }
    if (stamp[id] !== callNo) {
      stamp[id] = callNo;
      slot[id] = distinct++;
    }
  }
  if (masks.length < distinct * W) masks = new Uint32Array(Math.max(distinct * W, masks.length * 2));
  masks.fill(0, 0, distinct * W);
  for (let i = 0; i < m; i++) masks[slot[a[i]] * W + (i >>> 5)] |= 1 << (i & 31);
  if (vec.length < W) vec = new Uint32Array(W * 2);
  vec.fill(0xffffffff, 0, W);
  const st = stamp;
  for (let j = 0; j < n; j++) {
    const id = b[j];
    if (id >= st.length || st[id] !== callNo) continue; // no match: V unchanged
    const base = slot[id] * W;
    let carry = 0;
    for (let k = 0; k < W; k++) {
      const v = vec[k];
      const u = (v & masks[base + k]) >>> 0;
      const sum = v + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      vec[k] = (sum | (v & ~u)) >>> 0;
    }
  }
  let zeros = 0;
  for (let k = 0; k < W; k++) {
    let x = ~vec[k];
    if (k === W - 1 && (m & 31) !== 0) x &= (1 << (m & 31)) - 1;
    zeros += popcount32(x >>> 0);
  }
  return zeros;
}

/** The textbook O(n·m) dynamic programme (kept for tests of the bit-parallel version). */
export function lcsLengthDP(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return 0;
  let prev = new Int32Array(m + 1);
  let cur = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    const xi = x[i - 1];
    cur[0] = 0;
    for (let j = 1; j <= m; j++) {
      if (xi === y[j - 1]) cur[j] = prev[j - 1] + 1;
      else cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[m];
}

/** Length of the longest common subsequence of two token lists (strings or integer ids). */
export function lcsLength(a: ArrayLike<number> | readonly string[], b: ArrayLike<number> | readonly string[]): number {
  maybeClearCaches();
  const toIds = (x: ArrayLike<number> | readonly string[]): Int32Array => {
    if (x instanceof Int32Array) return x;
    if (x.length > 0 && typeof x[0] === 'string') return idsOf(x as string[]);
    const out = new Int32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = (x as ArrayLike<number>)[i];
      // arbitrary numbers → small ids (so the bit-parallel tables stay small)
      out[i] = idOf('#' + String(v));
    }
    return out;
  };
  const x = toIds(a);
  const y = toIds(b);
  return x.length <= y.length ? lcsBits(x, y) : lcsBits(y, x);
}

/** F-measure as rouge_score's `scoring.fmeasure`. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function scoreFromIds(pred: Int32Array, ref: Int32Array): RougeScore {
  if (pred.length === 0 || ref.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = pred.length <= ref.length ? lcsBits(pred, ref) : lcsBits(ref, pred);
  const precision = lcs / pred.length;
  const recall = lcs / ref.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** ROUGE-L from already tokenised text (see `rougeTokenize`). */
export function rougeLTokens(prediction: readonly string[], reference: readonly string[]): RougeScore {
  maybeClearCaches();
  return scoreFromIds(idsOf(prediction as string[]), idsOf(reference as string[]));
}

/**
 * ROUGE-L of `prediction` against `reference`, equal to rouge_score's
 * `RougeScorer(['rougeL'], use_stemmer=True).score(reference, prediction)['rougeL']`.
 */
export function rougeL(prediction: string, reference: string, opts: RougeOptions = {}): RougeScore {
  maybeClearCaches();
  const stem = opts.stem ?? true;
  const ref = textIds(reference, stem);
  const pred = textIds(prediction, stem);
  return scoreFromIds(pred, ref);
}

/**
 * The figure the official SafeEraser evaluation stores as `ROUGE-L`: LCS / reference length
 * (its `scorer.score(model_answer, reference).precision`), i.e. `rougeL(prediction, reference).recall`.
 */
export function rougeLOfficial(prediction: string, reference: string): number {
  return rougeL(prediction, reference).recall;
}

// ---------------------------------------------------------------------------------------------
// The probes' and pretraining's word-level variants (no stemming)

/** Lower-cased runs of Unicode letters and digits (the unlearning probes' tokens). */
export function wordTokens(s: string): string[] {
  return s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Lower-cased words with apostrophes kept inside them, other punctuation ignored (pretraining's tokens). */
export function plainWords(s: string): string[] {
  return s.toLowerCase().replace(/[^a-z0-9\s']/g, ' ').split(/\s+/).filter(Boolean);
}

/** LCS / reference length over `wordTokens` (no stemming); 0 for an empty reference. */
export function rougeLRecall(response: string, reference: string): number {
  const ref = wordTokens(reference);
  if (ref.length === 0) return 0;
  return lcsLength(wordTokens(response), ref) / ref.length;
}

/** ROUGE-L F1 over `plainWords` (case and punctuation ignored, no stemming); 1 when both are empty. */
export function rougeLF1(candidate: string, reference: string): number {
  const a = plainWords(candidate);
  const b = plainWords(reference);
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 1 : 0;
  const lcs = lcsLength(a, b);
  if (lcs === 0) return 0;
  const p = lcs / a.length;
  const r = lcs / b.length;
  return (2 * p * r) / (p + r);
}
