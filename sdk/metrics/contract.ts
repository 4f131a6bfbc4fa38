/**
 * One metric contract: a metric reads sample rows and returns `{agg, byIndex}`
 * — the aggregate and the per-row values keyed by row index — plus its counts. Adding a metric
 * is one file in ./defs and one registration (docs/adding-a-metric.md).
 */
import { Registry } from '../runtime/registry';
import type { SampleKind, SampleRow } from './types';

export interface MetricResult {
  /** The aggregate (a rate or a mean); NaN when no row applies. */
  agg: number;
  /** Per-row value, keyed by the row's index in the rows passed to `compute`. */
  byIndex: Record<number, number>;
  /** Rows covered (the denominator). */
  n: number;
  /** Numerator for rates; rows with a value for means. */
  count: number;
  /** Rows whose judgement was 'unknown'. */
  unknown: number;
}

export interface MetricOptions {
  /** ROUGE-L recall at or above which a harmful response reproduces the model_response (0.5). */
  forgetThreshold?: number;
}

export interface Metric {
  name: string;
  description: string;
  /** Sample kinds the metric reads (rows of other kinds are ignored). */
  kinds: readonly SampleKind[];
  higherIsBetter: boolean;
  /**
   * How summaries put a 95% interval on the aggregate: 'wilson' for a proportion (the per-row
   * values are 0/1; `count` successes of `n`), 'bootstrap' for a mean (records resampled).
   * Default: 'wilson' when every per-row value is 0 or 1, else 'bootstrap'.
   */
  interval?: 'wilson' | 'bootstrap';
  compute(rows: readonly SampleRow[], opts?: MetricOptions): MetricResult;
}

export const METRICS = new Registry<Metric>('metric');

/** Register a metric (re-registering replaces it with a warning). */
export function registerMetric(metric: Metric, opts: { quiet?: boolean } = {}): void {
  METRICS.register(metric.name, metric, opts);
}

export function metricNames(): string[] {
  return METRICS.names();
}

export function getMetric(name: string): Metric {
  return METRICS.get(name);
}

/**
 * A rate: share of the covered rows for which `positive` holds. Rows whose `unknownKey`
 * judgement is unknown stay in the denominator (as in the official evaluation) and count as
 * not positive.
 */
export function rateMetric(def: {
  name: string;
  description: string;
  kinds: readonly SampleKind[];
  higherIsBetter: boolean;
  unknownKey?: string;
  positive: (row: SampleRow, opts: MetricOptions) => boolean;
}): Metric {
  return {
    name: def.name,
    description: def.description,
    kinds: def.kinds,
    higherIsBetter: def.higherIsBetter,
    interval: 'wilson',
    compute(rows, opts = {}) {
      const byIndex: Record<number, number> = {};
      let n = 0;
      let count = 0;
      let unknown = 0;
      rows.forEach((r, i) => {
        if (!def.kinds.includes(r.kind)) return;
        n++;
        const isUnknown = def.unknownKey !== undefined && hasUnknown(r, def.unknownKey);
        if (isUnknown) unknown++;
        const v = !isUnknown && def.positive(r, opts) ? 1 : 0;
        count += v;
        byIndex[i] = v;
      });
      return { agg: n > 0 ? count / n : NaN, byIndex, n, count, unknown };
    },
  };
}

/**
 * A mean of `value(row)` over the covered rows. NaN values are skipped, except rows whose
 * `unknownKey` judgement is unknown, which count as `unknownAs` (the official script scores an
 * unparseable judge reply 0.0). `proportion: true` declares 0/1 values (an accuracy): its
 * `count` is then the number of 1s and summaries give it a Wilson interval.
 */
export function meanMetric(def: {
  name: string;
  description: string;
  kinds: readonly SampleKind[];
  higherIsBetter: boolean;
  unknownKey?: string;
  unknownAs?: number;
  proportion?: boolean;
  value: (row: SampleRow, opts: MetricOptions) => number;
}): Metric {
  return {
    name: def.name,
    description: def.description,
    kinds: def.kinds,
    higherIsBetter: def.higherIsBetter,
    interval: def.proportion ? 'wilson' : 'bootstrap',
    compute(rows, opts = {}) {
      const byIndex: Record<number, number> = {};
      let n = 0;
      let sum = 0;
      let unknown = 0;
      rows.forEach((r, i) => {
        if (!def.kinds.includes(r.kind)) return;
        let v = def.value(r, opts);
        if (def.unknownKey !== undefined && hasUnknown(r, def.unknownKey)) {
          unknown++;
          v = def.unknownAs ?? NaN;
        }
        if (!Number.isFinite(v)) return;
        n++;
        sum += v;
        byIndex[i] = v;
      });
      return { agg: n > 0 ? sum / n : NaN, byIndex, n, count: def.proportion ? sum : n, unknown };
    },
  };
}

export function hasUnknown(row: SampleRow, key: string): boolean {
  return row.unknown !== '' && row.unknown.split(',').includes(key);
}
