/**
 * BABERT boundary statistics: n-gram counting + PMI / LE / RE over a 1M-character corpus
 * (manpages-zh + fortunes-zh when installed, else a synthetic Han corpus), our streaming
 * counter (unbounded, and bounded to 400k live entries) against a naive peer that keeps a Map
 * of every n-gram with Maps of its left and right neighbours. Each runs in its own process so
 * peak memory (max RSS) is its own; the RSS of a process that only loads the corpus is
 * subtracted. Prints chars/s, peak memory and the ratios.
 *
 *   npx tsx tests/bench/boundary.bench.ts [--quick]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readDebianCorpus } from '../../sdk/boundary/corpus';
import { statistics, BOUNDARY } from '../../sdk/boundary/statistics';
import { Rng } from '../../sdk/runtime/rng';
import { reportJson, machine, table, fmt } from './harness';

const quick = process.argv.includes('--quick');
const CHARS = quick ? 200_000 : 1_000_000;

function corpus(): { lines: string[]; source: string } {
  if (fs.existsSync('/usr/share/man/zh_CN')) return { lines: readDebianCorpus({ maxChars: CHARS }).lines, source: 'manpages-zh + fortunes-zh' };
  const rng = new Rng(1);
  const lines: string[] = [];
  let n = 0;
  while (n < CHARS) {
    const l = Array.from({ length: 40 }, () => (rng.next() < 0.1 ? '，' : String.fromCharCode(0x4e00 + Math.floor(3000 * rng.next() ** 2)))).join('');
    lines.push(l);
    n += l.length;
  }
  return { lines, source: 'synthetic (Debian corpora not installed)' };
}

/** The peer: every n-gram in one Map, each with explicit neighbour Maps. */
function naive(lines: string[], maxN: number, minCount: number): number {
  type E = { c: number; l: Map<string, number>; r: Map<string, number> };
  const m = new Map<string, E>();
  let H = 0;
  for (const line of lines) {
    for (const run of line.match(/[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007]+/g) ?? []) {
      H += run.length;
      for (let i = 0; i < run.length; i++) {
        for (let n = 1; n <= maxN && i + n <= run.length; n++) {
          const w = run.slice(i, i + n);
          let e = m.get(w);
          if (!e) m.set(w, (e = { c: 0, l: new Map(), r: new Map() }));
          e.c++;
          const lc = i > 0 ? run[i - 1] : BOUNDARY;
          const rc = i + n < run.length ? run[i + n] : BOUNDARY;
          e.l.set(lc, (e.l.get(lc) ?? 0) + 1);
          e.r.set(rc, (e.r.get(rc) ?? 0) + 1);
        }
      }
    }
  }
  const ent = (mm: Map<string, number>, t: number) => {
    let h = 0;
    for (const c of mm.values()) h -= (c / t) * Math.log(c / t);
    return h;
  };
  let kept = 0;
  for (const [w, e] of m) {
    if (e.c < minCount) continue;
    let pmi = 0;
    if (w.length > 1) {
      pmi = Infinity;
      for (let k = 1; k < w.length; k++) pmi = Math.min(pmi, Math.log((e.c * H) / (m.get(w.slice(0, k))!.c * m.get(w.slice(k))!.c)));
    }
    if (pmi + ent(e.l, e.c) + ent(e.r, e.c) > -Infinity) kept++;
  }
  return kept;
}

function worker(kind: string): void {
  const { lines, source } = corpus();
  const chars = lines.reduce((a, l) => a + l.length, 0);
  const t = process.hrtime.bigint();
  let entries = 0;
  if (kind === 'ours') entries = statistics(lines, { maxN: 4, minCount: 2 }).size;
  else if (kind === 'bounded') entries = statistics(lines, { maxN: 4, minCount: 2, maxEntries: 400_000 }).size;
  else if (kind === 'naive') entries = naive(lines, 4, 2);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  process.stdout.write(JSON.stringify({ kind, chars, source, seconds, entries, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

function main(): void {
  const w = process.argv.indexOf('--worker');
  if (w > 0) return worker(process.argv[w + 1]);
  const run = (kind: string) => {
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', __filename, '--worker', kind, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', cwd: path.resolve(__dirname, '..', '..') });
    if (r.status !== 0) throw new Error(`${kind} worker failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { kind: string; chars: number; source: string; seconds: number; entries: number; maxRssMB: number };
  };
  const base = run('load');
  const rows = ['ours', 'bounded', 'naive'].map(run);
  const peak = (r: { maxRssMB: number }) => Math.max(0, r.maxRssMB - base.maxRssMB);
  const [ours, bounded, peer] = rows;
  console.log(`BABERT n-gram statistics (maxN 4, minCount 2) over ${base.chars} chars of ${base.source}; ${JSON.stringify(machine())}`);
  console.log(
    table(
      ['counter', 'seconds', 'chars/s', 'peak MB over load', 'entries'],
      rows.map((r) => [r.kind === 'ours' ? 'ours (streaming)' : r.kind === 'bounded' ? 'ours, maxEntries 400k' : 'naive Map + neighbour Maps', fmt(r.seconds, 2), fmt(r.chars / r.seconds, 0), fmt(peak(r), 0), r.entries]),
    ),
  );
  const ratio = { speed: peer.seconds / ours.seconds, memory: peak(peer) / Math.max(1, peak(ours)), boundedMemory: peak(peer) / Math.max(1, peak(bounded)) };
  console.log(`ours vs naive: ${fmt(ratio.speed, 2)}× the speed, ${fmt(ratio.memory, 2)}× less peak memory (bounded: ${fmt(ratio.boundedMemory, 2)}× less)`);
  reportJson({ chars: base.chars, source: base.source, rows: rows.map((r) => ({ ...r, peakMB: peak(r) })), ratio });
}

main();
