import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data, runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyModel } from './helpers';
import { capture } from '../support';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-official-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

async function specFor(method: string, extra: Record<string, unknown> = {}): Promise<string> {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const u = unlearn.create(m, ds, { method, batchSize: 2, steps: 1, ...extra });
  const dir = path.join(tmp, `run-${method.replace('+', '_')}-${Object.keys(extra).length}`);
  await u.save(dir);
  u.dispose();
  m.dispose();
  return dir;
}

test.before(async () => {
  await runtime.init();
});

test('export-official writes every forget_lora.yaml key with the method mapped', async () => {
  const run = await specFor('po+pd');
  const out = path.join(tmp, 'official');
  const r = await capture(['export-official', '--run', run, '--out', out, '--model-path', 'llava-hf/llava-1.5-13b-hf']);
  assert.is(r.rc, 0, r.err);
  const yaml = fs.readFileSync(path.join(out, 'config', 'forget_lora.yaml'), 'utf8');
  const keys = yaml.split('\n').filter((l) => /^[A-Za-z_]+:/.test(l)).map((l) => l.split(':')[0]);
  assert.equal(keys, [
    'model_family', 'model_path', 'LoRA', 'lr', 'split', 'data_path', 'batch_size', 'gradient_accumulation_steps', 'num_epochs', 'forget_loss',
    'tune_vision_tower', 'tune_mm_projector', 'tune_language_model', 'max_grad_norm', 'save_dir', 'save_steps', 'overwrite_dir',
    'weight_decay', 'save_model', 'eval_while_train', 'eval_only', 'seed', 'workers', 'lr_scheduler_type', 'warmup_ratio', 'max_train_steps',
    'report_to', 'resume_from_checkpoint',
  ]);
  // the keys forget.py reads that have no eraserlab counterpart keep the official defaults
  assert.match(yaml, /\noverwrite_dir: False\nweight_decay: 0.01\nsave_model: True\neval_while_train: False\neval_only: False\n/);
  assert.match(yaml, /\nworkers: 4\n/);
  assert.match(yaml, /\nreport_to: wandb\nresume_from_checkpoint: ""\n$/);
  assert.match(yaml, /\nLoRA:\n  r: 32\n  alpha: 256\n  dropout: 0.05\n/);
  assert.match(yaml, /\nforget_loss: idkpd\n/);
  assert.match(yaml, /\nmodel_path: llava-hf\/llava-1.5-13b-hf\n/);
  assert.match(yaml, /\ntune_vision_tower: False\ntune_mm_projector: True\ntune_language_model: False\n/);
  assert.match(yaml, /\nseed: 233\n/);
  assert.match(yaml, /\nmax_train_steps: 1\n/);
  assert.match(yaml, /\ndata_path: .*\/all_train\.json\n/);
  assert.ok(fs.existsSync(path.join(out, 'eraserlab_run.json')));
});

test('every method maps to its official forget_loss; npo is refused clearly', async () => {
  const map: Record<string, string> = { ga: 'ga', gd: 'gd', kl: 'kl', po: 'idk', 'ga+pd': 'gapd', 'gd+pd': 'gdpd', 'kl+pd': 'klpd', 'po+pd': 'idkpd' };
  assert.equal(unlearn.OFFICIAL_FORGET_LOSS, map);
  const run = await specFor('npo+pd');
  const r = await capture(['export-official', '--run', run, '--out', path.join(tmp, 'npo')]);
  assert.is(r.rc, 1);
  assert.is(
    r.err,
    "ConfigError: Method 'npo+pd' has no counterpart in the official SafeEraser pipeline, which supports only [ga, gd, kl, po, ga+pd, gd+pd, kl+pd, po+pd] (1 problem):\n  - method.name: run it here with eraserlab, or pick one of the supported methods\n",
  );
  assert.not.ok(fs.existsSync(path.join(tmp, 'npo')));
});

test('non-official loss weights cannot be exported (the official loop hard-codes them)', async () => {
  const run = await specFor('gd+pd', { pdWeight: 0.3 });
  const r = await capture(['export-official', '--run', run, '--out', path.join(tmp, 'w')]);
  assert.is(r.rc, 1);
  assert.match(r.err, "Run spec for 'gd+pd' cannot be expressed in the official pipeline (1 problem):\n  - method.config.pdWeight: 0.3 differs from the official weight 0.5, which forget.py hard-codes");
});

test('--with-dataset writes the dataset as the official code opens it, and eraserlab reads it back', async () => {
  const run = await specFor('po+pd');
  const out = path.join(tmp, 'repo');
  const r = await capture(['export-official', '--run', run, '--out', out, '--with-dataset']);
  assert.is(r.rc, 0, r.err);
  const yaml = fs.readFileSync(path.join(out, 'config', 'forget_lora.yaml'), 'utf8');
  assert.match(yaml, /\ndata_path: dataset\/all_train\.json\n/);
  const train = JSON.parse(fs.readFileSync(path.join(out, 'dataset', 'all_train.json'), 'utf8'));
  const source = await tinyDataset();
  assert.is(train.length, source.train.length);
  for (const rec of train) {
    // forget.py: Image.open(data["image_path"]) with the repository root as working directory
    for (const p of [rec.image_path, rec.SDImage_path]) {
      assert.ok(p.startsWith('dataset/'), p);
      assert.ok(fs.existsSync(path.join(out, p)), `${p} exists from the repository root`);
    }
  }
  assert.ok(fs.existsSync(path.join(out, 'dataset', 'prompt.json')), './dataset/prompt.json, read by the data module');
  const back = await data.loadSafeEraser(path.join(out, 'dataset'), { checkImages: true });
  assert.equal(back.counts(), source.counts());
  assert.is(back.imagePath(train[0].image_path), path.join(out, train[0].image_path));

  // a second export does not touch the dataset already there
  const before = fs.readFileSync(path.join(out, 'dataset', 'all_train.json'), 'utf8');
  const again = await capture(['export-official', '--run', run, '--out', out, '--with-dataset']);
  assert.is(again.rc, 1);
  assert.match(again.err, `ConfigError: Cannot write the dataset to ${path.join(out, 'dataset')}: it exists (1 problem):\n  - --with-dataset: remove that folder first, or export without --with-dataset and pass --data-dir`);
  assert.is(fs.readFileSync(path.join(out, 'dataset', 'all_train.json'), 'utf8'), before);
});

test('unlearn CLI: bad arguments are reported together before anything loads', async () => {
  const r = await capture(['unlearn', '--method', 'erase', '--steps', 'ten']);
  assert.is(r.rc, 1);
  assert.match(r.err, "ConfigError: Invalid arguments for eraserlab unlearn (2 problems):\n  - --method: unknown method 'erase'. Must be one of [ga, gd, kl, po, npo, ga+pd, gd+pd, kl+pd, po+pd, npo+pd");
  assert.match(r.err, "  - --steps: must be an integer, got 'ten'");
  // --methods names are checked up front too (aliases accepted), before any training
  const m = await capture(['unlearn', '--all', '--methods', 'ga,idkpd,bogus,erase', '--out', path.join(tmp, 'never')]);
  assert.is(m.rc, 1);
  assert.match(m.err, "ConfigError: Invalid arguments for eraserlab unlearn (1 problem):\n  - --methods: unknown methods 'bogus', 'erase'. Must be one of [ga, gd, kl, po, npo, ga+pd, gd+pd, kl+pd, po+pd, npo+pd");
  assert.not.ok(fs.existsSync(path.join(tmp, 'never')));
});

test.run();
