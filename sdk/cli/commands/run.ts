/**
 * `eraserlab run`, the main job (also what `eraserlab` with no command runs): argument parsing
 * and Ctrl-C over `experiment.run` (sdk/experiment/), which does the work and writes the results
 * folder (docs/quickstart.md).
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, type Issue } from '../../runtime/errors';
import type { BackendName } from '../../runtime/backend';
import { ALL_METHODS, JOB_SCALES, type JobScale } from '../../experiment/scales';
import { runMainJob, JobInterrupted, type MainJobOptions } from '../../experiment/job';
import { interruptOnSigint } from '../../experiment/interrupt';

// ---------------------------------------------------------------------------------------------
// The command

const USAGE = `Usage: eraserlab run [--dataset DIR] [--model DIR] [--methods a,b,...] [--protocol greedy|official]
                    [--judge rules|openai] [--judge-protocol eraserlab|official] [--safeeraser DIR] [--judge-timeout SEC]
                    [--out DIR] [--seed S | --seeds S1,S2,...] [--steps N] [--scale default|test] [--limit N]
                    [--max-new-tokens N] [--eval-every N] [--no-figures] [--backend B]
                    [--attacks [A,...]] [--reference DIR|none]

The main job (also what \`eraserlab\` runs with no command): unlearn the forget split with every
method with and without the Prompt Decouple loss, evaluate each against the vanilla model, and
write a results folder: run specs, per-sample and summary tables (CSV + JSON), figures (PNG +
SVG) and report.html (self-contained, opens offline). Interrupted (Ctrl-C), finished methods
stay; the same command again resumes.

  --dataset DIR      a SafeEraser folder (default: the synthetic benchmark, generated if missing)
  --model DIR        a Hugging Face LLaVA folder (default: data/models/vanilla)
  --methods LIST     comma-separated (default: ${ALL_METHODS.join(',')})
  --protocol NAME    evaluation protocol: greedy (1 greedy answer per query, default) or official (the official
                     evaluation: 3 sampled answers per harmful query at temperature 1.0, top-p 0.9, 512 new tokens
                     unless --max-new-tokens, retain text questions with the harmful image, the vicuna_v1
                     inference template, the official skips; with --judge openai also the official judge prompts)
  --judge NAME       rules (default, offline) or openai (ERASERLAB_JUDGE_BASE_URL, ERASERLAB_JUDGE_MODEL,
                     ERASERLAB_JUDGE_API_KEY)
  --judge-protocol P for --judge openai: eraserlab (our prompts; the default with --protocol greedy) or official
                     (the official SafeEraser prompts and reply rules, read from a SafeEraser checkout)
  --safeeraser DIR   the SafeEraser checkout for the official judge prompts (default ERASERLAB_SAFEERASER_DIR)
  --judge-timeout S  seconds one judge request may take (default 60)
  --out DIR          results folder (default: results)
  --seed S           seed of unlearning and evaluation (default 233)
  --seeds LIST       run everything once per seed (e.g. 1,2,3; each seed resumable, results in
                     OUT/seeds/<s>/): tables gain per-seed values, mean ± sd and t intervals
                     (summary_seeds.csv), and the ±PD comparison pairs items across seeds
  --steps N          optimiser steps per method (default ${JOB_SCALES.default.steps}; test scale ${JOB_SCALES.test.steps})
  --scale S          default, or test: tiny dataset, po and po+pd, ${JOB_SCALES.test.steps} steps (also ERASERLAB_SCALE=test)
  --limit N          records evaluated per split (default ${JOB_SCALES.default.limit}; test ${JOB_SCALES.test.limit})
  --max-new-tokens N tokens generated per response (default ${JOB_SCALES.default.maxNewTokens})
  --eval-every N     probe every N steps for the forgetting curves (default ${JOB_SCALES.default.evalEvery}; 0 = off)
  --no-figures       skip PNG/SVG export (report.html then draws the figures with plotly.js)
  --backend B        tfjs backend: auto, wasm, cpu, tensorflow, tensorflow-gpu
  --attacks [LIST]   then attack every method, the vanilla model and the retrained reference
                     (all attacks, or the listed ones; \`eraserlab attack --help\` lists them):
                     attacks.csv, attacks.json, attacks.md, the robustness figures and a
                     robustness table in report.html (docs/robustness.md)
  --reference DIR    the retrained reference for --attacks (default: made once with
                     \`pretrain --exclude forget\`, kept under data/generated/models); none to skip`;

const KNOWN = ['_', 'dataset', 'model', 'methods', 'protocol', 'judge', 'judge-protocol', 'safeeraser', 'judge-timeout', 'out', 'seed', 'seeds', 'steps', 'scale', 'limit', 'max-new-tokens', 'eval-every', 'no-figures', 'backend', 'attacks', 'reference'];

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
    const seedList = (k: string) => {
      const v = str(k);
      if (v === undefined) return undefined;
      const parts = v.split(',').map((x) => x.trim());
      const bad = parts.find((x) => !/^\d+$/.test(x));
      if (bad !== undefined) {
        issues.push({ path: `--${k}`, message: `must be comma-separated non-negative integers (e.g. 1,2,3), got '${v}'` });
        return undefined;
      }
      return parts.map(Number);
    };
    const protocol = str('protocol');
    if (protocol !== undefined && protocol !== 'greedy' && protocol !== 'official') issues.push({ path: '--protocol', message: `'${protocol}' is not one of [greedy, official]` });
    const judgeOptions: Record<string, unknown> = {};
    const jp = str('judge-protocol');
    if (jp !== undefined && jp !== 'eraserlab' && jp !== 'official') issues.push({ path: '--judge-protocol', message: `'${jp}' is not one of [eraserlab, official]` });
    else if (jp !== undefined) judgeOptions.protocol = jp;
    const se = str('safeeraser');
    if (se !== undefined) judgeOptions.safeEraserDir = se;
    const jt = str('judge-timeout');
    if (jt !== undefined) {
      const sec = Number(jt);
      if (!(Number.isFinite(sec) && sec > 0)) issues.push({ path: '--judge-timeout', message: `must be a positive number of seconds, got '${jt}'` });
      else judgeOptions.timeoutMs = Math.round(sec * 1000);
    }
    if (Object.keys(judgeOptions).length && str('judge') !== 'openai') issues.push({ path: '--judge-protocol/--safeeraser/--judge-timeout', message: 'apply to --judge openai' });
    const opts: MainJobOptions = {
      dataset: str('dataset'),
      model: str('model'),
      methods: str('methods')?.split(',').map((s) => s.trim()).filter(Boolean),
      protocol: protocol as 'greedy' | 'official' | undefined,
      judge: str('judge'),
      judgeOptions: Object.keys(judgeOptions).length ? judgeOptions : undefined,
      out: str('out'),
      seed: int('seed'),
      seeds: seedList('seeds'),
      steps: int('steps'),
      scale: str('scale') as JobScale | undefined,
      limit: int('limit'),
      maxNewTokens: int('max-new-tokens'),
      evalEvery: int('eval-every'),
      figures: a['no-figures'] === true ? false : true,
      backend: str('backend') as BackendName | undefined,
      attacks: a.attacks === undefined ? undefined : a.attacks === true ? true : String(a.attacks).split(',').map((x) => x.trim()).filter(Boolean),
      reference: a.reference === undefined ? undefined : a.reference === 'none' ? false : str('reference'),
    };
    if (a.reference !== undefined && a.attacks === undefined) issues.push({ path: '--reference', message: 'applies to --attacks' });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab run', issues);

    // Ctrl-C: finish the current step, keep what is done, exit 130; a second Ctrl-C quits now.
    const sigint = interruptOnSigint('eraserlab run');
    try {
      const r = await runMainJob({ ...opts, signal: sigint.signal });
      const resumed = r.methods.filter((m) => m.skipped).map((m) => m.method);
      process.stdout.write(`\n${r.table}\n\n`);
      if (r.comparisonTable) process.stdout.write(`With and without PD (paired on the same items${r.seeds.length > 1 ? ' and seeds' : ''}; Δ in points, 95% CI, p):\n${r.comparisonTable}\n\n`);
      if (resumed.length) process.stdout.write(`Resumed: ${resumed.join(', ')} (results already on disk)\n`);
      if (r.exportSkipped) process.stdout.write(`Note: ${r.exportSkipped}; report.html draws the figures with plotly.js instead.\n`);
      if (opts.attacks) process.stdout.write(`Robustness: ${path.join(r.out, 'attacks.csv')} (table: attacks.md)\n`);
      process.stdout.write(`Results: ${r.out}\nReport:  ${r.report}\n`);
      return 0;
    } catch (e) {
      if (e instanceof JobInterrupted) {
        process.stderr.write(`${e.name}: ${e.message}\n`);
        return 130;
      }
      throw e;
    } finally {
      sigint.dispose();
    }
  },
};
