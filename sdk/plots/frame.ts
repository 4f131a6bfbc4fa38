/**
 * Frame access without depending on danfo's types: builders accept a danfo DataFrame (anything
 * with `columns` + row-major `values`) or an array of row objects.
 */
import { ConfigError } from '../runtime/errors';
import type { FrameLike } from './figure';

export type Row = Record<string, unknown>;

export function toRows(frame: FrameLike, what: string): Row[] {
  if (Array.isArray(frame)) return frame as Row[];
  const f = frame as { columns?: unknown; values?: unknown };
  if (f && Array.isArray(f.columns) && Array.isArray(f.values)) {
    const cols = f.columns as string[];
    const values = f.values as unknown[];
    return values.map((v) => {
      const cells = Array.isArray(v) ? v : [v]; // danfo gives a 1-D array for a one-column frame
      const row: Row = {};
      cols.forEach((c, i) => (row[c] = cells[i]));
      return row;
    });
  }
  throw new ConfigError(`${what}: expected a danfo DataFrame or an array of row objects`, [
    { path: what, message: `got ${frame === null ? 'null' : typeof frame}` },
  ]);
}

export function columnsOf(rows: Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

/** Fail with the columns that are missing and the ones that are there. */
export function requireColumns(rows: Row[], needed: string[], what: string): void {
  const have = columnsOf(rows);
  const missing = needed.filter((c) => !have.includes(c));
  if (rows.length === 0) throw new ConfigError(`${what}: the frame has no rows`);
  if (missing.length) {
    throw new ConfigError(
      `${what}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}`,
      missing.map((m) => ({ path: m, message: `required; the frame has [${have.join(', ')}]` })),
    );
  }
}

export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NaN;
}

export function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** 'po+pd' → {base: 'po', pd: true}; an explicit `pd` column wins over the suffix. */
export function methodVariant(row: Row): { method: string; base: string; pd: boolean } {
  const method = String(row.method ?? 'model');
  const suffix = /\+pd$/i.test(method);
  const base = suffix ? method.replace(/\+pd$/i, '') : method;
  const pdCol = row.pd;
  const pd = typeof pdCol === 'boolean' ? pdCol : pdCol === 'true' || pdCol === 1 ? true : pdCol === 'false' || pdCol === 0 ? false : suffix;
  return { method, base, pd };
}

/** Escape text for Plotly annotations/labels (which interpret a small HTML subset). */
export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Greedy word wrap to `width` characters, joined with <br> (Plotly text does not wrap). */
export function wrap(s: string, width: number, maxLines = Infinity): string {
  const words = s.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w0 of words) {
    let w = w0;
    while (w.length > width) {
      // break long tokens (and CJK text, which has no spaces)
      const room = line ? width - line.length - 1 : width;
      if (room <= 0) {
        lines.push(line);
        line = '';
        continue;
      }
      lines.push((line ? line + ' ' : '') + w.slice(0, room));
      line = '';
      w = w.slice(room);
    }
    if (!line) line = w;
    else if (line.length + 1 + w.length <= width) line += ' ' + w;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = kept[maxLines - 1].replace(/.{0,1}$/, '…');
    return kept.map(escapeText).join('<br>');
  }
  return lines.map(escapeText).join('<br>');
}
