/**
 * `compare(samplesOrSummary, {a, b})`: is method b better or worse than method a on the same
 * items, beyond chance? For every metric and split: both methods' values on the paired items,
 * the difference b − a, its paired bootstrap 95% interval and a permutation p-value
 * (docs/metrics.md, "Paired comparisons").
 *
 * From samples (rows with a `method` column, and a `seed` column when several seeds were run),
 * the pairs are the same response slot (seed, id, sample) under both methods; the interval
 * resamples records (seed × split × record) and the p-value flips the sign of each record's
 * difference. From a summary with a `seed` column (no per-item rows), the pairs are the seeds:
 * a t interval of the per-seed differences and the exact sign-flip p-value over seeds.
 */
import * as dfd from 'danfojs-node';
import { ConfigError } from '../runtime/errors';
import { METRICS, type MetricOptions } from './contract';
import './defs';
import { DEFAULT_BOOTSTRAP_SEED, DEFAULT_LEVEL, DEFAULT_RESAMPLES, mcnemar, pairedTest, tInterval } from './stats';
import { framesOf, rowsOf } from './summarize';
import type { SampleRow } from './types';

export interface CompareOptions extends MetricOptions {
  /** The reference method, e.g. 'po'. */
  a: string;
  /** The method compared against it, e.g. 'po+pd'. */
  b: string;
  /** Metrics compared (default: sarr and forgetRate). */
  metrics?: readonly string[];
  /** Only this split (default: every split present). */
  split?: string;
  /** Seed of the bootstrap and of the sampled permutations (default 17). */
  seed?: number;
  /** Bootstrap resamples and sampled sign flips (default 2000). */
  resamples?: number;
  /** Interval coverage (default 0.95). */
  level?: number;
}

/** One comparison row. */
export interface CompareRow {
  metric: string;
  split: string;
  a: string;
  b: string;
  /** Method a's value on the paired items (from samples: the mean over pairs; from a summary: the mean over seeds). */
  valueA: number;
  valueB: number;
  /** valueB − valueA (negative: b lowers the metric). */
  diff: number;
  ciLow: number;
  ciHigh: number;
  /** Two-sided p-value of "no difference". */
  pValue: number;
  /** McNemar's exact p-value for 0/1 metrics compared from samples (NaN otherwise). */
  pMcNemar: number;
  /** Paired items (from samples) or seeds (from a summary). */
  n: number;
  /** Resampling units: records × seeds (from samples) or seeds. */
  units: number;
  /** How the interval was computed: 'paired bootstrap' (records resampled) or 't' (across seeds). */
  ciMethod: string;
  /** How the p-value was computed: 'sign-flip exact' or 'sign-flip (N draws)'. */
  test: string;
}

export const COMPARE_COLUMNS: readonly (keyof CompareRow)[] = [
  'metric', 'split', 'a', 'b', 'valueA', 'valueB', 'diff', 'ciLow', 'ciHigh', 'pValue', 'pMcNemar', 'n', 'units', 'ciMethod', 'test',
];

type Input = dfd.DataFrame | readonly object[] | ResultsLike;
/** A results object (an evaluation result, the main job's tables) holding samples or a summary. */
interface ResultsLike {
  samples?: dfd.DataFrame | readonly object[];
  summary?: dfd.DataFrame | readonly object[];
}

function plainRows(x: dfd.DataFrame | readonly object[]): Record<string, unknown>[] {
  if (Array.isArray(x)) return x as Record<string, unknown>[];
  const df = x as dfd.DataFrame;
  return df.shape[0] === 0 ? [] : (dfd.toJSON(df) as Record<string, unknown>[]);
}

function isFrameOrRows(x: unknown): x is dfd.DataFrame | readonly object[] {
  return Array.isArray(x) || x instanceof dfd.DataFrame;
}

const num = (v: unknown) => (v === null || v === undefined || v === '' ? NaN : Number(v));

/** The comparison of method b against method a (see the module comment), one row per metric and split. */
export function compareRows(input: Input, opts: CompareOptions): CompareRow[] {
  const what = 'metrics.compare';
  if (!opts || typeof opts.a !== 'string' || typeof opts.b !== 'string') {
    throw new ConfigError(`${what}: which methods?`, [{ path: 'options', message: "give {a, b}: the two method names, e.g. {a: 'po', b: 'po+pd'}" }]);
  }
  let source: dfd.DataFrame | readonly object[];
  if (isFrameOrRows(input)) source = input;
  else if (input && typeof input === 'object' && ((input as ResultsLike).samples || (input as ResultsLike).summary)) source = ((input as ResultsLike).samples ?? (input as ResultsLike).summary)!;
  else throw new ConfigError(`${what}: nothing to compare`, [{ path: 'input', message: 'pass a samples or summary frame (or rows), or a results object with `samples`' }]);
  const raw = plainRows(source);
  if (raw.length === 0) throw new ConfigError(`${what}: the frame is empty`, [{ path: 'input', message: 'no rows' }]);
  const cols = new Set(Object.keys(raw[0]));
  if (!cols.has('method')) {
    throw new ConfigError(`${what}: no 'method' column`, [{ path: 'method', message: `the frame has [${[...cols].join(', ')}]; concatenate methods with metrics.combine or read a results folder` }]);
  }
  const methods = [...new Set(raw.map((r) => String(r.method)))];
  for (const k of ['a', 'b'] as const) {
    if (!methods.includes(opts[k])) throw new ConfigError(`${what}: no rows for method '${opts[k]}'`, [{ path: k, message: `must be one of [${methods.join(', ')}]` }]);
  }
  const metricNames = opts.metrics ?? ['sarr', 'forgetRate'];
  for (const [i, m] of metricNames.entries()) {
    if (!METRICS.has(m)) throw new ConfigError(`${what}: unknown metric '${m}'`, [{ path: `metrics[${i}]`, message: `must be one of [${METRICS.names().join(', ')}]` }]);
  }
  const level = opts.level ?? DEFAULT_LEVEL;
  const seed = opts.seed ?? DEFAULT_BOOTSTRAP_SEED;
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const testName = (exact: boolean) => (exact ? 'sign-flip exact' : `sign-flip (${resamples} draws)`);
  const out: CompareRow[] = [];

  if (cols.has('id') && cols.has('kind')) {
    const rows = rowsOf(raw as unknown as SampleRow[]).map((r, i) => ({ ...r, seed: raw[i].seed }));
    // rowsOf passes arrays through untouched: make the numeric columns numbers
    for (const r of rows) {
      for (const k of ['unsafe', 'refusal', 'normal', 'score', 'rougeL', 'rougeL_recall', 'record', 'sample'] as const) (r as Record<string, unknown>)[k] = num(r[k]);
      r.unknown = r.unknown === null || r.unknown === undefined ? '' : String(r.unknown);
    }
    const splits = opts.split !== undefined ? [opts.split] : [...new Set(rows.map((r) => r.split))];
    for (const name of metricNames) {
      const m = METRICS.get(name);
      for (const split of splits) {
        const valuesOf = (method: string) => {
          const rs = rows.filter((r) => String((r as Record<string, unknown>).method) === method && r.split === split && m.kinds.includes(r.kind));
          const res = m.compute(rs, opts);
          const map = new Map<string, { v: number; unit: string }>();
          for (const [i, v] of Object.entries(res.byIndex)) {
            const r = rs[Number(i)];
            const s = r.seed === undefined || r.seed === null ? '' : String(r.seed);
            map.set(`${s}|${r.id}|${r.sample}`, { v, unit: `${s}|${r.split}/${r.record}` });
          }
          return map;
        };
        const va = valuesOf(opts.a);
        const vb = valuesOf(opts.b);
        const keys = [...va.keys()].filter((k) => vb.has(k)).sort();
        if (keys.length === 0) continue;
        const a = keys.map((k) => va.get(k)!.v);
        const b = keys.map((k) => vb.get(k)!.v);
        const t = pairedTest(a, b, { seed, resamples, level, clusters: keys.map((k) => va.get(k)!.unit) });
        const binary = [...a, ...b].every((v) => v === 0 || v === 1);
        out.push({
          metric: name, split, a: opts.a, b: opts.b, valueA: t.meanA, valueB: t.meanB, diff: t.diff, ciLow: t.low, ciHigh: t.high,
          pValue: t.pValue, pMcNemar: binary ? mcnemar(a, b).pValue : NaN, n: t.n, units: t.clusters, ciMethod: 'paired bootstrap', test: testName(t.exact),
        });
      }
    }
    return out;
  }

  if (cols.has('metric') && cols.has('value')) {
    if (!cols.has('seed')) {
      throw new ConfigError(`${what}: a summary without a 'seed' column has nothing to pair`, [
        { path: 'input', message: 'pass the samples (per-item rows) for a paired test on items, or a per-seed summary (a `seed` column, two or more seeds)' },
      ]);
    }
    const splits = opts.split !== undefined ? [opts.split] : [...new Set(raw.map((r) => String(r.split)))];
    for (const name of metricNames) {
      for (const split of splits) {
        const perSeed = (method: string) =>
          new Map(raw.filter((r) => String(r.method) === method && String(r.metric) === name && String(r.split) === split && Number.isFinite(num(r.value))).map((r) => [String(r.seed), num(r.value)]));
        const va = perSeed(opts.a);
        const vb = perSeed(opts.b);
        const seeds = [...va.keys()].filter((s) => vb.has(s)).sort();
        if (seeds.length === 0) continue;
        const a = seeds.map((s) => va.get(s)!);
        const b = seeds.map((s) => vb.get(s)!);
        const t = pairedTest(a, b, { seed, resamples, level });
        const ti = tInterval(b.map((x, i) => x - a[i]), level);
        out.push({
          metric: name, split, a: opts.a, b: opts.b, valueA: t.meanA, valueB: t.meanB, diff: t.diff, ciLow: ti.low, ciHigh: ti.high,
          pValue: t.pValue, pMcNemar: NaN, n: seeds.length, units: seeds.length, ciMethod: 't', test: testName(t.exact),
        });
      }
    }
    return out;
  }
  throw new ConfigError(`${what}: neither samples nor a summary`, [
    { path: 'input', message: `samples need columns id, kind, method; a summary needs metric, value, method, seed. The frame has [${[...cols].join(', ')}]` },
  ]);
}

/** `compareRows` as a danfo frame (columns COMPARE_COLUMNS). */
export function compare(input: Input, opts: CompareOptions): dfd.DataFrame {
  return framesOf(compareRows(input, opts), COMPARE_COLUMNS);
}

/**
 * Every method against its Prompt Decouple variant present in the input ('po' vs 'po+pd', ...):
 * the rows of `compareRows` for each pair, in the order the methods appear.
 */
export function comparePdRows(input: Input, opts: Omit<CompareOptions, 'a' | 'b'> = {}): CompareRow[] {
  let source: dfd.DataFrame | readonly object[] | undefined;
  if (isFrameOrRows(input)) source = input;
  else source = (input as ResultsLike).samples ?? (input as ResultsLike).summary;
  const methods = source ? [...new Set(plainRows(source).map((r) => String(r.method)))] : [];
  const out: CompareRow[] = [];
  for (const m of methods) {
    if (/\+pd$/i.test(m)) continue;
    const pd = methods.find((x) => x.toLowerCase() === `${m.toLowerCase()}+pd`);
    if (pd) out.push(...compareRows(input, { ...opts, a: m, b: pd }));
  }
  return out;
}
