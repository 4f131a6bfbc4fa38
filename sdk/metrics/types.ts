/**
 * One row per generated (or imported) response: the `samples` frame's columns (docs/metrics.md).
 * Judgements are numbers so frames aggregate directly: 1 = yes, 0 = no, NaN = not asked for
 * this kind of sample or the judge could not decide (then `unknown` names it).
 */
export type SampleKind = 'harmful' | 'sd' | 'retain' | 'utility';

export interface SampleRow {
  /** Example id, e.g. `val/3/harmful/1` (split/record/kind/pair). */
  id: string;
  /** 'train' | 'val' (records) or 'utility'. */
  split: string;
  /** Record index in its split file (utility: item index). */
  record: number;
  /** Pair index inside the record (unsafe pair 0..3 or UnharmPair 0..3; utility: -1). */
  pair: number;
  category: string;
  kind: SampleKind;
  /** Sample number 0..numSamples-1 for harmful queries; 0 otherwise. */
  sample: number;
  question: string;
  response: string;
  /** harmful: the record's model_response; sd: the reference sd_response; retain: Prediction; utility: answer. */
  reference: string;
  unsafe: number;
  refusal: number;
  normal: number;
  /** retain: judge score 0..1; utility: 1 if correct else 0; NaN otherwise or unknown. */
  score: number;
  /** ROUGE-L F-measure of response against reference (NaN where there is no reference). */
  rougeL: number;
  /** ROUGE-L recall = LCS / reference length (the official script's ROUGE-L figure). */
  rougeL_recall: number;
  /** Judgements that came back 'unknown', comma-separated ('' if none). */
  unknown: string;
  /** Reasons of the judgements, '; '-separated. */
  reason: string;
}

export const SAMPLE_COLUMNS: readonly (keyof SampleRow)[] = [
  'id', 'split', 'record', 'pair', 'category', 'kind', 'sample', 'question', 'response', 'reference',
  'unsafe', 'refusal', 'normal', 'score', 'rougeL', 'rougeL_recall', 'unknown', 'reason',
];

/** A summary row: one per metric and split. */
export interface SummaryRow {
  metric: string;
  split: string;
  value: number;
  /** Denominator: rows the metric covers (unknown judgements included, as the official script does). */
  n: number;
  /** Numerator for rates (e.g. unsafe responses); rows with a value for means. */
  count: number;
  /** Rows whose judgement for this metric was 'unknown'. */
  unknown: number;
  /** Lower bound of the 95% interval of `value` (NaN when there is nothing to estimate). */
  ciLow: number;
  /** Upper bound of the 95% interval of `value`. */
  ciHigh: number;
  /** How the interval was computed: 'wilson' (proportions) or 'bootstrap' (means, records resampled). */
  ciMethod: string;
}

export const SUMMARY_COLUMNS: readonly (keyof SummaryRow)[] = ['metric', 'split', 'value', 'n', 'count', 'unknown', 'ciLow', 'ciHigh', 'ciMethod'];

export interface CategoryRow {
  category: string;
  metric: string;
  split: string;
  value: number;
  n: number;
}

export const CATEGORY_COLUMNS: readonly (keyof CategoryRow)[] = ['category', 'metric', 'split', 'value', 'n'];
