/**
 * Parameter names and layouts. In memory every parameter is keyed by its transformers-5 name
 * (`model.language_model.*`, `model.vision_tower.*`, `model.multi_modal_projector.*`,
 * `lm_head.weight`). Three on-disk layouts are read and written:
 * - `transformers`: what `save_pretrained` writes for LLaVA (`language_model.model.*`,
 *   `language_model.lm_head.weight`, `vision_tower.*`, `multi_modal_projector.*`);
 * - `legacy`: older Hub checkpoints (e.g. `llava-hf/llava-1.5-7b-hf`), the same but the vision
 *   tower under `vision_tower.vision_model.*`;
 * - `canonical`: the in-memory names themselves.
 *
 * Memory layout (chosen for speed: `x · W` with no transpose in the hot path): every linear
 * weight (`*_proj`, `fc1`, `fc2`, `linear_1`, `linear_2`, `lm_head`) is stored as [in, out], the
 * transpose of PyTorch's [out, in]; the CLIP patch convolution [hidden, C, P, P] is stored as a
 * [C·P·P, hidden] matrix (rows ordered channel, row, column). Everything else (embeddings,
 * norms, biases, class embedding, position embeddings) is stored as in PyTorch. `save()` writes
 * PyTorch's layout back.
 */
import { LlavaConfig } from './config';

export type CheckpointLayout = 'transformers' | 'legacy' | 'canonical';
export const CHECKPOINT_LAYOUTS: readonly CheckpointLayout[] = ['transformers', 'legacy', 'canonical'];

/** How a parameter's memory layout relates to its PyTorch layout. */
export type ParamKind = 'linear' | 'patch' | 'plain';

export interface ParamSpec {
  key: string;
  /** Shape in the checkpoint (PyTorch layout). */
  hfShape: number[];
  kind: ParamKind;
  /** Which config fields decide the shape (for error messages). */
  from: string;
}

export const VT = 'model.vision_tower';
export const LM = 'model.language_model';
export const PROJ = 'model.multi_modal_projector';

/** Every parameter a LLaVA model of this config has, with its PyTorch shape. */
export function expectedParams(c: LlavaConfig): ParamSpec[] {
  const v = c.vision_config;
  const t = c.text_config;
  const out: ParamSpec[] = [];
  const add = (key: string, hfShape: number[], kind: ParamKind, from: string) => out.push({ key, hfShape, kind, from });
  const Hv = v.hidden_size;
  const g = v.image_size / v.patch_size;
  const vh = `vision_config.hidden_size ${Hv}`;
  add(`${VT}.embeddings.class_embedding`, [Hv], 'plain', vh);
  add(`${VT}.embeddings.patch_embedding.weight`, [Hv, v.num_channels, v.patch_size, v.patch_size], 'patch', `${vh}, num_channels ${v.num_channels}, patch_size ${v.patch_size}`);
  add(`${VT}.embeddings.position_embedding.weight`, [g * g + 1, Hv], 'plain', `(image_size ${v.image_size} / patch_size ${v.patch_size})² + 1, ${vh}`);
  add(`${VT}.pre_layrnorm.weight`, [Hv], 'plain', vh);
  add(`${VT}.pre_layrnorm.bias`, [Hv], 'plain', vh);
  const vi = `${vh}, intermediate_size ${v.intermediate_size}`;
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const p = `${VT}.encoder.layers.${i}`;
    for (const n of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) {
      add(`${p}.self_attn.${n}.weight`, [Hv, Hv], 'linear', vh);
      add(`${p}.self_attn.${n}.bias`, [Hv], 'plain', vh);
    }
    add(`${p}.layer_norm1.weight`, [Hv], 'plain', vh);
    add(`${p}.layer_norm1.bias`, [Hv], 'plain', vh);
    add(`${p}.mlp.fc1.weight`, [v.intermediate_size, Hv], 'linear', vi);
    add(`${p}.mlp.fc1.bias`, [v.intermediate_size], 'plain', vi);
    add(`${p}.mlp.fc2.weight`, [Hv, v.intermediate_size], 'linear', vi);
    add(`${p}.mlp.fc2.bias`, [Hv], 'plain', vh);
    add(`${p}.layer_norm2.weight`, [Hv], 'plain', vh);
    add(`${p}.layer_norm2.bias`, [Hv], 'plain', vh);
  }
  add(`${VT}.post_layernorm.weight`, [Hv], 'plain', vh);
  add(`${VT}.post_layernorm.bias`, [Hv], 'plain', vh);
  const H = t.hidden_size;
  const th = `text_config.hidden_size ${H}`;
  add(`${PROJ}.linear_1.weight`, [H, Hv], 'linear', `${th}, ${vh}`);
  if (c.multimodal_projector_bias) add(`${PROJ}.linear_1.bias`, [H], 'plain', th);
  add(`${PROJ}.linear_2.weight`, [H, H], 'linear', th);
  if (c.multimodal_projector_bias) add(`${PROJ}.linear_2.bias`, [H], 'plain', th);
  add(`${LM}.embed_tokens.weight`, [t.vocab_size, H], 'plain', `text_config.vocab_size ${t.vocab_size}, ${th}`);
  const qd = t.num_attention_heads * t.head_dim;
  const kd = t.num_key_value_heads * t.head_dim;
  const qf = `num_attention_heads ${t.num_attention_heads} × head_dim ${t.head_dim}, ${th}`;
  const kf = `num_key_value_heads ${t.num_key_value_heads} × head_dim ${t.head_dim}, ${th}`;
  const mf = `intermediate_size ${t.intermediate_size}, ${th}`;
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const p = `${LM}.layers.${i}`;
    add(`${p}.self_attn.q_proj.weight`, [qd, H], 'linear', qf);
    add(`${p}.self_attn.k_proj.weight`, [kd, H], 'linear', kf);
    add(`${p}.self_attn.v_proj.weight`, [kd, H], 'linear', kf);
    add(`${p}.self_attn.o_proj.weight`, [H, qd], 'linear', qf);
    if (t.attention_bias) {
      add(`${p}.self_attn.q_proj.bias`, [qd], 'plain', qf);
      add(`${p}.self_attn.k_proj.bias`, [kd], 'plain', kf);
      add(`${p}.self_attn.v_proj.bias`, [kd], 'plain', kf);
      add(`${p}.self_attn.o_proj.bias`, [H], 'plain', th);
    }
    add(`${p}.mlp.gate_proj.weight`, [t.intermediate_size, H], 'linear', mf);
    add(`${p}.mlp.up_proj.weight`, [t.intermediate_size, H], 'linear', mf);
    add(`${p}.mlp.down_proj.weight`, [H, t.intermediate_size], 'linear', mf);
    if (t.mlp_bias) {
      add(`${p}.mlp.gate_proj.bias`, [t.intermediate_size], 'plain', mf);
      add(`${p}.mlp.up_proj.bias`, [t.intermediate_size], 'plain', mf);
      add(`${p}.mlp.down_proj.bias`, [H], 'plain', th);
    }
    add(`${p}.input_layernorm.weight`, [H], 'plain', th);
    add(`${p}.post_attention_layernorm.weight`, [H], 'plain', th);
  }
  add(`${LM}.norm.weight`, [H], 'plain', th);
  if (!c.tie_word_embeddings) add('lm_head.weight', [t.vocab_size, H], 'linear', `text_config.vocab_size ${t.vocab_size}, ${th}`);
  return out;
}

/** Memory shape of a parameter given its PyTorch shape. */
export function memoryShape(spec: ParamSpec): number[] {
  if (spec.kind === 'linear') return [spec.hfShape[1], spec.hfShape[0]];
  if (spec.kind === 'patch') return [spec.hfShape[1] * spec.hfShape[2] * spec.hfShape[3], spec.hfShape[0]];
  return spec.hfShape.slice();
}

/** Guess the on-disk layout from the key names. */
export function detectLayout(keys: Iterable<string>): CheckpointLayout {
  let legacy = false;
  for (const k of keys) {
    if (k.startsWith('model.language_model.') || k.startsWith('model.vision_tower.') || k.startsWith('model.multi_modal_projector.')) return 'canonical';
    if (k.startsWith('vision_tower.vision_model.')) legacy = true;
  }
  return legacy ? 'legacy' : 'transformers';
}

/** Canonical (in-memory) name of an on-disk key, or undefined if it is not a LLaVA key. */
export function toCanonical(key: string, layout: CheckpointLayout): string | undefined {
  if (layout === 'canonical') return key;
  if (key === 'language_model.lm_head.weight') return 'lm_head.weight';
  if (key.startsWith('language_model.model.')) return `${LM}.${key.slice('language_model.model.'.length)}`;
  if (key.startsWith('multi_modal_projector.')) return `model.${key}`;
  if (layout === 'legacy') {
    if (key.startsWith('vision_tower.vision_model.')) return `${VT}.${key.slice('vision_tower.vision_model.'.length)}`;
    return undefined;
  }
  if (key.startsWith('vision_tower.')) return `${VT}.${key.slice('vision_tower.'.length)}`;
  return undefined;
}

/** On-disk name of a canonical key in `layout`. */
export function fromCanonical(key: string, layout: CheckpointLayout): string {
  if (layout === 'canonical') return key;
  if (key === 'lm_head.weight') return 'language_model.lm_head.weight';
  if (key.startsWith(`${LM}.`)) return `language_model.model.${key.slice(LM.length + 1)}`;
  if (key.startsWith(`${PROJ}.`)) return key.slice('model.'.length);
  if (key.startsWith(`${VT}.`)) return (layout === 'legacy' ? 'vision_tower.vision_model.' : 'vision_tower.') + key.slice(VT.length + 1);
  return key;
}

/** Buffers some checkpoints carry that are not parameters (recomputed here). */
export function isIgnorableKey(key: string): boolean {
  return /(^|\.)rotary_emb\.inv_freq$/.test(key) || /embeddings\.position_ids$/.test(key);
}
