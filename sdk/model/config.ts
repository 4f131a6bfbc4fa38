/**
 * The Hugging Face LLaVA `config.json`, validated with zod and completed with the defaults of
 * `LlavaConfig` / `LlamaConfig` / `CLIPVisionConfig` (real `llava-hf/*` configs omit most
 * fields and rely on them). Options this implementation does not support (another
 * model_type, rope scaling, another activation, a list-valued vision_feature_layer...) are a
 * ConfigError naming the field, never silently ignored.
 */
import { z } from 'zod';
import { ConfigError, Issue, issuesFromZod } from '../runtime/errors';

export interface LlamaTextConfig {
  model_type: 'llama';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  attention_bias: boolean;
  mlp_bias: boolean;
  tie_word_embeddings: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number | null;
  [k: string]: unknown;
}

export interface ClipVisionConfig {
  model_type: 'clip_vision_model';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: 'quick_gelu' | 'gelu';
  layer_norm_eps: number;
  [k: string]: unknown;
}

/** A validated LLaVA config: the HF `config.json` shape with every default filled in. */
export interface LlavaConfig {
  model_type: 'llava';
  text_config: LlamaTextConfig;
  vision_config: ClipVisionConfig;
  /** Token id of the `<image>` placeholder (HF: `image_token_index`, newer `image_token_id`). */
  image_token_index: number;
  projector_hidden_act: 'gelu';
  vision_feature_layer: number;
  vision_feature_select_strategy: 'default' | 'full';
  multimodal_projector_bias: boolean;
  tie_word_embeddings: boolean;
  pad_token_id?: number | null;
  [k: string]: unknown;
}

/** What `createRandom` / `parseLlavaConfig` accept: the same shape with anything optional. */
export interface LlavaConfigInput {
  model_type?: string;
  text_config?: Partial<LlamaTextConfig> & Record<string, unknown>;
  vision_config?: Partial<ClipVisionConfig> & Record<string, unknown>;
  [k: string]: unknown;
}

const int = z.number().int();
const pos = int.positive();

const textSchema = z.looseObject({
  model_type: z.string().default('llama'),
  vocab_size: pos.default(32000),
  hidden_size: pos.default(4096),
  intermediate_size: pos.default(11008),
  num_hidden_layers: pos.default(32),
  num_attention_heads: pos.default(32),
  num_key_value_heads: pos.nullish(),
  head_dim: pos.nullish(),
  hidden_act: z.string().default('silu'),
  max_position_embeddings: pos.default(2048),
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().nullish(),
  rope_parameters: z.looseObject({ rope_theta: z.number().positive().optional(), rope_type: z.string().optional() }).nullish(),
  rope_scaling: z.unknown().optional(),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  tie_word_embeddings: z.boolean().optional(),
  pretraining_tp: int.optional(),
  bos_token_id: int.nullish(),
  eos_token_id: z.union([int, z.array(int)]).nullish(),
  pad_token_id: int.nullish(),
});

const visionSchema = z.looseObject({
  model_type: z.string().default('clip_vision_model'),
  hidden_size: pos.default(768),
  intermediate_size: pos.default(3072),
  num_hidden_layers: pos.default(12),
  num_attention_heads: pos.default(12),
  num_channels: pos.default(3),
  image_size: pos.default(224),
  patch_size: pos.default(32),
  hidden_act: z.string().default('quick_gelu'),
  layer_norm_eps: z.number().positive().default(1e-5),
});

const llavaSchema = z.looseObject({
  model_type: z.string(),
  text_config: textSchema,
  vision_config: visionSchema,
  image_token_index: int.nonnegative().optional(),
  image_token_id: int.nonnegative().optional(),
  projector_hidden_act: z.string().default('gelu'),
  vision_feature_layer: z.union([int, z.array(int)]).default(-2),
  vision_feature_select_strategy: z.string().default('default'),
  multimodal_projector_bias: z.boolean().default(true),
  tie_word_embeddings: z.boolean().optional(),
  pad_token_id: int.nullish(),
});

/**
 * Validate a LLaVA `config.json` (parsed JSON). `source` (a file path) goes into the error
 * header. Throws ConfigError listing every problem with its path.
 */
export function parseLlavaConfig(json: unknown, source = 'config.json'): LlavaConfig {
  const r = llavaSchema.safeParse(json);
  if (!r.success) throw new ConfigError(`Invalid LLaVA config ${source}`, issuesFromZod(r.error.issues));
  const c = r.data;
  const t = c.text_config;
  const v = c.vision_config;
  const issues: Issue[] = [];
  const bad = (p: string, m: string) => issues.push({ path: p, message: m });
  if (c.model_type !== 'llava') bad('model_type', `unsupported model_type '${c.model_type}'; must be 'llava' (LLaVA-1.5 architecture)`);
  if (t.model_type !== 'llama') bad('text_config.model_type', `unsupported text model '${t.model_type}'; must be 'llama'`);
  if (v.model_type !== 'clip_vision_model') bad('vision_config.model_type', `unsupported vision model '${v.model_type}'; must be 'clip_vision_model'`);
  if (t.hidden_act !== 'silu') bad('text_config.hidden_act', `unsupported activation '${t.hidden_act}'; must be 'silu'`);
  if (v.hidden_act !== 'quick_gelu' && v.hidden_act !== 'gelu') bad('vision_config.hidden_act', `unsupported activation '${v.hidden_act}'; must be one of [quick_gelu, gelu]`);
  if (c.projector_hidden_act !== 'gelu') bad('projector_hidden_act', `unsupported activation '${c.projector_hidden_act}'; must be 'gelu'`);
  if (c.vision_feature_select_strategy !== 'default' && c.vision_feature_select_strategy !== 'full') {
    bad('vision_feature_select_strategy', `unsupported strategy '${c.vision_feature_select_strategy}'; must be one of [default, full]`);
  }
  if (Array.isArray(c.vision_feature_layer)) bad('vision_feature_layer', 'a list of feature layers is not supported; give one layer index (e.g. -2)');
  const nv = v.num_hidden_layers;
  const fl = typeof c.vision_feature_layer === 'number' ? c.vision_feature_layer : -2;
  if (fl < -(nv + 1) || fl > nv) bad('vision_feature_layer', `${fl} is outside the vision tower's hidden states (must be in [${-(nv + 1)}, ${nv}])`);
  if (t.rope_scaling !== undefined && t.rope_scaling !== null) {
    bad('text_config.rope_scaling', `rope scaling is not supported (got ${JSON.stringify(t.rope_scaling)}); only the default rotary embedding`);
  }
  const rp = t.rope_parameters;
  if (rp && rp.rope_type !== undefined && rp.rope_type !== 'default') {
    bad('text_config.rope_parameters.rope_type', `unsupported rope_type '${rp.rope_type}'; must be 'default'`);
  }
  if (t.pretraining_tp !== undefined && t.pretraining_tp !== 1) bad('text_config.pretraining_tp', `pretraining_tp ${t.pretraining_tp} is not supported; must be 1`);
  const kv = t.num_key_value_heads ?? t.num_attention_heads;
  const headDim = t.head_dim ?? t.hidden_size / t.num_attention_heads;
  if (!t.head_dim && t.hidden_size % t.num_attention_heads !== 0) {
    bad('text_config.hidden_size', `${t.hidden_size} is not divisible by num_attention_heads ${t.num_attention_heads}`);
  }
  if (t.num_attention_heads % kv !== 0) bad('text_config.num_key_value_heads', `${kv} does not divide num_attention_heads ${t.num_attention_heads}`);
  if (Number.isInteger(headDim) && headDim % 2 !== 0) bad('text_config.head_dim', `${headDim} must be even for rotary embeddings`);
  if (v.hidden_size % v.num_attention_heads !== 0) bad('vision_config.hidden_size', `${v.hidden_size} is not divisible by num_attention_heads ${v.num_attention_heads}`);
  if (v.image_size % v.patch_size !== 0) bad('vision_config.image_size', `${v.image_size} is not a multiple of patch_size ${v.patch_size}`);
  const imageToken = c.image_token_index ?? c.image_token_id ?? 32000;
  if (c.image_token_index !== undefined && c.image_token_id !== undefined && c.image_token_index !== c.image_token_id) {
    bad('image_token_id', `disagrees with image_token_index (${c.image_token_id} vs ${c.image_token_index})`);
  }
  if (imageToken >= t.vocab_size) bad('image_token_index', `${imageToken} is outside the vocabulary (text_config.vocab_size ${t.vocab_size})`);
  if (issues.length) throw new ConfigError(`Unsupported LLaVA config ${source}`, issues);

  const tie = c.tie_word_embeddings ?? t.tie_word_embeddings ?? false;
  const { rope_parameters: _rp, rope_scaling: _rs, ...tRest } = t;
  const text: LlamaTextConfig = {
    ...tRest,
    model_type: 'llama',
    hidden_act: 'silu',
    num_key_value_heads: kv,
    head_dim: headDim,
    rope_theta: rp?.rope_theta ?? t.rope_theta ?? 10000,
    tie_word_embeddings: tie,
    bos_token_id: t.bos_token_id ?? undefined,
    eos_token_id: t.eos_token_id ?? undefined,
    pad_token_id: t.pad_token_id ?? undefined,
  };
  if (rp) (text as Record<string, unknown>).rope_parameters = rp;
  const vision: ClipVisionConfig = { ...v, model_type: 'clip_vision_model', hidden_act: v.hidden_act as 'quick_gelu' | 'gelu' };
  const { image_token_id: _iti, ...rest } = c;
  return {
    ...rest,
    model_type: 'llava',
    text_config: text,
    vision_config: vision,
    image_token_index: imageToken,
    projector_hidden_act: 'gelu',
    vision_feature_layer: fl,
    vision_feature_select_strategy: c.vision_feature_select_strategy as 'default' | 'full',
    multimodal_projector_bias: c.multimodal_projector_bias,
    tie_word_embeddings: tie,
    pad_token_id: c.pad_token_id ?? undefined,
  };
}

/** Image tokens one image expands to: (image_size / patch_size)², plus the CLS token with the `full` strategy. */
export function numImageTokens(c: LlavaConfig): number {
  const n = (c.vision_config.image_size / c.vision_config.patch_size) ** 2;
  return c.vision_feature_select_strategy === 'full' ? n + 1 : n;
}

/** Number of vision encoder layers actually run: hidden state index of `vision_feature_layer`. */
export function visionLayersUsed(c: LlavaConfig): number {
  const L = c.vision_config.num_hidden_layers;
  const fl = c.vision_feature_layer;
  return fl < 0 ? L + 1 + fl : fl;
}
