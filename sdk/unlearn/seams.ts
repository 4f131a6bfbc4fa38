/**
 * Where the unlearning layer meets the model layer: LoRA adapters, tokenising a batch, greedy
 * generation. Everything model-specific the Unlearner needs goes through here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import type { EncodedBatch, UnlearnableModel, UnlearnExample, ProcessorLike } from './types';
import type { LoraOptions } from './options';

/** Adapters attached to a model: their trainable variables by name, and PEFT export. */
export interface AttachedAdapters {
  variables: Map<string, tf.Variable>;
  /** Write adapter_config.json + adapter_model.safetensors (PEFT layout) into `dir`. */
  savePeft?(dir: string): void | Promise<void>;
  /** RNG state of the adapters' dropout, for bit-for-bit resume. */
  getRngState?(): unknown;
  setRngState?(s: unknown): void;
  detach(): void;
}

interface LoraModule {
  attachLora?: (model: unknown, opts: Record<string, unknown>) => unknown;
  createLora?: (model: unknown, opts: Record<string, unknown>) => unknown;
  saveLora?: (adapters: unknown, dir: string, opts?: unknown) => unknown;
}

function loadLoraModule(): LoraModule | undefined {
  const base = path.join(__dirname, '..', 'model', 'lora');
  if (!['.ts', '.js'].some((e) => fs.existsSync(base + e))) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(base) as LoraModule;
}

/**
 * Attach LoRA adapters (the model layer's implementation) to `model`, seeded. Throws a
 * ConfigError when the model layer offers no LoRA.
 */
export function attachLora(model: UnlearnableModel, opts: LoraOptions, seed: number): AttachedAdapters {
  const mod = loadLoraModule();
  const make = mod?.attachLora ?? mod?.createLora;
  if (!make) {
    throw new ConfigError('LoRA adapters are not available in the model layer', [{ path: 'lora', message: 'set lora: false and tune the projector or language model instead' }]);
  }
  const a = make(model, { r: opts.r, alpha: opts.alpha, dropout: opts.dropout, targetModules: opts.targetModules, seed }) as Record<string, unknown>;
  const vars = (typeof a.variables === 'function' ? (a.variables as () => unknown)() : a.variables ?? a.params) as Map<string, tf.Variable> | Record<string, tf.Variable>;
  const variables = vars instanceof Map ? vars : new Map(Object.entries(vars ?? {}));
  if (!(model as { adapters?: unknown }).adapters) (model as { adapters?: unknown }).adapters = a;
  return {
    variables,
    savePeft: typeof a.save === 'function' ? (dir) => (a.save as (d: string) => unknown).call(a, dir) as void : mod?.saveLora ? (dir) => mod.saveLora!(a, dir) as void : undefined,
    getRngState: typeof a.getRngState === 'function' ? () => (a.getRngState as () => unknown).call(a) : undefined,
    setRngState: typeof a.setRngState === 'function' ? (s) => (a.setRngState as (s: unknown) => void).call(a, s) : undefined,
    detach() {
      if ((model as { adapters?: unknown }).adapters === a) (model as { adapters?: unknown }).adapters = undefined;
      if (typeof a.dispose === 'function') (a.dispose as () => void).call(a);
    },
  };
}

export function processorOf(model: UnlearnableModel): ProcessorLike {
  const p = model.processor;
  if (!p || typeof p.encode !== 'function') {
    throw new ConfigError('The model has no processor (tokenizer) to encode examples', [{ path: 'model.processor', message: 'load a model folder with tokenizer.json, or set model.processor' }]);
  }
  return p;
}

export async function encode(model: UnlearnableModel, examples: UnlearnExample[], withAnswer = true): Promise<EncodedBatch> {
  return await processorOf(model).encode(examples, { withAnswer });
}

/**
 * Greedy answers to `examples` (prompt only), decoded to text. Uses the model's own
 * `generate` (KV cache, batched ragged prompts).
 */
export async function generateTexts(model: UnlearnableModel, examples: UnlearnExample[], maxNewTokens: number, batchSize = 16): Promise<string[]> {
  const proc = processorOf(model);
  if (typeof model.generate !== 'function') throw new ConfigError('The model cannot generate', [{ path: 'model.generate', message: 'missing' }]);
  const out: string[] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const enc = await proc.encode(chunk, { withAnswer: false });
    try {
      const res = (await model.generate({
        inputIds: enc.inputIds,
        attentionMask: enc.attentionMask,
        pixelValues: enc.pixelValues,
        maxNewTokens,
        greedy: true,
        doSample: false,
      })) as Record<string, unknown>;
      const seqs = (res.newTokens ?? res.tokens ?? res.sequences ?? res.outputIds) as number[][] | undefined;
      const texts = res.texts as string[] | undefined;
      if (texts) out.push(...texts);
      else if (seqs) out.push(...seqs.map((s) => proc.decode(s)));
      else throw new Error('generate() returned neither texts nor token ids');
    } finally {
      enc.pixelValues?.dispose();
    }
  }
  return out;
}
