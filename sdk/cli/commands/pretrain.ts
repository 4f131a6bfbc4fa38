/**
 * `eraserlab pretrain`: train the tiny default ("vanilla") LLaVA model from scratch on the
 * synthetic benchmark and write it to data/models/vanilla (docs/default-model.md).
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { invalidArguments, defineCommand, type CommandSpec } from '../options';
import { assertOutputDir } from '../../runtime/outdir';
import { type Issue } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { DEFAULT_SEED } from '../../runtime/rng';
import { defaultModelDir, DEFAULT_PRETRAIN_LR, pretrain, retrainedModelDir, PRETRAIN_KINDS, type KindWeights, type LossNormalization } from '../../model/pretrain';

export const spec: CommandSpec = {
  name: 'pretrain',
  description:
    'Train the tiny default LLaVA model from scratch on a SafeEraser dataset (default: the default synthetic dataset, generated if missing) and save it with its tokenizer, ' +
    'processor config and pretrain_spec.json (the exact command, seed, timings and the accuracy table). The output folder is replaced atomically when it is an earlier ' +
    'eraserlab model; a folder holding anything else is refused. A diverging or collapsing run (loss above 1000, gradient norm 0 for 3 updates) stops with a DivergenceError and saves nothing.',
  options: [
    { name: 'dataset', type: 'path', doc: 'SafeEraser dataset folder.', default: 'data/generated/default' },
    { name: 'out', type: 'path', doc: 'Output folder.', default: 'data/models/vanilla' },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed of the initialisation and the batch order.', default: DEFAULT_SEED },
    { name: 'steps', type: 'int', min: 1, doc: 'Optimiser updates.', default: 3200 },
    { name: 'batch-size', type: 'int', min: 1, metavar: 'B', doc: 'Examples per update.', default: 16 },
    { name: 'lr', type: 'number', min: 0, exclusiveMin: true, metavar: 'LR', doc: 'Peak learning rate of the cosine schedule.', default: DEFAULT_PRETRAIN_LR },
    { name: 'vision-lr-scale', type: 'number', min: 0, metavar: 'F', doc: 'Learning-rate factor of the vision tower.', default: 0.1 },
    {
      name: 'kind-weights',
      type: 'string',
      metavar: 'K=W,...',
      doc: `Sampling weight per example kind (default utility=4,retain_image=2; given, it replaces the default and kinds not named weigh 1); kinds: ${PRETRAIN_KINDS.join(', ')}.`,
    },
    { name: 'loss-norm', type: 'enum', choices: ['token', 'example'], metavar: 'M', doc: "How the loss averages answer tokens: token = the mean over every answer token of the batch (long answers weigh more); example = each example's mean token NLL, then the mean over examples.", default: 'token' },
    {
      name: 'exclude',
      type: 'list',
      metavar: 'KIND,...',
      choices: () => PRETRAIN_KINDS,
      doc: "Leave these kinds out of training (weight 0; the tokenizer and the accuracy table still cover them): --exclude forget trains the retrained reference model, the same recipe without the forget concepts' harmful answers (docs/robustness.md); with no --out it goes to data/generated/models/retrained-forget.",
    },
    { name: 'no-eval', type: 'flag', doc: 'Skip the accuracy table (greedy answers to every training prompt).' },
    { name: 'json', type: 'flag', doc: 'Print the result as JSON.' },
  ],
};

export const command: CliCommand = defineCommand(spec, 'Train the tiny default (vanilla) model from scratch on the synthetic benchmark', async (a, argv) => {
  const issues: Issue[] = [];
  const seed = a.seed as number | undefined;
  const steps = a.steps as number | undefined;
  const batchSize = a['batch-size'] as number | undefined;
  const lr = a.lr as number | undefined;
  const visionLrScale = a['vision-lr-scale'] as number | undefined;
  let kindWeights: KindWeights | undefined;
  if (a['kind-weights'] !== undefined) {
    const raw = String(a['kind-weights']);
    kindWeights = {};
    for (const part of raw.split(',').filter(Boolean)) {
      const m = /^([a-z_]+)=(.+)$/.exec(part.trim());
      const w = m ? Number(m[2]) : NaN;
      if (!m) issues.push({ path: '--kind-weights', message: `expected KIND=WEIGHT, got '${part}'` });
      else if (!PRETRAIN_KINDS.includes(m[1] as (typeof PRETRAIN_KINDS)[number])) issues.push({ path: '--kind-weights', message: `unknown kind '${m[1]}'. Must be one of [${PRETRAIN_KINDS.join(', ')}]` });
      else if (!Number.isFinite(w) || w < 0) issues.push({ path: '--kind-weights', message: `weight of ${m[1]} must be a number ≥ 0, got '${m[2]}'` });
      else kindWeights[m[1] as keyof KindWeights] = w;
    }
  }
  const lossNorm = a['loss-norm'] as LossNormalization | undefined;
  const exclude = a.exclude as Array<(typeof PRETRAIN_KINDS)[number]> | undefined;
  invalidArguments(spec, issues);
  const outDir = path.resolve((a.out as string | undefined) ?? (exclude?.length ? retrainedModelDir(exclude) : defaultModelDir()));
  assertOutputDir(outDir, 'model', { command: 'eraserlab pretrain' });
  await init();
  const r = await pretrain({
    datasetDir: a.dataset as string | undefined,
    outDir,
    exclude,
    seed,
    steps,
    batchSize,
    lr,
    visionLrScale,
    kindWeights,
    lossNormalization: lossNorm,
    evaluate: !a['no-eval'],
    command: ['eraserlab', 'pretrain', ...argv].join(' '),
  });
  if (a.json) {
    process.stdout.write(JSON.stringify({ ...r, spec: undefined }, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `Saved ${path.relative(process.cwd(), r.dir) || r.dir}: ${r.numParameters.toLocaleString('en')} parameters, ${r.steps} steps in ${r.trainSeconds.toFixed(0)} s (evaluation ${r.evalSeconds.toFixed(0)} s), final loss ${r.finalLoss.toFixed(4)}`,
  ];
  if (r.accuracy.length) {
    lines.push('', 'split    kind     n     correct  rate');
    for (const row of r.accuracy) lines.push(`${row.split.padEnd(8)} ${row.kind.padEnd(8)} ${String(row.n).padEnd(5)} ${String(row.correct).padEnd(8)} ${(100 * row.rate).toFixed(1)}%`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
});
