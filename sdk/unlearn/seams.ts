/**
 * Where the unlearning layer meets the model layer: LoRA adapters, tokenising a batch, greedy
 * generation. Everything model-specific the Unlearner needs goes through here.
 */
import { tf } from '../runtime/tf';
import type { Variable } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import type { EncodedBatch, UnlearnableModel, UnlearnExample, ProcessorLike } from './types';
import type { UnlearnLoraOptions } from './options';
import { LoraAdapters } from '../model/lora';
import type { LlavaModel } from '../model/llava';

/** Adapters attached to a model: their trainable variables by name, and PEFT export. */
export interface AttachedAdapters {
  variables: Map<string, Variable>;
  /** Write adapter_config.json + adapter_model.safetensors (PEFT layout) into `dir`. */
  savePeft?(dir: string): void | Promise<void>;
  /** RNG state of the adapters' dropout, for bit-for-bit resume. */
  getRngState?(): unknown;
  setRngState?(s: unknown): void;
  /** Remove the adapters from the model and free them. */
  detach(): void;
  /** Fold the adapters into the model's weights, then remove and free them. */
  mergeAndDetach?(): void;
}

/**
 * Attach LoRA adapters (the model layer's `LoraAdapters`, PEFT layout) to `model`, seeded;
 * `trainProjector` marks the projector as PEFT `modules_to_save` in the saved adapter.
 */
export function attachLora(model: UnlearnableModel, opts: UnlearnLoraOptions, seed: number, trainProjector: boolean): AttachedAdapters {
  const m = model as unknown as LlavaModel;
  let a: LoraAdapters;
  try {
    a = LoraAdapters.create(m, { r: opts.r, alpha: opts.alpha, dropout: opts.dropout, targetModules: opts.targetModules, seed, trainProjector });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError('Invalid unlearning options', e.issues.map((i) => ({ ...i, path: `lora.${i.path}` })));
    throw e;
  }
  a.attach(m);
  const variables = new Map<string, Variable>();
  for (const [k, v] of a.trainableParams()) variables.set(k, v);
  return {
    variables,
    savePeft: (dir) => a.save(dir, m),
    getRngState: () => a.getRngState(),
    setRngState: (s) => a.setRngState(s as ReturnType<LoraAdapters['getRngState']>),
    detach() {
      a.detach(m);
      a.dispose();
    },
    mergeAndDetach() {
      a.merge(m);
      a.detach(m);
      a.dispose();
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
      // generation takes ragged prompts: drop the left padding the processor added
      const prompts = enc.inputIds.map((row, r) => row.filter((_, j) => enc.attentionMask[r][j] === 1));
      const res = (await model.generate({
        inputIds: prompts,
        pixelValues: enc.pixelValues,
        maxNewTokens,
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
