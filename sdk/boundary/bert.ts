/**
 * A BERT encoder in tfjs with Hugging Face `BertForMaskedLM` / `BertModel` key names, so
 * `bert-base-chinese` or a BABERT checkpoint converted to safetensors loads unchanged; proven
 * against `transformers` on tests/fixtures/tiny-bert (hidden states and MLM logits, 1e-4).
 *
 * Post-LayerNorm transformer (BERT), exact-erf GELU, learned absolute positions, token types,
 * an additive attention mask. No pooler (BertForMaskedLM has none; a pooler in a checkpoint is
 * ignored). The MLM decoder is tied to the word embeddings when `tie_word_embeddings` is true
 * (the HF default), else read from `cls.predictions.decoder.weight`. Dropout is not applied:
 * the models trained here are small and trained briefly (docs/babert.md).
 */
import { gatherRows as modelGatherRows, gelu, layerNorm } from '../model/layers';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { CheckpointError, ConfigError } from '../runtime/errors';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { writeJsonAtomic } from '../runtime/fsutil';
import { readSafetensorsMap, writeSafetensorsMap } from './safetensors';
import { makeVariable } from './tftypes';
import type { Tensor, Tensor2D, Tensor3D, Variable } from '../runtime/tf';

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** gelu (exact) or relu. */
  hiddenAct: 'gelu' | 'relu';
  tieWordEmbeddings: boolean;
  padTokenId: number;
}

export interface BertInputs {
  /** [batch, length] token ids (int32 tensor or nested arrays). */
  inputIds: Tensor2D | number[][];
  /** [batch, length] 1 for real tokens, 0 for padding (default all 1). */
  attentionMask?: Tensor2D | number[][];
  tokenTypeIds?: Tensor2D | number[][];
}

export interface BertOutputs {
  /** [batch, length, vocab] MLM logits (absent when `mlm: false`). */
  logits?: Tensor3D;
  /** numLayers + 1 tensors [batch, length, hidden]: embeddings output, then each layer's output. */
  hiddenStates: Tensor3D[];
}

/** The HF config.json fields we read, mapped to ours. */
export function bertConfigFromHf(raw: Record<string, unknown>, file = 'config.json'): BertConfig {
  const issues: Array<{ path: string; message: string }> = [];
  const num = (k: string, dflt?: number): number => {
    const v = raw[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ path: k, message: v === undefined ? 'missing (a BERT config.json has it)' : `expected a number, got ${JSON.stringify(v)}` });
      return 0;
    }
    return v;
  };
  const modelType = raw.model_type;
  if (modelType !== undefined && modelType !== 'bert') {
    throw new CheckpointError(
      `Not a BERT checkpoint: ${file} has model_type '${String(modelType)}' (architectures ${JSON.stringify(raw.architectures ?? [])}); loadPretrainedBert needs model_type 'bert' (BertModel / BertForMaskedLM layout)`,
      { file },
    );
  }
  const act = (raw.hidden_act ?? 'gelu') as string;
  if (act !== 'gelu' && act !== 'relu') issues.push({ path: 'hidden_act', message: `'${act}' is not supported; must be one of [gelu, relu]` });
  const cfg: BertConfig = {
    vocabSize: num('vocab_size'),
    hiddenSize: num('hidden_size'),
    numLayers: num('num_hidden_layers'),
    numHeads: num('num_attention_heads'),
    intermediateSize: num('intermediate_size'),
    maxPositions: num('max_position_embeddings', 512),
    typeVocabSize: num('type_vocab_size', 2),
    layerNormEps: num('layer_norm_eps', 1e-12),
    hiddenAct: act as 'gelu' | 'relu',
    tieWordEmbeddings: raw.tie_word_embeddings === undefined ? true : Boolean(raw.tie_word_embeddings),
    padTokenId: typeof raw.pad_token_id === 'number' ? raw.pad_token_id : 0,
  };
  if (cfg.numHeads > 0 && cfg.hiddenSize % cfg.numHeads !== 0) issues.push({ path: 'hidden_size', message: `${cfg.hiddenSize} is not divisible by num_attention_heads ${cfg.numHeads}` });
  if (issues.length) throw new ConfigError(`Not a BERT checkpoint: ${file} is missing or has invalid BERT fields`, issues);
  return cfg;
}

export function bertConfigToHf(c: BertConfig): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'],
    model_type: 'bert',
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    intermediate_size: c.intermediateSize,
    max_position_embeddings: c.maxPositions,
    type_vocab_size: c.typeVocabSize,
    layer_norm_eps: c.layerNormEps,
    hidden_act: c.hiddenAct,
    tie_word_embeddings: c.tieWordEmbeddings,
    pad_token_id: c.padTokenId,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.02,
  };
}

/** Every parameter key (canonical: BertModel names under `bert.`, MLM head under `cls.`) with its shape. */
export function bertParameterShapes(c: BertConfig): Map<string, number[]> {
  const D = c.hiddenSize;
  const m = new Map<string, number[]>();
  m.set('bert.embeddings.word_embeddings.weight', [c.vocabSize, D]);
  m.set('bert.embeddings.position_embeddings.weight', [c.maxPositions, D]);
  m.set('bert.embeddings.token_type_embeddings.weight', [c.typeVocabSize, D]);
  m.set('bert.embeddings.LayerNorm.weight', [D]);
  m.set('bert.embeddings.LayerNorm.bias', [D]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    for (const n of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      m.set(`${p}${n}.weight`, [D, D]);
      m.set(`${p}${n}.bias`, [D]);
    }
    m.set(`${p}attention.output.LayerNorm.weight`, [D]);
    m.set(`${p}attention.output.LayerNorm.bias`, [D]);
    m.set(`${p}intermediate.dense.weight`, [c.intermediateSize, D]);
    m.set(`${p}intermediate.dense.bias`, [c.intermediateSize]);
    m.set(`${p}output.dense.weight`, [D, c.intermediateSize]);
    m.set(`${p}output.dense.bias`, [D]);
    m.set(`${p}output.LayerNorm.weight`, [D]);
    m.set(`${p}output.LayerNorm.bias`, [D]);
  }
  m.set('cls.predictions.transform.dense.weight', [D, D]);
  m.set('cls.predictions.transform.dense.bias', [D]);
  m.set('cls.predictions.transform.LayerNorm.weight', [D]);
  m.set('cls.predictions.transform.LayerNorm.bias', [D]);
  m.set('cls.predictions.bias', [c.vocabSize]);
  if (!c.tieWordEmbeddings) m.set('cls.predictions.decoder.weight', [c.vocabSize, D]);
  return m;
}

/** A BERT encoder + MLM head whose weights are Variables keyed by HF names. */
export class BertEncoder {
  readonly params = new Map<string, Variable>();
  private disposed = false;

  constructor(readonly config: BertConfig, weights?: Map<string, Float32Array>, seed = DEFAULT_SEED) {
    const rng = new Rng(seed);
    for (const [key, shape] of bertParameterShapes(config)) {
      let data = weights?.get(key);
      if (!data) {
        const n = shape.reduce((a, b) => a * b, 1);
        data = new Float32Array(n);
        if (/LayerNorm\.weight$/.test(key)) data.fill(1);
        else if (!/bias$/.test(key)) for (let i = 0; i < n; i++) data[i] = rng.normal(0, 0.02);
      }
      this.params.set(key, makeVariable(tf.tensor(data, shape, 'float32'), `${key}#${nextId++}`));
    }
  }

  /** Random initialisation (N(0, 0.02) matrices, LayerNorm 1/0), as BERT's initializer_range. */
  static create(config: Partial<BertConfig> & { vocabSize: number }, seed = DEFAULT_SEED): BertEncoder {
    const c: BertConfig = {
      hiddenSize: 64,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 128,
      maxPositions: 64,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      hiddenAct: 'gelu',
      tieWordEmbeddings: true,
      padTokenId: 0,
      ...config,
    };
    return new BertEncoder(c, undefined, seed);
  }

  p(key: string): Variable {
    const v = this.params.get(key);
    if (!v) throw new CheckpointError(`BERT parameter '${key}' does not exist`, { key });
    return v;
  }

  trainableVariables(): Variable[] {
    return [...this.params.values()];
  }

  private linear(x: Tensor, name: string): Tensor {
    const w = this.p(`${name}.weight`);
    const b = this.p(`${name}.bias`);
    const shape = x.shape;
    const x2 = x.reshape([-1, shape[shape.length - 1]]);
    const y = tf.add(tf.matMul(x2, w, false, true), b);
    return y.reshape([...shape.slice(0, -1), w.shape[0]]);
  }

  private layerNorm(x: Tensor, name: string): Tensor {
    return layerNorm(x, this.p(`${name}.weight`), this.p(`${name}.bias`), this.config.layerNormEps);
  }

  private act(x: Tensor): Tensor {
    if (this.config.hiddenAct === 'relu') return tf.relu(x);
    return gelu(x);
  }

  /**
   * Run the encoder. Returns hidden states of every layer and, unless `mlm: false`, the MLM
   * logits at every position. Call inside tf.tidy (or dispose the outputs).
   */
  forward(inputs: BertInputs, opts: { mlm?: boolean } = {}): BertOutputs {
    if (this.disposed) throw new Error('BertEncoder.forward after dispose()');
    const c = this.config;
    return tf.tidy(() => {
      const ids = toInt2d(inputs.inputIds);
      const [B, L] = ids.shape;
      if (L > c.maxPositions) throw new ConfigError(`Input length ${L} exceeds max_position_embeddings ${c.maxPositions}`, [{ path: 'inputIds', message: `length ${L} > ${c.maxPositions}` }]);
      const mask = inputs.attentionMask ? toInt2d(inputs.attentionMask) : tf.ones([B, L], 'int32');
      const types = inputs.tokenTypeIds ? toInt2d(inputs.tokenTypeIds) : tf.zeros([B, L], 'int32');
      let h: Tensor = gatherEmbeddingRows(this.p('bert.embeddings.word_embeddings.weight'), ids);
      h = tf.add(h, this.p('bert.embeddings.position_embeddings.weight').slice([0, 0], [L, -1]).expandDims(0));
      h = tf.add(h, gatherEmbeddingRows(this.p('bert.embeddings.token_type_embeddings.weight'), types));
      h = this.layerNorm(h, 'bert.embeddings.LayerNorm');
      const hidden: Tensor3D[] = [h as Tensor3D];
      // Additive mask [B,1,1,L]: 0 where attended, −1e9 on padding.
      const addMask = tf.mul(tf.sub(1, mask.toFloat()), -1e9).reshape([B, 1, 1, L]);
      const H = c.numHeads;
      const dh = c.hiddenSize / H;
      const split = (x: Tensor) => x.reshape([B, L, H, dh]).transpose([0, 2, 1, 3]);
      for (let l = 0; l < c.numLayers; l++) {
        const p = `bert.encoder.layer.${l}.`;
        const q = split(this.linear(h, `${p}attention.self.query`));
        const k = split(this.linear(h, `${p}attention.self.key`));
        const v = split(this.linear(h, `${p}attention.self.value`));
        const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)), addMask);
        const ctx = tf.matMul(tf.softmax(scores, -1), v).transpose([0, 2, 1, 3]).reshape([B, L, c.hiddenSize]);
        const att = this.layerNorm(tf.add(this.linear(ctx, `${p}attention.output.dense`), h), `${p}attention.output.LayerNorm`);
        const inter = this.act(this.linear(att, `${p}intermediate.dense`));
        h = this.layerNorm(tf.add(this.linear(inter, `${p}output.dense`), att), `${p}output.LayerNorm`);
        hidden.push(h as Tensor3D);
      }
      const out: BertOutputs = { hiddenStates: hidden };
      if (opts.mlm !== false) out.logits = this.mlmLogits(h) as Tensor3D;
      return out as never;
    }) as unknown as BertOutputs;
  }

  /** MLM head on hidden states of any shape [..., hidden] → [..., vocab]. */
  mlmLogits(h: Tensor): Tensor {
    return tf.tidy(() => {
      const t = this.layerNorm(this.act(this.linear(h, 'cls.predictions.transform.dense')), 'cls.predictions.transform.LayerNorm');
      const dec = this.config.tieWordEmbeddings ? this.p('bert.embeddings.word_embeddings.weight') : this.p('cls.predictions.decoder.weight');
      const shape = t.shape;
      const y = tf.add(tf.matMul(t.reshape([-1, shape[shape.length - 1]]), dec, false, true), this.p('cls.predictions.bias'));
      return y.reshape([...shape.slice(0, -1), this.config.vocabSize]);
    });
  }

  /** Weights as plain arrays (HF key names). */
  weights(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, v] of this.params) out.set(k, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    return out;
  }

  /** Save as a HF-style folder: config.json + model.safetensors (BertForMaskedLM key names). */
  save(dir: string, extra?: Map<string, { shape: number[]; data: Float32Array }>): void {
    fs.mkdirSync(dir, { recursive: true });
    const all = this.weights();
    if (extra) for (const [k, v] of extra) all.set(k, v);
    writeSafetensorsMap(path.join(dir, 'model.safetensors'), all, { format: 'pt' });
    writeJsonAtomic(path.join(dir, 'config.json'), bertConfigToHf(this.config));
  }

  dispose(): void {
    if (this.disposed) return;
    for (const v of this.params.values()) v.dispose();
    this.disposed = true;
  }
}

let nextId = 0;

/**
 * Row lookup `table[ids]` with a gradient that works on every backend: tf.gather's gradient
 * uses the UnsortedSegmentSum kernel, which the WASM backend does not register, so there the
 * gradient is a scatter-add done in JS (cheap: one row per token).
 */
/**
 * Embedding lookup with a gradient on every backend (the WASM backend lacks the kernel tf.gather's
 * gradient needs): the model module's gatherRows, for an id tensor of any rank.
 */
export function gatherEmbeddingRows(table: Tensor, ids: Tensor): Tensor {
  return tf.tidy(() => {
    const flat = modelGatherRows(table, Int32Array.from(ids.dataSync()));
    return ids.rank === 1 ? flat : tf.reshape(flat, [...ids.shape, table.shape[table.shape.length - 1]]);
  });
}

function toInt2d(x: Tensor2D | number[][]): Tensor2D {
  if (x instanceof tf.Tensor) return (x.dtype === 'int32' ? x : x.toInt()) as Tensor2D;
  return tf.tensor2d(x, undefined, 'int32');
}

/** Map a checkpoint key to our canonical name (BertModel without prefix, old gamma/beta names). */
function canonicalKey(key: string): string {
  let k = key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  if (k.startsWith('model.')) k = k.slice(6);
  if (k.startsWith('embeddings.') || k.startsWith('encoder.')) k = `bert.${k}`;
  return k;
}

/**
 * Load a Hugging Face BERT checkpoint folder (config.json + model.safetensors; BertModel or
 * BertForMaskedLM key names, F32/F16/BF16). Missing MLM-head weights are initialised randomly
 * (a plain BertModel has none) and listed in `missing`; a checkpoint that is not BERT-shaped
 * (another model_type, or missing encoder tensors, or wrong shapes) is a CheckpointError.
 */
export async function loadPretrainedBert(dir: string, opts: { seed?: number } = {}): Promise<BertEncoder & { missing: string[] }> {
  const cfgFile = path.join(dir, 'config.json');
  if (!fs.existsSync(cfgFile)) throw new CheckpointError(`Not a checkpoint folder: ${cfgFile} does not exist (expected config.json + model.safetensors)`, { file: cfgFile });
  const config = bertConfigFromHf(JSON.parse(fs.readFileSync(cfgFile, 'utf8')), cfgFile);
  const stFile = path.join(dir, 'model.safetensors');
  const raw = readSafetensorsMap(stFile);
  const weights = new Map<string, Float32Array>();
  const shapes = bertParameterShapes(config);
  const found = new Map<string, number[]>();
  for (const [key, t] of raw) {
    const k = canonicalKey(key);
    if (!shapes.has(k)) continue; // pooler, NSP head, position_ids buffers, extra heads
    weights.set(k, t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));
    found.set(k, t.shape);
  }
  if (config.tieWordEmbeddings && raw.has('cls.predictions.decoder.weight')) {
    // A checkpoint that stores the tied decoder anyway: it must equal the embeddings; ignore it.
  }
  const missing: string[] = [];
  for (const [k, shape] of shapes) {
    const got = found.get(k);
    if (!got) {
      missing.push(k);
      continue;
    }
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`Tensor '${k}' in ${stFile} has shape [${got.join(', ')}], expected [${shape.join(', ')}] from config.json`, { key: k, file: stFile });
    }
  }
  const missingEncoder = missing.filter((k) => k.startsWith('bert.'));
  if (missingEncoder.length) {
    throw new CheckpointError(
      `Not a BERT checkpoint: ${stFile} lacks ${missingEncoder.length} of the BertModel tensors, e.g. '${missingEncoder[0]}' (expected keys 'bert.embeddings.*' and 'bert.encoder.layer.N.*', or the same without 'bert.')`,
      { key: missingEncoder[0], file: stFile },
    );
  }
  const enc = new BertEncoder(config, weights, opts.seed ?? DEFAULT_SEED) as BertEncoder & { missing: string[] };
  enc.missing = missing;
  return enc;
}
