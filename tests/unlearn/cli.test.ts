import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime } from '../../sdk';
import { savedTinyModel, tinyDataset } from './helpers';
import { capture } from '../support';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-unlearn-cli-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test.before(async () => {
  await runtime.init();
});

test('eraserlab unlearn runs a method end to end on a saved model (real tokenizer, generation) and export-official reads its spec', async () => {
  const ds = await tinyDataset();
  const modelDir = await savedTinyModel();
  const out = path.join(tmp, 'runs');
  const r = await capture(['unlearn', '--method', 'po+pd', '--steps', '2', '--model', modelDir, '--dataset', ds.dir, '--out', out, '--probe', '2', '--eval-every', '1']);
  assert.is(r.rc, 0, r.err);
  assert.match(r.out, /po\+pd: 2 steps in [\d.]+ s/);
  assert.match(r.out, /\| method \| forget-answer % \(train \/ val\) \|/);
  const final = path.join(out, 'po_pd', 'final');
  for (const f of ['run.json', 'history.csv', 'probe.json', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors']) assert.ok(fs.existsSync(path.join(final, f)), f);
  const hist = fs.readFileSync(path.join(final, 'history.csv'), 'utf8').trim().split('\n');
  assert.is(hist.length, 3);
  assert.ok(!hist[2].endsWith(','), 'the last step was probed');
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  assert.is(results.results[0].method, 'po+pd');
  const probe = JSON.parse(fs.readFileSync(path.join(final, 'probe.json'), 'utf8'));
  assert.is(probe.train.responses.length, 8, '2 prompts × 4 groups');
  const e = await capture(['export-official', '--run', final, '--out', path.join(tmp, 'official')]);
  assert.is(e.rc, 0, e.err);
  assert.match(e.out, /forget_loss: idkpd/);
});

test.run();
