/**
 * `npm run bench`: runs every tests/bench/*.bench.ts, each in its own process (each compares
 * itself to its peer in the same run and prints its ratios).
 *
 *   npm run bench                      human-readable output of every bench
 *   npm run bench -- --json            the same on stderr, and ONE JSON object on stdout
 *   npm run bench -- --only model      benches whose file name matches a regex
 *   npm run bench -- --profile         per-kernel timings where a bench supports it
 *   npm run bench -- --quick           smaller workloads (smoke test of the benches)
 *
 * The JSON object: {machine, command, trainStep: {backend, tfjsMs, pytorchMs, ratio},
 * generate: {backend, tfjsTokensPerS, pytorchTokensPerS, ratio}, benches: {<name>: {ok,
 * seconds, result}}}; trainStep and generate are the default model's figures from
 * model.bench.ts (ratio = how many times slower than PyTorch). Each bench hands its JSON over
 * through the file named by ERASERLAB_BENCH_JSON (see harness.ts), or as the last JSON line
 * of its stdout.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { machine } from './harness';

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
/** A bench is killed after this (each is designed for under two minutes on an idle machine). */
const BENCH_TIMEOUT_S = Number(process.env.ERASERLAB_BENCH_TIMEOUT_S || 300);

interface BenchRun {
  ok: boolean;
  seconds: number;
  exitCode: number | null;
  error?: string;
  result?: unknown;
}

function lastJsonLine(text: string): unknown {
  const lines = text.trim().split('\n').reverse();
  for (const l of lines) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      return JSON.parse(t);
    } catch {
      /* not JSON */
    }
  }
  return undefined;
}

function runOne(file: string, args: string[], json: boolean): Promise<BenchRun> {
  const name = path.basename(file);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-bench-')), 'result.json');
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', file, ...args], {
      cwd: ROOT,
      env: { ...process.env, ERASERLAB_BENCH_JSON: out },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // With --json only the final object may reach stdout: the benches' text goes to stderr.
    const sink = json ? process.stderr : process.stdout;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      sink.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), BENCH_TIMEOUT_S * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let result: unknown;
      if (fs.existsSync(out)) {
        try {
          result = JSON.parse(fs.readFileSync(out, 'utf8'));
        } catch {
          /* unreadable */
        }
      }
      if (result === undefined) result = lastJsonLine(stdout);
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
      const ok = code === 0;
      const error = ok ? undefined : signal ? `${name} killed (${signal}${signal === 'SIGKILL' ? `, over ${BENCH_TIMEOUT_S} s` : ''})` : `${name} exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`;
      resolve({ ok, seconds: (Date.now() - t0) / 1000, exitCode: code, error, result });
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const oi = argv.indexOf('--only');
  const only = oi >= 0 ? new RegExp(argv[oi + 1]) : undefined;
  const pass = argv.filter((a, i) => !(oi >= 0 && (i === oi || i === oi + 1)));
  const files = fs
    .readdirSync(HERE)
    .filter((f) => f.endsWith('.bench.ts') && (!only || only.test(f)))
    .sort((a, b) => (a === 'model.bench.ts' ? -1 : b === 'model.bench.ts' ? 1 : a.localeCompare(b)));
  const benches: Record<string, BenchRun> = {};
  for (const f of files) {
    const name = f.replace(/\.bench\.ts$/, '');
    process.stderr.write(`\n### ${f}\n`);
    benches[name] = await runOne(path.join(HERE, f), pass, json);
    if (!benches[name].ok) process.stderr.write(`### ${f}: ${benches[name].error}\n`);
  }
  const model = benches.model?.result as { trainStep?: unknown; generate?: unknown } | undefined;
  const summary = {
    machine: machine(),
    command: `npm run bench -- ${argv.join(' ')}`.trim(),
    trainStep: model?.trainStep ?? { backend: null, tfjsMs: null, pytorchMs: null, ratio: null },
    generate: model?.generate ?? { backend: null, tfjsTokensPerS: null, pytorchTokensPerS: null, ratio: null },
    benches,
  };
  if (json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write('\n### summary\n');
    for (const [n, r] of Object.entries(benches)) process.stdout.write(`${n.padEnd(12)} ${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(0)} s${r.error ? `  ${r.error}` : ''}\n`);
  }
  process.exitCode = Object.values(benches).every((r) => r.ok) ? 0 : 1;
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
