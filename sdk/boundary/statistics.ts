/**
 * BABERT's boundary information extractor (Jiang et al., EMNLP 2022, §3.1): an n-gram
 * dictionary mined from raw text with, for every n-gram up to `maxN` characters, its
 * cohesion (PMI) and the left / right entropy of the characters next to it.
 *
 * Definitions (docs/babert.md has the reasoning):
 * - Text is cut into maximal runs of Han characters; anything else (punctuation, Latin, digits,
 *   spaces, line ends) is a boundary. N-grams are substrings of a run, 1..maxN characters.
 * - p(w) = count(w) / H, where H is the number of Han characters counted.
 * - PMI(w) = min over split points k of log( p(w) / (p(w[:k]) p(w[k:])) ) for |w| ≥ 2; the
 *   weakest link decides how cohesive w is. PMI of a single character is defined as 0.
 * - LE(w) = −Σ_c p(c|w) log p(c|w) over the characters c seen immediately left of w, where a
 *   run boundary counts as one symbol (so a string that often starts a run gets low entropy
 *   from that side only if it is always preceded by the same thing); RE likewise on the right.
 *   Natural logarithms throughout.
 *
 * Counting is one pass, streaming, over substrings of length 1..maxN+1 (the (n+1)-grams are
 * the neighbour contexts for the entropies), in one Map. Memory is bounded by `maxEntries`:
 * when the map grows past it, entries with count ≤ t are dropped and t grows (lossy counting
 * in the manner of Manku & Motwani 2002), so counts of rare n-grams are underestimates and
 * `pruneThreshold` records how far that went; frequent n-grams are unaffected in practice.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { DatasetError, ConfigError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';
import { isHanCode, asText, decodeUtf8 } from './corpus';
import type { OnProgress } from '../runtime/progress';

/** The run-boundary symbol used in neighbour contexts (never a Han character). */
export const BOUNDARY = '\u0001';

export interface NgramStat {
  count: number;
  /** Cohesion: min over split points of log p(w)/(p(a)p(b)); 0 for single characters. */
  pmi: number;
  /** Left entropy (nats) of the characters (or a run boundary) before the n-gram. */
  le: number;
  /** Right entropy (nats). */
  re: number;
}

export interface StatisticsOptions {
  /** Longest n-gram (default 4). */
  maxN?: number;
  /** Keep n-grams seen at least this often in the final dictionary (default 2). */
  minCount?: number;
  /** Bound on live counting entries before pruning (default 4,000,000). */
  maxEntries?: number;
  /** Called every ~64k characters with (characters done, total when known). */
  onProgress?: OnProgress;
}

export interface StatisticsMeta {
  format: 'eraserlab-ngram-stats';
  version: 1;
  maxN: number;
  minCount: number;
  /** Han characters counted (the H in p(w) = count/H). */
  hanChars: number;
  /** All characters read. */
  chars: number;
  /** Largest count pruned while counting (0: every count is exact). */
  pruneThreshold: number;
  entries: number;
}

/** The mined dictionary. Look n-grams up with `get`. */
export class NgramStatistics {
  constructor(readonly meta: StatisticsMeta, private readonly table: Map<string, NgramStat>) {}

  get maxN(): number {
    return this.meta.maxN;
  }
  get size(): number {
    return this.table.size;
  }
  get(ngram: string): NgramStat | undefined {
    return this.table.get(ngram);
  }
  has(ngram: string): boolean {
    return this.table.has(ngram);
  }
  entries(): IterableIterator<[string, NgramStat]> {
    return this.table.entries();
  }
  /** The `k` most frequent n-grams of length `n`. */
  top(n: number, k = 20): Array<[string, NgramStat]> {
    const out: Array<[string, NgramStat]> = [];
    for (const e of this.table) if (e[0].length === n) out.push(e);
    out.sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    return out.slice(0, k);
  }

  /**
   * Save as text: one JSON header line (the meta), then one line per n-gram,
   * `ngram \t count \t pmi \t le \t re` (4 decimals), sorted by length then count. A path ending
   * in `.gz` is gzipped (about 10 bytes per entry for a typical dictionary).
   */
  save(file: string): void {
    const rows = [...this.table.entries()].sort((a, b) => a[0].length - b[0].length || b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
    const parts: string[] = [JSON.stringify(this.meta)];
    for (const [k, s] of rows) parts.push(`${k}\t${s.count}\t${fmt(s.pmi)}\t${fmt(s.le)}\t${fmt(s.re)}`);
    const text = parts.join('\n') + '\n';
    writeFileAtomic(file, file.endsWith('.gz') ? zlib.gzipSync(Buffer.from(text, 'utf8')) : text);
  }

  static load(file: string): NgramStatistics {
    let bytes: Uint8Array = fs.readFileSync(file);
    if (file.endsWith('.gz')) bytes = zlib.gunzipSync(bytes);
    return NgramStatistics.parse(decodeUtf8(bytes, file), file);
  }

  static parse(text: string, source = '<text>'): NgramStatistics {
    const lines = text.split('\n');
    let meta: StatisticsMeta;
    try {
      meta = JSON.parse(lines[0]) as StatisticsMeta;
    } catch {
      throw new DatasetError(`${source} is not an n-gram statistics file: its first line must be a JSON header`, [
        { path: `${source}:1`, message: 'expected a JSON header line with format "eraserlab-ngram-stats"', file: source },
      ]);
    }
    if (meta.format !== 'eraserlab-ngram-stats' || meta.version !== 1) {
      throw new DatasetError(`${source} is not an n-gram statistics file (format ${JSON.stringify(meta.format)}, version ${meta.version}); expected format "eraserlab-ngram-stats" version 1`, []);
    }
    const table = new Map<string, NgramStat>();
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i];
      if (!l) continue;
      const f = l.split('\t');
      if (f.length !== 5) {
        throw new DatasetError(`${source}:${i + 1}: expected 5 tab-separated fields (ngram, count, pmi, le, re), found ${f.length}`, [
          { path: `${source}:${i + 1}`, message: 'malformed row', file: source, record: i - 1 },
        ]);
      }
      table.set(f[0], { count: Number(f[1]), pmi: Number(f[2]), le: Number(f[3]), re: Number(f[4]) });
    }
    return new NgramStatistics({ ...meta, entries: table.size }, table);
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

/** Streaming counter; `statistics()` wraps it. Feed text with `add`, then `finish`. */
export class NgramCounter {
  readonly maxN: number;
  readonly minCount: number;
  readonly maxEntries: number;
  private counts = new Map<string, number>();
  private threshold = 0;
  hanChars = 0;
  chars = 0;

  constructor(opts: StatisticsOptions = {}) {
    this.maxN = opts.maxN ?? 4;
    this.minCount = opts.minCount ?? 2;
    this.maxEntries = opts.maxEntries ?? 4_000_000;
    const issues = [];
    if (!Number.isInteger(this.maxN) || this.maxN < 1 || this.maxN > 8) issues.push({ path: 'maxN', message: `must be an integer in 1..8, got ${this.maxN}` });
    if (!Number.isInteger(this.minCount) || this.minCount < 1) issues.push({ path: 'minCount', message: `must be an integer ≥ 1, got ${this.minCount}` });
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1000) issues.push({ path: 'maxEntries', message: `must be an integer ≥ 1000, got ${this.maxEntries}` });
    if (issues.length) throw new ConfigError('Invalid n-gram statistics options', issues);
  }

  /** Live counting entries (bounded by maxEntries). */
  get liveEntries(): number {
    return this.counts.size;
  }
  get pruneThreshold(): number {
    return this.threshold;
  }

  /** Count one piece of text (any length; runs never continue across calls). */
  add(text: string): void {
    this.chars += text.length;
    const n = text.length;
    let i = 0;
    while (i < n) {
      while (i < n && !isHanCode(text.charCodeAt(i))) i++;
      if (i >= n) break;
      let j = i;
      while (j < n && isHanCode(text.charCodeAt(j))) j++;
      this.countRun(BOUNDARY + text.slice(i, j) + BOUNDARY);
      this.hanChars += j - i;
      i = j;
    }
    if (this.counts.size > this.maxEntries) this.prune();
  }

  private countRun(padded: string): void {
    const counts = this.counts;
    const L = padded.length; // run length + 2
    const maxLen = this.maxN + 1;
    for (let s = 0; s < L - 1; s++) {
      // Substrings starting at s. Starting at the left boundary: only contexts "·w" (|w| ≤ maxN).
      for (let len = 1; len <= maxLen && s + len <= L; len++) {
        if (s === 0 && len === 1) continue; // the lone boundary symbol
        const end = s + len;
        if (s === 0 && end === L) break; // "·run·": both sides are boundaries, not a context
        const key = padded.slice(s, end);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (end === L) break; // reached the right boundary
      }
    }
  }

  private prune(): void {
    const target = Math.floor(this.maxEntries / 2);
    while (this.counts.size > target) {
      this.threshold++;
      for (const [k, c] of this.counts) if (c <= this.threshold) this.counts.delete(k);
    }
  }

  /** Compute PMI / LE / RE for every n-gram (1..maxN, count ≥ minCount). */
  finish(): NgramStatistics {
    if (this.chars === 0) throw new DatasetError('The corpus is empty: there is no text to mine n-gram statistics from', []);
    if (this.hanChars === 0) {
      throw new DatasetError(`The corpus has no Han characters (${this.chars} characters read): boundary statistics are mined from runs of Chinese characters`, []);
    }
    const counts = this.counts;
    const H = this.hanChars;
    const logH = Math.log(H);
    // Pass 1: the n-grams that will be kept, each with neighbour sums [S_left, Q_left, S_right,
    // Q_right] (S = Σ c, Q = Σ c log c over its contexts); only these need accumulators.
    const maxN = this.maxN;
    const acc = new Map<string, Float64Array>();
    for (const [k, c] of counts) {
      if (c < this.minCount || k.length > maxN || k.charCodeAt(0) === 1 || k.charCodeAt(k.length - 1) === 1) continue;
      acc.set(k, new Float64Array(4));
    }
    // Pass 2: every context string k = c·w or w·c adds to w's sums.
    for (const [k, c] of counts) {
      if (k.length < 2) continue;
      const clog = c * Math.log(c);
      const r = acc.get(k.slice(0, -1)); // k = w + right neighbour
      if (r) {
        r[2] += c;
        r[3] += clog;
      }
      const l = acc.get(k.slice(1)); // k = left neighbour + w
      if (l) {
        l[0] += c;
        l[1] += clog;
      }
    }
    const ent = (S: number, Q: number) => (S > 0 ? Math.max(0, Math.log(S) - Q / S) : 0);
    const table = new Map<string, NgramStat>();
    for (const [k, a] of acc) {
      const c = counts.get(k)!;
      let pmi = 0;
      if (k.length >= 2) {
        pmi = Infinity;
        const lw = Math.log(c) - logH;
        for (let s = 1; s < k.length; s++) {
          const pa = counts.get(k.slice(0, s)) ?? c; // a pruned part counts at least as often as k
          const pb = counts.get(k.slice(s)) ?? c;
          const v = lw - (Math.log(pa) - logH) - (Math.log(pb) - logH);
          if (v < pmi) pmi = v;
        }
      }
      table.set(k, { count: c, pmi, le: ent(a[0], a[1]), re: ent(a[2], a[3]) });
    }
    const meta: StatisticsMeta = {
      format: 'eraserlab-ngram-stats',
      version: 1,
      maxN,
      minCount: this.minCount,
      hanChars: H,
      chars: this.chars,
      pruneThreshold: this.threshold,
      entries: table.size,
    };
    return new NgramStatistics(meta, table);
  }
}

/**
 * Mine boundary statistics from a corpus: a string, bytes (strict UTF-8), or any iterable of
 * strings (lines, files' contents, a generator reading a large corpus lazily).
 */
export function statistics(corpus: string | Uint8Array | Iterable<string>, opts: StatisticsOptions = {}): NgramStatistics {
  const counter = new NgramCounter(opts);
  const chunks: Iterable<string> = typeof corpus === 'string' ? [corpus] : corpus instanceof Uint8Array ? [asText(corpus)] : corpus;
  let sinceReport = 0;
  for (const chunk of chunks) {
    if (typeof chunk !== 'string') throw new DatasetError(`statistics(): corpus items must be strings, got ${typeof chunk}`, []);
    // Feed long strings in pieces so memory pruning can run inside them (pieces are cut at non-Han characters).
    if (chunk.length > 1 << 16) {
      let start = 0;
      while (start < chunk.length) {
        let end = Math.min(chunk.length, start + (1 << 16));
        while (end < chunk.length && isHanCode(chunk.charCodeAt(end))) end++;
        counter.add(chunk.slice(start, end));
        start = end;
        opts.onProgress?.(counter.chars, typeof corpus === 'string' ? corpus.length : NaN);
      }
    } else {
      counter.add(chunk);
      sinceReport += chunk.length;
      if (sinceReport >= 1 << 16) {
        sinceReport = 0;
        opts.onProgress?.(counter.chars, NaN);
      }
    }
  }
  return counter.finish();
}

