/**
 * Shared fixtures of the reliability tests: temp folders, running a CLI command in-process with
 * its output captured, and a tiny random model saved as a real model folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { model } from '../../sdk';
import { main } from '../../sdk/cli/main';
import { LlavaProcessor } from '../../sdk/model/processor';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { DEFAULT_TEMPLATE } from '../../sdk/model/pretrain';
import { tinyConfig, tinyDataset } from '../unlearn/helpers';

export { tinyDataset, tinyModel } from '../unlearn/helpers';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-reliability-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** A fresh folder under this process's temp root. */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(root, `${label}-`));
}

/** Run `eraserlab <argv>` in this process; stdout, stderr and the exit code. */
export async function capture(argv: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { rc: await main(argv), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

let saved: Promise<string> | undefined;
/** A tiny random model with a real tokenizer, saved once as a model folder (the loadPretrained path). */
export function savedTinyModel(): Promise<string> {
  saved ??= (async () => {
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
    const m = model.createRandom(cfg as never, 4, { std: 0.1 });
    m.processor = LlavaProcessor.forConfig(m.config, tok, { template: DEFAULT_TEMPLATE }) as never;
    const dir = path.join(tempDir('model'), 'model');
    await m.save(dir);
    m.dispose();
    return dir;
  })();
  return saved;
}

/** Write a file a user owns (something eraserlab must never delete). */
export function userFile(dir: string, name = 'my-notes.txt'): string {
  fs.mkdirSync(dir, { recursive: true });
  const f = path.join(dir, name);
  fs.writeFileSync(f, 'precious\n');
  return f;
}
