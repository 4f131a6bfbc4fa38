/**
 * The shapes the unlearning layer needs from the model and data layers, written structurally
 * so any model with this surface (the LLaVA model, or a test double) can be unlearned.
 */
import type { Scalar, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import type { SafeEraserRecord, UtilityItem } from '../data/schema';
import type { Example } from '../data/examples';

/** One supervised or probe example: the data layer's `Example`. */
export type UnlearnExample = Example;

/** What a processor's `encode` returns for a batch of examples (model/processor's type). */
export type { EncodedBatch } from '../model/processor';
import type { EncodedBatch } from '../model/processor';

/** What the Unlearner needs from a processor: the model's `ProcessorLike` (LlavaProcessor fits). */
export type { ProcessorLike } from '../model/llava';
import type { ForwardOptions, ProcessorLike } from '../model/llava';

/** The forward arguments the Unlearner passes (a subset of the model's `ForwardOptions`). */
export type ForwardArgs = Pick<ForwardOptions, 'inputIds' | 'pixelValues' | 'attentionMask' | 'training'>;

/** The model surface the Unlearner drives. */
export interface UnlearnableModel {
  config: unknown;
  params: Map<string, Variable>;
  forward(o: ForwardArgs): { logits: Tensor3D; hiddenStates?: Tensor3D[] };
  processor?: ProcessorLike;
  adapters?: unknown;
  generate?(o: { inputIds: number[][]; pixelValues?: Tensor4D; maxNewTokens?: number }): Promise<unknown>;
}

/** The dataset surface the Unlearner reads. */
export interface UnlearnDataset {
  dir: string;
  /** all_train.json records (SafeEraser field names). */
  train: readonly SafeEraserRecord[];
  val: readonly SafeEraserRecord[];
  refusals: readonly string[];
  utility?: readonly UtilityItem[];
}

/** A batch handed to a method's loss: the encoded inputs plus the examples they came from. */
export interface MethodBatch extends EncodedBatch {
  examples: UnlearnExample[];
  /** Frozen-reference logits, present when the method lists this batch in `uses.reference`. */
  reference?: Tensor3D;
}

export interface MethodBatches {
  forget: MethodBatch;
  retain?: MethodBatch;
  pd?: MethodBatch;
}

export interface LossContext {
  /** Forward the current (trained) model on a batch, in training mode; memoised per batch. */
  forward(batch: MethodBatch): Tensor3D;
}

export interface LossResult {
  loss: Scalar;
  /** Each named term, unweighted (e.g. forget_nll, retain_nll, kl, pd). */
  terms: Record<string, Scalar>;
}

/** One option of a method: its type, default, range and meaning (the one place defaults live). */
export interface OptionSpec {
  type: 'number' | 'integer' | 'boolean' | 'string';
  default: number | boolean | string;
  min?: number;
  max?: number;
  /** The bound itself is not allowed (e.g. β > 0). */
  exclusiveMin?: boolean;
  choices?: readonly string[];
  doc: string;
}

export type MethodOptions = Record<string, number | boolean | string>;

/**
 * A method: options with defaults in one place, and one function building the loss from the
 * {forget, retain, pd} batches.
 */
export interface MethodDefinition {
  name: string;
  summary: string;
  aliases?: readonly string[];
  /** The official pipeline's `forget_loss` value for this method, when it has one. */
  official?: string;
  options: Record<string, OptionSpec>;
  uses: {
    /** Pair each forget sample with a retain sample. */
    retain?: boolean;
    /** Needs the Prompt Decouple batch (benign SDImage + same query → sd_response). */
    pd?: boolean;
    /** 'refusal' replaces the forget answers with refusals from prompt.json (PO / idk). */
    forgetTarget?: 'answer' | 'refusal';
    /** Batches whose frozen-reference logits are computed (outside the gradient) before the loss. */
    reference?: ReadonlyArray<'forget' | 'retain' | 'pd'>;
  };
  loss(batches: MethodBatches, options: MethodOptions, ctx: LossContext): LossResult;
}

/** `{name, config}`: a method as data (written into every run spec). */
export interface MethodSpec {
  name: string;
  config: MethodOptions;
}
