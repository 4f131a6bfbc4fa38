/**
 * `eraserlab unlearn`: run one SafeEraser unlearning method (or, with --all, every method with
 * and without Prompt Decouple loss) from the vanilla model on a SafeEraser dataset, probe the
 * result on the forget and held-out splits, and write checkpoints, run specs and a results
 * table (docs/methods.md, docs/results.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { invalidArguments, defineCommand, type CommandSpec } from '../options';
import { ConfigError, Issue } from '../../runtime/errors';
import { assertOutputDir, lockOutput, markOutput } from '../../runtime/outdir';
import { interruptOnSigint } from '../../experiment/interrupt';
import { init } from '../../runtime/backend';
import { writeFileAtomic, writeJsonAtomic } from '../../runtime/fsutil';
import { loadSafeEraser } from '../../data/dataset';
import { ensureDefaultDataset, packageRoot } from '../../data/defaults';
import { loadPretrained } from '../../model/load';
import { create, Unlearner } from '../../unlearn/unlearner';
import { latestCheckpoint, otherRunCheckpoints } from '../../unlearn/checkpoint';
import { getMethod, methodNames } from '../../unlearn/methods';
import type { UnlearnableModel, UnlearnDataset } from '../../unlearn/types';
import type { ProbeResult, ProbeScorer } from '../../unlearn/probe';
import { rougeLOfficial } from '../../text/rouge';
import { utilityCorrect } from '../../metrics/evaluate';
import { RulesJudge } from '../../judge/rules';
import { DEFAULT_SEED } from '../../runtime/rng';

/**
 * The probe scorer the command uses: the metrics layer's ROUGE-L (rouge_score with stemming; the
 * official LCS / reference-length figure), the rules judge's refusal detection (with the
 * dataset's own refusals) and the utility exact-answer check.
 */
export function metricsScorer(refusals: readonly string[]): ProbeScorer {
  const judge = new RulesJudge({ refusals });
  return {
    rouge: (response, reference) => rougeLOfficial(response, reference),
    isRefusal: (response) => judge.refusalSync(response).value === true,
    correct: (response, reference) => utilityCorrect(response, reference),
  };
}

/** Default of --save-every: a checkpoint every this many optimiser steps (and always at the end). */
export const DEFAULT_SAVE_EVERY = 10;

const METHOD_CHOICES = (): string[] => methodNames();
const isMethod = (name: string) => {
  try {
    getMethod(name);
    return true;
  } catch {
    return false;
  }
};

export const spec: CommandSpec = {
  name: 'unlearn',
  synopsis: ['--method M [options]', '--all [--methods a,b,...] [options]'],
  description:
    'Unlearn the forget split of a SafeEraser dataset from a LLaVA model with one method, then probe forget-answer rate, refusal rate, SARR, ' +
    'retain ROUGE-L and utility accuracy on the forget (train) and held-out (val) splits. Checkpoints go to <out>/<method>/checkpoint-N and ' +
    '<out>/<method>/final; Ctrl-C stops after the current step and saves a checkpoint, and the same command again resumes from the last one, bit for bit.',
  options: [
    { name: 'method', type: 'string', metavar: 'M', doc: 'ga, gd, kl, po (idk), npo and their +pd variants (ga+pd, gd+pd, kl+pd, po+pd, npo+pd).', check: (v) => (isMethod(String(v)) ? undefined : `unknown method '${String(v)}'. Must be one of [${METHOD_CHOICES().join(', ')}]`) },
    { name: 'all', type: 'flag', doc: 'Run every built-in method (or --methods a,b,...) and write a results table.' },
    {
      name: 'methods',
      type: 'list',
      doc: 'With --all: the methods to run, comma-separated (aliases such as idk, idkpd accepted).',
      check: (v) => {
        const bad = (v as string[]).filter((m) => !isMethod(m));
        return bad.length ? `unknown method${bad.length > 1 ? 's' : ''} ${bad.map((m) => `'${m}'`).join(', ')}. Must be one of [${METHOD_CHOICES().join(', ')}]` : undefined;
      },
    },
    { name: 'dataset', type: 'path', doc: 'SafeEraser folder.', default: 'data/generated/default, generated if missing' },
    { name: 'model', type: 'path', doc: 'Model folder.', default: 'data/models/vanilla' },
    { name: 'steps', type: 'int', min: 1, doc: "Optimiser steps (default: the method's epochs over the forget split)." },
    { name: 'epochs', type: 'number', min: 0, exclusiveMin: true, metavar: 'E', doc: 'Epochs over the forget split.' },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, doc: 'Peak learning rate.' },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed.', default: DEFAULT_SEED },
    { name: 'eval-every', type: 'int', min: 0, doc: 'Probe every N steps during training (0: only at the end).', default: 0 },
    { name: 'probe', type: 'int', min: 1, doc: 'Prompts per probe group at the end.', default: 48 },
    { name: 'save-every', type: 'int', min: 0, doc: 'Save a checkpoint every N steps (0: only the final one); a rerun resumes from the latest.', default: DEFAULT_SAVE_EVERY },
    { name: 'out', type: 'path', doc: 'Checkpoints, run specs and results; a new or empty folder, or an earlier eraserlab unlearn output.', default: 'runs/unlearn' },
    { name: 'force', type: 'flag', doc: "Replace a method's checkpoints in --out that come from a different experiment (another seed, lr, ...). Never replaces files eraserlab did not write." },
    { name: 'backend', type: 'string', metavar: 'B', doc: 'tfjs backend (auto, wasm, cpu, ...).' },
  ],
};

export interface MethodResult {
  method: string;
  pd: boolean;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  finalLoss: number;
  train: Omit<ProbeResult, 'responses'>;
  val: Omit<ProbeResult, 'responses'>;
}

function strip(p: ProbeResult): Omit<ProbeResult, 'responses'> {
  const { responses: _r, ...rest } = p;
  void _r;
  return rest;
}

/** Probe a model on a split without training (the vanilla baseline). */
async function probeOnly(model: UnlearnableModel, ds: UnlearnDataset, split: 'train' | 'val', n: number, seed: number): Promise<ProbeResult> {
  const u = create(model, ds, { method: 'ga', seed, steps: 1, probe: { forget: n, sd: n, retain: n, utility: n, split }, lora: false, tuneProjector: true, scorer: metricsScorer(ds.refusals) });
  try {
    return await u.probe({ split });
  } finally {
    u.dispose();
  }
}

export interface RunMethodOptions {
  steps?: number;
  epochs?: number;
  lr?: number;
  seed?: number;
  evalEvery?: number;
  probe: number;
  outDir?: string;
  /** Checkpoint every N steps into outDir (0: only the final one; default DEFAULT_SAVE_EVERY). */
  saveEvery?: number;
  /** Resume from the latest checkpoint of the same experiment in outDir (default true). */
  resume?: boolean;
  /** Replace checkpoints of another experiment in outDir (eraserlab's own only). */
  force?: boolean;
  /** Stop after the current step (the run is saved to outDir/final; a rerun resumes). */
  signal?: AbortSignal;
  log?: (s: string) => void;
}

export interface MethodOutcome extends MethodResult {
  /** Interrupted by `signal`: saved, not probed. */
  interrupted?: boolean;
  /** The step the run resumed from (0 when it started fresh). */
  resumedFrom: number;
}

export async function runMethod(modelDir: string, ds: UnlearnDataset, method: string, opts: RunMethodOptions): Promise<MethodOutcome> {
  const m = await loadPretrained(modelDir);
  let u: Unlearner | undefined;
  try {
    u = create(m, ds, {
      method,
      ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
      ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
      ...(opts.lr !== undefined ? { lr: opts.lr } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.evalEvery !== undefined ? { evalEvery: opts.evalEvery } : {}),
      ...(opts.outDir ? { outDir: opts.outDir, checkpointEvery: opts.saveEvery ?? DEFAULT_SAVE_EVERY } : {}),
      probe: { forget: opts.probe, sd: opts.probe, retain: opts.probe, utility: opts.probe },
      scorer: metricsScorer(ds.refusals),
      meta: { model: modelDir, dataset: ds.dir, command: 'eraserlab unlearn' },
    });
    if (opts.force && opts.outDir && otherRunCheckpoints(opts.outDir, u.spec).length) {
      opts.log?.(`${u.method.name}: --force: replacing the checkpoints of another experiment in ${opts.outDir}`);
      removeOwnCheckpoints(opts.outDir);
    }
    let resumedFrom = 0;
    const from = opts.outDir && opts.resume !== false ? latestCheckpoint(opts.outDir, u.spec) : undefined;
    if (from) {
      u.loadState(from.dir);
      resumedFrom = from.step;
      opts.log?.(`${u.method.name}: resuming from ${from.dir} (step ${from.step} of ${u.totalSteps})`);
    }
    const t0 = Date.now();
    const recs = await u.run({ signal: opts.signal });
    const seconds = (Date.now() - t0) / 1000;
    const losses = u.historyRows.map((r) => r.loss).filter((x) => Number.isFinite(x));
    const base = { method: u.method.name, pd: u.method.name.endsWith('+pd'), steps: u.stepCount, seconds, stepsPerSecond: recs.length / Math.max(1e-9, seconds), finalLoss: losses.length ? losses[losses.length - 1] : NaN };
    if (opts.signal?.aborted && !u.stopped && u.stepCount < u.totalSteps) {
      const empty = { forgetRate: NaN, refusalRate: NaN, sarr: NaN, retainRouge: NaN, utilityAcc: NaN } as unknown as Omit<ProbeResult, 'responses'>;
      return { ...base, train: empty, val: empty, interrupted: true, resumedFrom };
    }
    const train = await u.probe({ split: 'train' });
    const val = await u.probe({ split: 'val' });
    if (opts.outDir) writeJsonAtomic(path.join(opts.outDir, 'final', 'probe.json'), { train, val });
    return { ...base, train: strip(train), val: strip(val), resumedFrom };
  } finally {
    u?.dispose();
    m.dispose();
  }
}

/** With --force: remove a method folder holding only eraserlab checkpoints (of another experiment). */
function removeOwnCheckpoints(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const foreign = fs.readdirSync(dir).filter((e) => !/^(checkpoint-\d+|final)$|^\..*\.tmp-|\.old-\d+-\d+$/.test(e));
  if (foreign.length) {
    throw new ConfigError(`--force cannot replace ${dir}: it holds files eraserlab did not write (${foreign.slice(0, 5).join(', ')})`, [
      { path: '--out', message: 'move those files away, or choose another --out' },
    ]);
  }
  for (const e of fs.readdirSync(dir)) {
    const spec = path.join(dir, e, 'run.json');
    if (fs.existsSync(path.join(dir, e)) && fs.statSync(path.join(dir, e)).isDirectory() && /^(checkpoint-\d+|final)$/.test(e) && !fs.existsSync(spec)) {
      throw new ConfigError(`--force cannot replace ${path.join(dir, e)}: it is not an eraserlab checkpoint (no run.json)`, [{ path: '--out', message: 'move it away, or choose another --out' }]);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

const pct = (x: number) => (Number.isNaN(x) ? '–' : (100 * x).toFixed(1));

/** A Markdown table of results (percentages). */
export function resultsTable(rows: Array<{ method: string; train: Omit<ProbeResult, 'responses'>; val: Omit<ProbeResult, 'responses'>; seconds?: number }>): string {
  const head = '| method | forget-answer % (train / val) | refusal % (train / val) | SARR % (train / val) | retain ROUGE-L % (train / val) | utility acc % | time s |';
  const sep = '|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.method} | ${pct(r.train.forgetRate)} / ${pct(r.val.forgetRate)} | ${pct(r.train.refusalRate)} / ${pct(r.val.refusalRate)} | ${pct(r.train.sarr)} / ${pct(r.val.sarr)} | ${pct(r.train.retainRouge)} / ${pct(r.val.retainRouge)} | ${pct(r.train.utilityAcc)} | ${r.seconds === undefined ? '–' : r.seconds.toFixed(0)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

export const command: CliCommand = defineCommand(spec, 'Unlearn the forget split with a SafeEraser method (or --all) and probe the result', async (a) => {
  const issues: Issue[] = [];
  const all = a.all === true;
  const method = a.method as string | undefined;
  if (!all && !method) issues.push({ path: '--method', message: `required (or --all). Must be one of [${methodNames().join(', ')}]` });
  if (all && method) issues.push({ path: '--method', message: 'not with --all (several methods: --all --methods a,b,...)' });
  if (a.methods !== undefined && !all) issues.push({ path: '--methods', message: 'only with --all (one method: --method NAME)' });
  invalidArguments(spec, issues);
  const steps = a.steps as number | undefined;
  const epochs = a.epochs as number | undefined;
  const lr = a.lr as number | undefined;
  const seed = a.seed as number | undefined;
  const evalEvery = a['eval-every'] as number | undefined;
  const probe = (a.probe as number | undefined) ?? 48;
  const saveEvery = (a['save-every'] as number | undefined) ?? DEFAULT_SAVE_EVERY;
  const out = path.resolve((a.out as string | undefined) ?? path.join('runs', 'unlearn'));
  // the output folder: new, empty or an earlier `eraserlab unlearn` output; one writer at a time
  assertOutputDir(out, 'unlearn', { command: 'eraserlab unlearn' });
  const lock = lockOutput(out, { command: 'eraserlab unlearn' });
  // Ctrl-C: finish the current step, save a checkpoint, exit 130; a second Ctrl-C quits now.
  const sigint = interruptOnSigint('eraserlab unlearn');
  const controller = { signal: sigint.signal };
  try {
    markOutput(out, 'unlearn', 'eraserlab unlearn');
    await init({ backend: typeof a.backend === 'string' ? (a.backend as never) : undefined });
    const dsDir = typeof a.dataset === 'string' ? path.resolve(a.dataset) : await ensureDefaultDataset();
    const modelDir = typeof a.model === 'string' ? path.resolve(a.model) : path.join(packageRoot(), 'data', 'models', 'vanilla');
    if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
      throw new ConfigError(`No model at ${modelDir}`, [{ path: '--model', message: 'a folder with config.json + model.safetensors + tokenizer.json (run `eraserlab pretrain` for the default one)' }]);
    }
    const ds = await loadSafeEraser(dsDir);
    const methods = all ? ((a.methods as string[] | undefined) ?? ['ga', 'gd', 'kl', 'po', 'npo', 'ga+pd', 'gd+pd', 'kl+pd', 'po+pd', 'npo+pd']) : [method as string];
    const results: MethodResult[] = [];
    const log = (s: string) => process.stdout.write(s + '\n');
    if (all) {
      const m = await loadPretrained(modelDir);
      try {
        const train = await probeOnly(m, ds, 'train', probe, seed ?? DEFAULT_SEED);
        const val = await probeOnly(m, ds, 'val', probe, seed ?? DEFAULT_SEED);
        results.push({ method: 'vanilla', pd: false, steps: 0, seconds: 0, stepsPerSecond: NaN, finalLoss: NaN, train: strip(train), val: strip(val) });
      } finally {
        m.dispose();
      }
    }
    for (const name of methods) {
      if (controller.signal.aborted) break;
      const dir = path.join(out, name.replace(/\+/g, '_'));
      const r = await runMethod(modelDir, ds, name, { steps, epochs, lr, seed, evalEvery, probe, outDir: dir, saveEvery, force: a.force === true, signal: controller.signal, log });
      if (r.interrupted) {
        process.stderr.write(`eraserlab unlearn: ${r.method} interrupted at step ${r.steps}; saved to ${path.join(dir, 'final')}. Run the same command again to resume from there.\n`);
        return 130;
      }
      const { interrupted: _i, resumedFrom, ...res } = r;
      void _i;
      results.push(res);
      log(`${r.method}: ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(2)} steps/s${resumedFrom ? `; resumed from step ${resumedFrom}` : ''}); train forget ${pct(r.train.forgetRate)}% refusal ${pct(r.train.refusalRate)}% SARR ${pct(r.train.sarr)}% retain ROUGE-L ${pct(r.train.retainRouge)}% utility ${pct(r.train.utilityAcc)}%; val SARR ${pct(r.val.sarr)}%`);
    }
    if (controller.signal.aborted) {
      process.stderr.write('eraserlab unlearn: interrupted; run the same command again to resume.\n');
      return 130;
    }
    const table = resultsTable(results);
    writeJsonAtomic(path.join(out, 'results.json'), { dataset: dsDir, model: modelDir, options: { steps, epochs, lr, seed, probe, saveEvery }, results });
    writeFileAtomic(path.join(out, 'results.md'), table + '\n');
    log('\n' + table);
    log(`\nWritten to ${out}`);
    return 0;
  } finally {
    sigint.dispose();
    lock.release();
  }
});
