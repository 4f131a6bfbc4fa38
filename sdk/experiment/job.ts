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
import { evaluate, PRESETS, type PresetName } from '../metrics/evaluate';
import { probeScorer } from '../metrics/helpers';
import { SAMPLE_COLUMNS, SUMMARY_COLUMNS, CATEGORY_COLUMNS } from '../metrics/types';
import { aggregateSeedRows, SEED_COLUMNS } from '../metrics/seeds';
import { comparePdRows, COMPARE_COLUMNS } from '../metrics/compare';
import { createJudge } from '../judge/registry';
import type { Judge } from '../judge/types';
import {
  buildFigures,
  columnsOf,
  comparisonMarkdownTable,
  comparisonTerminalTable,
  headlineRows,
  headlineRowsWithSd,
  markdownTable,
  renderReport,
  terminalTable,
  writeTable,
  type HeadlineRow,
  type Row,
} from './report';
import { JOB_SCALES, scaleOf, type JobScale, type ScaleDefaults } from './scales';
import { dirFingerprint } from './fingerprint';
import { hasResults, methodDir, readMethodResults, rowsOfFrame } from './results';
import { galleryMethodOf, galleryRows } from './gallery';
import { exportFigures } from './figures';
import { ATTACK_SCALES, attackInto, robustnessFigures, withRelearnSteps } from './attacks';
import { robustnessTable } from '../attacks/table';
import { attackNames, resolveAttack } from '../attacks/registry';
import '../attacks';

/** The options of `experiment.run` and `eraserlab run` (the CLI's options in camelCase). */
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
  /**
   * Evaluation protocol: 'greedy' (default: 1 greedy answer per query) or 'official' (the
   * official evaluation: 3 sampled answers at temperature 1.0, top-p 0.9, 512 new tokens unless
   * `maxNewTokens` is given, retain text questions with the harmful image, the vicuna_v1
   * inference template, the official skips; the openai judge then defaults to the official prompts).
   */
  protocol?: PresetName;
  /** Results folder (default `results`). */
  out?: string;
  /** Seed of unlearning and evaluation (default 233). */
  seed?: number;
  /**
   * Run every method once per seed (e.g. [1, 2, 3]): results per seed under
   * `<out>/seeds/<s>/methods/<method>/` (each resumable), tables with a `seed` column, the
   * aggregate across seeds in `summary_seeds` (mean, sd, t interval, per-seed values) and
   * mean ± sd in the headline table. Not together with `seed`.
   */
  seeds?: readonly number[];
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
  /**
   * After the methods, attack every method, the vanilla model and the retrained reference
   * (docs/robustness.md): `true` runs every attack, a list the named ones. Writes attacks.csv,
   * attacks.json, attacks.md and the robustness figures into `out` and the report.
   */
  attacks?: boolean | readonly string[];
  /** Attack parameters, e.g. `{'relearn-forget': {steps: [5, 10]}}`. */
  attackParams?: Record<string, Record<string, unknown>>;
  /** The retrained reference for the attacks: a model folder, 'auto' (default) or false. */
  reference?: string | 'auto' | false;
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

/** One method of the job: where its results are, whether they were reused, how long it took. */
export interface MethodOutcome {
  method: string;
  pd: boolean;
  /** The seed the method ran with. */
  seed: number;
  dir: string;
  /** True when matching results were already on disk (resumed). */
  skipped: boolean;
  seconds: number;
}

/** What `experiment.run` returns: where the results went, the per-method outcomes and the headline table. */
export interface MainJobResult {
  out: string;
  methods: MethodOutcome[];
  headline: HeadlineRow[];
  /** The terminal table printed at the end (mean ± sd across seeds with several seeds). */
  table: string;
  /** The seeds the job ran. */
  seeds: number[];
  /** Each method against its +PD variant (`metrics.comparePdRows` on the samples of every seed). */
  comparison: Row[];
  /** The paired comparison as a terminal table ('' when no method ran with and without PD). */
  comparisonTable: string;
  /** Figure files written (relative to `out`). */
  figures: string[];
  /** Why PNG/SVG export was skipped, if it was. */
  exportSkipped?: string;
  report: string;
}

/** The fields of run.json that make two results folders the same experiment (methods may differ). */
const EXPERIMENT_FIELDS = ['scale', 'steps', 'dataset.fingerprint', 'model.fingerprint', 'judge', 'evaluate', 'unlearn', 'backend.backend'] as const;

function field(o: unknown, key: string): string {
  let v: unknown = o;
  for (const k of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return JSON.stringify(v ?? null);
}

/**
 * Refuse to replace the results of a different experiment (another seed, steps, data, model,
 * judge, evaluation or backend) in `out`, as `eraserlab unlearn` refuses another run's
 * checkpoints; `force` replaces them (they are eraserlab's own output). The same experiment
 * again resumes; more methods, or more seeds of a multi-seed run (each in its own folder),
 * add to it.
 */
export function assertSameExperiment(out: string, runJson: Record<string, unknown>, force = false): void {
  const file = path.join(out, 'run.json');
  if (!fs.existsSync(file)) return;
  let old: Record<string, unknown>;
  try {
    old = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return; // a run.json cut short is ours to replace (the folder is marked as a results folder)
  }
  const single = (j: Record<string, unknown>) => !Array.isArray(j.seeds) || j.seeds.length <= 1;
  const keys: string[] = [...EXPERIMENT_FIELDS];
  if (single(old) && single(runJson)) keys.splice(1, 0, 'seed');
  const differ = keys.filter((k) => field(old, k) !== field(runJson, k));
  if (differ.length === 0 || force) return;
  const what = differ.map((k) => `${k} ${field(old, k)} → ${field(runJson, k)}`).join(', ');
  throw new ConfigError(`${out} holds the results of another experiment (${what})`, [
    { path: 'out', message: "choose another results folder, or force: true (--force) to replace them; only eraserlab's own results are ever replaced" },
  ]);
}

/** The job was interrupted; the methods that finished are on disk and a rerun resumes. */
export class JobInterrupted extends EraserError {}

interface Context {
  /** The folder holding `methods/` for this seed (`out`, or `out/seeds/<s>` with several seeds). */
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
  /** The evaluation protocol and its new-token budget. */
  protocol: PresetName;
  evalMaxNewTokens: number;
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
    evaluate: { splits: ['train', 'val'], preset: ctx.protocol, judge: ctx.judgeSpec, limit: ctx.limit, maxNewTokens: ctx.evalMaxNewTokens },
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
    return { method, pd, seed: ctx.seed, dir, skipped: true, seconds: 0 };
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
        preset: ctx.protocol,
        limit: ctx.limit,
        maxNewTokens: ctx.evalMaxNewTokens,
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
    return { method, pd, seed: ctx.seed, dir, skipped: false, seconds };
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
  // never write into a folder eraserlab did not write; one writer at a time
  const out = path.resolve(opts.out ?? 'results');
  assertOutputDir(out, 'run', { option: 'out', command: 'eraserlab run' });
  const existed = fs.existsSync(out);
  const lock = lockOutput(out, { option: 'out', command: 'eraserlab run' });
  try {
    return await runMainJobLocked(opts);
  } finally {
    lock.release();
    if (!existed && fs.readdirSync(out).length === 0) fs.rmdirSync(out); // refused before writing anything
  }
}

async function runMainJobLocked(opts: MainJobOptions): Promise<MainJobResult> {
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
  if (opts.seeds !== undefined) {
    if (!Array.isArray(opts.seeds) || opts.seeds.length === 0) issues.push({ path: 'seeds', message: 'must be a non-empty list of seeds, e.g. [1, 2, 3]' });
    else {
      opts.seeds.forEach((v, i) => posInt(v, `seeds[${i}]`));
      const dup = opts.seeds.find((v, i) => opts.seeds!.indexOf(v) !== i);
      if (dup !== undefined) issues.push({ path: 'seeds', message: `seed ${dup} is listed twice` });
    }
    if (opts.seed !== undefined) issues.push({ path: 'seed', message: 'give seed or seeds, not both' });
  }
  posInt(opts.steps, 'steps', 1);
  posInt(opts.limit, 'limit', 1);
  posInt(opts.maxNewTokens, 'maxNewTokens', 1);
  posInt(opts.evalEvery, 'evalEvery');
  if (opts.attacks) {
    // attack names and parameters, checked before any work
    const names = Array.isArray(opts.attacks) ? opts.attacks : attackNames();
    const bad = names.filter((n) => !attackNames().includes(n));
    if (bad.length) issues.push({ path: 'attacks', message: `Unknown attack${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}. Must be one of [${attackNames().join(', ')}]` });
    else {
      for (const n of names) {
        try {
          resolveAttack(n, opts.attackParams?.[n] ?? {}, `attackParams.${n}`);
        } catch (e) {
          if (e instanceof ConfigError) issues.push(...e.issues);
          else throw e;
        }
      }
    }
  }
  if (issues.length) throw new ConfigError('Invalid options for eraserlab run', issues);
  const protocol: PresetName = opts.protocol ?? 'greedy';
  if (!Object.prototype.hasOwnProperty.call(PRESETS, protocol)) throw new ConfigError('Invalid options for eraserlab run', [{ path: 'protocol', message: `must be one of [${Object.keys(PRESETS).join(', ')}] (got ${JSON.stringify(protocol)})` }]);
  const judgeName = opts.judge ?? 'rules';
  // the official protocol judges with the official prompts unless told otherwise
  const judgeOptions = judgeName === 'openai' && protocol === 'official' ? { protocol: 'official', ...(opts.judgeOptions ?? {}) } : opts.judgeOptions;
  const judge = createJudge(judgeName, judgeOptions); // validates before any work
  const judgeSpec: Record<string, unknown> = { name: judge.name };
  // baseURL: the judge's own, without credentials
  for (const k of ['model', 'baseURL', 'protocol'] as const) if (typeof (judge as unknown as Record<string, unknown>)[k] === 'string') judgeSpec[k] = (judge as unknown as Record<string, unknown>)[k];

  const seeds = opts.seeds ? [...opts.seeds] : [opts.seed ?? DEFAULT_SEED];
  const perSeedDirs = opts.seeds !== undefined;
  const info = await init({ seed: seeds[0], backend: opts.backend });
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
    seed: seeds[0],
    steps: opts.steps ?? scale.steps,
    limit: opts.limit ?? scale.limit,
    maxNewTokens: opts.maxNewTokens ?? scale.maxNewTokens,
    protocol,
    evalMaxNewTokens: opts.maxNewTokens ?? PRESETS[protocol].maxNewTokens ?? scale.maxNewTokens,
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
  const seedOut = (s: number) => (perSeedDirs ? path.join(out, 'seeds', String(s)) : out);
  for (const s of seeds) {
    const methodsDir = path.join(seedOut(s), 'methods');
    fs.mkdirSync(methodsDir, { recursive: true });
    // leftovers of a run killed while writing a folder
    for (const f of fs.readdirSync(methodsDir)) if (/^\..*\.tmp-|\.old-\d+-\d+$/.test(f)) fs.rmSync(path.join(methodsDir, f), { recursive: true, force: true });
  }
  const runJson = {
    kind: 'eraserlab.run',
    version: 1,
    command: 'eraserlab run',
    scale: scaleName,
    methods: canonical,
    seed: ctx.seed,
    seeds,
    steps: ctx.steps,
    dataset: { dir: datasetDir, fingerprint: ctx.fingerprints.dataset, counts: ds.counts() },
    model: { dir: modelDir, fingerprint: ctx.fingerprints.model },
    judge: judgeSpec,
    evaluate: { preset: ctx.protocol, limit: ctx.limit, maxNewTokens: ctx.evalMaxNewTokens },
    unlearn: { evalEvery: ctx.evalEvery, probe: ctx.probe },
    backend: info,
    versions: versions(),
  };
  assertSameExperiment(out, runJson, opts.force === true);
  markOutput(out, 'run', 'eraserlab run');
  writeJsonAtomic(path.join(out, 'run.json'), runJson);
  log(`${canonical.length} methods + the vanilla baseline; ${ctx.steps} steps each${seeds.length > 1 ? `; seeds ${seeds.join(', ')}` : ''}; results in ${out}`);

  const all = ['vanilla', ...canonical];
  const outcomes: MethodOutcome[] = [];
  // one line per phase, numbered; the unlearning, evaluation and export bars show progress
  // within it (a job-level bar would fight them for the terminal line)
  const total = all.length * seeds.length;
  const mode = opts.progress ?? 'all';
  const overall = mode === 'methods' ? progress(total, 'methods') : undefined;
  const each = async (): Promise<void> => {
    for (const [si, seed] of seeds.entries()) {
      for (const [i, name] of all.entries()) {
        throwIfAborted({ ...ctx, out: seedOut(seed) }, name);
        const k = si * all.length + i + 1;
        const prefix = seeds.length > 1 ? `[${k}/${total} seed ${seed}]` : `[${k}/${total}]`;
        const label = seeds.length > 1 ? `${name} (seed ${seed})` : name;
        overall?.update(k - 1, `${label}…`);
        const o = await runMethod({ ...ctx, out: seedOut(seed), seed, log: (s) => log(`${prefix} ${s}`) }, name);
        outcomes.push(o);
        overall?.update(k, `${label} ${o.skipped ? 'found on disk' : `done in ${o.seconds.toFixed(0)} s`}`);
        opts.onMethodDone?.(o);
      }
    }
  };
  if (mode === 'all') await each();
  else await withoutProgress(each);
  overall?.done(`${total} runs`);
  const resumedN = outcomes.filter((o) => o.skipped).length;
  log(`${total} results ready (${resumedN} resumed from disk); writing tables, figures and the report`);

  // Concatenated tables, in the job's seed and method order, each row tagged with its seed
  const withSeed = (rows: Row[], seed: number) => rows.map((r) => ({ method: r.method, pd: r.pd, seed, ...r }));
  const per = seeds.map((seed) => ({ seed, methods: all.map((n) => readMethodResults(methodDir(seedOut(seed), n))) }));
  const gather = (k: 'summary' | 'samples' | 'byCategory' | 'history') => per.flatMap((p) => p.methods.flatMap((m) => withSeed(m[k], p.seed)));
  const summary = gather('summary');
  const samples = gather('samples');
  const byCategory = gather('byCategory');
  const history = gather('history');
  writeTable(out, 'summary', summary, ['method', 'pd', 'seed', ...SUMMARY_COLUMNS]);
  writeTable(out, 'samples', samples, ['method', 'pd', 'seed', ...SAMPLE_COLUMNS]);
  writeTable(out, 'by_category', byCategory, ['method', 'pd', 'seed', ...CATEGORY_COLUMNS]);
  writeTable(out, 'history', history, columnsOf(history, ['method', 'pd', 'seed']));
  // across seeds: mean, sd, t interval and each seed's value (one seed: its own interval)
  const aggregated = aggregateSeedRows(summary) as unknown as Row[];
  writeTable(out, 'summary_seeds', aggregated, [...SEED_COLUMNS, ...seeds.map((s) => `seed_${s}`)]);
  const headline = seeds.length > 1 ? headlineRowsWithSd(aggregated) : headlineRows(summary);
  const table = terminalTable(headline);
  writeFileAtomic(path.join(out, 'table.txt'), table + '\n');
  writeFileAtomic(path.join(out, 'table.md'), markdownTable(headline) + '\n');
  // each method against its +PD variant, paired on items (and seeds)
  const comparison = comparePdRows(samples as never) as unknown as Row[];
  writeTable(out, 'comparison', comparison, COMPARE_COLUMNS as readonly string[]);
  const comparisonTable = comparison.length ? comparisonTerminalTable(comparison) : '';
  writeFileAtomic(path.join(out, 'comparison.txt'), comparisonTable + '\n');
  writeFileAtomic(path.join(out, 'comparison.md'), (comparison.length ? comparisonMarkdownTable(comparison) : '') + '\n');

  // Figures (error bars: each rate's interval with one seed, the t interval across seeds with several)
  const galleryMethod = galleryMethodOf(canonical);
  const first = per[0].methods;
  const gallery = galleryMethod ? galleryRows(ds, first[0].samples, first[all.indexOf(galleryMethod)].samples) : [];
  const figures = buildFigures({ summary: seeds.length > 1 ? aggregated : summary, byCategory, history, gallery, galleryMethod });

  // Robustness: the attack sweep over the same methods, model, dataset, steps and seed
  let robustness: Row[] | undefined;
  if (opts.attacks) {
    const ascale = ATTACK_SCALES[scaleName === 'test' ? 'test' : 'default'];
    const names = Array.isArray(opts.attacks) ? [...opts.attacks] : undefined;
    log(`attacks: ${names ? names.join(', ') : 'all'} against ${canonical.length} methods, the vanilla model and the retrained reference`);
    const sw = await attackInto(out, {
      dataset: datasetDir,
      model: modelDir,
      methods: canonical,
      steps: ctx.steps,
      seed: seeds[0],
      attacks: names,
      params: withRelearnSteps(opts.attackParams ?? {}, names, ascale),
      limit: ascale.limit,
      miaLimit: ascale.miaLimit,
      maxNewTokens: ascale.maxNewTokens,
      judge,
      reference: opts.reference ?? 'auto',
      referenceSteps: ascale.referenceSteps,
      log: (l) => log(`attacks: ${l}`),
    });
    figures.push(...robustnessFigures(sw.rows));
    robustness = robustnessTable(sw.rows) as unknown as Row[];
  }
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
        [seeds.length > 1 ? 'seeds' : 'seed']: seeds.join(', '),
        judge: judgeName,
        'evaluation': `${ctx.protocol === 'official' ? 'official protocol (3 samples, T 1.0, top-p 0.9)' : 'greedy'}, first ${ctx.limit} records per split, ${ctx.evalMaxNewTokens} new tokens`,
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
      comparison,
      seeds,
      intervals: seeds.length > 1 ? aggregated : summary,
      robustness,
    }),
  );
  return { out, methods: outcomes, headline, table, seeds, comparison, comparisonTable, figures: written, exportSkipped, report };
}

/**
 * Run the main job from code (a notebook, a script): the same job, files and numbers as
 * `eraserlab run` with the same options. Same as `runMainJob`.
 */
export function run(opts: MainJobOptions = {}): Promise<MainJobResult> {
  return runMainJob(opts);
}
