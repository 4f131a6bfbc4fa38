import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime, unlearn } from '../../sdk';
import { snapshot, tinyConfig, tinyDataset, tinyModel } from './helpers';
import { model as modelNs } from '../../sdk';
import { invalid } from '../support';

const BASE = { batchSize: 2, steps: 2, lora: false as const, tuneLanguageModel: true };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-unlearn-errors-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test.before(async () => {
  await runtime.init();
});

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  throw new Error('expected an error');
}

test('unknown method: lists the valid ones, before anything runs', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const before = snapshot(m);
  const msg = message(() => unlearn.create(m, ds, { method: 'forget-all', ...BASE }));
  assert.ok(msg.startsWith("UnknownComponentError: Unknown method 'forget-all'. Must be one of [ga, gd, kl, po, npo, ga+pd, gd+pd, kl+pd, po+pd, npo+pd"), msg);
  assert.equal(snapshot(m), before);
  m.dispose();
});

test('wrong option types and ranges: the path of each, all at once', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const msg = message(() =>
    unlearn.create(m, ds, { method: 'gd+pd', pdWeight: -0.5, lr: invalid('fast'), batchSize: 0, lora: { r: 2.5 }, probe: { split: invalid('test') }, warmup: 3 }),
  );
  assert.is(
    msg,
    [
      'ConfigError: Invalid unlearning options (6 problems):',
      '  - batchSize: Too small: expected number to be >=1',
      '  - lora.r: Invalid input: expected int, received number',
      '  - lr: Invalid input: expected number, received string',
      '  - probe.split: Invalid option: expected one of "train"|"val"',
      '  - warmup: unknown option; valid: [seed, epochs, steps, batchSize, gradientAccumulationSteps, lr, weightDecay, scheduler, warmupRatio, maxGradNorm, lora, tuneProjector, tuneVisionTower, tuneLanguageModel, shuffle, fuseBatches, evalEvery, probe, checkpointEvery, outDir, maxLoss, stopForgetNll, textStyle, retainWeight, pdWeight, scorer, meta]',
      '  - pdWeight: expected a number ≥ 0, got -0.5',
    ].join('\n'),
  );
  const nested = message(() => unlearn.create(m, ds, { method: { name: 'kl', config: { klWeight: true } }, ...BASE }));
  assert.is(nested, 'ConfigError: Invalid unlearning options (1 problem):\n  - method.config.klWeight: expected a number ≥ 0, got boolean');
  m.dispose();
});

test('a +pd method on a dataset without SD images', async () => {
  const ds = await tinyDataset();
  const noSd = { ...ds, dir: ds.dir, refusals: ds.refusals, val: ds.val, utility: ds.utility, train: ds.train.map((r, i) => (i === 1 || i === 3 ? { ...r, SDImage_path: '' } : r)) };
  const m = await tinyModel();
  const msg = message(() => unlearn.create(m, noSd, { method: 'po+pd', ...BASE }));
  assert.is(
    msg,
    [
      "DatasetError: Method 'po+pd' needs a benign SD image for every forget record (Prompt Decouple loss), but 2 record(s) have none; use 'po' or add SDImage_path (2 problems):",
      '  - all_train.json[1].SDImage_path: missing or empty',
      '  - all_train.json[3].SDImage_path: missing or empty',
    ].join('\n'),
  );
  // the same data is fine without PD
  unlearn.create(m, noSd, { method: 'po', ...BASE }).dispose();
  m.dispose();
});

test('an empty forget split', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const msg = message(() => unlearn.create(m, { ...ds, dir: ds.dir, refusals: ds.refusals, val: ds.val, train: [] }, { method: 'ga', ...BASE }));
  assert.is(msg, 'DatasetError: The forget split is empty: 0 records with 0 unsafe pairs in all_train.json; nothing to unlearn (1 problem):\n  - all_train.json: needs at least one record with unsafe_pairs');
  m.dispose();
});

test('resume with a checkpoint from another model shape: named key and shapes, nothing run', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE });
  await u.step();
  const dir = path.join(tmp, 'ckpt');
  await u.save(dir);
  u.dispose();
  const vocab = m.params.get('lm_head.weight')!.shape[1] as number;
  const cfg = tinyConfig(vocab) as { text_config: Record<string, unknown> };
  cfg.text_config.hidden_size = 48;
  const other = modelNs.createRandom(cfg, 1);
  other.processor = m.processor;
  const before = snapshot(other);
  const msg = message(() => unlearn.resume(dir, other, ds));
  assert.match(msg, /^CheckpointError: Checkpoint tensor '[^']+' in .*trainable\.safetensors has shape \[\d+, \d+\] but this model expects \[\d+, \d+\]: the checkpoint comes from another model shape$/);
  assert.equal(snapshot(other), before, 'nothing changed');
  assert.is(other.adapters, undefined);
  other.dispose();
  m.dispose();
});

test('a failed save never replaces a good checkpoint', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method: 'ga', ...BASE });
  await u.step();
  const dir = path.join(tmp, 'good');
  await u.save(dir);
  const good = fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8');
  await u.step();
  // make the next save fail half-way: the run spec cannot be serialised
  (u.spec as unknown as { meta: unknown }).meta = { self: undefined as unknown };
  (u.spec.meta as Record<string, unknown>).self = u.spec.meta;
  let failed = false;
  try {
    await u.save(dir);
  } catch {
    failed = true;
  }
  assert.ok(failed);
  assert.is(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'), good);
  assert.equal(fs.readdirSync(tmp).filter((f) => f.includes('.tmp')), []);
  u.dispose();
  m.dispose();
});

test.run();
