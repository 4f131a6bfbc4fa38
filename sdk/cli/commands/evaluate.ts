/**
 * `eraserlab evaluate`: one model on one dataset, or the official pipeline's outputs, into the
 * same summary / per-sample / per-category tables; `--write-official` writes a model's answers
 * in the official inference format for the official `eval_all.py`.
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
import { importOfficial, readOfficialStats, writeOfficial, parsePythonJson, type ImportOfficialResult, type OfficialStats } from '../../metrics/official';
import { columnsOf, Row, writeTable } from '../../experiment/report';
import { DEFAULT_SEED } from '../../runtime/rng';

const USAGE = `Usage: eraserlab evaluate [--model DIR] [--dataset DIR] [--split train|val|both] [--protocol greedy|official]
                          [--judge rules|openai] [--judge-protocol eraserlab|official] [--safeeraser DIR]
                          [--judge-timeout SECONDS] [--limit N] [--seed S] [--max-new-tokens N] [--out DIR]
       eraserlab evaluate --write-official DIR [--model DIR] [--dataset DIR] [--split ...] [--limit N] [--seed S]
       eraserlab evaluate --official LABELS.json [--scores SCORES.json] [--reference DATASET.json] [--split train|val] [--out DIR]
       eraserlab evaluate --official DIR [--out DIR]

Evaluate a model on a SafeEraser dataset (ASR, RR, SARR, ROUGE-L, judge score, specificity,
forget rate) and write summary, samples and byCategory tables (CSV and JSON) to --out
(default results/evaluate).

  --model DIR            a Hugging Face LLaVA folder (default: the committed vanilla model)
  --dataset DIR          a SafeEraser folder (default: the synthetic benchmark, generated if missing)
  --split NAME           train (efficacy), val (generality, ROUGE-L, SARR) or both (default both)
  --protocol NAME        greedy (1 greedy answer per query, default) or official: the official evaluation
                         protocol (3 sampled answers per harmful query at temperature 1.0, top-p 0.9, 512 new
                         tokens, retain text questions asked with the harmful image, the vicuna_v1 inference
                         template, the official skips; with --judge openai also the official judge prompts)
  --preset NAME          the same as --protocol
  --judge NAME           rules (offline, default) or openai: an OpenAI-compatible endpoint from
                         ERASERLAB_JUDGE_BASE_URL, ERASERLAB_JUDGE_MODEL, ERASERLAB_JUDGE_API_KEY
  --judge-protocol NAME  for --judge openai: eraserlab (our prompts, default) or official (the official
                         SafeEraser prompts and reply rules, read from a SafeEraser checkout; the default
                         with --protocol official)
  --safeeraser DIR       the SafeEraser checkout for --judge-protocol official (default ERASERLAB_SAFEERASER_DIR)
  --judge-timeout SEC    seconds one judge request may take (default 60)
  --limit N              only the first N records of each split
  --seed S               sampling seed (default 233)
  --max-new-tokens N     new tokens per answer (default 128; 512 with --protocol official)
  --out DIR              output folder (default results/evaluate)
  --backend NAME         tfjs backend (default: the fastest available)

  --write-official DIR   instead of judging, write the model's answers in the format of the official
                         ckpt_infer.py (DIR/all_<split>_responses.json: sd_response, UnharmPair Prediction
                         and model_response1..3 replaced, model_response removed), for the official
                         eval_all.py; read its outputs back with --official.

  --official PATH        read the official evaluation's outputs instead of generating: the file eval_all.py
                         writes as --output_file_rr (per-pair labels: ASR, RR, SARR), or a folder holding
                         it, its *_with_scores.json file and the dataset file (found by content)
  --scores FILE          the *_with_scores.json file eval_all.py writes (ROUGE-L, GPT-Score per UnharmPair)
  --reference FILE       the dataset file given to eval_all.py as --file_refer (all_train.json / all_val.json):
                         skips exactly as eval_all.py does, and adds the forget rate and ROUGE-L F
  The official figures (ASR, RR, SARR, average ROUGE-L, average GPT score) are printed as eval_all.py
  computes them, and checked against its .txt when that file lies beside the labels file.`;

const KNOWN = [
  '_', 'model', 'dataset', 'split', 'judge', 'preset', 'protocol', 'judge-protocol', 'safeeraser', 'judge-timeout', 'limit', 'seed',
  'max-new-tokens', 'out', 'official', 'scores', 'reference', 'write-official', 'backend',
];

function frameRows(df: { columns: string[]; values: unknown[] }): Row[] {
  const cols = df.columns;
  return (df.values as unknown[][]).map((v) => Object.fromEntries(cols.map((c, i) => [c, v[i]])));
}

function writeAll(out: string, tables: Record<string, Row[]>): void {
  fs.mkdirSync(out, { recursive: true });
  for (const [name, rows] of Object.entries(tables)) writeTable(out, name, rows, columnsOf(rows));
}

const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(6)) : String(x));
const full = (x: number) => String(x);

function officialLines(s: OfficialStats): string[] {
  const out: string[] = [];
  const a = s.stats_asr_rr;
  const u = s.stats_unharmpair;
  if (a) {
    out.push(`  ASR   (unsafe_rate)       ${full(a.unsafe_rate)}  (${a.unsafe_count} unsafe of ${a.total_asr_queries})`);
    out.push(`  RR    (refuse_rate)       ${full(a.refuse_rate)}  (${a.refuse_count} refused of ${a.total_rr_queries})`);
    out.push(`  SARR  (sd_refuse_rate)    ${full(a.sd_refuse_rate)}  (${a.sd_refuse_count} of ${a.total_sd_rr_queries})`);
  }
  if (u) {
    out.push(`  ROUGE-L (average_rougeL)  ${full(u.average_rougeL)}`);
    out.push(`  GPT score (average_gpt_score) ${full(u.average_gpt_score)}`);
  }
  return out;
}

/** Differences between imported figures and the .txt (empty when they agree to 1e-9). */
function compareStats(got: OfficialStats, txt: OfficialStats): string[] {
  const diffs: string[] = [];
  for (const [part, keys] of [
    ['stats_asr_rr', ['unsafe_rate', 'refuse_rate', 'sd_refuse_rate', 'total_asr_queries', 'total_sd_rr_queries']],
    ['stats_unharmpair', ['average_rougeL', 'average_gpt_score']],
  ] as const) {
    const g = got[part] as Record<string, number> | undefined;
    const t = txt[part] as Record<string, number> | undefined;
    if (!g || !t) continue;
    for (const k of keys) if (!(Math.abs(g[k] - t[k]) <= 1e-9)) diffs.push(`${part}.${k}: imported ${g[k]}, .txt ${t[k]}`);
  }
  return diffs;
}

/** Whether a single file holds labels and scores (the merged single-file form). */
function isMergedFile(file: string): boolean {
  try {
    const data = parsePythonJson(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(data)) return true; // let the single-file reader report it
    const s = JSON.stringify(data.slice(0, 20));
    return s.includes('"gpt_result_') && s.includes('"GPT-Score"');
  } catch {
    return true;
  }
}

function runImport(a: Record<string, unknown>, out: string): number {
  const official = path.resolve(String(a.official));
  const split = a.split === 'train' || a.split === 'val' ? (a.split as 'train' | 'val') : undefined;
  let r: ImportOfficialResult;
  const isDir = fs.existsSync(official) && fs.statSync(official).isDirectory();
  if (isDir || typeof a.scores === 'string' || typeof a.reference === 'string' || !isMergedFile(official)) {
    r = isDir
      ? importOfficial(official, { split })
      : importOfficial({
          labels: official,
          scores: typeof a.scores === 'string' ? path.resolve(a.scores) : undefined,
          reference: typeof a.reference === 'string' ? path.resolve(a.reference) : undefined,
          split,
        });
  } else {
    r = importOfficial(official, { split });
  }
  writeAll(out, { summary: frameRows(r.summary as never), samples: frameRows(r.samples as never), byCategory: frameRows(r.byCategory as never) });
  const files = r.files ? Object.entries(r.files).filter(([k, v]) => v && k !== 'stats').map(([k, v]) => `${k} ${path.basename(String(v))}`).join(', ') : path.basename(official);
  process.stdout.write(`Imported the official evaluation (${files}): ${r.samples.shape[0]} samples → ${out}\n`);
  process.stdout.write(frameRows(r.summary as never).map((x) => `  ${String(x.metric).padEnd(16)} ${String(x.split).padEnd(6)} ${fmt(Number(x.value))} (n ${x.n})`).join('\n') + '\n');
  if (r.official && (r.official.stats_asr_rr || r.official.stats_unharmpair)) {
    process.stdout.write('Official figures (as eval_all.py computes them):\n' + officialLines(r.official).join('\n') + '\n');
    const txt = r.files?.stats ?? (r.files?.labels && fs.existsSync(r.files.labels.replace(/\.json$/, '.txt')) ? r.files.labels.replace(/\.json$/, '.txt') : undefined);
    if (txt) {
      const diffs = compareStats(r.official, readOfficialStats(txt));
      if (diffs.length === 0) process.stdout.write(`  agrees with ${path.basename(txt)}\n`);
      else process.stdout.write(`  differs from ${path.basename(txt)} (the files were changed after eval_all.py wrote it?):\n${diffs.map((d) => `    ${d}`).join('\n')}\n`);
    }
  }
  return 0;
}

export const command: CliCommand = {
  name: 'evaluate',
  summary: 'Evaluate a model, write its answers for the official eval_all.py, or import official evaluation outputs',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv);
    const issues: { path: string; message: string }[] = [];
    for (const k of Object.keys(a)) if (!KNOWN.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${KNOWN.slice(1).map((x) => `--${x}`).join(', ')}]` });
    const split = String(a.split ?? 'both');
    if (!['train', 'val', 'both'].includes(split)) issues.push({ path: '--split', message: `'${split}' is not one of [train, val, both]` });
    if (a.preset !== undefined && a.protocol !== undefined && a.preset !== a.protocol) issues.push({ path: '--protocol', message: `--preset ${a.preset} and --protocol ${a.protocol} disagree; give one` });
    const preset = String(a.protocol ?? a.preset ?? 'greedy');
    if (!['greedy', 'official'].includes(preset)) issues.push({ path: a.protocol !== undefined ? '--protocol' : '--preset', message: `'${preset}' is not one of [greedy, official]` });
    const judgeName = typeof a.judge === 'string' ? a.judge : 'rules';
    const jp = a['judge-protocol'];
    if (jp !== undefined && jp !== 'eraserlab' && jp !== 'official') issues.push({ path: '--judge-protocol', message: `'${String(jp)}' is not one of [eraserlab, official]` });
    if ((jp !== undefined || a.safeeraser !== undefined) && judgeName === 'rules') issues.push({ path: '--judge-protocol', message: 'applies to --judge openai (the rules judge has no prompts)' });
    const timeout = a['judge-timeout'] === undefined ? undefined : Number(a['judge-timeout']);
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) issues.push({ path: '--judge-timeout', message: `must be a positive number of seconds, got '${String(a['judge-timeout'])}'` });
    const limit = a.limit === undefined ? undefined : Number(a.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) issues.push({ path: '--limit', message: `must be a positive integer, got '${String(a.limit)}'` });
    const seed = a.seed === undefined ? DEFAULT_SEED : Number(a.seed);
    if (!Number.isInteger(seed)) issues.push({ path: '--seed', message: `must be an integer, got '${String(a.seed)}'` });
    const mnt = a['max-new-tokens'] === undefined ? undefined : Number(a['max-new-tokens']);
    if (mnt !== undefined && !(Number.isInteger(mnt) && mnt > 0)) issues.push({ path: '--max-new-tokens', message: `must be a positive integer, got '${String(a['max-new-tokens'])}'` });
    for (const k of ['official', 'scores', 'reference', 'write-official', 'safeeraser', 'out', 'model', 'dataset']) {
      if (a[k] === true) issues.push({ path: `--${k}`, message: 'needs a value' });
    }
    if ((a.scores !== undefined || a.reference !== undefined) && a.official === undefined) issues.push({ path: '--scores/--reference', message: 'go with --official' });
    if (a.official !== undefined && a['write-official'] !== undefined) issues.push({ path: '--write-official', message: 'cannot be combined with --official' });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab evaluate', issues);
    const out = path.resolve(typeof a.out === 'string' ? a.out : path.join('results', 'evaluate'));

    if (typeof a.official === 'string') return runImport(a, out);

    const info = await init({ backend: typeof a.backend === 'string' ? (a.backend as never) : undefined, seed });
    const dsDir = typeof a.dataset === 'string' ? path.resolve(a.dataset) : await ensureDefaultDataset();
    const ds = await loadSafeEraser(dsDir);
    const m = await loadPretrained(typeof a.model === 'string' ? path.resolve(a.model) : defaultModelDir());
    const splits = split === 'both' ? (['train', 'val'] as const) : [split as 'train' | 'val'];

    if (typeof a['write-official'] === 'string') {
      const dir = path.resolve(a['write-official']);
      try {
        for (const s of splits) {
          const r = await writeOfficial(m, ds, { split: s, dir, limit, seed });
          process.stdout.write(`Wrote ${r.responses} answers (${r.records.length} records, ${s}) in ckpt_infer.py's format → ${r.file}\n`);
          process.stdout.write(
            `  judge it with the official code:  python eval_all.py --api_key KEY --input_file ${r.file} ` +
              `--output_file_rr ${path.join(dir, `all_${s}_predictions.json`)} --file_refer ${path.join(dsDir, s === 'train' ? 'all_train.json' : 'all_val.json')}\n` +
              `  then read it back:                eraserlab evaluate --official ${dir}\n`,
          );
        }
      } finally {
        m.dispose();
      }
      return 0;
    }

    const judgeOptions: Record<string, unknown> = {};
    if (judgeName === 'openai') {
      const protocol = jp ?? (preset === 'official' ? 'official' : 'eraserlab');
      judgeOptions.protocol = protocol;
      if (typeof a.safeeraser === 'string') judgeOptions.safeEraserDir = path.resolve(a.safeeraser);
      if (timeout !== undefined) judgeOptions.timeoutMs = Math.round(timeout * 1000);
    }
    const tables: Record<string, Row[]> = { summary: [], samples: [], byCategory: [] };
    let judgeSpec: Record<string, unknown> = { name: judgeName };
    try {
      for (const s of splits) {
        const r = await evaluate(m, ds, {
          split: s,
          judge: judgeName,
          judgeOptions,
          preset: preset as 'greedy' | 'official',
          limit,
          seed,
          maxNewTokens: mnt,
        });
        judgeSpec = { name: r.spec.judge, ...(judgeName === 'openai' ? { protocol: judgeOptions.protocol } : {}) };
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
      JSON.stringify({ command: ['eraserlab', 'evaluate', ...argv].join(' '), dataset: dsDir, model: m.sourceDir, split, protocol: preset, judge: judgeSpec, limit, seed, backend: info.backend }, null, 2) + '\n',
    );
    process.stdout.write(`Evaluated on ${info.backend}: ${tables.samples.length} responses → ${out}\n`);
    process.stdout.write(tables.summary.map((x) => `  ${String(x.metric).padEnd(16)} ${String(x.split).padEnd(6)} ${Number(x.value).toFixed(3)} (n ${x.n})`).join('\n') + '\n');
    return 0;
  },
};
