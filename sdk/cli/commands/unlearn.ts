/**
 * `eraserlab unlearn`: run one SafeEraser unlearning method (or, with --all, every method with
 * and without Prompt Decouple loss) from the vanilla model on a SafeEraser dataset, probe the
 * result on the forget and held-out splits, and write checkpoints, run specs and a results
 * table (docs/methods.md, docs/results.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, Issue } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { writeFileAtomic, writeJsonAtomic } from '../../runtime/fsutil';
import { loadSafeEraser } from '../../data/dataset';
import { ensureDefaultDataset, packageRoot } from '../../data/defaults';
import { loadPretrained } from '../../model/load';
import { create, Unlearner } from '../../unlearn/unlearner';
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

const USAGE = `Usage: eraserlab unlearn --method M [--dataset DIR] [--model DIR] [--steps N] [--epochs E]
                        [--out DIR] [--seed S] [--lr X] [--eval-every N] [--backend B]
       eraserlab unlearn --all [--methods a,b,...] [same options]

Unlearn the forget split of a SafeEraser dataset from a LLaVA model with one method, then probe
forget-answer rate, refusal rate, SARR, retain ROUGE-L and utility accuracy on the forget (train)
and held-out (val) splits.

  --method M        ga, gd, kl, po (idk), npo and their +pd variants (ga+pd, gd+pd, kl+pd, po+pd, npo+pd)
  --all             run every built-in method (or --methods a,b,...) and write a results table
  --dataset DIR     SafeEraser folder (default: data/generated/default, generated if missing)
  --model DIR       model folder (default: data/models/vanilla)
  --steps N         optimiser steps (default: the method's epochs over the forget split)
  --epochs E        epochs over the forget split
  --lr X            peak learning rate
  --seed S          seed (default 233)
  --eval-every N    probe every N steps during training (default 0: only at the end)
  --probe N         prompts per probe group at the end (default 48)
  --out DIR         checkpoints, run specs and results (default: runs/unlearn)
  --backend B       tfjs backend (auto, wasm, cpu, ...)`;

const FLAGS = ['all'];
const KNOWN = ['_', 'method', 'methods', 'all', 'dataset', 'model', 'steps', 'epochs', 'lr', 'seed', 'eval-every', 'probe', 'out', 'backend'];

function num(a: Record<string, unknown>, key: string, issues: Issue[], integer: boolean): number | undefined {
  const v = a[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    issues.push({ path: `--${key}`, message: `must be ${integer ? 'an integer' : 'a number'}, got '${String(v)}'` });
    return undefined;
  }
  return n;
}

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

export async function runMethod(
  modelDir: string,
  ds: UnlearnDataset,
  method: string,
  opts: { steps?: number; epochs?: number; lr?: number; seed?: number; evalEvery?: number; probe: number; outDir?: string; log?: (s: string) => void },
): Promise<MethodResult> {
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
      ...(opts.outDir ? { outDir: opts.outDir } : {}),
      probe: { forget: opts.probe, sd: opts.probe, retain: opts.probe, utility: opts.probe },
      scorer: metricsScorer(ds.refusals),
      meta: { model: modelDir, dataset: ds.dir, command: 'eraserlab unlearn' },
    });
    const t0 = Date.now();
    const recs = await u.run();
    const seconds = (Date.now() - t0) / 1000;
    const train = await u.probe({ split: 'train' });
    const val = await u.probe({ split: 'val' });
    const r: MethodResult = {
      method: u.method.name,
      pd: u.method.name.endsWith('+pd'),
      steps: u.stepCount,
      seconds,
      stepsPerSecond: recs.length / Math.max(1e-9, seconds),
      finalLoss: recs.length ? recs[recs.length - 1].loss : NaN,
      train: strip(train),
      val: strip(val),
    };
    if (opts.outDir) writeJsonAtomic(path.join(opts.outDir, 'final', 'probe.json'), { train, val });
    return r;
  } finally {
    u?.dispose();
    m.dispose();
  }
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

export const command: CliCommand = {
  name: 'unlearn',
  summary: 'Unlearn the forget split with a SafeEraser method (or --all) and probe the result',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, FLAGS);
    const issues: Issue[] = [];
    for (const k of Object.keys(a)) if (!KNOWN.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${KNOWN.slice(1).map((x) => `--${x}`).join(', ')}]` });
    const all = a.all === true;
    const method = typeof a.method === 'string' ? a.method : undefined;
    if (!all && !method) issues.push({ path: '--method', message: `required (or --all). Must be one of [${methodNames().join(', ')}]` });
    // every method name (aliases such as idk / idkpd included) is checked before anything loads
    const isMethod = (name: string) => {
      try {
        getMethod(name);
        return true;
      } catch {
        return false;
      }
    };
    if (method && !isMethod(method)) issues.push({ path: '--method', message: `unknown method '${method}'. Must be one of [${methodNames().join(', ')}]` });
    if (a.methods !== undefined) {
      if (!all) issues.push({ path: '--methods', message: 'only with --all (one method: --method NAME)' });
      else if (typeof a.methods !== 'string' || a.methods === '') issues.push({ path: '--methods', message: 'expected a comma-separated list of method names' });
      else {
        const bad = a.methods.split(',').filter((m) => !isMethod(m));
        if (bad.length) issues.push({ path: '--methods', message: `unknown method${bad.length > 1 ? 's' : ''} ${bad.map((m) => `'${m}'`).join(', ')}. Must be one of [${methodNames().join(', ')}]` });
      }
    }
    const steps = num(a, 'steps', issues, true);
    const epochs = num(a, 'epochs', issues, false);
    const lr = num(a, 'lr', issues, false);
    const seed = num(a, 'seed', issues, true);
    const evalEvery = num(a, 'eval-every', issues, true);
    const probe = num(a, 'probe', issues, true) ?? 48;
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab unlearn', issues);
    await init({ backend: typeof a.backend === 'string' ? (a.backend as never) : undefined });
    const dsDir = typeof a.dataset === 'string' ? path.resolve(a.dataset) : await ensureDefaultDataset();
    const modelDir = typeof a.model === 'string' ? path.resolve(a.model) : path.join(packageRoot(), 'data', 'models', 'vanilla');
    if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
      throw new ConfigError(`No model at ${modelDir}`, [{ path: '--model', message: 'a folder with config.json + model.safetensors + tokenizer.json (run `eraserlab pretrain` for the default one)' }]);
    }
    const ds = await loadSafeEraser(dsDir);
    const out = path.resolve(typeof a.out === 'string' ? a.out : path.join('runs', 'unlearn'));
    const methods = all ? (typeof a.methods === 'string' ? a.methods.split(',') : ['ga', 'gd', 'kl', 'po', 'npo', 'ga+pd', 'gd+pd', 'kl+pd', 'po+pd', 'npo+pd']) : [method as string];
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
      const r = await runMethod(modelDir, ds, name, { steps, epochs, lr, seed, evalEvery, probe, outDir: path.join(out, name.replace(/\+/g, '_')), log });
      results.push(r);
      log(`${r.method}: ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(2)} steps/s); train forget ${pct(r.train.forgetRate)}% refusal ${pct(r.train.refusalRate)}% SARR ${pct(r.train.sarr)}% retain ROUGE-L ${pct(r.train.retainRouge)}% utility ${pct(r.train.utilityAcc)}%; val SARR ${pct(r.val.sarr)}%`);
    }
    const table = resultsTable(results);
    writeJsonAtomic(path.join(out, 'results.json'), { dataset: dsDir, model: modelDir, options: { steps, epochs, lr, seed, probe }, results });
    writeFileAtomic(path.join(out, 'results.md'), table + '\n');
    log('\n' + table);
    log(`\nWritten to ${out}`);
    return 0;
  },
};
