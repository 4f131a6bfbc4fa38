// The 'data' namespace of the public API (see sdk/index.ts): SafeEraser datasets, images,
// examples and batching, and the synthetic generator. See docs/data.md.
export {
  CATEGORIES,
  FILES,
  UNHARM_FIELDS,
  normaliseCategory,
} from './schema';
export type { Category, UnsafePair, UnharmPair, SafeEraserRecord, PartialSafeEraserRecord, PromptFile, UtilityItem } from './schema';
export { SafeEraserDataset, loadSafeEraser, saveSafeEraser, recordCategory, resolveImagePath, FRAME_COLUMNS } from './dataset';
export type { Split, DatasetCounts, DatasetLoadOptions, DatasetLoadOptions as LoadOptions } from './dataset';
export {
  CLIP_MEAN,
  CLIP_STD,
  loadImage,
  loadImages,
  loadImageData,
  normaliseRgb,
  imageCacheStats,
  clearImageCache,
  setImageCacheLimit,
  probeImage,
  resizeBicubic,
  clipResizeCrop,
} from './images';
export type { ImageCacheStats, ImageOptions, ResizeMethod, Tensor3D, Tensor4D } from './images';
export { examples, pairForgetWithRetain, PairedSampler, batches, trainingBatches, EXAMPLE_KINDS } from './examples';
export type { Example, ExampleKind, ExamplesOptions, ForgetRetainPair, BatchOptions, TrainingBatch, TrainingBatchOptions } from './examples';
export {
  generateSynthetic,
  conceptsFor,
  SCALES,
  HARMFUL_CONCEPTS,
  BENIGN_CONCEPTS,
  QUERY_TEMPLATES,
  REFUSALS,
} from './synthetic';
export type { SyntheticOptions, SyntheticSummary, SyntheticScale, ScalePreset, HarmfulConcept, BenignConcept, ShapeKind } from './synthetic';
export { packageRoot, generatedDir, defaultDatasetDir, ensureDefaultDataset, DEFAULT_SEED } from './defaults';
