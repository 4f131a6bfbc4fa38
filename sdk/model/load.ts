/**
 * `loadPretrained(dir)` reads a Hugging Face LLaVA folder; `createRandom(config, seed)` builds a
 * freshly initialised model from a config (as transformers' `_init_weights` would, seeded).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import { CheckpointError, ConfigError } from '../runtime/errors';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { LlavaConfig, LlavaConfigInput, parseLlavaConfig } from './config';
import { CheckpointLayout, expectedParams, memoryShape } from './keys';
import { readParams, toMemory } from './checkpoint';
import { LlavaModel, ProcessorLike } from './llava';

export interface LoadOptions {
  /**
   * Build `m.processor` from the folder's tokenizer files (default true). The loader is
   * installed with `setProcessorLoader` by the processor module; without one, none is built.
   */
  processor?: boolean;
}

type ProcessorLoader = (dir: string, model: LlavaModel) => ProcessorLike | undefined | Promise<ProcessorLike | undefined>;
let processorLoader: ProcessorLoader | undefined;

/** Install how `loadPretrained` builds `m.processor` from a folder (tokenizer.json etc.). */
export function setProcessorLoader(fn: ProcessorLoader | undefined): void {
  processorLoader = fn;
}

/** Read and validate `dir/config.json`. */
export function readConfig(dir: string): { config: LlavaConfig; raw: Record<string, unknown> } {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(dir)) throw new CheckpointError(`Checkpoint folder not found: ${dir}`, { file: dir });
  if (!fs.existsSync(file)) throw new CheckpointError(`No config.json in ${dir}: a Hugging Face checkpoint folder needs config.json next to its safetensors`, { file });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`Invalid LLaVA config ${file}: not JSON (${(e as Error).message})`, [{ path: '', message: 'not JSON' }]);
  }
  return { config: parseLlavaConfig(raw, file), raw };
}

/**
 * Load a LLaVA checkpoint folder: config.json (validated), model.safetensors or a sharded
 * model.safetensors.index.json (F32/F16/BF16, converted to float32), in any of the three key
 * layouts (see keys.ts); generation_config.json and the tokenizer (as `m.processor`) if present.
 */
export async function loadPretrained(dir: string, opts: LoadOptions = {}): Promise<LlavaModel> {
  const { config, raw } = readConfig(dir);
  const { params, layout } = readParams(dir, config);
  const m = new LlavaModel(config, params, { layout, rawConfig: raw, sourceDir: path.resolve(dir) });
  const gen = path.join(dir, 'generation_config.json');
  if (fs.existsSync(gen)) {
    try {
      m.generationConfig = JSON.parse(fs.readFileSync(gen, 'utf8'));
    } catch (e) {
      m.dispose();
      throw new ConfigError(`Invalid ${gen}: not JSON (${(e as Error).message})`, [{ path: '', message: 'not JSON' }]);
    }
  }
  if (opts.processor !== false && processorLoader) {
    try {
      m.processor = await processorLoader(dir, m);
    } catch (e) {
      m.dispose();
      throw e;
    }
  }
  return m;
}

export interface CreateRandomOptions {
  /** Std of the normal init of matrices and embeddings (default text_config.initializer_range ?? 0.02). */
  std?: number;
  /** Key layout `save()` will write (default 'transformers'). */
  layout?: CheckpointLayout;
}

/**
 * A randomly initialised model for `config` (a config.json object; missing fields take the HF
 * defaults): matrices and embeddings ~ N(0, std), biases 0, norm weights 1. Deterministic in
 * `seed`; each tensor draws from its own stream (Rng.derive(seed, key)).
 */
export function createRandom(config: LlavaConfigInput | LlavaConfig, seed = DEFAULT_SEED, opts: CreateRandomOptions = {}): LlavaModel {
  const input = { model_type: 'llava', ...config } as Record<string, unknown>;
  const c = parseLlavaConfig(input, 'createRandom(config)');
  const std = opts.std ?? (typeof c.text_config.initializer_range === 'number' ? (c.text_config.initializer_range as number) : 0.02);
  const params = new Map<string, Variable>();
  for (const s of expectedParams(c)) {
    const n = s.hfShape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNormWeight = /(norm|layernorm|layrnorm|layer_norm\d?)\.weight$/.test(s.key);
    const isBias = s.key.endsWith('.bias');
    if (isNormWeight) data.fill(1);
    else if (!isBias) {
      const rng = Rng.derive(seed, s.key);
      for (let i = 0; i < n; i++) data[i] = rng.normal(0, std);
    }
    const t = toMemory(s, data);
    if (t.shape.join() !== memoryShape(s).join()) throw new Error(`internal: bad memory shape for ${s.key}`);
    params.set(s.key, tf.variable(t, true));
    t.dispose();
  }
  return new LlavaModel(c, params, { layout: opts.layout ?? 'transformers' });
}
