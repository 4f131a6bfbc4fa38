/**
 * `eraserlab evaluate` and the `import-official` path: one model on one dataset, or the official
 * pipeline's evaluated JSON, into the same summary / per-sample / per-category tables.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { loadSafeEraser } from '../../data/dataset';
import { ensureDefaultDataset } from '../../data/defaults';
import { loadPretrained } from '../../model/load';
import { defaultModelDir } from '../../model/pretrain';
import { evaluate } from '../../metrics/evaluate';
import { importOfficial } from '../../metrics/official';
import { columnsOf, Row, writeTable } from '../../experiment/report';

const USAGE = `Usage: eraserlab evaluate [--model DIR] [--dataset DIR] [--split train|val|both] [--judge rules|openai]
                          [--preset greedy|official] [--limit N] [--seed S] [--out DIR]
       eraserlab evaluate --official FILE [--out DIR]

Evaluate a model on a SafeEraser dataset (ASR, RR, SARR, ROUGE-L, judge score, specificity,
forget rate) and write summary, samples and byCategory tables (CSV and JSON) to --out
(default results/evaluate). With --official, read the official pipeline's evaluated JSON
instead of generating (metrics.importOfficial) and write the same tables.

  --model DIR      a Hugging Face LLaVA folder (default: the committed vanilla model)
  --dataset DIR    a SafeEraser folder (default: the synthetic benchmark, generated if missing)
  --split NAME     train (efficacy), val (generality, ROUGE-L, SARR) or both (default both)
  --judge NAME     rules (offline, default) or openai (ERASERLAB_JUDGE_BASE_URL / _MODEL / _API_KEY)
  --preset NAME    greedy (1 sample, default) or official (3 samples, temperature 1.0, top-p 0.9)
  --limit N        only the first N records of each split`;

const KNOWN = ['_', 'model', 'dataset', 'split', 'judge', 'preset', 'limit', 'seed', 'out', 'official', 'backend'];

function frameRows(df: { columns: string[]; values: unknown[] }): Row[] {
  const cols = df.columns;
  return (df.values as unknown[][]).map((v) => Object.fromEntries(cols.map((c, i) => [c, v[i]])));
}

function writeAll(out: string, tables: Record<string, Row[]>): void {
  fs.mkdirSync(out, { recursive: true });
  for (const [name, rows] of Object.entries(tables)) writeTable(out, name, rows, columnsOf(rows));
}

export const command: CliCommand = {
  name: 'evaluate',
  summary: 'Evaluate a model (or import official evaluation outputs) into summary / sample tables',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv);
    const issues: { path: string; message: string }[] = [];
    for (const k of Object.keys(a)) if (!KNOWN.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${KNOWN.slice(1).map((x) => `--${x}`).join(', ')}]` });
    const split = String(a.split ?? 'both');
    if (!['train', 'val', 'both'].includes(split)) issues.push({ path: '--split', message: `'${split}' is not one of [train, val, both]` });
    const preset = String(a.preset ?? 'greedy');
    if (!['greedy', 'official'].includes(preset)) issues.push({ path: '--preset', message: `'${preset}' is not one of [greedy, official]` });
    const limit = a.limit === undefined ? undefined : Number(a.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) issues.push({ path: '--limit', message: `must be a positive integer, got '${String(a.limit)}'` });
    const seed = a.seed === undefined ? 233 : Number(a.seed);
    if (!Number.isInteger(seed)) issues.push({ path: '--seed', message: `must be an integer, got '${String(a.seed)}'` });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab evaluate', issues);
    const out = path.resolve(typeof a.out === 'string' ? a.out : path.join('results', 'evaluate'));

    if (typeof a.official === 'string') {
      const r = importOfficial(path.resolve(a.official));
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
  },
};
