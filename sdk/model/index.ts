// The 'model' namespace of the public API (see sdk/index.ts): LLaVA-1.5 in tfjs. Every name is listed
// here on purpose (docs/api.md is generated from it); internals such as the parameter-key prefixes
// and the answer-position helpers stay inside the module.
export { SAFETENSORS_DTYPES, SAFETENSORS_INDEX, SAFETENSORS_SINGLE, decodeTensorBytes, encodeSafetensors, openCheckpointFolder, readSafetensors, readSafetensorsHeader, readSafetensorsTensor, writeCheckpointTensors, writeSafetensors } from './safetensors';
export type { SafetensorsDtype, SafetensorsHeader, TensorData, TensorEntry, TensorToWrite } from './safetensors';
export { numImageTokens, parseLlavaConfig, visionLayersUsed } from './config';
export type { ClipVisionConfig, LlamaTextConfig, LlavaConfig, LlavaConfigInput } from './config';
export { CHECKPOINT_LAYOUTS, detectLayout, expectedParams, fromCanonical, isIgnorableKey, memoryShape, toCanonical } from './keys';
export type { CheckpointLayout, ParamKind, ParamSpec } from './keys';
export { answerNll, answerNllPerSequence, applyRope, gatherRows, gelu, layerNorm, positionsFromMask, quickGelu, rmsNorm, ropeTables, silu, softmaxCrossEntropyRows } from './layers';
export type { RopeTables } from './layers';
export { LlavaModel } from './llava';
export type { DecoderStep, ForwardOptions, ForwardOutput, KVCache, LinearHook, LinearHookContext, ProcessorLike } from './llava';
export { SIDE_FILES, paramToHf, readParams, saveModel, toHf, toMemory } from './checkpoint';
export type { SaveOptions } from './checkpoint';
export { createRandom, loadPretrained, readConfig, setProcessorLoader } from './load';
export type { CreateRandomOptions, LoadOptions } from './load';
export { generate, sampleToken } from './generate';
export type { GenerateOptions, GenerateResult } from './generate';
export { Tokenizer, buildTokenizer, loadTokenizer } from './tokenizer';
export type { BuildTokenizerOptions, LoadTokenizerOptions, SpecialTokenNames, TokenizerConfigJson, TokenizerDecodeOptions, TokenizerEncodeOptions, TokenizerJson } from './tokenizer';
export { IGNORE_INDEX, LLAVA_HF_TEMPLATE, LLAVA_V1_TEMPLATE, LlavaProcessor, VICUNA_V1_SYSTEM, decodeAll } from './processor';
export type { EncodedBatch, ImageLoader, ProcessorEncodeOptions, ProcessorInput, ProcessorOptions, PromptTemplate, TokenizedBatch } from './processor';
export { ADAPTER_CONFIG, ADAPTER_WEIGHTS, LORA_TARGET_MODULES, LoraAdapters, SAFEERASER_LORA, loraModuleKeys, peftTargetRegex } from './lora';
export type { LoraOptions, PeftLoraConfig } from './lora';
export { AdamW, GradientAccumulator, clipByGlobalNorm, computeGradients, constantSchedule, cosineSchedule, defaultNoDecay, disposeGrads, globalNorm, installFastWasmMatMul } from './optim';
export type { AdamWOptions, AdamWState, CosineScheduleOptions, LrSchedule, NamedTensors, StepInfo } from './optim';
export { DEFAULT_KIND_WEIGHTS, DEFAULT_TEMPLATE, PRETRAIN_KINDS, accuracyTable, answerExamples, answerLoss, defaultModelConfig, defaultModelDir, hasModel, pretrain, rougeLF1, vanillaExamples, weightedEpoch } from './pretrain';
export type { AccuracyRow, AnswerOptions, KindWeights, LossNormalization, PretrainOptions, PretrainResult } from './pretrain';
export { defaultModelSpec, loadDefault } from './default';
