/**
 * Reading parameters out of a checkpoint folder into memory layout, and writing a model back
 * as a Hugging Face folder (config.json, model.safetensors or shards, generation_config.json,
 * tokenizer files), atomically.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import { CheckpointError } from '../runtime/errors';
import { writeDirAtomic, writeJsonAtomic } from '../runtime/fsutil';
import { LlavaConfig } from './config';
import { CheckpointLayout, ParamSpec, detectLayout, expectedParams, fromCanonical, isIgnorableKey, memoryShape, toCanonical } from './keys';
import { SafetensorsHeader, TensorToWrite, openCheckpointFolder, readSafetensorsTensor, writeCheckpointTensors } from './safetensors';
import type { LlavaModel } from './llava';

export interface SaveOptions {
  /** Key layout on disk (default: the layout the model was loaded from, else 'transformers'). */
  layout?: CheckpointLayout;
  /** Split into shards + model.safetensors.index.json above this many bytes (default 4 GiB). */
  maxShardBytes?: number;
  /** Tensor dtype on disk (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Files besides the weights that travel with a checkpoint folder. */
export const SIDE_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.json',
  'chat_template.jinja',
  'preprocessor_config.json',
  'processor_config.json',
  'tokenizer.model',
  'added_tokens.json',
];

function same(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** PyTorch-layout data → memory-layout tensor (not a variable). */
export function toMemory(spec: ParamSpec, data: Float32Array): Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, spec.hfShape, 'float32');
    if (spec.kind === 'linear') return tf.transpose(t);
    if (spec.kind === 'patch') return tf.transpose(tf.reshape(t, [spec.hfShape[0], -1]));
    return t;
  });
}

/** Memory-layout tensor → PyTorch-layout data. */
export function toHf(spec: ParamSpec, t: Tensor): Float32Array {
  const out = tf.tidy(() => {
    if (spec.kind === 'linear') return tf.transpose(t);
    if (spec.kind === 'patch') return tf.reshape(tf.transpose(t), spec.hfShape);
    return tf.clone(t);
  });
  const d = out.dataSync() as Float32Array;
  out.dispose();
  return Float32Array.from(d);
}

/** A parameter in PyTorch layout ([out, in] for linears), e.g. for PEFT merges or export. */
export function paramToHf(model: LlavaModel, key: string): { shape: number[]; data: Float32Array } {
  const spec = expectedParams(model.config).find((s) => s.key === key);
  const v = model.params.get(key);
  if (!spec || !v) throw new CheckpointError(`No parameter '${key}' in this model`, { key });
  return { shape: spec.hfShape.slice(), data: toHf(spec, v) };
}

/**
 * Read every expected parameter of `config` from `dir` into memory layout. Missing tensors,
 * unexpected tensors, and shapes that disagree with the config are CheckpointErrors naming
 * the key, the file and the expected / found shape.
 */
export function readParams(dir: string, config: LlavaConfig): { params: Map<string, Variable>; layout: CheckpointLayout } {
  const { lookup } = openCheckpointFolder(dir);
  const layout = detectLayout(lookup.keys());
  const specs = expectedParams(config);
  const bySpec = new Map(specs.map((s) => [s.key, s]));
  const found = new Map<string, { disk: string; header: SafetensorsHeader }>();
  const unexpected: string[] = [];
  for (const [disk, header] of lookup) {
    if (isIgnorableKey(disk)) continue;
    const key = toCanonical(disk, layout);
    if (key === 'lm_head.weight' && config.tie_word_embeddings) continue; // tied: the embedding is used
    if (!key || !bySpec.has(key)) {
      unexpected.push(disk);
      continue;
    }
    found.set(key, { disk, header });
  }
  const anyFile = lookup.values().next().value?.file ?? path.join(dir, 'model.safetensors');
  if (unexpected.length) {
    const first = unexpected[0];
    const file = lookup.get(first)!.file;
    throw new CheckpointError(
      `Unexpected tensor '${first}' in ${file}${unexpected.length > 1 ? ` (and ${unexpected.length - 1} more: ${unexpected.slice(1, 4).join(', ')}${unexpected.length > 4 ? ', …' : ''})` : ''}: not a parameter of a LLaVA model with this config.json (layout '${layout}')`,
      { key: first, file },
    );
  }
  for (const s of specs) {
    if (!found.has(s.key)) {
      const disk = fromCanonical(s.key, layout);
      throw new CheckpointError(`Missing tensor '${disk}' (parameter ${s.key}, shape [${s.hfShape.join(', ')}]) in ${anyFile}`, { key: disk, file: anyFile });
    }
  }
  // Check every shape before allocating anything.
  for (const s of specs) {
    const { disk, header } = found.get(s.key)!;
    const e = header.tensors.get(disk)!;
    if (!same(e.shape, s.hfShape)) {
      throw new CheckpointError(
        `Tensor '${disk}' in ${header.file} has shape [${e.shape.join(', ')}] but config.json expects [${s.hfShape.join(', ')}] (${s.from})`,
        { key: disk, file: header.file },
      );
    }
    if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16' && e.dtype !== 'F64') {
      throw new CheckpointError(`Tensor '${disk}' in ${header.file} has dtype ${e.dtype}; parameters must be one of [F32, F16, BF16, F64]`, { key: disk, file: header.file });
    }
  }
  const params = new Map<string, Variable>();
  try {
    for (const s of specs) {
      const { disk, header } = found.get(s.key)!;
      const d = readSafetensorsTensor(header, disk);
      const t = toMemory(s, d.data as Float32Array);
      params.set(s.key, tf.variable(t, true));
      t.dispose();
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
  return { params, layout };
}

/** Write `model` as a Hugging Face checkpoint folder (replaces `dir` atomically). */
export async function saveModel(model: LlavaModel, dir: string, opts: SaveOptions = {}): Promise<void> {
  const layout = opts.layout ?? model.layout;
  const specs = expectedParams(model.config);
  const tensors = new Map<string, TensorToWrite>();
  for (const s of specs) {
    const v = model.params.get(s.key);
    if (!v) throw new CheckpointError(`Cannot save: parameter '${s.key}' is missing from the model`, { key: s.key });
    if (!same(v.shape, memoryShape(s))) {
      throw new CheckpointError(`Cannot save: parameter '${s.key}' has shape [${v.shape.join(', ')}] but the config implies [${memoryShape(s).join(', ')}]`, { key: s.key });
    }
    tensors.set(fromCanonical(s.key, layout), { shape: s.hfShape, data: toHf(s, v), dtype: opts.dtype ?? 'F32' });
  }
  const src = model.sourceDir;
  const config = model.rawConfig ?? { architectures: ['LlavaForConditionalGeneration'], ...model.config };
  await writeDirAtomic(dir, async (tmp) => {
    if (src && path.resolve(src) !== path.resolve(tmp)) {
      for (const f of SIDE_FILES) {
        const p = path.join(src, f);
        if (fs.existsSync(p)) fs.copyFileSync(p, path.join(tmp, f));
      }
    }
    writeJsonAtomic(path.join(tmp, 'config.json'), config);
    if (model.generationConfig) writeJsonAtomic(path.join(tmp, 'generation_config.json'), model.generationConfig);
    writeCheckpointTensors(tmp, tensors, { maxShardBytes: opts.maxShardBytes });
    if (model.processor && typeof model.processor.save === 'function') await model.processor.save(tmp);
  });
}
