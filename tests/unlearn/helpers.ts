/**
 * Fixtures for the unlearning tests: a tiny synthetic dataset (generated once per process into
 * a temp folder), a tiny randomly initialised LLaVA, and a word-level processor so the tests
 * need nothing trained.
 */
import { data, model, runtime, unlearn } from '../../sdk';
import { LlavaProcessor } from '../../sdk/model/processor';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { DEFAULT_TEMPLATE } from '../../sdk/model/pretrain';
import { tempDir } from '../support';
import * as path from 'path';
import { AdamW, computeGradients, cosineSchedule, disposeGrads } from '../../sdk/model/optim';
import type { EncodedBatch, UnlearnExample, UnlearnableModel } from '../../sdk/unlearn';
import { tinyDatasetDir } from '../support';

const tf = runtime.tf;

const dsPromises = new Map<number, Promise<InstanceType<typeof data.SafeEraserDataset>>>();

/** The tiny synthetic dataset (`images` records, default 6), generated once per process. */
export function tinyDataset(images = 6): Promise<InstanceType<typeof data.SafeEraserDataset>> {
  let p = dsPromises.get(images);
  if (!p) {
    p = tinyDatasetDir({ images, utility: 6 }).then((dir) => data.loadSafeEraser(dir));
    dsPromises.set(images, p);
  }
  return p;
}

const SPECIAL = ['<pad>', '<s>', '</s>', '<unk>', 'USER:', 'ASSISTANT:'];

/** A word-level processor over a fixed vocabulary (the last id is the image token). */
export class WordProcessor {
  readonly vocab: string[];
  readonly index = new Map<string, number>();
  readonly imageTokenId: number;
  constructor(texts: string[], readonly numImageTokens: number, readonly imageSize: number) {
    const words = new Set<string>();
    for (const t of texts) for (const w of WordProcessor.words(t)) words.add(w);
    this.vocab = [...SPECIAL, ...[...words].sort(), '<image>'];
    this.vocab.forEach((w, i) => this.index.set(w, i));
    this.imageTokenId = this.vocab.length - 1;
  }
  static words(t: string): string[] {
    return t.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
  }
  ids(t: string): number[] {
    return WordProcessor.words(t).map((w) => this.index.get(w) ?? 3);
  }
  async encode(examples: UnlearnExample[], opts: { withAnswer: boolean }): Promise<EncodedBatch> {
    const rows: number[][] = [];
    const labels: number[][] = [];
    const images: string[] = [];
    for (const e of examples) {
      const prompt = [1, 4, ...(e.image ? new Array(this.numImageTokens).fill(this.imageTokenId) : []), ...this.ids(e.question), 5];
      if (e.image) images.push(e.image);
      const ans = opts.withAnswer ? [...this.ids(e.answer), 2] : [];
      rows.push([...prompt, ...ans]);
      labels.push([...prompt.map(() => -100), ...ans]);
    }
    const T = Math.max(...rows.map((r) => r.length));
    // supervised batches pad on the right, prompts for generation on the left
    const pad = (r: number[], v: number) => (opts.withAnswer ? [...r, ...new Array(T - r.length).fill(v)] : [...new Array(T - r.length).fill(v), ...r]);
    return {
      inputIds: rows.map((r) => pad(r, 0)),
      labels: labels.map((r) => pad(r, -100)),
      attentionMask: rows.map((r) => pad(r.map(() => 1), 0)),
      pixelValues: images.length ? await data.loadImages(images, this.imageSize) : undefined,
    };
  }
  decode(ids: number[]): string {
    return ids
      .filter((i) => i > 5 && i !== this.imageTokenId)
      .map((i) => this.vocab[i])
      .join(' ');
  }
}

export function tinyConfig(vocab: number): Record<string, unknown> {
  return {
    image_token_index: vocab - 1,
    vision_feature_layer: -2,
    vision_config: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, image_size: 32, patch_size: 16, projection_dim: 16 },
    text_config: {
      vocab_size: vocab,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 256,
      bos_token_id: 1,
      eos_token_id: 2,
      pad_token_id: 0,
    },
  };
}

/** A tiny random LLaVA with a word processor over the dataset's texts. */
export async function tinyModel(seed = 11, images = 6): Promise<UnlearnableModel & { dispose(): void }> {
  const ds = await tinyDataset(images);
  const texts: string[] = [...ds.refusals];
  for (const split of [ds.train, ds.val]) {
    for (const r of split) {
      for (const p of r.unsafe_pairs) texts.push(p.question, p.model_response, p.sd_response);
      for (const f of ['UnharmPair_text1', 'UnharmPair_text2', 'UnharmPair_image1', 'UnharmPair_image2'] as const) texts.push(r[f].Question, r[f].Prediction);
    }
  }
  for (const u of ds.utility) texts.push(u.question, u.answer);
  const proc = new WordProcessor(texts, 4, 32);
  const m = model.createRandom(tinyConfig(proc.vocab.length), seed, { std: 0.1 });
  (m as unknown as { processor: unknown }).processor = proc;
  return m as unknown as UnlearnableModel & { dispose(): void };
}

/**
 * A tiny "vanilla" model: the tiny random model fine-tuned (all parameters) on every forget, SD,
 * retain and utility pair of the tiny dataset until it answers them, as the default vanilla
 * model is trained on the default dataset.
 */
export async function tinyVanilla(opts: { steps?: number; images?: number; seed?: number; lr?: number } = {}): Promise<UnlearnableModel & { dispose(): void }> {
  const images = opts.images ?? 6;
  const ds = await tinyDataset(images);
  const m = await tinyModel(opts.seed ?? 21, images);
  const exs = [...unlearn.forgetExamples(ds, 'train'), ...unlearn.pdExamples(ds, 'train'), ...unlearn.retainExamples(ds, 'train', { textOnImage: false })];
  if (ds.val.length) exs.push(...unlearn.forgetExamples(ds, 'val'), ...unlearn.pdExamples(ds, 'val'), ...unlearn.retainExamples(ds, 'val', { textOnImage: false }));
  exs.push(...unlearn.utilityExamples(ds));
  const params = new Map([...m.params].filter(([k]) => !k.includes('post_layernorm')));
  const steps = opts.steps ?? 200;
  const opt = new AdamW(params, { schedule: cosineSchedule({ lr: opts.lr ?? 1e-2, totalSteps: steps, warmupRatio: 0.03 }), weightDecay: 0 });
  const proc = m.processor as unknown as WordProcessor;
  for (let s = 0; s < steps; s++) {
    const batch = Array.from({ length: 16 }, (_, i) => exs[(s * 16 + i) % exs.length]);
    const b = await proc.encode(batch, { withAnswer: true });
    const { grads } = computeGradients(
      () => unlearn.answerNll(m.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, pixelValues: b.pixelValues, training: true }).logits, b.labels),
      params,
    );
    opt.applyGradients(grads);
    disposeGrads(grads);
    b.pixelValues?.dispose();
  }
  opt.dispose();
  return m;
}

/** Values of every parameter, for before/after comparisons. */
export function snapshot(m: UnlearnableModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, v] of m.params) out.set(k, v.dataSync().slice() as Float32Array);
  return out;
}

export { tf };

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
