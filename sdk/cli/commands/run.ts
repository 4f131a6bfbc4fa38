/**
 * `eraserlab run`, the main job (also what `eraserlab` with no command runs): argument parsing
 * and Ctrl-C over `experiment.run` (sdk/experiment/), which does the work and writes the results
 * folder (docs/quickstart.md).
 */
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, type Issue } from '../../runtime/errors';
import type { BackendName } from '../../runtime/backend';
import { ALL_METHODS, JOB_SCALES, type JobScale } from '../../experiment/scales';
import { runMainJob, JobInterrupted, type MainJobOptions } from '../../experiment/job';
import { interruptOnSigint } from '../../experiment/interrupt';

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
    const sigint = interruptOnSigint('eraserlab run');
    try {
      const r = await runMainJob({ ...opts, signal: sigint.signal });
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
      sigint.dispose();
    }
  },
};
