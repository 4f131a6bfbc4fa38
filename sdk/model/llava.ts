/**
 * LLaVA-1.5 in tfjs: CLIP vision tower → 2-layer GELU projector → Llama decoder → lm_head,
 * matching `transformers`' LlavaForConditionalGeneration number for number (see
 * tests/model/parity.test.ts). Parameters live in `params` under their transformers-5 names;
 * linear weights are kept as [in, out] (see keys.ts) so the hot path is a plain matMul.
 */
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import { LlavaConfig, numImageTokens, visionLayersUsed } from './config';
import { CheckpointLayout, LM, PROJ, VT } from './keys';
import { applyRope, type RopeArrays, type RopeTables, ropeArrays, gatherRows, gelu, linearProduct, positionsFromMask, layerNorm, quickGelu, rmsNorm, ropeTables, swiGlu } from './layers';
import { fusedAttention, fusedAttentionInference, fusedKernelsActive, fusedKvAppend, fusedRope } from '../runtime/wasm-fused';
import type { GenerateOptions, GenerateResult } from './generate';
import type { SaveOptions } from './checkpoint';
import type { EncodedBatch } from './processor';

/** Passed to a LinearHook on every call. */
export interface LinearHookContext {
  /** True inside a training forward pass (`forward({training: true})`): dropout on, etc. */
  training: boolean;
}

/**
 * The one extension point of every linear layer (LoRA adapters implement it). For each linear
 * the model computes `base = x · W (+ b)` and then, if `model.adapters` is set, returns
 * `adapters.apply(key, x, base, ctx)` instead of `base`. `key` is the module path without
 * `.weight` (e.g. `model.language_model.layers.0.self_attn.q_proj`); `x` is the input
 * [..., in] and `base` the output [..., out], same leading shape. Runs inside the model's
 * tf.tidy; must be differentiable; return `base` unchanged for modules it does not adapt.
 */
export interface LinearHook {
  apply(key: string, x: Tensor, base: Tensor, ctx: LinearHookContext): Tensor;
}

/** Anything that can tokenise prompts for this model (the LlavaProcessor, set by loadPretrained). */
export interface ProcessorLike {
  save?(dir: string): void | Promise<void>;
  /** Tokenise examples (chat template, image tokens, answer-only labels) and load their images. */
  encode(
    examples: Array<{ id: string; kind: string; split: string; record: number; image?: string; question: string; answer: string }>,
    opts: { withAnswer: boolean },
  ): Promise<EncodedBatch> | EncodedBatch;
  decode(ids: number[]): string;
}

export interface ForwardOptions {
  /** Token ids [batch][seq] (rectangular) or an int32 tensor [batch, seq]. */
  inputIds: number[][] | Tensor2D;
  /** Images [n, channels, image_size, image_size], already normalised; one per run of image tokens. */
  pixelValues?: Tensor4D;
  /** 1 = real token, 0 = padding (left or right). Positions count real tokens only. */
  attentionMask?: number[][] | Tensor2D;
  /** Return the decoder hidden states (embeddings, each layer's output, final norm). */
  outputHiddenStates?: boolean;
  /** Training pass (passed to the LinearHook, e.g. for LoRA dropout). */
  training?: boolean;
}

export interface ForwardOutput {
  logits: Tensor3D;
  /** num_hidden_layers + 1 tensors [batch, seq, hidden] when asked for, else []. */
  hiddenStates: Tensor3D[];
}

/** Keys and values of every decoder layer: [batch·kvHeads, past, headDim] each. */
export interface KVCache {
  k: Tensor3D[];
  v: Tensor3D[];
  /** Number of cached positions. */
  length: number;
}

/** One decoder call on embeddings (used by forward and by generation). */
export interface DecoderStep {
  embeds: Tensor3D;
  /** Absolute rotary positions [batch][seq]. */
  positions: number[][];
  /** Key mask [batch][past + seq] (1 = attend), or undefined for all ones. */
  keyMask?: number[][];
  cache?: KVCache;
  outputHiddenStates?: boolean;
  /** Only compute logits for the last position. */
  lastOnly?: boolean;
  /** Return the new cache (the old one is not disposed). */
  useCache?: boolean;
}

const NEG = -1e9;

function toIds(x: number[][] | Tensor2D, what: string): number[][] {
  if (Array.isArray(x)) {
    if (x.length === 0) throw new ConfigError(`${what} is empty`, [{ path: what, message: 'expected at least one row' }]);
    const T = x[0].length;
    x.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== T) {
        throw new ConfigError(`${what} must be rectangular: row ${i} has length ${Array.isArray(r) ? r.length : typeof r}, row 0 has ${T} (pad it, or use generate() for ragged prompts)`, [
          { path: `${what}[${i}]`, message: `expected length ${T}` },
        ]);
      }
    });
    return x;
  }
  if (x.rank !== 2) throw new ConfigError(`${what} must be 2-D [batch, seq], got shape [${x.shape.join(', ')}]`, [{ path: what, message: 'bad rank' }]);
  return x.arraySync() as number[][];
}

export class LlavaModel {
  readonly config: LlavaConfig;
  readonly params: Map<string, Variable>;
  /** LoRA adapters or any LinearHook; consulted by every linear layer. */
  adapters: LinearHook | undefined;
  /** Tokenizer + prompt builder loaded with the checkpoint (tokenizer.json), if any. */
  processor: ProcessorLike | undefined;
  /** generation_config.json of the checkpoint, if any (written back by save). */
  generationConfig: Record<string, unknown> | undefined;
  /** Where it was loaded from and in which key layout (save() writes the same layout). */
  sourceDir: string | undefined;
  layout: CheckpointLayout;
  /** The config.json as read (written back by save); undefined for models built from a config. */
  rawConfig: Record<string, unknown> | undefined;
  private training = false;
  private disposed = false;

  constructor(config: LlavaConfig, params: Map<string, Variable>, opts: { layout?: CheckpointLayout; rawConfig?: Record<string, unknown>; sourceDir?: string } = {}) {
    this.config = config;
    this.params = params;
    this.layout = opts.layout ?? 'transformers';
    this.rawConfig = opts.rawConfig;
    this.sourceDir = opts.sourceDir;
    this.adapters = undefined;
    this.processor = undefined;
    this.generationConfig = undefined;
  }

  /** Number of image tokens one image expands to in input_ids. */
  get numImageTokens(): number {
    return numImageTokens(this.config);
  }

  get imageSize(): number {
    return this.config.vision_config.image_size;
  }

  /** Total number of parameter values. */
  numParameters(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  private p(key: string): Variable {
    const v = this.params.get(key);
    if (!v) throw new Error(`LlavaModel: parameter '${key}' is missing`);
    return v;
  }

  /**
   * The one linear layer: `x · W (+ b)` with W stored [in, out], then the LinearHook if one is
   * set. `key` is the module path (`….q_proj`); weights are `${key}.weight` / `${key}.bias`.
   */
  linear(key: string, x: Tensor): Tensor {
    const inDim = x.shape[x.rank - 1];
    const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, inDim])) as Tensor2D;
    let y: Tensor;
    if (key === 'lm_head' && this.config.tie_word_embeddings) {
      y = tf.matMul(x2, this.p(`${LM}.embed_tokens.weight`), false, true);
    } else {
      const w = this.p(`${key}.weight`) as Tensor2D;
      const b = this.params.get(`${key}.bias`);
      y = linearProduct(x2, w, b);
    }
    if (x.rank !== 2) y = tf.reshape(y, [...x.shape.slice(0, -1), y.shape[1] as number]);
    if (this.adapters) y = this.adapters.apply(key, x, y, { training: this.training });
    return y;
  }

  // ---------------------------------------------------------------- vision

  /** Check pixelValues against the vision config; ConfigError says what was expected. */
  checkPixelValues(pv: Tensor): void {
    const v = this.config.vision_config;
    const want = [v.num_channels, v.image_size, v.image_size];
    if (pv.rank !== 4 || pv.shape[1] !== want[0] || pv.shape[2] !== want[1] || pv.shape[3] !== want[2]) {
      throw new ConfigError(
        `pixelValues has shape [${pv.shape.join(', ')}] but the vision tower expects [n, ${want.join(', ')}] (vision_config.num_channels ${v.num_channels}, image_size ${v.image_size})`,
        [{ path: 'pixelValues', message: `expected [n, ${want.join(', ')}], found [${pv.shape.join(', ')}]` }],
      );
    }
  }

  /** Projected image features [n, numImageTokens, text hidden] for pixelValues [n, C, H, W]. */
  imageFeatures(pixelValues: Tensor4D): Tensor3D {
    this.checkPixelValues(pixelValues);
    return tf.tidy(() => {
      const v = this.config.vision_config;
      const [n, C, S] = pixelValues.shape;
      const P = v.patch_size;
      const g = S / P;
      const N = g * g;
      const Hv = v.hidden_size;
      // [n, C, g, P, g, P] → [n, g·g, C·P·P] with two rank-4 transposes, then the conv as a matmul.
      let x: Tensor = tf.transpose(tf.reshape(pixelValues, [n * C * g, P, g, P]), [0, 2, 1, 3]);
      x = tf.transpose(tf.reshape(x, [n, C, N, P * P]), [0, 2, 1, 3]);
      x = tf.reshape(x, [n * N, C * P * P]);
      const patches = tf.reshape(this.linear(`${VT}.embeddings.patch_embedding`, x), [n, N, Hv]);
      const cls = tf.broadcastTo(tf.reshape(this.p(`${VT}.embeddings.class_embedding`), [1, 1, Hv]), [n, 1, Hv]);
      let h: Tensor = tf.add(tf.concat([cls, patches], 1), this.p(`${VT}.embeddings.position_embedding.weight`));
      h = layerNorm(h, this.p(`${VT}.pre_layrnorm.weight`), this.p(`${VT}.pre_layrnorm.bias`), v.layer_norm_eps);
      const used = visionLayersUsed(this.config);
      if (fusedKernelsActive()) {
        // [n·T, H] through the layers: no reshapes around each linear.
        const T = N + 1;
        let h2: Tensor = tf.reshape(h, [n * T, Hv]);
        for (let i = 0; i < used; i++) h2 = this.clipLayerFused(i, h2, n, T);
        h = tf.reshape(h2, [n, T, Hv]);
      } else {
        for (let i = 0; i < used; i++) h = this.clipLayer(i, h as Tensor3D);
      }
      if (this.config.vision_feature_select_strategy === 'default') h = tf.slice(h, [0, 1, 0], [-1, -1, -1]);
      let f = this.linear(`${PROJ}.linear_1`, h);
      f = gelu(f);
      f = this.linear(`${PROJ}.linear_2`, f);
      return f as Tensor3D;
    });
  }

  /** A CLIP layer on the fused kernels, x [n·T, H] in and out. */
  private clipLayerFused(i: number, x: Tensor, n: number, T: number): Tensor {
    const v = this.config.vision_config;
    const p = `${VT}.encoder.layers.${i}`;
    const Hv = v.hidden_size;
    const nh = v.num_attention_heads;
    const hd = Hv / nh;
    let h = layerNorm(x, this.p(`${p}.layer_norm1.weight`), this.p(`${p}.layer_norm1.bias`), v.layer_norm_eps);
    const split = (t: Tensor) => tf.reshape(t, [n, T, nh, hd]);
    const q = split(this.linear(`${p}.self_attn.q_proj`, h));
    const k = split(this.linear(`${p}.self_attn.k_proj`, h));
    const vv = split(this.linear(`${p}.self_attn.v_proj`, h));
    const a = tf.reshape(fusedAttention(q, k, vv, { kvLayout: 'bthd', kvHeads: nh, causal: false, scale: hd ** -0.5 }), [n * T, Hv]);
    const x1 = tf.add(x, this.linear(`${p}.self_attn.out_proj`, a));
    h = layerNorm(x1, this.p(`${p}.layer_norm2.weight`), this.p(`${p}.layer_norm2.bias`), v.layer_norm_eps);
    h = this.linear(`${p}.mlp.fc1`, h);
    h = v.hidden_act === 'quick_gelu' ? quickGelu(h) : gelu(h);
    h = this.linear(`${p}.mlp.fc2`, h);
    return tf.add(x1, h);
  }

  private clipLayer(i: number, x: Tensor3D): Tensor3D {
    const v = this.config.vision_config;
    const p = `${VT}.encoder.layers.${i}`;
    const [n, T, Hv] = x.shape;
    const nh = v.num_attention_heads;
    const hd = Hv / nh;
    let h = layerNorm(x, this.p(`${p}.layer_norm1.weight`), this.p(`${p}.layer_norm1.bias`), v.layer_norm_eps);
    const heads = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [n, T, nh, hd]), [0, 2, 1, 3]), [n * nh, T, hd]) as Tensor3D;
    const q = heads(tf.mul(this.linear(`${p}.self_attn.q_proj`, h), hd ** -0.5));
    const k = heads(this.linear(`${p}.self_attn.k_proj`, h));
    const vv = heads(this.linear(`${p}.self_attn.v_proj`, h));
    const probs = tf.softmax(tf.matMul(q, k, false, true));
    let a: Tensor = tf.matMul(probs, vv);
    a = tf.reshape(tf.transpose(tf.reshape(a, [n, nh, T, hd]), [0, 2, 1, 3]), [n, T, Hv]);
    const x1 = tf.add(x, this.linear(`${p}.self_attn.out_proj`, a));
    h = layerNorm(x1, this.p(`${p}.layer_norm2.weight`), this.p(`${p}.layer_norm2.bias`), v.layer_norm_eps);
    h = this.linear(`${p}.mlp.fc1`, h);
    h = v.hidden_act === 'quick_gelu' ? quickGelu(h) : gelu(h);
    h = this.linear(`${p}.mlp.fc2`, h);
    return tf.add(x1, h) as Tensor3D;
  }

  // ---------------------------------------------------------------- text

  /**
   * Token embeddings [B, T, H] with image tokens replaced, in order, by the projected features
   * of `pixelValues` (as transformers' masked_scatter does). The number of image tokens must
   * equal images × numImageTokens. With `imageTokensAsText` (generation steps after the
   * prompt) the image token id is embedded like any other token, as transformers does.
   */
  embed(ids: number[][], pixelValues?: Tensor4D, opts: { imageTokensAsText?: boolean } = {}): Tensor3D {
    const t = this.config.text_config;
    const V = t.vocab_size;
    const B = ids.length;
    const T = ids[0].length;
    const imgTok = this.config.image_token_index;
    const flat = new Int32Array(B * T);
    let nImageTokens = 0;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < T; j++) {
        const id = ids[b][j];
        if (!Number.isInteger(id) || id < 0 || id >= V) {
          throw new ConfigError(`inputIds[${b}][${j}] = ${id} is not a token id in [0, ${V}) (text_config.vocab_size ${V})`, [{ path: `inputIds[${b}][${j}]`, message: 'out of vocabulary' }]);
        }
        flat[b * T + j] = id;
        if (id === imgTok && !opts.imageTokensAsText) nImageTokens++;
      }
    }
    const perImage = this.numImageTokens;
    const nImages = pixelValues ? pixelValues.shape[0] : 0;
    if (pixelValues) this.checkPixelValues(pixelValues);
    if (nImageTokens !== nImages * perImage) {
      throw new ConfigError(
        `Image features and image tokens do not match: inputIds hold ${nImageTokens} image tokens (id ${imgTok}) but pixelValues gives ${nImages} image(s) × ${perImage} features = ${nImages * perImage}`,
        [{ path: 'inputIds', message: `expected ${nImages * perImage} image tokens, found ${nImageTokens}` }],
      );
    }
    return tf.tidy(() => {
      const table = this.p(`${LM}.embed_tokens.weight`);
      const text = gatherRows(table, flat);
      if (!pixelValues || nImages === 0) return tf.reshape(text, [B, T, t.hidden_size]) as Tensor3D;
      const feats = tf.reshape(this.imageFeatures(pixelValues), [nImages * perImage, t.hidden_size]);
      const index = new Int32Array(B * T);
      let k = 0;
      for (let i = 0; i < B * T; i++) index[i] = flat[i] === imgTok ? B * T + k++ : i;
      const merged = gatherRows(tf.concat([text, feats], 0), index);
      return tf.reshape(merged, [B, T, t.hidden_size]) as Tensor3D;
    });
  }

  /** Additive attention bias [B, 1, T, S]: causal (query at past+t sees keys ≤ past+t) and key mask. */
  private attentionBias(B: number, T: number, past: number, keyMask?: number[][]): Tensor4D | undefined {
    const S = past + T;
    if (T === 1 && !keyMask) return undefined;
    const bias = new Float32Array(B * T * S);
    for (let b = 0; b < B; b++) {
      const km = keyMask?.[b];
      for (let t = 0; t < T; t++) {
        const base = (b * T + t) * S;
        for (let s = 0; s < S; s++) if (s > past + t || (km && !km[s])) bias[base + s] = NEG;
      }
    }
    return tf.tensor4d(bias, [B, 1, T, S]);
  }

  private llamaLayer(i: number, x: Tensor3D, tables: RopeTables, bias: Tensor4D | undefined, keyMask: number[][] | undefined, cache: KVCache | undefined, newCache: KVCache | undefined): Tensor3D {
    const t = this.config.text_config;
    const p = `${LM}.layers.${i}`;
    const [B, T, H] = x.shape;
    const nh = t.num_attention_heads;
    const kvh = t.num_key_value_heads;
    const G = nh / kvh;
    const D = t.head_dim;
    const h = rmsNorm(x, this.p(`${p}.input_layernorm.weight`), t.rms_norm_eps);
    // q: [B,T,nh,D] → rope → [B, kvh, G, T, D] → [B·kvh, G·T, D] (grouped query heads share one KV head)
    let q = applyRope(tf.reshape(this.linear(`${p}.self_attn.q_proj`, h), [B, T, nh, D]) as Tensor4D, tables) as Tensor;
    q = tf.mul(q, D ** -0.5);
    q = G === 1 ? tf.transpose(q, [0, 2, 1, 3]) : tf.transpose(tf.reshape(q, [B, T, kvh, G, D]), [0, 2, 3, 1, 4]);
    q = tf.reshape(q, [B * kvh, G * T, D]);
    let k = applyRope(tf.reshape(this.linear(`${p}.self_attn.k_proj`, h), [B, T, kvh, D]) as Tensor4D, tables) as Tensor;
    k = tf.reshape(tf.transpose(k, [0, 2, 1, 3]), [B * kvh, T, D]);
    let v: Tensor = tf.reshape(tf.transpose(tf.reshape(this.linear(`${p}.self_attn.v_proj`, h), [B, T, kvh, D]), [0, 2, 1, 3]), [B * kvh, T, D]);
    if (cache && cache.length > 0) {
      k = tf.concat([cache.k[i], k], 1);
      v = tf.concat([cache.v[i], v], 1);
    }
    if (newCache) {
      newCache.k[i] = k as Tensor3D;
      newCache.v[i] = v as Tensor3D;
    }
    const S = k.shape[1] as number;
    let scores: Tensor = tf.matMul(q as Tensor3D, k as Tensor3D, false, true);
    if (bias) scores = tf.reshape(tf.add(tf.reshape(scores, [B, nh, T, S]), bias), [B * kvh, G * T, S]);
    const probs = tf.softmax(scores);
    let a: Tensor = tf.matMul(probs as Tensor3D, v as Tensor3D);
    a = G === 1 ? tf.transpose(tf.reshape(a, [B, nh, T, D]), [0, 2, 1, 3]) : tf.transpose(tf.reshape(a, [B, kvh, G, T, D]), [0, 3, 1, 2, 4]);
    a = tf.reshape(a, [B, T, nh * D]);
    const x1 = tf.add(x, this.linear(`${p}.self_attn.o_proj`, a));
    return this.llamaMlp(p, x1);
  }

  /** Residual + post-attention RMSNorm + SwiGLU MLP + residual (any leading shape). */
  private llamaMlp(p: string, x1: Tensor): Tensor3D {
    const t = this.config.text_config;
    const h2 = rmsNorm(x1, this.p(`${p}.post_attention_layernorm.weight`), t.rms_norm_eps);
    const gate = this.linear(`${p}.mlp.gate_proj`, h2);
    const up = this.linear(`${p}.mlp.up_proj`, h2);
    const down = this.linear(`${p}.mlp.down_proj`, swiGlu(gate, up));
    return tf.add(x1, down) as Tensor3D;
  }

  /**
   * The decoder layer on the fused kernels: q, k, v stay [B, T, heads, D] (no transposes); one
   * attention kernel (scale, QKᵀ, causal + key mask, softmax, ·V, grouped KV heads) and, with
   * a cache, one append per K and V into the [B·kvHeads, S, D] cache layout.
   */
  private llamaLayerFused(i: number, x: Tensor, B: number, T: number, rope: RopeArrays, keyMask: number[][] | undefined, cache: KVCache | undefined, newCache: KVCache | undefined): Tensor {
    const t = this.config.text_config;
    const p = `${LM}.layers.${i}`;
    const nh = t.num_attention_heads;
    const kvh = t.num_key_value_heads;
    const D = t.head_dim;
    const h = rmsNorm(x, this.p(`${p}.input_layernorm.weight`), t.rms_norm_eps);
    const q = fusedRope(tf.reshape(this.linear(`${p}.self_attn.q_proj`, h), [B, T, nh, D]), rope.cos, rope.sin);
    const k = fusedRope(tf.reshape(this.linear(`${p}.self_attn.k_proj`, h), [B, T, kvh, D]), rope.cos, rope.sin);
    const v = tf.reshape(this.linear(`${p}.self_attn.v_proj`, h), [B, T, kvh, D]);
    const past = cache?.length ?? 0;
    const opts = { kvHeads: kvh, causal: true, past, keyMask, scale: D ** -0.5 };
    let a: Tensor;
    if (newCache || past > 0) {
      // Generation: keys and values go to the cache layout, and no gradient is kept.
      const kAll = fusedKvAppend(past > 0 ? cache!.k[i] : undefined, k);
      const vAll = fusedKvAppend(past > 0 ? cache!.v[i] : undefined, v);
      if (newCache) {
        newCache.k[i] = kAll as Tensor3D;
        newCache.v[i] = vAll as Tensor3D;
      }
      a = fusedAttentionInference(q, kAll, vAll, { ...opts, kvLayout: 'bhsd' });
    } else {
      a = fusedAttention(q, k, v, { ...opts, kvLayout: 'bthd' });
    }
    const x1 = tf.add(x, this.linear(`${p}.self_attn.o_proj`, tf.reshape(a, [B * T, nh * D])));
    return this.llamaMlp(p, x1);
  }

  /**
   * Run the decoder on embeddings. Returns logits (all positions, or the last with lastOnly),
   * hidden states if asked, and the extended cache if useCache. Call inside tf.tidy.
   */
  decode(step: DecoderStep): { logits: Tensor3D; hiddenStates: Tensor3D[]; cache?: KVCache } {
    const t = this.config.text_config;
    const [B, T] = step.embeds.shape;
    const past = step.cache?.length ?? 0;
    // The fused layer takes the rotary tables as arrays and the key mask as is (no tensors).
    const fused = fusedKernelsActive();
    const rope = fused ? ropeArrays(step.positions, t.head_dim, t.rope_theta) : ropeTables(step.positions, t.head_dim, t.rope_theta);
    const bias = fused ? undefined : this.attentionBias(B, T, past, step.keyMask);
    const newCache: KVCache | undefined = step.useCache ? { k: [], v: [], length: past + T } : undefined;
    const hidden: Tensor3D[] = [];
    if (fused) {
      // The hidden state stays [B·T, H] through every layer: no reshapes around each linear.
      const H = t.hidden_size;
      let x2: Tensor = tf.reshape(step.embeds, [B * T, H]);
      for (let i = 0; i < t.num_hidden_layers; i++) {
        if (step.outputHiddenStates) hidden.push(i === 0 ? step.embeds : (tf.reshape(x2, [B, T, H]) as Tensor3D));
        x2 = this.llamaLayerFused(i, x2, B, T, rope as RopeArrays, step.keyMask, step.cache, newCache);
      }
      x2 = rmsNorm(x2, this.p(`${LM}.norm.weight`), t.rms_norm_eps);
      if (step.outputHiddenStates) hidden.push(tf.reshape(x2, [B, T, H]) as Tensor3D);
      const last = !step.lastOnly || T === 1 ? x2 : tf.reshape(tf.slice(tf.reshape(x2, [B, T, H]), [0, T - 1, 0], [-1, 1, -1]), [B, H]);
      const rows = step.lastOnly ? 1 : T;
      const logits = tf.reshape(this.linear('lm_head', last), [B, rows, -1]) as Tensor3D;
      return { logits, hiddenStates: hidden, cache: newCache };
    }
    let x = step.embeds;
    for (let i = 0; i < t.num_hidden_layers; i++) {
      if (step.outputHiddenStates) hidden.push(x);
      x = this.llamaLayer(i, x, rope as RopeTables, bias, step.keyMask, step.cache, newCache);
    }
    x = rmsNorm(x, this.p(`${LM}.norm.weight`), t.rms_norm_eps) as Tensor3D;
    if (step.outputHiddenStates) hidden.push(x);
    const last = step.lastOnly ? (tf.slice(x, [0, T - 1, 0], [-1, 1, -1]) as Tensor3D) : x;
    const logits = this.linear('lm_head', last) as Tensor3D;
    return { logits, hiddenStates: hidden, cache: newCache };
  }

  /**
   * Forward pass. Image tokens in inputIds are replaced by the image features of pixelValues.
   * Returns logits [B, T, vocab] and, with outputHiddenStates, the decoder hidden states
   * (index 0 = merged input embeddings, last = after the final RMSNorm). Differentiable with
   * respect to `params` (use tf.variableGrads).
   */
  forward(o: ForwardOptions): ForwardOutput {
    this.assertAlive();
    const ids = toIds(o.inputIds, 'inputIds');
    const B = ids.length;
    const T = ids[0].length;
    let mask: number[][] | undefined;
    if (o.attentionMask !== undefined) {
      mask = toIds(o.attentionMask, 'attentionMask');
      if (mask.length !== B || mask[0].length !== T) {
        throw new ConfigError(`attentionMask has shape [${mask.length}, ${mask[0].length}] but inputIds has [${B}, ${T}]`, [{ path: 'attentionMask', message: `expected [${B}, ${T}]` }]);
      }
    }
    const positions = mask ? positionsFromMask(mask) : ids.map(() => Array.from({ length: T }, (_, j) => j));
    const prev = this.training;
    this.training = Boolean(o.training);
    try {
      return tf.tidy(() => {
        const embeds = this.embed(ids, o.pixelValues);
        const r = this.decode({ embeds, positions, keyMask: mask, outputHiddenStates: o.outputHiddenStates });
        return { logits: r.logits, hiddenStates: r.hiddenStates };
      });
    } finally {
      this.training = prev;
    }
  }

  /** Greedy or sampled generation with a KV cache; see GenerateOptions. */
  async generate(o: GenerateOptions): Promise<GenerateResult> {
    this.assertAlive();
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { generate } = require('./generate') as typeof import('./generate');
    return generate(this, o);
  }

  /** Write config.json + safetensors (same key layout as loaded; HF tensor layout), atomically. */
  async save(dir: string, opts: SaveOptions = {}): Promise<void> {
    this.assertAlive();
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { saveModel } = require('./checkpoint') as typeof import('./checkpoint');
    return saveModel(this, dir, opts);
  }

  /** Free every parameter and the attached adapters (if any). The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    const a = this.adapters as (LinearHook & { dispose?: () => void }) | undefined;
    this.adapters = undefined;
    a?.dispose?.();
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error('LlavaModel has been disposed');
  }
}
