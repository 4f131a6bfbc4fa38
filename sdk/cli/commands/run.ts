/**
 * `eraserlab run`, the main job (also what `eraserlab` with no command runs): generate the
 * default synthetic benchmark if missing, load the vanilla model, unlearn with every method with
 * and without the Prompt Decouple loss, evaluate each (forget split = efficacy, held-out split
 * = generality) against the vanilla baseline, and write a results folder with tables, figures
 * and a self-contained HTML report (docs/quickstart.md).
 *
 * Each method's results are written atomically into `<out>/methods/<method>/` when it finishes,
 * beside the spec that produced them; a rerun skips every method whose spec matches, so an
 * interrupted job (Ctrl-C) resumes where it stopped and a finished one only rebuilds the report.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, EraserError, type Issue } from '../../runtime/errors';
import { init, type BackendName } from '../../runtime/backend';
import { versions } from '../../runtime/versions';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../runtime/fsutil';
import { progress } from '../../runtime/progress';
import { loadSafeEraser, type SafeEraserDataset } from '../../data/dataset';
import { ensureDefaultDataset, generatedDir, packageRoot, DEFAULT_SEED } from '../../data/defaults';
import { generateSynthetic } from '../../data/synthetic';
import { FILES } from '../../data/schema';
import { loadPretrained } from '../../model/load';
import type { LlavaModel } from '../../model/llava';
import { create, type Unlearner } from '../../unlearn/unlearner';
import { getMethod } from '../../unlearn/methods';
import type { UnlearnDataset } from '../../unlearn/types';
import { evaluate, type EvalDataset, type GenerativeModelLike } from '../../metrics/evaluate';
import { probeScorer } from '../../metrics/helpers';
import { SAMPLE_COLUMNS, SUMMARY_COLUMNS, CATEGORY_COLUMNS } from '../../metrics/types';
import { createJudge } from '../../judge/registry';
import type { Judge } from '../../judge/types';
import { exportFigure, closeExporter } from '../../plots/export';
import type { GallerySample } from '../../plots/figures';
import {
  buildFigures,
  columnsOf,
  headlineRows,
  markdownTable,
  readTable,
  renderReport,
  terminalTable,
  writeTable,
  type HeadlineRow,
  type Row,
} from '../report';

// ---------------------------------------------------------------------------------------------
// Options and scales

/** The ten methods of the paper's comparison, each without and with PD. */
export const ALL_METHODS: readonly string[] = ['ga', 'ga+pd', 'gd', 'gd+pd', 'kl', 'kl+pd', 'po', 'po+pd', 'npo', 'npo+pd'];

export type JobScale = 'default' | 'test';

export interface ScaleDefaults {
  /** Methods run when --methods is not given. */
  methods: readonly string[];
  /** Optimiser steps per method. */
  steps: number;
  /** Records evaluated per split (and utility items). */
  limit: number;
  /** Tokens generated per response. */
  maxNewTokens: number;
  /** Probe every N steps during unlearning (the forgetting curves). */
  evalEvery: number;
  /** Prompts per probe group (forget, SD, retain, utility). */
  probe: number;
  /** Synthetic dataset used when --dataset is not given. */
  dataset: 'default' | 'tiny';
}

/**
 * default: the whole comparison within 15 minutes on a 2-core CPU (the tiny default model);
 * test: a seconds-long smoke run (tiny dataset, two methods, two steps) for tests and CI.
 */
export const JOB_SCALES: Readonly<Record<JobScale, ScaleDefaults>> = {
  default: { methods: ALL_METHODS, steps: 72, limit: 12, maxNewTokens: 24, evalEvery: 6, probe: 8, dataset: 'default' },
  test: { methods: ['po', 'po+pd'], steps: 2, limit: 2, maxNewTokens: 8, evalEvery: 1, probe: 2, dataset: 'tiny' },
};

export interface MainJobOptions {
  /** A SafeEraser folder (default: the synthetic benchmark of the scale, generated if missing). */
  dataset?: string;
  /** A Hugging Face LLaVA folder (default: the committed vanilla model, data/models/vanilla). */
  model?: string;
  /** Method names (default: every method with and without PD; the test scale: po, po+pd). */
  methods?: readonly string[];
  /** Judge name: 'rules' (default, offline) or 'openai' (ERASERLAB_JUDGE_BASE_URL, ..._MODEL). */
  judge?: string;
  judgeOptions?: Record<string, unknown>;
  /** Results folder (default `results`). */
  out?: string;
  seed?: number;
  /** Optimiser steps per method. */
  steps?: number;
  /** Default 'default', or ERASERLAB_SCALE. */
  scale?: JobScale;
  /** Records evaluated per split. */
  limit?: number;
  maxNewTokens?: number;
  evalEvery?: number;
  /** Export PNG/SVG figures (default true; needs Chromium, skipped with a note when missing). */
  figures?: boolean;
  backend?: BackendName | 'auto';
  /** Stop after the current step; completed methods stay, the job throws JobInterrupted. */
  signal?: AbortSignal;
  /** Progress lines (default: stderr unless ERASERLAB_QUIET=1). */
  log?: (line: string) => void;
  /** Called after each method's results are on disk (or found on disk). */
  onMethodDone?: (m: MethodOutcome) => void;
}

export interface MethodOutcome {
  method: string;
  pd: boolean;
  dir: string;
  /** True when matching results were already on disk (resumed). */
  skipped: boolean;
  seconds: number;
}

export interface MainJobResult {
  out: string;
  methods: MethodOutcome[];
  headline: HeadlineRow[];
  /** The terminal table printed at the end. */
  table: string;
  /** Figure files written (relative to `out`). */
  figures: string[];
  /** Why PNG/SVG export was skipped, if it was. */
  exportSkipped?: string;
  report: string;
}

/** The job was interrupted; the methods that finished are on disk and a rerun resumes. */
export class JobInterrupted extends EraserError {}

// ---------------------------------------------------------------------------------------------
// Fingerprints (what the resume check compares)

function sha(parts: Array<string | Buffer>): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

/** A file's content hash (size + head and tail for files over 256 MB: real checkpoints). */
function fileHash(file: string): string {
  const st = fs.statSync(file);
  if (st.size <= 256 * 2 ** 20) return sha([fs.readFileSync(file)]);
  const fd = fs.openSync(file, 'r');
  try {
    const n = 2 ** 20;
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    fs.readSync(fd, head, 0, n, 0);
    fs.readSync(fd, tail, 0, n, st.size - n);
    return sha([String(st.size), head, tail]);
  } finally {
    fs.closeSync(fd);
  }
}

function dirFingerprint(dir: string, match: (f: string) => boolean): string {
  const files = fs.readdirSync(dir).filter((f) => match(f) && fs.statSync(path.join(dir, f)).isFile()).sort();
  return sha(files.map((f) => `${f}:${fileHash(path.join(dir, f))};`));
}

// ---------------------------------------------------------------------------------------------

interface Context {
  out: string;
  ds: SafeEraserDataset;
  datasetDir: string;
  modelDir: string;
  judge: Judge;
  judgeSpec: Record<string, unknown>;
  seed: number;
  steps: number;
  limit: number;
  maxNewTokens: number;
  evalEvery: number;
  probe: number;
  backend: string;
  fingerprints: { dataset: string; model: string };
  signal?: AbortSignal;
  log: (s: string) => void;
}

/** The spec a method's results were made from; equal specs mean reusable results. */
function methodSpec(ctx: Context, method: string): Record<string, unknown> {
  const vanilla = method === 'vanilla';
  return {
    kind: 'eraserlab.run.method',
    version: 1,
    method,
    pd: !vanilla && getMethod(method).uses.pd === true,
    seed: ctx.seed,
    dataset: { dir: ctx.datasetDir, fingerprint: ctx.fingerprints.dataset },
    model: { dir: ctx.modelDir, fingerprint: ctx.fingerprints.model },
    backend: ctx.backend,
    unlearn: vanilla ? null : { steps: ctx.steps, evalEvery: ctx.evalEvery, probe: ctx.probe },
    evaluate: { splits: ['train', 'val'], preset: 'greedy', judge: ctx.judgeSpec, limit: ctx.limit, maxNewTokens: ctx.maxNewTokens },
  };
}

const METHOD_FILES = ['spec.json', 'summary.json', 'samples.json', 'by_category.json'];
const SUMMARY_NUMERIC = ['value', 'n', 'count', 'unknown'];
const SAMPLE_NUMERIC = ['record', 'pair', 'sample', 'unsafe', 'refusal', 'normal', 'score', 'rougeL', 'rougeL_recall'];
const HISTORY_NUMERIC_SKIP = new Set(['method', 'pd']);

function methodDir(out: string, method: string): string {
  return path.join(out, 'methods', method);
}

/** Whether `<dir>` holds complete results made from `spec`. */
function hasResults(dir: string, spec: Record<string, unknown>): boolean {
  if (!METHOD_FILES.every((f) => fs.existsSync(path.join(dir, f)))) return false;
  try {
    const saved = JSON.parse(fs.readFileSync(path.join(dir, 'spec.json'), 'utf8')) as unknown;
    return JSON.stringify(saved) === JSON.stringify(spec);
  } catch {
    return false;
  }
}

function throwIfAborted(ctx: Context, what: string): void {
  if (ctx.signal?.aborted) {
    throw new JobInterrupted(
      `Interrupted during ${what}: the methods that finished are in ${path.join(ctx.out, 'methods')}; run the same command again to resume`,
    );
  }
}

async function loadModel(dir: string): Promise<LlavaModel> {
  return loadPretrained(dir);
}

/** Unlearn (unless 'vanilla'), evaluate both splits, and write the method's folder atomically. */
async function runMethod(ctx: Context, method: string): Promise<MethodOutcome> {
  const spec = methodSpec(ctx, method);
  const dir = methodDir(ctx.out, method);
  const pd = spec.pd as boolean;
  if (hasResults(dir, spec)) {
    ctx.log(`${method}: results found in ${path.relative(process.cwd(), dir) || dir} (same spec), skipped`);
    return { method, pd, dir, skipped: true, seconds: 0 };
  }
  const t0 = Date.now();
  const m = await loadModel(ctx.modelDir);
  let u: Unlearner | undefined;
  try {
    let history: Array<Record<string, number>> = [];
    let runSpec: unknown;
    if (method !== 'vanilla') {
      ctx.log(`${method}: unlearning, ${ctx.steps} steps`);
      const p = ctx.probe;
      u = create(m, ctx.ds as unknown as UnlearnDataset, {
        method,
        seed: ctx.seed,
        steps: ctx.steps,
        evalEvery: ctx.evalEvery,
        probe: { forget: p, sd: p, retain: p, utility: p, maxNewTokens: ctx.maxNewTokens },
        scorer: probeScorer(ctx.ds.refusals),
        meta: { command: 'eraserlab run', model: ctx.modelDir, dataset: ctx.datasetDir },
      });
      if (ctx.evalEvery > 0) await u.evaluate(); // the curves start at step 0
      throwIfAborted(ctx, `${method} (step 0)`);
      await u.run({ signal: ctx.signal });
      throwIfAborted(ctx, `${method} (unlearning)`);
      history = u.historyRows;
      runSpec = u.spec;
    }
    const results = [];
    for (const split of ['train', 'val'] as const) {
      ctx.log(`${method}: evaluating the ${split === 'train' ? 'forget (train)' : 'held-out (val)'} split`);
      const r = await evaluate(m as unknown as GenerativeModelLike, ctx.ds as unknown as EvalDataset, {
        split,
        judge: ctx.judge,
        preset: 'greedy',
        limit: ctx.limit,
        maxNewTokens: ctx.maxNewTokens,
        seed: ctx.seed,
      });
      results.push(r);
      throwIfAborted(ctx, `${method} (evaluation)`);
    }
    const summary = results.flatMap((r) => rowsOfFrame(r.summary));
    const byCategory = results.flatMap((r) => rowsOfFrame(r.byCategory));
    const samples = results.flatMap((r) => r.rows as unknown as Row[]);
    const seconds = (Date.now() - t0) / 1000;
    await writeDirAtomic(dir, (tmp) => {
      writeTable(tmp, 'summary', summary, SUMMARY_COLUMNS as readonly string[]);
      writeTable(tmp, 'samples', samples, SAMPLE_COLUMNS as readonly string[]);
      writeTable(tmp, 'by_category', byCategory, CATEGORY_COLUMNS as readonly string[]);
      if (history.length) writeTable(tmp, 'history', history, columnsOf(history));
      if (runSpec) writeJsonAtomic(path.join(tmp, 'run.json'), runSpec);
      writeJsonAtomic(path.join(tmp, 'timing.json'), { seconds, steps: method === 'vanilla' ? 0 : ctx.steps });
      // written last: its presence marks the folder complete
      writeJsonAtomic(path.join(tmp, 'spec.json'), spec);
    });
    ctx.log(`${method}: done in ${seconds.toFixed(1)} s`);
    return { method, pd, dir, skipped: false, seconds };
  } finally {
    u?.dispose();
    m.dispose();
  }
}

function rowsOfFrame(df: { shape: number[] } & object): Row[] {
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
export function loadResults(out: string): { summary: Row[]; samples: Row[]; byCategory: Row[]; history: Row[] } {
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
  };
}

/** Gallery rows: harmful prompts, the vanilla response and the response after `method`. */
function galleryRows(ds: SafeEraserDataset, before: Row[], after: Row[], n = 6): GallerySample[] {
  const pick = (rows: Row[]) => new Map(rows.filter((r) => r.kind === 'harmful' && r.split === 'val' && Number(r.sample) === 0).map((r) => [String(r.id), r]));
  const b = pick(before);
  const a = pick(after);
  const out: GallerySample[] = [];
  // one per category first, so the gallery spans the benchmark
  const seenCats = new Set<string>();
  const ids = [...b.keys()].filter((id) => a.has(id));
  const ordered = [...ids.filter((id) => Number(b.get(id)!.pair) === 0), ...ids.filter((id) => Number(b.get(id)!.pair) !== 0)];
  for (const pass of [0, 1]) {
    for (const id of ordered) {
      if (out.length >= n) break;
      const r = b.get(id)!;
      const cat = String(r.category);
      if (pass === 0 && seenCats.has(cat)) continue;
      if (out.some((o) => o.caption?.endsWith(id))) continue;
      seenCats.add(cat);
      const rec = ds.val[Number(r.record)];
      out.push({
        image: rec ? ds.imagePath(rec.image_path) : undefined,
        question: String(r.question),
        before: String(r.response),
        after: String(a.get(id)!.response),
        caption: `${cat} · ${id}`,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The job

function scaleOf(s: string | undefined): JobScale {
  const v = s ?? process.env.ERASERLAB_SCALE ?? 'default';
  if (v !== 'default' && v !== 'test') {
    throw new ConfigError('Invalid options for eraserlab run', [{ path: '--scale', message: `unknown scale '${v}'. Must be one of [default, test]` }]);
  }
  return v;
}

async function datasetFor(opts: MainJobOptions, scale: ScaleDefaults, log: (s: string) => void): Promise<string> {
  if (opts.dataset) return path.resolve(opts.dataset);
  if (scale.dataset === 'default') {
    const dir = await ensureDefaultDataset({});
    return dir;
  }
  const dir = generatedDir('tiny');
  if (!fs.existsSync(path.join(dir, FILES.train))) {
    log(`generating the tiny synthetic benchmark in ${dir}`);
    try {
      await generateSynthetic({ outDir: dir, scale: 'tiny', seed: DEFAULT_SEED });
    } catch (e) {
      if (!fs.existsSync(path.join(dir, FILES.train))) throw e;
    }
  }
  return dir;
}

/**
 * Run the main job (what `eraserlab run` does) and return where everything went. Throws
 * JobInterrupted when `signal` aborts (the finished methods stay on disk).
 */
export async function runMainJob(opts: MainJobOptions = {}): Promise<MainJobResult> {
  const quiet = process.env.ERASERLAB_QUIET === '1';
  const log = opts.log ?? ((s: string) => (quiet ? undefined : process.stderr.write(`eraserlab run: ${s}\n`)));
  const scaleName = scaleOf(opts.scale);
  const scale = JOB_SCALES[scaleName];
  const issues: Issue[] = [];
  const methods = [...(opts.methods ?? scale.methods)];
  const canonical: string[] = [];
  for (const [i, name] of methods.entries()) {
    if (name === 'vanilla') {
      issues.push({ path: `methods[${i}]`, message: "'vanilla' is always evaluated as the baseline; do not list it" });
      continue;
    }
    try {
      const c = getMethod(name).name;
      if (canonical.includes(c)) issues.push({ path: `methods[${i}]`, message: `'${name}' is listed twice` });
      else canonical.push(c);
    } catch (e) {
      issues.push({ path: `methods[${i}]`, message: (e as Error).message });
    }
  }
  const posInt = (v: number | undefined, key: string, min = 0) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) issues.push({ path: key, message: `must be an integer ≥ ${min}, got ${v}` });
  };
  posInt(opts.seed, 'seed');
  posInt(opts.steps, 'steps', 1);
  posInt(opts.limit, 'limit', 1);
  posInt(opts.maxNewTokens, 'maxNewTokens', 1);
  posInt(opts.evalEvery, 'evalEvery');
  if (issues.length) throw new ConfigError('Invalid options for eraserlab run', issues);
  const judgeName = opts.judge ?? 'rules';
  const judge = createJudge(judgeName, opts.judgeOptions); // validates before any work
  const judgeSpec: Record<string, unknown> = { name: judge.name };
  for (const k of ['model', 'baseURL'] as const) if (typeof (judge as unknown as Record<string, unknown>)[k] === 'string') judgeSpec[k] = (judge as unknown as Record<string, unknown>)[k];

  const info = await init({ seed: opts.seed ?? 233, backend: opts.backend });
  const out = path.resolve(opts.out ?? 'results');
  const datasetDir = await datasetFor(opts, scale, log);
  const modelDir = path.resolve(opts.model ?? path.join(packageRoot(), 'data', 'models', 'vanilla'));
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
    throw new ConfigError(`No model at ${modelDir}`, [
      { path: '--model', message: 'a Hugging Face LLaVA folder with config.json, *.safetensors and tokenizer.json (the default is data/models/vanilla; `eraserlab pretrain` rebuilds it)' },
    ]);
  }
  const ds = await loadSafeEraser(datasetDir);
  const ctx: Context = {
    out,
    ds,
    datasetDir,
    modelDir,
    judge,
    judgeSpec,
    seed: opts.seed ?? 233,
    steps: opts.steps ?? scale.steps,
    limit: opts.limit ?? scale.limit,
    maxNewTokens: opts.maxNewTokens ?? scale.maxNewTokens,
    evalEvery: opts.evalEvery ?? scale.evalEvery,
    probe: scale.probe,
    backend: info.backend,
    fingerprints: {
      dataset: dirFingerprint(datasetDir, (f) => f.endsWith('.json') && f !== 'generator.json'),
      model: dirFingerprint(modelDir, (f) => /\.(json|safetensors)$/.test(f) && f !== 'pretrain_spec.json'),
    },
    signal: opts.signal,
    log,
  };
  fs.mkdirSync(path.join(out, 'methods'), { recursive: true });
  // leftovers of a run killed while writing a folder
  for (const f of fs.readdirSync(path.join(out, 'methods'))) if (/^\..*\.tmp-|\.old-\d+-\d+$/.test(f)) fs.rmSync(path.join(out, 'methods', f), { recursive: true, force: true });
  writeJsonAtomic(path.join(out, 'run.json'), {
    kind: 'eraserlab.run',
    version: 1,
    command: 'eraserlab run',
    scale: scaleName,
    methods: canonical,
    seed: ctx.seed,
    steps: ctx.steps,
    dataset: { dir: datasetDir, fingerprint: ctx.fingerprints.dataset, counts: ds.counts() },
    model: { dir: modelDir, fingerprint: ctx.fingerprints.model },
    judge: judgeSpec,
    evaluate: { preset: 'greedy', limit: ctx.limit, maxNewTokens: ctx.maxNewTokens },
    unlearn: { evalEvery: ctx.evalEvery, probe: ctx.probe },
    backend: info,
    versions: versions(),
  });
  log(`${canonical.length} methods + the vanilla baseline; ${ctx.steps} steps each; results in ${out}`);

  const all = ['vanilla', ...canonical];
  const outcomes: MethodOutcome[] = [];
  // one line per phase, numbered; the unlearning, evaluation and export bars show progress
  // within it (a job-level bar would fight them for the terminal line)
  for (const [i, name] of all.entries()) {
    throwIfAborted(ctx, name);
    const o = await runMethod({ ...ctx, log: (s) => log(`[${i + 1}/${all.length}] ${s}`) }, name);
    outcomes.push(o);
    opts.onMethodDone?.(o);
  }
  const resumedN = outcomes.filter((o) => o.skipped).length;
  log(`${all.length} results ready (${resumedN} resumed from disk); writing tables, figures and the report`);

  // Concatenated tables, in the job's method order
  const per = all.map((n) => readMethodResults(methodDir(out, n)));
  const summary = per.flatMap((p) => p.summary);
  const samples = per.flatMap((p) => p.samples);
  const byCategory = per.flatMap((p) => p.byCategory);
  const history = per.flatMap((p) => p.history);
  writeTable(out, 'summary', summary, ['method', 'pd', ...SUMMARY_COLUMNS]);
  writeTable(out, 'samples', samples, ['method', 'pd', ...SAMPLE_COLUMNS]);
  writeTable(out, 'by_category', byCategory, ['method', 'pd', ...CATEGORY_COLUMNS]);
  writeTable(out, 'history', history, columnsOf(history, ['method', 'pd']));
  const headline = headlineRows(summary);
  const table = terminalTable(headline);
  writeFileAtomic(path.join(out, 'table.txt'), table + '\n');
  writeFileAtomic(path.join(out, 'table.md'), markdownTable(headline) + '\n');

  // Figures
  const galleryMethod = canonical.find((m) => /^po\+pd$/.test(m)) ?? canonical.find((m) => m.endsWith('+pd')) ?? canonical[canonical.length - 1];
  const gallery = galleryMethod ? galleryRows(ds, per[0].samples, per[all.indexOf(galleryMethod)].samples) : [];
  const figures = buildFigures({ summary, byCategory, history, gallery, galleryMethod });
  const figDir = path.join(out, 'figures');
  const written: string[] = [];
  let exportSkipped: string | undefined;
  const svgs = new Map<string, string>();
  if (opts.figures === false) exportSkipped = 'figure export was turned off (--no-figures)';
  else {
    fs.mkdirSync(figDir, { recursive: true });
    const fbar = progress(figures.length * 2, 'figures');
    try {
      for (const f of figures) {
        for (const fmt of ['svg', 'png'] as const) {
          const file = path.join(figDir, `${f.name}.${fmt}`);
          await exportFigure(f.figure, file, { format: fmt, preset: 'two-column', ...(f.heightInches ? { heightInches: f.heightInches } : {}) });
          written.push(path.relative(out, file));
          if (fmt === 'svg') svgs.set(f.name, fs.readFileSync(file, 'utf8'));
          fbar.tick(1, `${f.name}.${fmt}`);
        }
      }
      fbar.done();
    } catch (e) {
      fbar.done('skipped');
      exportSkipped = `PNG/SVG export was skipped: ${(e as Error).message.split('\n')[0]}`;
      log(exportSkipped);
    } finally {
      await closeExporter();
    }
  }
  for (const f of figures) writeJsonAtomic(path.join(figDir, `${f.name}.plotly.json`), f.figure);

  const report = path.join(out, 'report.html');
  writeFileAtomic(
    report,
    renderReport({
      title: 'eraserlab: SafeEraser unlearning results',
      meta: {
        dataset: `${datasetDir} (${ds.train.length} forget / ${ds.val.length} held-out records)`,
        model: modelDir,
        methods: canonical.join(', '),
        'steps per method': ctx.steps,
        seed: ctx.seed,
        judge: judgeName,
        'evaluation': `greedy, first ${ctx.limit} records per split, ${ctx.maxNewTokens} new tokens`,
        backend: `${info.backend}`,
        eraserlab: versions().eraserlab ?? '',
      },
      headline,
      figures: figures.map((f) => ({
        ...f,
        svg: svgs.get(f.name),
        files: written.filter((w) => path.basename(w).startsWith(`${f.name}.`)),
      })),
      exportNote: exportSkipped,
      byCategory,
      samples,
    }),
  );
  return { out, methods: outcomes, headline, table, figures: written, exportSkipped, report };
}

// ---------------------------------------------------------------------------------------------
// The command

const USAGE = `Usage: eraserlab run [--dataset DIR] [--model DIR] [--methods a,b,...] [--judge rules|openai]
                    [--out DIR] [--seed S] [--steps N] [--scale default|test] [--limit N]
                    [--max-new-tokens N] [--eval-every N] [--no-figures] [--backend B]

The main job (also what \`eraserlab\` runs with no command): unlearn the forget split with every
method with and without the Prompt Decouple loss, evaluate each against the vanilla model, and
write a results folder: run specs, per-sample and summary tables (CSV + JSON), figures (PNG +
SVG) and report.html (self-contained, opens offline). Interrupted (Ctrl-C), finished methods
stay; the same command again resumes.

  --dataset DIR      a SafeEraser folder (default: the synthetic benchmark, generated if missing)
  --model DIR        a Hugging Face LLaVA folder (default: data/models/vanilla)
  --methods LIST     comma-separated (default: ${ALL_METHODS.join(',')})
  --judge NAME       rules (default, offline) or openai (ERASERLAB_JUDGE_BASE_URL, ERASERLAB_JUDGE_MODEL,
                     ERASERLAB_JUDGE_API_KEY)
  --out DIR          results folder (default: results)
  --seed S           seed of unlearning and evaluation (default 233)
  --steps N          optimiser steps per method (default ${JOB_SCALES.default.steps}; test scale ${JOB_SCALES.test.steps})
  --scale S          default, or test: tiny dataset, po and po+pd, ${JOB_SCALES.test.steps} steps (also ERASERLAB_SCALE=test)
  --limit N          records evaluated per split (default ${JOB_SCALES.default.limit}; test ${JOB_SCALES.test.limit})
  --max-new-tokens N tokens generated per response (default ${JOB_SCALES.default.maxNewTokens})
  --eval-every N     probe every N steps for the forgetting curves (default ${JOB_SCALES.default.evalEvery}; 0 = off)
  --no-figures       skip PNG/SVG export (report.html then draws the figures with plotly.js)
  --backend B        tfjs backend: auto, wasm, cpu, tensorflow, tensorflow-gpu`;

const KNOWN = ['_', 'dataset', 'model', 'methods', 'judge', 'out', 'seed', 'steps', 'scale', 'limit', 'max-new-tokens', 'eval-every', 'no-figures', 'backend'];

export const command: CliCommand = {
  name: 'run',
  summary: 'The main job: every method with and without PD, evaluated, with figures and an HTML report',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, ['no-figures']);
    const issues: Issue[] = [];
    for (const k of Object.keys(a)) if (!KNOWN.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${KNOWN.slice(1).map((x) => `--${x}`).join(', ')}]` });
    if (a._.length) issues.push({ path: a._[0], message: 'unexpected argument' });
    const str = (k: string) => {
      const v = a[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') {
        issues.push({ path: `--${k}`, message: 'needs a value' });
        return undefined;
      }
      return v;
    };
    const int = (k: string) => {
      const v = str(k);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) {
        issues.push({ path: `--${k}`, message: `must be a non-negative integer, got '${v}'` });
        return undefined;
      }
      return n;
    };
    const opts: MainJobOptions = {
      dataset: str('dataset'),
      model: str('model'),
      methods: str('methods')?.split(',').map((s) => s.trim()).filter(Boolean),
      judge: str('judge'),
      out: str('out'),
      seed: int('seed'),
      steps: int('steps'),
      scale: str('scale') as JobScale | undefined,
      limit: int('limit'),
      maxNewTokens: int('max-new-tokens'),
      evalEvery: int('eval-every'),
      figures: a['no-figures'] === true ? false : true,
      backend: str('backend') as BackendName | undefined,
    };
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab run', issues);

    // Ctrl-C: finish the current step, keep what is done, exit 130; a second Ctrl-C quits now.
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\neraserlab run: interrupted; stopping after the current step (Ctrl-C again to quit now)\n');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      const r = await runMainJob({ ...opts, signal: controller.signal });
      const resumed = r.methods.filter((m) => m.skipped).map((m) => m.method);
      process.stdout.write(`\n${r.table}\n\n`);
      if (resumed.length) process.stdout.write(`Resumed: ${resumed.join(', ')} (results already on disk)\n`);
      if (r.exportSkipped) process.stdout.write(`Note: ${r.exportSkipped}; report.html draws the figures with plotly.js instead.\n`);
      process.stdout.write(`Results: ${r.out}\nReport:  ${r.report}\n`);
      return 0;
    } catch (e) {
      if (e instanceof JobInterrupted) {
        process.stderr.write(`${e.name}: ${e.message}\n`);
        return 130;
      }
      throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
