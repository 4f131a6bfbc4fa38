// The 'metrics' namespace of the public API (see sdk/index.ts).
export { rougeL, rougeLOfficial, rougeTokenize, rougeLTokens, lcsLength, fmeasure } from '../text/rouge';
export type { RougeScore, RougeOptions } from '../text/rouge';
export { porterStem } from '../text/porter';
export type { SampleKind, SampleRow, SummaryRow, CategoryRow } from './types';
export { SAMPLE_COLUMNS, SUMMARY_COLUMNS, CATEGORY_COLUMNS } from './types';
export { METRICS, registerMetric, metricNames, getMetric, rateMetric, meanMetric, hasUnknown } from './contract';
export type { Metric, MetricResult, MetricOptions } from './contract';
export { BUILTIN_METRICS } from './defs';
export { summarize, summarizeRows, rowsOf, samplesFrame } from './summarize';
export type { SummarizeOptions, SummaryTables, SummaryFrames } from './summarize';
export { evaluate, responderFromModel, utilityCorrect, PRESETS, OFFICIAL_INFERENCE_TEMPLATE } from './evaluate';
export type {
  EvaluateOptions,
  EvaluateResult,
  EvalDataset,
  RecordLike,
  UnsafePairLike,
  UnharmPairLike,
  UtilityLike,
  Responder,
  ResponderPrompt,
  SamplingOptions,
  Preset,
  ConversationTemplate,
  PresetName,
  GenerativeModelLike,
  ProcessorLikeForEval,
} from './evaluate';
export { importOfficial, writeOfficial, readOfficialStats, findOfficialFiles, parsePythonJson } from './official';
export type { ImportOfficialOptions, ImportOfficialResult, OfficialFiles, OfficialStats, OfficialAsrRrStats, OfficialUnharmStats, WriteOfficialOptions, WriteOfficialResult } from './official';
export { probeScorer, evalDigest, combine } from './helpers';
export { pivot, METRIC_LABELS } from './pivot';
export type { PivotOptions } from './pivot';
export type { ProbeScorerLike, EvalDigest, MethodResult } from './helpers';
export {
  wilson,
  wilsonHalfWidth,
  bootstrapMean,
  tInterval,
  pairedTest,
  mcnemar,
  normalQuantile,
  tQuantile,
  tCdf,
  DEFAULT_LEVEL,
} from './stats';
export type { Interval, IntervalMethod, BootstrapOptions, SeedStats, PairedOptions, PairedResult } from './stats';
export { metricInterval } from './summarize';
export { compare, compareRows, comparePdRows, COMPARE_COLUMNS } from './compare';
export type { CompareOptions, CompareRow } from './compare';
export { aggregateSeeds, aggregateSeedRows, formatMeanSd, SEED_COLUMNS } from './seeds';
export type { SeedRow } from './seeds';
