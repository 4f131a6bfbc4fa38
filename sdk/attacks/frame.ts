/**
 * The attacks frame: rows `method, pd, attack, family, metric, split, value, n` as a danfo
 * DataFrame, written as `attacks.csv` and `attacks.json` (atomically) and read back.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as dfdT from 'danfojs-node';
import { ConfigError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';
import { ATTACK_COLUMNS, type AttackRow } from './types';

function dfd(): typeof dfdT {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('danfojs-node') as typeof dfdT;
}

/** Rows as a danfo DataFrame with the frame's columns (an empty frame keeps them). */
export function attacksFrame(rows: readonly AttackRow[]): dfdT.DataFrame {
  const cols = ATTACK_COLUMNS.map(String);
  if (rows.length === 0) return new (dfd().DataFrame)([], { columns: cols });
  return new (dfd().DataFrame)(rows.map((r) => Object.fromEntries(cols.map((c) => [c, (r as unknown as Record<string, unknown>)[c]]))), { columns: cols });
}

/** Summary rows of an evaluate() result (metric, value, n). */
export function rowsOfSummary(df: dfdT.DataFrame): Array<{ metric: string; split: string; value: number; n: number }> {
  if (df.shape[0] === 0) return [];
  return (dfd().toJSON(df) as Array<Record<string, unknown>>).map((r) => ({ metric: String(r.metric), split: String(r.split), value: r.value === null ? NaN : Number(r.value), n: Number(r.n) }));
}

function csvCell(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? '' : String(v);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Write `<dir>/attacks.csv` and `<dir>/attacks.json` (each atomically; NaN → empty / null). */
export function writeAttacks(dir: string, rows: readonly AttackRow[]): { csv: string; json: string } {
  fs.mkdirSync(dir, { recursive: true });
  const cols = ATTACK_COLUMNS as readonly string[];
  const lines = [cols.join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell((r as unknown as Record<string, unknown>)[c])).join(','));
  const csv = path.join(dir, 'attacks.csv');
  const json = path.join(dir, 'attacks.json');
  writeFileAtomic(csv, lines.join('\n') + '\n');
  writeFileAtomic(json, JSON.stringify(rows.map((r) => Object.fromEntries(cols.map((c) => [c, (r as unknown as Record<string, unknown>)[c]]))).map((r) => ({ ...r, value: Number.isFinite(r.value as number) ? r.value : null })), null, 1) + '\n');
  return { csv, json };
}

/** Read `attacks.json` from a folder (or the file itself) back into rows (null → NaN). */
export function readAttacks(dirOrFile: string): AttackRow[] {
  const file = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'attacks.json');
  if (!fs.existsSync(file)) throw new ConfigError(`No attack results at ${file}`, [{ path: file, message: 'missing: run `eraserlab attack --out DIR` (or `eraserlab run --attacks`) first' }]);
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
  return raw.map((r, i) => {
    for (const c of ATTACK_COLUMNS) if (!(c in r)) throw new ConfigError(`${file} is not an attacks table`, [{ path: `[${i}].${c}`, message: 'missing column' }]);
    return { ...(r as unknown as AttackRow), pd: r.pd === true || r.pd === 'true', value: r.value === null ? NaN : Number(r.value), n: Number(r.n) };
  });
}
