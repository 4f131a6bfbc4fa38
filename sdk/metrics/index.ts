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
export { evaluate, responderFromModel, utilityCorrect, PRESETS } from './evaluate';
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
  PresetName,
  GenerativeModelLike,
  ProcessorLikeForEval,
} from './evaluate';
export { importOfficial } from './official';
export type { ImportOfficialOptions, ImportOfficialResult } from './official';
export { probeScorer, evalDigest, combine } from './helpers';
export { pivot, METRIC_LABELS } from './pivot';
export type { PivotOptions } from './pivot';
export type { ProbeScorerLike, EvalDigest, MethodResult } from './helpers';
