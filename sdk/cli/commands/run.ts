/**
 * `eraserlab run`, the main job (also what `eraserlab` with no command runs): argument parsing
 * and Ctrl-C over `experiment.run` (sdk/experiment/), which does the work and writes the results
 * folder (docs/quickstart.md).
 */
import type { CliCommand } from '../main';
import * as path from 'path';
import { invalidArguments, defineCommand, type CommandSpec } from '../options';
import { type Issue } from '../../runtime/errors';
import { assertOutputDir } from '../../runtime/outdir';
import { DEFAULT_SEED } from '../../runtime/rng';
import type { BackendName } from '../../runtime/backend';
import { ALL_METHODS, JOB_SCALES, type JobScale } from '../../experiment/scales';
import { runMainJob, JobInterrupted, type MainJobOptions } from '../../experiment/job';
import { interruptOnSigint } from '../../experiment/interrupt';

export const spec: CommandSpec = {
  name: 'run',
  description:
    'The main job (also what `eraserlab` runs with no command): unlearn the forget split with every method with and without the Prompt Decouple loss, evaluate each ' +
    'against the vanilla model, and write a results folder: run specs, per-sample and summary tables (CSV + JSON), figures (PNG + SVG) and report.html ' +
    '(self-contained, opens offline). Interrupted (Ctrl-C), finished methods stay; the same command again resumes. A results folder of a different experiment ' +
    '(another seed, steps, data, model, judge) is refused unless --force; a folder holding anything eraserlab did not write is always refused.',
  options: [
    { name: 'dataset', type: 'path', doc: 'A SafeEraser folder (default: the synthetic benchmark, generated if missing).' },
    { name: 'model', type: 'path', doc: 'A Hugging Face LLaVA folder.', default: 'data/models/vanilla' },
    { name: 'methods', type: 'list', doc: `Comma-separated methods (default: ${ALL_METHODS.join(',')}).` },
    {
      name: 'protocol',
      type: 'enum',
      choices: ['greedy', 'official'],
      doc: 'Evaluation protocol: greedy (1 greedy answer per query) or official (the official evaluation: 3 sampled answers per harmful query at temperature 1.0, top-p 0.9, 512 new tokens unless --max-new-tokens, retain text questions with the harmful image, the vicuna_v1 inference template, the official skips; with --judge openai also the official judge prompts).',
      default: 'greedy',
    },
    { name: 'judge', type: 'string', metavar: 'NAME', doc: 'rules (default, offline) or openai (ERASERLAB_JUDGE_BASE_URL, ERASERLAB_JUDGE_MODEL, ERASERLAB_JUDGE_API_KEY).' },
    { name: 'judge-protocol', type: 'enum', choices: ['eraserlab', 'official'], metavar: 'P', doc: 'For --judge openai: eraserlab (our prompts; the default with --protocol greedy) or official (the official SafeEraser prompts and reply rules, read from a SafeEraser checkout).' },
    { name: 'safeeraser', type: 'path', doc: 'The SafeEraser checkout for the official judge prompts (default ERASERLAB_SAFEERASER_DIR).' },
    { name: 'judge-timeout', type: 'number', min: 0, exclusiveMin: true, metavar: 'SEC', doc: 'Seconds one judge request may take.', default: 60 },
    { name: 'out', type: 'path', doc: 'Results folder.', default: 'results' },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed of unlearning and evaluation.', default: DEFAULT_SEED },
    {
      name: 'seeds',
      type: 'list',
      metavar: 'S1,S2,...',
      doc: 'Run everything once per seed (e.g. 1,2,3; each seed resumable, results in OUT/seeds/<s>/): tables gain per-seed values, mean ± sd and t intervals (summary_seeds.csv), and the ±PD comparison pairs items across seeds.',
      check: (v) => ((v as string[]).every((x) => /^\d+$/.test(x)) ? undefined : `must be comma-separated non-negative integers (e.g. 1,2,3), got '${(v as string[]).join(',')}'`),
    },
    { name: 'steps', type: 'int', min: 1, doc: `Optimiser steps per method (default ${JOB_SCALES.default.steps}; test scale ${JOB_SCALES.test.steps}).` },
    { name: 'scale', type: 'enum', choices: ['default', 'test'], metavar: 'S', doc: `default, or test: tiny dataset, po and po+pd, ${JOB_SCALES.test.steps} steps (also ERASERLAB_SCALE=test).` },
    { name: 'limit', type: 'int', min: 1, doc: `Records evaluated per split (default ${JOB_SCALES.default.limit}; test ${JOB_SCALES.test.limit}).` },
    { name: 'max-new-tokens', type: 'int', min: 1, doc: `Tokens generated per response (default ${JOB_SCALES.default.maxNewTokens}).` },
    { name: 'eval-every', type: 'int', min: 0, doc: `Probe every N steps for the forgetting curves (default ${JOB_SCALES.default.evalEvery}; 0 = off).` },
    { name: 'no-figures', type: 'flag', doc: 'Skip PNG/SVG export (report.html then draws the figures with plotly.js).' },
    { name: 'force', type: 'flag', doc: "Replace the results of a different experiment in --out (only eraserlab's own results)." },
    { name: 'backend', type: 'string', metavar: 'B', doc: 'tfjs backend: auto, wasm, cpu, tensorflow, tensorflow-gpu.' },
    {
      name: 'attacks',
      type: 'list',
      optionalValue: true,
      metavar: 'A,...',
      doc: 'Then attack every method, the vanilla model and the retrained reference (all attacks, or the listed ones; `eraserlab attack --help` lists them): attacks.csv, attacks.json, attacks.md, the robustness figures and a robustness table in report.html (docs/robustness.md).',
    },
    { name: 'reference', type: 'string', metavar: 'DIR|none', doc: "The retrained reference for --attacks (default: made once with `eraserlab pretrain --exclude forget` and kept; 'none' leaves it out)." },
  ],
};

export const command: CliCommand = defineCommand(spec, 'The main job: every method with and without PD, evaluated, with figures and an HTML report', async (a) => {
  const issues: Issue[] = [];
  const judgeOptions: Record<string, unknown> = {};
  if (a['judge-protocol'] !== undefined) judgeOptions.protocol = a['judge-protocol'];
  if (a.safeeraser !== undefined) judgeOptions.safeEraserDir = a.safeeraser;
  if (a['judge-timeout'] !== undefined) judgeOptions.timeoutMs = Math.round((a['judge-timeout'] as number) * 1000);
  if (Object.keys(judgeOptions).length && a.judge !== 'openai') issues.push({ path: '--judge-protocol/--safeeraser/--judge-timeout', message: 'apply to --judge openai' });
  invalidArguments(spec, issues);
  const out = path.resolve((a.out as string | undefined) ?? 'results');
  assertOutputDir(out, 'run', { command: 'eraserlab run' });
  const opts: MainJobOptions = {
    dataset: a.dataset as string | undefined,
    model: a.model as string | undefined,
    methods: a.methods as string[] | undefined,
    protocol: a.protocol as 'greedy' | 'official' | undefined,
    judge: a.judge as string | undefined,
    judgeOptions: Object.keys(judgeOptions).length ? judgeOptions : undefined,
    out,
    seed: a.seed as number | undefined,
    seeds: (a.seeds as string[] | undefined)?.map(Number),
    steps: a.steps as number | undefined,
    scale: a.scale as JobScale | undefined,
    limit: a.limit as number | undefined,
    maxNewTokens: a['max-new-tokens'] as number | undefined,
    evalEvery: a['eval-every'] as number | undefined,
    figures: a['no-figures'] !== true,
    force: a.force === true,
    backend: a.backend as BackendName | undefined,
    attacks: a.attacks === undefined ? undefined : a.attacks === true ? true : (a.attacks as string[]),
    reference: a.reference === undefined ? undefined : a.reference === 'none' ? false : (a.reference as string),
  };
  if (a.reference !== undefined && a.attacks === undefined) invalidArguments(spec, [{ path: '--reference', message: 'applies to --attacks' }]);

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
});
