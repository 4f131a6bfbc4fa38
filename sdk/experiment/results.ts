/**
 * The main job's results folder on disk: one folder per method (`<out>/methods/<method>/`,
 * complete when its spec.json is there), and the concatenated tables at the top, read back as
 * plain rows for notebooks and scripts (docs/quickstart.md, "The results folder").
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../runtime/errors';
import { readTable, type Row } from './report';

/** The files a complete method folder holds (spec.json written last). */
export const METHOD_FILES = ['spec.json', 'summary.json', 'samples.json', 'by_category.json'];
export const SUMMARY_NUMERIC = ['value', 'n', 'count', 'unknown', 'ciLow', 'ciHigh'];
export const SAMPLE_NUMERIC = ['record', 'pair', 'sample', 'unsafe', 'refusal', 'normal', 'score', 'rougeL', 'rougeL_recall'];
export const SEED_SUMMARY_NUMERIC = ['value', 'sd', 'seeds', 'ciLow', 'ciHigh'];
export const COMPARISON_NUMERIC = ['valueA', 'valueB', 'diff', 'ciLow', 'ciHigh', 'pValue', 'pMcNemar', 'n', 'units'];
export const HISTORY_NUMERIC_SKIP = new Set(['method', 'pd']);

/** Where one method's results go. */
export function methodDir(out: string, method: string): string {
  return path.join(out, 'methods', method);
}

/** Whether `<dir>` holds complete results made from `spec`. */
export function hasResults(dir: string, spec: Record<string, unknown>): boolean {
  if (!METHOD_FILES.every((f) => fs.existsSync(path.join(dir, f)))) return false;
  try {
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8')) as unknown;
    return JSON.stringify(saved) === JSON.stringify(spec);
  } catch {
    return false;
  }
}

/** A danfo frame's rows as plain objects (an empty frame gives none). */
export function rowsOfFrame(df: { shape: number[] } & object): Row[] {
  if (df.shape[0] === 0) return [];
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const dfd = require('danfojs-node') as typeof import('danfojs-node');
  return dfd.toJSON(df as never) as Row[];
}

/** Read one method's tables back from its folder, tagged with `method` and `pd`. */
export function readMethodResults(dir: string): { summary: Row[]; samples: Row[]; byCategory: Row[]; history: Row[]; spec: Record<string, unknown> } {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8')) as Record<string, unknown>;
  const tag = (rows: Row[]) => rows.map((r) => ({ method: spec.method, pd: spec.pd, ...r }));
  const historyRows = fs.existsSync(path.join(dir, 'history.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8')) as Row[]) : [];
  const history = historyRows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null && !HISTORY_NUMERIC_SKIP.has(k) ? NaN : v])));
  return {
    spec,
    summary: tag(readTable(dir, 'summary', SUMMARY_NUMERIC)),
    samples: tag(readTable(dir, 'samples', SAMPLE_NUMERIC)),
    byCategory: tag(readTable(dir, 'by_category', ['value', 'n'])),
    history: tag(history),
  };
}

/**
 * Read a results folder written by `eraserlab run`: the concatenated tables (with `method`
 * and `pd` columns) as plain rows, for notebooks and scripts.
 */
export function loadResults(out: string): { summary: Row[]; samples: Row[]; byCategory: Row[]; history: Row[]; summarySeeds: Row[]; comparison: Row[] } {
  const file = (n: string) => path.join(out, `${n}.json`);
  if (!fs.existsSync(file('summary'))) {
    throw new ConfigError(`No results in ${out}`, [{ path: file('summary'), message: 'missing: run `eraserlab run --out DIR` first' }]);
  }
  const read = (n: string, numeric: string[]) => (fs.existsSync(file(n)) ? readTable(out, n, numeric) : []);
  return {
    summary: read('summary', SUMMARY_NUMERIC),
    samples: read('samples', SAMPLE_NUMERIC),
    byCategory: read('by_category', ['value', 'n']),
    history: read('history', []).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null && !HISTORY_NUMERIC_SKIP.has(k) ? NaN : v]))),
    // across seeds (mean, sd, t interval, seed_<s> values) and the paired ±PD comparison
    summarySeeds: read('summary_seeds', SEED_SUMMARY_NUMERIC).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null && k.startsWith('seed_') ? NaN : v]))),
    comparison: read('comparison', COMPARISON_NUMERIC),
  };
}
