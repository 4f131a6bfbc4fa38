/**
 * `eraserlab evaluate` and the `import-official` path: one model on one dataset, or the official
 * pipeline's evaluated JSON, into the same summary / per-sample / per-category tables.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { helpText, parseOptions, type CommandSpec, type ParsedOptions } from '../options';
import { assertOutputDir, lockOutput, markOutput } from '../../runtime/outdir';
import { DatasetError } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { loadSafeEraser } from '../../data/dataset';
import { ensureDefaultDataset } from '../../data/defaults';
import { loadPretrained } from '../../model/load';
import { defaultModelDir } from '../../model/pretrain';
import { evaluate } from '../../metrics/evaluate';
import { importOfficial } from '../../metrics/official';
import { columnsOf, Row, writeTable } from '../../experiment/report';
import { DEFAULT_SEED } from '../../runtime/rng';

export const spec: CommandSpec = {
  name: 'evaluate',
  synopsis: ['[--model DIR] [--dataset DIR] [options]', '--official FILE [--out DIR]'],
  description:
    'Evaluate a model on a SafeEraser dataset (ASR, RR, SARR, ROUGE-L, judge score, specificity, forget rate) and write summary, samples and byCategory tables ' +
    "(CSV and JSON) to --out. With --official, read the official pipeline's evaluated JSON instead of generating (metrics.importOfficial) and write the same tables.",
  options: [
    { name: 'model', type: 'path', doc: 'A Hugging Face LLaVA folder (default: the committed vanilla model).' },
    { name: 'dataset', type: 'path', doc: 'A SafeEraser folder (default: the synthetic benchmark, generated if missing).' },
    { name: 'split', type: 'enum', choices: ['train', 'val', 'both'], doc: 'train (efficacy), val (generality, ROUGE-L, SARR) or both.', default: 'both' },
    { name: 'judge', type: 'string', metavar: 'NAME', doc: 'rules (offline, default) or openai (ERASERLAB_JUDGE_BASE_URL / _MODEL / _API_KEY).' },
    { name: 'preset', type: 'enum', choices: ['greedy', 'official'], doc: 'greedy (1 sample) or official (3 samples, temperature 1.0, top-p 0.9).', default: 'greedy' },
    { name: 'limit', type: 'int', min: 1, doc: 'Only the first N records of each split.' },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed of sampling.', default: DEFAULT_SEED },
    { name: 'out', type: 'path', doc: 'Where the tables go.', default: 'results/evaluate' },
    { name: 'official', type: 'path', metavar: 'FILE', doc: "The official pipeline's evaluated JSON (a non-empty array of records) to import instead of evaluating." },
    { name: 'backend', type: 'string', metavar: 'B', doc: 'tfjs backend (auto, wasm, cpu, ...).' },
  ],
};

function frameRows(df: { columns: string[]; values: unknown[] }): Row[] {
  const cols = df.columns;
  return (df.values as unknown[][]).map((v) => Object.fromEntries(cols.map((c, i) => [c, v[i]])));
}

function writeAll(out: string, tables: Record<string, Row[]>): void {
  markOutput(out, 'evaluate', 'eraserlab evaluate');
  for (const [name, rows] of Object.entries(tables)) writeTable(out, name, rows, columnsOf(rows));
}

/**
 * An official evaluation file with no records would give a table of zeros over 0 samples: refused
 * (a DatasetError naming the file). Unreadable files are left to importOfficial's own errors.
 */
function assertNonEmptyOfficial(file: string): void {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return;
  }
  if (Array.isArray(v) && v.length === 0) {
    throw new DatasetError(`Cannot import ${file}: it holds no records`, [
      { path: file, file, message: "an empty JSON array; expected the official pipeline's evaluated records (one per harmful image)" },
    ]);
  }
}

export const command: CliCommand = {
  name: 'evaluate',
  summary: 'Evaluate a model (or import official evaluation outputs) into summary / sample tables',
  spec,
  get usage() {
    return helpText(spec);
  },
  async run(argv) {
    const a = parseOptions(spec, argv);
    const split = (a.split as string | undefined) ?? 'both';
    const preset = (a.preset as string | undefined) ?? 'greedy';
    const limit = a.limit as number | undefined;
    const seed = (a.seed as number | undefined) ?? DEFAULT_SEED;
    const out = path.resolve(typeof a.out === 'string' ? a.out : path.join('results', 'evaluate'));
    assertOutputDir(out, 'evaluate', { command: 'eraserlab evaluate' });
    const lock = lockOutput(out, { command: 'eraserlab evaluate' });
    try {
      return await evaluateInto(out, a, argv, split, preset, limit, seed);
    } finally {
      lock.release();
    }
  },
};

async function evaluateInto(out: string, a: ParsedOptions, argv: string[], split: string, preset: string, limit: number | undefined, seed: number): Promise<number> {

  if (typeof a.official === 'string') {
    const file = path.resolve(a.official);
    assertNonEmptyOfficial(file);
    const r = importOfficial(file);
    writeAll(out, { summary: frameRows(r.summary as never), samples: frameRows(r.samples as never), byCategory: frameRows(r.byCategory as never) });
    process.stdout.write(`Imported ${a.official}: ${r.samples.shape[0]} samples → ${out}\n`);
    process.stdout.write(frameRows(r.summary as never).map((x) => `  ${String(x.metric).padEnd(16)} ${String(x.split).padEnd(6)} ${Number(x.value).toFixed(3)} (n ${x.n})`).join('\n') + '\n');
    return 0;
  }

  const info = await init({ backend: typeof a.backend === 'string' ? (a.backend as never) : undefined, seed });
  const dsDir = typeof a.dataset === 'string' ? path.resolve(a.dataset) : await ensureDefaultDataset();
  const ds = await loadSafeEraser(dsDir);
  const m = await loadPretrained(typeof a.model === 'string' ? path.resolve(a.model) : defaultModelDir());
  const tables: Record<string, Row[]> = { summary: [], samples: [], byCategory: [] };
  try {
    for (const s of split === 'both' ? (['train', 'val'] as const) : [split as 'train' | 'val']) {
      const r = await evaluate(m, ds, {
        split: s,
        judge: typeof a.judge === 'string' ? a.judge : 'rules',
        preset: preset as 'greedy' | 'official',
        limit,
        seed,
      });
      tables.summary.push(...frameRows(r.summary as never));
      tables.samples.push(...frameRows(r.samples as never));
      tables.byCategory.push(...frameRows(r.byCategory as never));
    }
  } finally {
    m.dispose();
  }
  writeAll(out, tables);
  fs.writeFileSync(
    path.join(out, 'spec.json'),
    JSON.stringify({ command: ['eraserlab', 'evaluate', ...argv].join(' '), dataset: dsDir, model: m.sourceDir, split, preset, limit, seed, backend: info.backend }, null, 2) + '\n',
  );
  process.stdout.write(`Evaluated on ${info.backend}: ${tables.samples.length} responses → ${out}\n`);
  process.stdout.write(tables.summary.map((x) => `  ${String(x.metric).padEnd(16)} ${String(x.split).padEnd(6)} ${Number(x.value).toFixed(3)} (n ${x.n})`).join('\n') + '\n');
  return 0;
}
