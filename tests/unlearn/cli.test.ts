import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { model, runtime } from '../../sdk';
import { LlavaProcessor } from '../../sdk/model/processor';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { DEFAULT_TEMPLATE } from '../../sdk/model/pretrain';
import { tinyConfig, tinyDataset } from './helpers';
import { capture } from '../support';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-unlearn-cli-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** A tiny random model saved as a folder with a real tokenizer (the loadPretrained path). */
async function savedTinyModel(): Promise<string> {
  const ds = await tinyDataset();
  const corpus: string[] = [...ds.refusals];
  for (const r of [...ds.train, ...ds.val]) {
    for (const p of r.unsafe_pairs) corpus.push(p.question, p.model_response, p.sd_response);
    for (const f of ['UnharmPair_text1', 'UnharmPair_text2', 'UnharmPair_image1', 'UnharmPair_image2'] as const) corpus.push(r[f].Question, r[f].Prediction);
  }
  for (const u of ds.utility) corpus.push(u.question, u.answer);
  corpus.push('USER: ASSISTANT: <image>');
  const tok = buildTokenizer(corpus);
  const cfg = tinyConfig(tok.size) as Record<string, unknown> & { text_config: Record<string, unknown> };
  cfg.image_token_index = tok.imageId;
  Object.assign(cfg.text_config, { bos_token_id: tok.bosId, eos_token_id: tok.eosId, pad_token_id: tok.padId });
  const m = model.createRandom(cfg, 4, { std: 0.1 });
  m.processor = LlavaProcessor.forConfig(m.config, tok, { template: DEFAULT_TEMPLATE });
  const dir = path.join(tmp, 'model');
  await m.save(dir);
  m.dispose();
  return dir;
}

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
