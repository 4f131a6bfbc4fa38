// The 'unlearn' namespace of the public API (see sdk/index.ts): SafeEraser's unlearning
// methods with and without the Prompt Decouple loss, and the Unlearner that runs them.
export { IGNORE_INDEX, tokenLogProbs, answerNll, pooledNll, sequenceLogProbs, klToReference, npoLoss } from './losses';
export type { Labels } from './losses';
export { BUILTIN_METHODS, registerMethod, getMethod, methodNames, resolveMethod, resolveDefinition, officialName, withPromptDecouple } from './methods';
export type { BuiltinMethodName } from './methods';
export { DEFAULTS, OFFICIAL_DEFAULTS, OFFICIAL_LORA_TARGETS, resolveConfig } from './options';
export type { UnlearnLoraOptions, UnlearnLoraOptions as LoraOptions, ProbeOptions, UnlearnConfig, UnlearnOptionsInput } from './options';
export { Unlearner, create, resume } from './unlearner';
export type { StepRecord, EvalRecord, EndRecord, UnlearnerEvents, RunOptions, CreateOptions, RunSpec } from './unlearner';
export { forgetExamples, pdExamples, retainExamples, utilityExamples, pyCapitalize, officialText, dropEosLabels } from './batches';
export { defaultScorer, rougeLRecall, probeSample, runProbe } from './probe';
export type { ProbeScorer, ProbeSample, ProbeResult, ProbeSizes } from './probe';
export { exportOfficial, OFFICIAL_FORGET_LOSS } from './official';
export type { OfficialConfig } from './official';
export type {
  UnlearnExample,
  EncodedBatch,
  UnlearnableModel,
  UnlearnDataset,
  MethodBatch,
  MethodBatches,
  LossContext,
  LossResult,
  OptionSpec,
  MethodOptions,
  MethodDefinition,
  MethodSpec,
} from './types';
