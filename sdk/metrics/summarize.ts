/**
 * Summaries from sample rows: one row per metric and split, and per category. Works on rows
 * from `evaluate`, from `importOfficial`, or on a (filtered) samples frame.
 */
import * as dfd from 'danfojs-node';
import { METRICS, type Metric, type MetricOptions, type MetricResult } from './contract';
import './defs';
import { bootstrapMean, DEFAULT_BOOTSTRAP_SEED, DEFAULT_LEVEL, DEFAULT_RESAMPLES, wilson, type Interval } from './stats';
import {
  CATEGORY_COLUMNS,
  SAMPLE_COLUMNS,
  SUMMARY_COLUMNS,
  type CategoryRow,
  type SampleRow,
  type SummaryRow,
} from './types';

export interface SummarizeOptions extends MetricOptions {
  /** Metric names (default: every registered metric). */
  metrics?: readonly string[];
  /** Coverage of the `ciLow`/`ciHigh` interval on every row (default 0.95). */
  ciLevel?: number;
  /** Seed of the bootstrap behind the means' intervals (default 17; equal seeds, equal intervals). */
  bootstrapSeed?: number;
  /** Bootstrap resamples for the means' intervals (default 2000). */
  bootstrapResamples?: number;
}

/**
 * The interval of one metric's aggregate over `rows`: Wilson for proportions (`count` of `n`),
 * a percentile bootstrap for means that resamples records (a record's answers move together).
 */
export function metricInterval(m: Metric, rows: readonly SampleRow[], res: MetricResult, opts: SummarizeOptions = {}): Interval {
  const level = opts.ciLevel ?? DEFAULT_LEVEL;
  const idx = Object.keys(res.byIndex).map(Number);
  const values = idx.map((i) => res.byIndex[i]);
  const method = m.interval ?? (values.every((v) => v === 0 || v === 1) ? 'wilson' : 'bootstrap');
  if (method === 'wilson') {
    // successes from the per-row values (a rate's count; an accuracy's correct answers)
    const successes = values.reduce((a, b) => a + b, 0);
    return wilson(successes, res.n, level);
  }
  return bootstrapMean(values, {
    level,
    seed: opts.bootstrapSeed ?? DEFAULT_BOOTSTRAP_SEED,
    resamples: opts.bootstrapResamples ?? DEFAULT_RESAMPLES,
    clusters: idx.map((i) => `${rows[i].split}/${rows[i].record}`),
  });
}

export interface SummaryTables {
  summary: SummaryRow[];
  byCategory: CategoryRow[];
}

/** Compute every metric per split (and per category) from sample rows. */
export function summarizeRows(rows: readonly SampleRow[], opts: SummarizeOptions = {}): SummaryTables {
  const names = opts.metrics ?? METRICS.names();
  const metrics = names.map((n) => METRICS.get(n));
  const splits = [...new Set(rows.map((r) => r.split))];
  const summary: SummaryRow[] = [];
  const byCategory: CategoryRow[] = [];
  for (const m of metrics) {
    for (const split of splits) {
      const inSplit = rows.filter((r) => r.split === split && m.kinds.includes(r.kind));
      if (inSplit.length === 0) continue;
      const res = m.compute(inSplit, opts);
      if (res.n === 0 && res.unknown === 0) continue; // e.g. ROUGE-L F of imported rows without references
      const ci = metricInterval(m, inSplit, res, opts);
      summary.push({ metric: m.name, split, value: res.agg, n: res.n, count: res.count, unknown: res.unknown, ciLow: ci.low, ciHigh: ci.high, ciMethod: ci.method });
      const cats = [...new Set(inSplit.map((r) => r.category).filter((c) => c !== ''))].sort();
      for (const category of cats) {
        const c = m.compute(inSplit.filter((r) => r.category === category), opts);
        if (c.n === 0) continue;
        byCategory.push({ category, metric: m.name, split, value: c.agg, n: c.n });
      }
    }
  }
  return { summary, byCategory };
}

/** A danfo DataFrame from row objects with the given column order (an empty frame keeps its columns). */
export function framesOf<T extends object>(rows: readonly T[], columns: readonly (keyof T)[]): dfd.DataFrame {
  const cols = columns.map(String);
  if (rows.length === 0) return new dfd.DataFrame([], { columns: cols });
  return new dfd.DataFrame(
    rows.map((r) => {
      const o: Record<string, unknown> = {};
      for (const c of cols) o[c] = (r as Record<string, unknown>)[c];
      return o;
    }),
    { columns: cols },
  );
}

/** Sample rows back from a samples frame (or rows passed through). */
export function rowsOf(samples: dfd.DataFrame | readonly SampleRow[]): SampleRow[] {
  if (Array.isArray(samples)) return samples as SampleRow[];
  const df = samples as dfd.DataFrame;
  if (df.shape[0] === 0) return [];
  const json = dfd.toJSON(df) as Record<string, unknown>[];
  return json.map((o) => {
    const r = { ...o } as unknown as SampleRow;
    for (const k of ['unsafe', 'refusal', 'normal', 'score', 'rougeL', 'rougeL_recall'] as const) {
      const v = (o as Record<string, unknown>)[k];
      r[k] = v === null || v === undefined ? NaN : Number(v);
    }
    r.unknown = o.unknown === null || o.unknown === undefined ? '' : String(o.unknown);
    r.category = o.category === null || o.category === undefined ? '' : String(o.category);
    return r;
  });
}

export interface SummaryFrames {
  summary: dfd.DataFrame;
  byCategory: dfd.DataFrame;
}

/** `summary` and `byCategory` frames from a samples frame or rows (e.g. after filtering). */
export function summarize(samples: dfd.DataFrame | readonly SampleRow[], opts: SummarizeOptions = {}): SummaryFrames {
  const t = summarizeRows(rowsOf(samples), opts);
  return { summary: framesOf(t.summary, SUMMARY_COLUMNS), byCategory: framesOf(t.byCategory, CATEGORY_COLUMNS) };
}

export function samplesFrame(rows: readonly SampleRow[]): dfd.DataFrame {
  return framesOf(rows, SAMPLE_COLUMNS);
}
