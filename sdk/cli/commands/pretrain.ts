/**
 * `eraserlab pretrain`: train the tiny default ("vanilla") LLaVA model from scratch on the
 * synthetic benchmark and write it to data/models/vanilla (docs/default-model.md).
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, type Issue } from '../../runtime/errors';
import { init } from '../../runtime/backend';
import { pretrain, retrainedModelDir, PRETRAIN_KINDS, type KindWeights, type LossNormalization } from '../../model/pretrain';

const USAGE = `Usage: eraserlab pretrain [--dataset DIR] [--out DIR] [--seed S] [--steps N] [--batch-size B]
                         [--lr LR] [--vision-lr-scale F] [--kind-weights K=W,...] [--loss-norm token|example]
                         [--exclude KIND,...] [--no-eval] [--json]

Train the tiny default LLaVA model from scratch on a SafeEraser dataset (default: the default
synthetic dataset, generated if missing) and save it with its tokenizer, processor config and
pretrain_spec.json (the exact command, seed, timings and the accuracy table).

  --dataset DIR      SafeEraser dataset folder (default data/generated/default)
  --out DIR          output folder (default data/models/vanilla; replaced atomically)
  --seed S           seed of the initialisation and the batch order (default 233)
  --steps N          optimiser updates (default 3200)
  --batch-size B     examples per update (default 16)
  --lr LR            peak learning rate of the cosine schedule (default 3e-3)
  --vision-lr-scale F  learning-rate factor of the vision tower (default 0.1)
  --kind-weights K=W,...  sampling weight per example kind (default utility=4,retain_image=2;
                     given, it replaces the default and kinds not named weigh 1);
                     kinds: forget, sd, retain_text, retain_image, utility, aligned
  --loss-norm M      how the loss averages answer tokens (default token): token = the mean
                     over every answer token of the batch (long answers weigh more); example =
                     each example's mean token NLL, then the mean over examples
  --exclude KIND,... leave these kinds out of training (weight 0; the tokenizer and the
                     accuracy table still cover them): --exclude forget trains the retrained
                     reference model, the same recipe without the forget concepts' harmful
                     answers (docs/robustness.md); with no --out it goes to
                     data/generated/models/retrained-forget
  --no-eval          skip the accuracy table (greedy answers to every training prompt)
  --json             print the result as JSON`;

export const command: CliCommand = {
  name: 'pretrain',
  summary: 'Train the tiny default (vanilla) model from scratch on the synthetic benchmark',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, ['no-eval', 'json']);
    const known = ['_', 'dataset', 'out', 'seed', 'steps', 'batch-size', 'lr', 'vision-lr-scale', 'kind-weights', 'loss-norm', 'exclude', 'no-eval', 'json'];
    const issues: Issue[] = [];
    for (const k of Object.keys(a)) if (!known.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${known.slice(1).map((x) => `--${x}`).join(', ')}]` });
    if (a._.length) issues.push({ path: a._[0], message: 'unexpected argument' });
    const num = (k: string, int: boolean): number | undefined => {
      if (a[k] === undefined) return undefined;
      const v = Number(a[k]);
      if (!Number.isFinite(v) || (int && (!Number.isInteger(v) || v < 0))) {
        issues.push({ path: `--${k}`, message: `expected ${int ? 'a non-negative integer' : 'a number'}, got '${String(a[k])}'` });
        return undefined;
      }
      return v;
    };
    const seed = num('seed', true);
    const steps = num('steps', true);
    const batchSize = num('batch-size', true);
    const lr = num('lr', false);
    const visionLrScale = num('vision-lr-scale', false);
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
    const lossNorm = a['loss-norm'];
    if (lossNorm !== undefined && lossNorm !== 'token' && lossNorm !== 'example') issues.push({ path: '--loss-norm', message: `expected token or example, got '${String(lossNorm)}'` });
    let exclude: Array<(typeof PRETRAIN_KINDS)[number]> | undefined;
    if (a.exclude !== undefined) {
      exclude = [];
      for (const k of String(a.exclude).split(',').map((x) => x.trim()).filter(Boolean)) {
        if (!PRETRAIN_KINDS.includes(k as (typeof PRETRAIN_KINDS)[number])) issues.push({ path: '--exclude', message: `unknown kind '${k}'. Must be one of [${PRETRAIN_KINDS.join(', ')}]` });
        else exclude.push(k as (typeof PRETRAIN_KINDS)[number]);
      }
      if (a.exclude === true || exclude.length === 0) issues.push({ path: '--exclude', message: `expected KIND,... (one of [${PRETRAIN_KINDS.join(', ')}])` });
    }
    for (const k of ['dataset', 'out']) if (a[k] !== undefined && typeof a[k] !== 'string') issues.push({ path: `--${k}`, message: 'expected a folder path' });
    if (issues.length) throw new ConfigError('Invalid options for eraserlab pretrain', issues);
    await init();
    const r = await pretrain({
      datasetDir: a.dataset as string | undefined,
      outDir: (a.out as string | undefined) ?? (exclude?.length ? retrainedModelDir(exclude) : undefined),
      exclude,
      seed,
      steps,
      batchSize,
      lr,
      visionLrScale,
      kindWeights,
      lossNormalization: lossNorm as LossNormalization | undefined,
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
  },
};
