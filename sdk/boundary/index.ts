// The 'boundary' namespace of the public API (see sdk/index.ts): BABERT (docs/babert.md). Every name is
// listed on purpose; names that meant something else in 'model' were renamed (the old names stay as aliases).
export { asText, decodeUtf8, findInvalidUtf8, hasHan, isHan, isHanCode, parseFortunes, readDebianCorpus, readTextFile, splitSentences, stripRoff } from './corpus';
export type { DebianCorpusOptions } from './corpus';
export { BOUNDARY, NgramCounter, NgramStatistics, statistics } from './statistics';
export type { NgramStat, StatisticsMeta, StatisticsOptions } from './statistics';
export { boundaryDim, boundaryDimNames, slotOffset, statScales, vectorRows, vectors } from './vectors';
export type { VectorOptions } from './vectors';
export { readSafetensorsMap, writeSafetensorsMap } from './safetensors';
export type { RawTensor } from './safetensors';
export { BertEncoder, bertConfigFromHf, bertConfigToHf, bertParameterShapes, gatherEmbeddingRows, loadPretrainedBert } from './bert';
export type { BertConfig, BertInputs, BertOutputs } from './bert';
export { BIES, allowedTransitions, biesToWords, bioesLabels, bioesToSpans, spansToBioes, tagProblems, validateTags, wordsToBies } from './tags';
export type { BiesTag, TagScheme } from './tags';
export { segmentationF1, spanF1, wordSpans } from './f1';
export type { F1Result } from './f1';
export { LinearChainCRF, crfForwardBackward, viterbiArrays } from './crf';
export type { CrfConstraints } from './crf';
export { CharVocab, MASK_ID, PAD_ID, SPECIALS, UNK_ID } from './vocab';
export { Segmenter, pretrainBert } from './train';
export type { BertPretrainOptions, FineTuneOptions, PretrainLog, PretrainObjective } from './train';
export { jiebaSegment } from './silver';
export { defaultGoldFile, experimentConfig, loadGold, runExperiment, summarise } from './experiment';
export type { ExperimentConfig, ExperimentOptions, ExperimentResult, ExperimentRun, ExperimentScale, ExperimentSummaryRow } from './experiment';
export { boundaryStatsFigure, comparisonFigure } from './plots';
export type { FigureSpec } from './plots';
// The earlier names, kept working (they collide with model's names of other meaning).
export { readSafetensorsMap as readSafetensors, writeSafetensorsMap as writeSafetensors } from './safetensors';
export { gatherEmbeddingRows as gatherRows } from './bert';
export { pretrainBert as pretrain } from './train';
export type { BertPretrainOptions as PretrainOptions } from './train';
