/**
 * `pivot`: a long summary frame (one row per method × metric × split, as `metrics.evaluate`,
 * `metrics.combine` and the main job write it) as a readable wide table: one row per method,
 * one column per metric and split, rates as percentages, missing values blank.
 */
import * as dfd from 'danfojs-node';
import { ConfigError } from '../runtime/errors';

type RowLike = Record<string, unknown>;

export interface PivotOptions {
  /** Metrics, in column order (default: every metric found, in first-seen order). */
  metrics?: readonly string[];
  /** Splits per metric, in column order (default: the splits found, train before val). */
  splits?: readonly string[];
  /** Show values × 100 (default true: every built-in metric is a fraction in [0, 1]). */
  percent?: boolean;
  /** Decimals shown (default 1). */
  digits?: number;
  /** Column labels per metric (default: the metric name). */
  labels?: Readonly<Record<string, string>>;
  /** Add a `PD` column (`yes` / blank) when the frame has a `pd` column (default true). */
  pdColumn?: boolean;
}

/** Short readable labels for the built-in metrics (used by `pivot` unless `labels` says otherwise). */
export const METRIC_LABELS: Readonly<Record<string, string>> = {
  forgetRate: 'forget rate ↓',
  asr: 'ASR ↓',
  rr: 'RR ↑',
  sarr: 'SARR ↓',
  sdRefusalRate: 'SD refusals',
  rougeL: 'ROUGE-L ↑',
  rougeL_official: 'ROUGE-L (official) ↑',
  judgeScore: 'judge score ↑',
  specificity: 'specificity ↑',
};

function rowsOf(summary: dfd.DataFrame | readonly RowLike[]): RowLike[] {
  if (Array.isArray(summary)) return summary as RowLike[];
  const df = summary as dfd.DataFrame;
  if (!df || typeof (df as { shape?: unknown }).shape !== 'object') {
    throw new ConfigError('metrics.pivot: expected a summary DataFrame or an array of summary rows', [{ path: 'summary', message: `got ${typeof summary}` }]);
  }
  return df.shape[0] === 0 ? [] : (dfd.toJSON(df) as RowLike[]);
}

/**
 * One row per method (first-seen order; a frame without `method` gives one row), one column per
 * metric × split (`SARR ↓ (val)`), values as text: percentages with `digits` decimals, blank
 * where the metric is absent or NaN, so a notebook shows a compact, aligned table.
 */
export function pivot(summary: dfd.DataFrame | readonly RowLike[], opts: PivotOptions = {}): dfd.DataFrame {
  const rows = rowsOf(summary);
  const need = ['metric', 'value'];
  const cols = new Set(rows.flatMap((r) => Object.keys(r)));
  const missing = rows.length ? need.filter((c) => !cols.has(c)) : [];
  if (missing.length) {
    throw new ConfigError('metrics.pivot: not a summary frame', missing.map((c) => ({ path: c, message: `missing column; a summary frame has [method, pd, metric, split, value, ...]` })));
  }
  const digits = opts.digits ?? 1;
  const scale = opts.percent === false ? 1 : 100;
  const uniq = (xs: string[]) => [...new Set(xs)];
  const methods = uniq(rows.map((r) => String(r.method ?? '')));
  const metrics = opts.metrics ? [...opts.metrics] : uniq(rows.map((r) => String(r.metric)));
  const splitOrder = (s: string) => (s === 'train' ? 0 : s === 'val' ? 1 : 2);
  const found = uniq(rows.map((r) => String(r.split ?? ''))).sort((a, b) => splitOrder(a) - splitOrder(b));
  const splits = opts.splits ? [...opts.splits] : found;
  const labels = { ...METRIC_LABELS, ...(opts.labels ?? {}) };
  const withPd = opts.pdColumn !== false && cols.has('pd');
  const columns: Array<{ metric: string; split: string; label: string }> = [];
  for (const metric of metrics) {
    const splitsOf = splits.filter((s) => rows.some((r) => String(r.metric) === metric && String(r.split ?? '') === s));
    for (const split of splitsOf) columns.push({ metric, split, label: split ? `${labels[metric] ?? metric} (${split})` : labels[metric] ?? metric });
  }
  const out = methods.map((m) => {
    const mine = rows.filter((r) => String(r.method ?? '') === m);
    const rec: Record<string, string> = { method: m };
    if (withPd) {
      const pd = mine.find((r) => r.pd !== undefined)?.pd;
      rec.PD = pd === true || pd === 'true' ? 'yes' : '';
    }
    for (const c of columns) {
      const r = mine.find((x) => String(x.metric) === c.metric && String(x.split ?? '') === c.split);
      const v = r === undefined || r.value === null || r.value === undefined ? NaN : Number(r.value);
      rec[c.label] = Number.isFinite(v) ? (v * scale).toFixed(digits) : '';
    }
    return rec;
  });
  const names = ['method', ...(withPd ? ['PD'] : []), ...columns.map((c) => c.label)];
  if (out.length === 0) return new dfd.DataFrame([], { columns: names });
  return new dfd.DataFrame(out, { columns: names });
}
