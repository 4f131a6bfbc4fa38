/**
 * Shared helpers for the benchmarks under tests/bench/.
 *
 * Protocol with tests/bench/index.ts (`npm run bench`): index runs every `*.bench.ts` as its
 * own process with `ERASERLAB_BENCH_JSON=<file>` set. A bench that has machine-readable
 * figures calls `reportJson(obj)` (it writes obj to that file); failing that, the last line
 * of its stdout that parses as a JSON object is taken. Human-readable output goes to stdout.
 */
import * as fs from 'fs';
import * as os from 'os';

/** Hand machine-readable results to `npm run bench -- --json` (no-op when run alone). */
export function reportJson(obj: unknown): void {
  const file = process.env.ERASERLAB_BENCH_JSON;
  if (file) fs.writeFileSync(file, JSON.stringify(obj, null, 1));
}

/** Whether this bench runs under `npm run bench` with --json (log to stderr then). */
export function jsonMode(): boolean {
  return process.argv.includes('--json') || Boolean(process.env.ERASERLAB_BENCH_JSON);
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** The machine, as the docs print it. */
export function machine(): { cpu: string; cores: number; memGiB: number; node: string; platform: string; loadAvg1m: number } {
  const cpus = os.cpus();
  return {
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** A fixed-width text table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(cells[0]), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Format a number with a fixed count of significant decimals for tables. */
export function fmt(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x.toFixed(digits);
}
