/**
 * Across seeds: per-seed summary rows (a `seed` column) → one row per method, metric and split
 * with the mean, the sample standard deviation, a t interval and each seed's value
 * (`seed_<s>` columns). With a single seed the row keeps that seed's own interval (Wilson or
 * bootstrap), so tables and figures read the same columns either way (docs/metrics.md).
 */
import * as dfd from 'danfojs-node';
import { ConfigError } from '../runtime/errors';
import { DEFAULT_LEVEL, tInterval } from './stats';
import { framesOf } from './summarize';

export interface SeedRow {
  method: string;
  pd: boolean;
  metric: string;
  split: string;
  /** Mean across seeds (the one seed's value with a single seed). */
  value: number;
  /** Sample standard deviation across seeds (NaN with a single seed). */
  sd: number;
  /** Seeds with a value. */
  seeds: number;
  ciLow: number;
  ciHigh: number;
  /** 't' across seeds; with one seed the seed's own interval method. */
  ciMethod: string;
  /** Each seed's value, `seed_<s>`. */
  [seedColumn: `seed_${string}`]: number;
}

export const SEED_COLUMNS = ['method', 'pd', 'metric', 'split', 'value', 'sd', 'seeds', 'ciLow', 'ciHigh', 'ciMethod'] as const;

type RowIn = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined || v === '' ? NaN : Number(v));

/** Aggregate per-seed summary rows (columns method?, pd?, seed, metric, split, value, ciLow?, ciHigh?, ciMethod?). */
export function aggregateSeedRows(rows: readonly RowIn[], opts: { level?: number } = {}): SeedRow[] {
  const level = opts.level ?? DEFAULT_LEVEL;
  if (rows.length && !rows.every((r) => r.seed !== undefined && r.seed !== null)) {
    const i = rows.findIndex((r) => r.seed === undefined || r.seed === null);
    throw new ConfigError('aggregateSeeds: every row needs a seed', [{ path: `rows[${i}].seed`, message: 'missing (the seed the row was measured with)' }]);
  }
  const seeds = [...new Set(rows.map((r) => String(r.seed)))].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const groups = new Map<string, RowIn[]>();
  for (const r of rows) {
    const k = JSON.stringify([String(r.method ?? ''), String(r.metric), String(r.split)]);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  const out: SeedRow[] = [];
  for (const [k, rs] of groups) {
    const [method, metric, split] = JSON.parse(k) as string[];
    const bySeed = new Map(rs.map((r) => [String(r.seed), r]));
    const values = seeds.map((s) => (bySeed.has(s) ? num(bySeed.get(s)!.value) : NaN));
    const present = values.filter(Number.isFinite);
    const row = { method, pd: rs[0].pd === true || rs[0].pd === 'true', metric, split } as SeedRow;
    if (present.length === 1) {
      const only = rs.find((r) => Number.isFinite(num(r.value)))!;
      Object.assign(row, { value: present[0], sd: NaN, seeds: 1, ciLow: num(only.ciLow), ciHigh: num(only.ciHigh), ciMethod: String(only.ciMethod ?? 'none') });
    } else {
      const t = tInterval(values, level);
      Object.assign(row, { value: t.mean, sd: t.sd, seeds: t.n, ciLow: t.low, ciHigh: t.high, ciMethod: t.n > 1 ? 't' : 'none' });
    }
    seeds.forEach((s, i) => ((row as unknown as Record<string, number>)[`seed_${s}`] = values[i]));
    out.push(row);
  }
  return out;
}

/** `aggregateSeedRows` as a danfo frame (SEED_COLUMNS, then one `seed_<s>` column per seed). */
export function aggregateSeeds(summary: dfd.DataFrame | readonly RowIn[], opts: { level?: number } = {}): dfd.DataFrame {
  const rows = Array.isArray(summary) ? (summary as RowIn[]) : (summary as dfd.DataFrame).shape[0] === 0 ? [] : (dfd.toJSON(summary as dfd.DataFrame) as RowIn[]);
  const out = aggregateSeedRows(rows, opts);
  const seedCols = out.length ? Object.keys(out[0]).filter((c) => c.startsWith('seed_')) : [];
  return framesOf(out as unknown as RowIn[], [...SEED_COLUMNS, ...seedCols]);
}

/** "0.583 ± 0.042" (mean ± sd; just the value when sd is NaN); `pct` prints percentages. */
export function formatMeanSd(value: number, sd: number, pct = true): string {
  if (!Number.isFinite(value)) return '–';
  const f = (x: number) => (pct ? `${(x * 100).toFixed(1)}` : x.toFixed(3));
  return Number.isFinite(sd) ? `${f(value)} ± ${f(sd)}` : f(value);
}
