/**
 * `eraserlab attack`: is it really forgotten? Unlearn the model with each method (or take the
 * methods of a finished `eraserlab run` folder), then attack every unlearned model, the vanilla
 * model and the retrained reference: relearning, prompt and image attacks, membership
 * inference, and the distance to the reference (docs/robustness.md). Writes attacks.csv /
 * attacks.json, the robustness heatmap and the relearning curve.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { defineCommand, invalidArguments, type CommandSpec } from '../options';
import { type Issue } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { writeFileAtomic } from '../../runtime/fsutil';
import { ensureDefaultDataset, generatedDir, packageRoot, DEFAULT_SEED } from '../../data/defaults';
import { generateSynthetic } from '../../data/synthetic';
import { FILES } from '../../data/schema';
import { BUILTIN_METHODS, getMethod } from '../../unlearn/methods';
import { attackNames, describeAttacks, getAttack } from '../../attacks/registry';
import '../../attacks';
import { sweep, type SweepResult } from '../../attacks/sweep';
import { writeAttacks } from '../../attacks/frame';
import { RUN_DEFAULTS } from '../../attacks/run';
import type { AttackRow } from '../../attacks/types';
import { robustnessMarkdown } from '../../attacks/table';
import { ATTACK_SCALES, robustnessFigures, withRelearnSteps, type AttackScale } from '../../experiment/attacks';
import { exportFigures } from '../../experiment/figures';

export { ATTACK_SCALES } from '../../experiment/attacks';
export type { AttackScale, AttackScaleDefaults } from '../../experiment/attacks';

export const spec: CommandSpec = {
  name: 'attack',
  synopsis: ['[--model DIR | --results R] [--out DIR] [--dataset DIR] [--methods M,...] [--attacks A,...] [--param ATTACK.NAME=VALUE ...] [options]'],
  description:
    'Unlearn the model with each method, then attack every unlearned model, the vanilla model and the retrained reference (the same recipe without the forget data): ' +
    'relearning, prompt and image attacks and membership inference. Writes attacks.csv and attacks.json (method, pd, attack, family, metric, split, value, n) and ' +
    'figures/robustness.{png,svg}, figures/relearning.{png,svg}.',
  options: [
    { name: 'model', type: 'path', doc: 'The vanilla model.', default: 'data/models/vanilla' },
    { name: 'results', type: 'path', metavar: 'R', doc: 'A finished `eraserlab run` folder: its methods, dataset, model, seed and steps (results go into R unless --out is given).' },
    { name: 'out', type: 'path', doc: 'Where to write (default results-attacks, or R).' },
    { name: 'dataset', type: 'path', doc: "SafeEraser folder (default: the scale's synthetic benchmark)." },
    { name: 'methods', type: 'list', metavar: 'M,...', doc: 'Unlearning methods (default: every method with and without PD).' },
    { name: 'attacks', type: 'list', metavar: 'A,...', doc: 'Attacks to run (default: all, listed below).' },
    { name: 'param', type: 'string', metavar: 'A.P=V', repeat: true, doc: 'An attack parameter, e.g. --param relearn-forget.steps=5,10,20 --param relearn-forget.category=Weapon --param gaussian-noise.sigma=40.' },
    { name: 'steps', type: 'int', min: 1, doc: 'Unlearning steps per method (default 72, one epoch).' },
    { name: 'limit', type: 'int', min: 1, doc: 'Records evaluated per split under each attack.', default: RUN_DEFAULTS.limit },
    { name: 'mia-limit', type: 'int', min: 1, doc: 'Records per split whose answers membership inference scores.', default: RUN_DEFAULTS.miaLimit },
    { name: 'max-new-tokens', type: 'int', min: 1, doc: 'Tokens generated per response.', default: RUN_DEFAULTS.maxNewTokens },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed.', default: DEFAULT_SEED },
    { name: 'reference', type: 'string', metavar: 'DIR|none', doc: "The retrained reference model (default: made once with `pretrain --exclude forget` and the model's recipe, kept under data/generated/models); 'none' for no reference." },
    { name: 'reference-steps', type: 'int', min: 1, doc: "Pretraining steps of the made reference (default: the model's recipe)." },
    { name: 'scale', type: 'enum', choices: ['default', 'test'], metavar: 'S', doc: 'default | test (ERASERLAB_SCALE; test: tiny data, po ± PD, 2 steps).' },
    { name: 'no-figures', type: 'flag', doc: 'Skip PNG/SVG export (needs Chromium).' },
    { name: 'json', type: 'flag', doc: 'Print the rows as JSON.' },
  ],
};

/** `--param a.p=v` values: numbers, lists of integers, booleans or strings. */
function parseParams(raw: string[], issues: Issue[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const p of raw) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(p);
    if (!m) {
      issues.push({ path: '--param', message: `expected ATTACK.PARAM=VALUE, got '${p}'` });
      continue;
    }
    const [, attack, name, v] = m;
    let value: unknown = v;
    if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v)) value = Number(v);
    else if (/^\d+(,\d+)+$/.test(v)) value = v.split(',').map(Number);
    else if (v === 'true' || v === 'false') value = v === 'true';
    try {
      const spec = getAttack(attack).params[name];
      if (spec?.type === 'integer[]' && typeof value === 'number') value = [value];
      if (spec?.type === 'string') value = v;
    } catch {
      /* unknown attack: reported by the run's check */
    }
    (out[attack] ??= {})[name] = value;
  }
  return out;
}

async function tinyDataset(): Promise<string> {
  const dir = generatedDir('tiny');
  if (!fs.existsSync(path.join(dir, FILES.train))) {
    try {
      await generateSynthetic({ outDir: dir, scale: 'tiny', seed: DEFAULT_SEED });
    } catch (e) {
      if (!fs.existsSync(path.join(dir, FILES.train))) throw e;
    }
  }
  return dir;
}

/** Export the two robustness figures (PNG + SVG + Plotly JSON) into `<out>/figures`. */
export async function writeRobustnessFigures(out: string, rows: readonly AttackRow[], enabled = true): Promise<{ files: string[]; skipped?: string }> {
  const r = await exportFigures(robustnessFigures(rows), out, { enabled, log: () => undefined });
  return { files: r.written, skipped: r.exportSkipped };
}

export const command: CliCommand = defineCommand(
  spec,
  'Attack unlearned models: relearning, prompt and image attacks, membership inference, retrained reference',
  async (a) => {
    const params = (a.param as string[] | undefined) ?? [];
    const issues: Issue[] = [];
    // the scale of a finished run folder, unless given
    let runScale: string | undefined;
    if (typeof a.results === 'string') {
      try {
        runScale = (JSON.parse(fs.readFileSync(path.join(path.resolve(a.results), 'run.json'), 'utf8')) as { scale?: string }).scale;
      } catch {
        /* reported below */
      }
    }
    const scaleName = String(a.scale ?? runScale ?? process.env.ERASERLAB_SCALE ?? 'default');
    if (scaleName !== 'default' && scaleName !== 'test') issues.push({ path: '--scale', message: `must be one of [default, test], got '${scaleName}'` });
    const scale = ATTACK_SCALES[(scaleName === 'test' ? 'test' : 'default') as AttackScale];
    const steps = a.steps as number | undefined;
    const limit = a.limit as number | undefined;
    const miaLimit = a['mia-limit'] as number | undefined;
    const maxNewTokens = a['max-new-tokens'] as number | undefined;
    const seed = a.seed as number | undefined;
    const referenceSteps = a['reference-steps'] as number | undefined;
    if (a.model !== undefined && a.results !== undefined) issues.push({ path: '--results', message: 'give --model or --results, not both' });
    const attacks = a.attacks as string[] | undefined;
    if (attacks) {
      const bad = attacks.filter((n) => !attackNames().includes(n));
      if (bad.length) issues.push({ path: '--attacks', message: `Unknown attack${bad.length > 1 ? 's' : ''} ${bad.map((b) => `'${b}'`).join(', ')}. Must be one of [${attackNames().join(', ')}]` });
    }
    let methods = a.methods as string[] | undefined;
    for (const m of methods ?? []) {
      try {
        getMethod(m);
      } catch (e) {
        issues.push({ path: '--methods', message: (e as Error).message });
      }
    }
    const paramValues = parseParams(params, issues);
    // from a finished run folder
    let datasetDir = a.dataset as string | undefined;
    let modelDir = a.model as string | undefined;
    let runSteps: number | undefined;
    let runSeed: number | undefined;
    let out = a.out as string | undefined;
    if (a.results !== undefined) {
      const r = path.resolve(String(a.results));
      const file = path.join(r, 'run.json');
      if (!fs.existsSync(file)) issues.push({ path: '--results', message: `${file} is missing: not a folder written by \`eraserlab run\`` });
      else {
        const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { methods?: string[]; seed?: number; steps?: number; dataset?: { dir?: string }; model?: { dir?: string } };
        const done = (spec.methods ?? []).filter((m) => fs.existsSync(path.join(r, 'methods', m, 'spec.json')));
        if (done.length === 0) issues.push({ path: '--results', message: `no finished method in ${path.join(r, 'methods')}` });
        methods ??= done;
        datasetDir ??= spec.dataset?.dir;
        modelDir = spec.model?.dir;
        runSteps = spec.steps;
        runSeed = spec.seed;
        out ??= r;
      }
    }
    invalidArguments(spec, issues);

    const quiet = process.env.ERASERLAB_QUIET === '1';
    const log = (s: string) => (quiet ? undefined : process.stderr.write(`eraserlab attack: ${s}\n`));
    await init({ seed: seed ?? runSeed ?? 233 });
    datasetDir = path.resolve(datasetDir ?? (scale.dataset === 'tiny' ? await tinyDataset() : await ensureDefaultDataset()));
    modelDir = path.resolve(modelDir ?? path.join(packageRoot(), 'data', 'models', 'vanilla'));
    out = path.resolve(out ?? 'results-attacks');
    // the scale's relearning curve unless given
    const attackParams = withRelearnSteps(paramValues, attacks, scale);
    const ref = a.reference === undefined ? 'auto' : a.reference === 'none' ? false : path.resolve(String(a.reference));
    const t0 = Date.now();
    const result: SweepResult = await sweep({
      dataset: datasetDir,
      model: modelDir,
      methods: methods ?? scale.methods,
      steps: steps ?? runSteps ?? scale.steps,
      attacks,
      params: attackParams,
      limit: limit ?? scale.limit,
      miaLimit: miaLimit ?? scale.miaLimit,
      maxNewTokens: maxNewTokens ?? scale.maxNewTokens,
      seed: seed ?? runSeed ?? 233,
      reference: ref,
      referenceSteps: referenceSteps ?? scale.referenceSteps,
      log,
      // partial results on disk after every model: an interrupted sweep keeps what it measured
      onTarget: (() => {
        const acc: AttackRow[] = [];
        return (m: string, rows: AttackRow[]) => {
          acc.push(...rows);
          writeAttacks(out as string, acc);
          log(`${m}: done (${rows.length} rows)`);
        };
      })(),
    });
    const { csv } = writeAttacks(out, result.rows);
    const md = robustnessMarkdown(result.rows);
    writeFileAtomic(path.join(out, 'attacks.md'), md + '\n');
    let figNote = '';
    {
      const f = await writeRobustnessFigures(out, result.rows, !a['no-figures']);
      figNote = f.skipped ? `\n${f.skipped}` : `\nfigures: ${f.files.join(', ')}`;
    }
    if (a.json) {
      process.stdout.write(JSON.stringify(result.rows, null, 1) + '\n');
      return 0;
    }
    const s = result.seconds;
    process.stdout.write(
      `${md}\n\nWrote ${path.relative(process.cwd(), csv) || csv} (${result.rows.length} rows) in ${((Date.now() - t0) / 1000).toFixed(0)} s ` +
        `(reference ${s.reference.toFixed(0)} s, unlearning ${s.unlearn.toFixed(0)} s, attacks ${s.attacks.toFixed(0)} s)${figNote}\n`,
    );
    return 0;
},
  { extraHelp: () => `Attacks (name, family, what it does, parameters with defaults):\n${describeAttacks().join('\n')}` },
);
