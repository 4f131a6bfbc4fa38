/**
 * The main job (what `eraserlab run` and `experiment.run` do): generate the default synthetic
 * benchmark if missing, load the vanilla model, unlearn with every method with and without the
 * Prompt Decouple loss, evaluate each (forget split = efficacy, held-out split = generality)
 * against the vanilla baseline, and write a results folder with tables, figures and a
 * self-contained HTML report (docs/quickstart.md).
 *
 * Each method's results are written atomically into `<out>/methods/<method>/` when it finishes,
 * beside the spec that produced them; a rerun skips every method whose spec matches, so an
 * interrupted job (Ctrl-C) resumes where it stopped and a finished one only rebuilds the report.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, EraserError, type Issue } from '../runtime/errors';
import { init, type BackendName } from '../runtime/backend';
import { versions } from '../runtime/versions';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../runtime/fsutil';
import { progress, withoutProgress } from '../runtime/progress';
import { assertOutputDir, lockOutput, markOutput } from '../runtime/outdir';
import { loadSafeEraser, type SafeEraserDataset } from '../data/dataset';
import { ensureDefaultDataset, generatedDir, packageRoot, DEFAULT_SEED } from '../data/defaults';
import { generateSynthetic } from '../data/synthetic';
import { FILES } from '../data/schema';
import { loadPretrained } from '../model/load';
import type { LlavaModel } from '../model/llava';
import { create, type Unlearner } from '../unlearn/unlearner';
import { getMethod } from '../unlearn/methods';
import { evaluate } from '../metrics/evaluate';
import { probeScorer } from '../metrics/helpers';
import { SAMPLE_COLUMNS, SUMMARY_COLUMNS, CATEGORY_COLUMNS } from '../metrics/types';
import { createJudge } from '../judge/registry';
import type { Judge } from '../judge/types';
import { buildFigures, columnsOf, headlineRows, markdownTable, renderReport, terminalTable, writeTable, type HeadlineRow, type Row } from './report';
import { JOB_SCALES, scaleOf, type JobScale, type ScaleDefaults } from './scales';
import { dirFingerprint } from './fingerprint';
import { hasResults, methodDir, readMethodResults, rowsOfFrame } from './results';
import { galleryMethodOf, galleryRows } from './gallery';
import { exportFigures } from './figures';

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
  /** Replace the results of a different experiment in `out` (eraserlab's own only; default false: refused). */
  force?: boolean;
  /** Progress lines (default: stderr unless ERASERLAB_QUIET=1). */
  log?: (line: string) => void;
  /** Called after each method's results are on disk (or found on disk). */
  onMethodDone?: (m: MethodOutcome) => void;
  /**
   * Progress display: 'all' (default: a bar per unlearning run, evaluation and export, for the
   * terminal), 'methods' (one overall bar over the methods, the current one as its status: what
   * a notebook wants) or false.
   */
  progress?: 'all' | 'methods' | false;
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

/** The fields of run.json that make two results folders the same experiment (methods may differ). */
const EXPERIMENT_FIELDS = ['scale', 'seed', 'steps', 'dataset.fingerprint', 'model.fingerprint', 'judge', 'evaluate', 'unlearn', 'backend.backend'] as const;

function field(o: unknown, key: string): string {
  let v: unknown = o;
  for (const k of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return JSON.stringify(v ?? null);
}

/**
 * Refuse to replace the results of a different experiment (another seed, steps, data, model,
 * judge, evaluation or backend) in `out`, as `eraserlab unlearn` refuses another run's
 * checkpoints; `force` replaces them (they are eraserlab's own output). The same experiment
 * again resumes; a different method list adds to it.
 */
export function assertSameExperiment(out: string, runJson: Record<string, unknown>, force = false): void {
  const file = path.join(out, 'run.json');
  if (!fs.existsSync(file)) return;
  let old: unknown;
  try {
    old = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return; // a run.json cut short is ours to replace (the folder is marked as a results folder)
  }
  const differ = EXPERIMENT_FIELDS.filter((k) => field(old, k) !== field(runJson, k));
  if (differ.length === 0 || force) return;
  const what = differ.map((k) => `${k} ${field(old, k)} → ${field(runJson, k)}`).join(', ');
  throw new ConfigError(`${out} holds the results of another experiment (${what})`, [
    { path: 'out', message: 'choose another results folder, or force: true (--force) to replace them; only eraserlab\'s own results are ever replaced' },
  ]);
}

/** The job was interrupted; the methods that finished are on disk and a rerun resumes. */
export class JobInterrupted extends EraserError {}

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
      u = create(m, ctx.ds, {
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
      const r = await evaluate(m, ctx.ds, {
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

  const info = await init({ seed: opts.seed ?? DEFAULT_SEED, backend: opts.backend });
  const out = path.resolve(opts.out ?? 'results');
  // never write into a folder eraserlab did not write; one writer at a time
  assertOutputDir(out, 'run', { option: 'out', command: 'eraserlab run' });
  const lock = lockOutput(out, { option: 'out', command: 'eraserlab run' });
  try {
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
      seed: opts.seed ?? DEFAULT_SEED,
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
    const runJson = {
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
    };
    assertSameExperiment(out, runJson, opts.force === true);
    markOutput(out, 'run', 'eraserlab run');
    writeJsonAtomic(path.join(out, 'run.json'), runJson);
    log(`${canonical.length} methods + the vanilla baseline; ${ctx.steps} steps each; results in ${out}`);

    const all = ['vanilla', ...canonical];
    const outcomes: MethodOutcome[] = [];
    // one line per phase, numbered; the unlearning, evaluation and export bars show progress
    // within it (a job-level bar would fight them for the terminal line)
    const mode = opts.progress ?? 'all';
    const overall = mode === 'methods' ? progress(all.length, 'methods') : undefined;
    const each = async (): Promise<void> => {
      for (const [i, name] of all.entries()) {
        throwIfAborted(ctx, name);
        overall?.update(i, `${name}…`);
        const o = await runMethod({ ...ctx, log: (s) => log(`[${i + 1}/${all.length}] ${s}`) }, name);
        outcomes.push(o);
        overall?.update(i + 1, `${name} ${o.skipped ? 'found on disk' : `done in ${o.seconds.toFixed(0)} s`}`);
        opts.onMethodDone?.(o);
      }
    };
    if (mode === 'all') await each();
    else await withoutProgress(each);
    overall?.done(`${all.length} methods`);
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
    const galleryMethod = galleryMethodOf(canonical);
    const gallery = galleryMethod ? galleryRows(ds, per[0].samples, per[all.indexOf(galleryMethod)].samples) : [];
    const figures = buildFigures({ summary, byCategory, history, gallery, galleryMethod });
    const { written, exportSkipped, svgs } = await exportFigures(figures, out, { enabled: opts.figures !== false, log });

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
  } finally {
    lock.release();
  }
}

/** The options of `experiment.run`: the CLI's `eraserlab run` options in camelCase. */
export type ExperimentOptions = MainJobOptions;
/** What `experiment.run` returns: where the results went, the per-method outcomes and the headline table. */
export type ExperimentResult = MainJobResult;

/**
 * Run the main job from code (a notebook, a script): the same job, files and numbers as
 * `eraserlab run` with the same options. Same as `runMainJob`.
 */
export function run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
  return runMainJob(opts);
}
