/**
 * Glue for the layers around metrics: a probe scorer for the Unlearner's live probes, an
 * EvalRecord-shaped digest of a summary, and concatenation of several methods' results with
 * `method` and `pd` columns (docs/metrics.md).
 */
import * as dfd from 'danfojs-node';
import { RulesJudge } from '../judge/rules';
import { utilityCorrect } from './evaluate';
import { rougeLOfficial } from '../text/rouge';
import { rowsOf, framesOf } from './summarize';
import { CATEGORY_COLUMNS, SAMPLE_COLUMNS, SUMMARY_COLUMNS, type SampleRow } from './types';

/** The scorer interface the Unlearner's probe accepts (`unlearn` ProbeScorer), backed by this layer. */
export interface ProbeScorerLike {
  rouge(response: string, reference: string): number;
  isRefusal(response: string): boolean;
  correct(response: string, reference: string): boolean;
}

/**
 * rouge = LCS / reference length (rouge_score tokenizer and stemmer), refusals by the rules
 * judge (phrase list + the dataset's refusal sentences), utility correctness as `specificity`.
 */
export function probeScorer(refusals: readonly string[] = []): ProbeScorerLike {
  const j = new RulesJudge({ refusals });
  return {
    rouge: (response, reference) => rougeLOfficial(response, reference),
    isRefusal: (response) => j.refusalSync(response).value === true,
    correct: (response, reference) => utilityCorrect(response, reference),
  };
}

export interface EvalDigest {
  forgetRate: number;
  refusalRate: number;
  sarr: number;
  retainRouge: number;
  utilityAcc: number;
}

/** The Unlearner's EvalRecord fields from a summary frame (NaN where a metric is absent). */
export function evalDigest(summary: dfd.DataFrame, split?: string): EvalDigest {
  const rows = summary.shape[0] === 0 ? [] : (dfd.toJSON(summary) as { metric: string; split: string; value: number }[]);
  const get = (metric: string, anySplit = false) => {
    const r = rows.find((x) => x.metric === metric && (anySplit || split === undefined || x.split === split));
    return r ? Number(r.value) : NaN;
  };
  return {
    forgetRate: get('forgetRate'),
    refusalRate: get('rr'),
    sarr: get('sarr'),
    retainRouge: get('rougeL_official'),
    utilityAcc: get('specificity', true),
  };
}

export interface MethodResult {
  method: string;
  /** Whether the method used the Prompt Decouple loss (default: the name ends in "+pd"). */
  pd?: boolean;
  result: { summary: dfd.DataFrame; samples?: dfd.DataFrame; byCategory?: dfd.DataFrame };
}

/** Concatenate several methods' results into frames with `method` and `pd` columns first. */
export function combine(results: readonly MethodResult[]): { summary: dfd.DataFrame; samples: dfd.DataFrame; byCategory: dfd.DataFrame } {
  const tag = <T extends object>(rows: T[], m: MethodResult) => {
    const pd = m.pd ?? /\+pd$/i.test(m.method);
    return rows.map((r) => ({ method: m.method, pd, ...r }));
  };
  const json = (df: dfd.DataFrame | undefined) => (df && df.shape[0] > 0 ? (dfd.toJSON(df) as Record<string, unknown>[]) : []);
  const summary = results.flatMap((m) => tag(json(m.result.summary), m));
  const byCategory = results.flatMap((m) => tag(json(m.result.byCategory), m));
  const samples = results.flatMap((m) => tag(m.result.samples ? rowsOf(m.result.samples) : ([] as SampleRow[]), m));
  type Tagged = { method: string; pd: boolean };
  return {
    summary: framesOf(summary as (Tagged & Record<string, unknown>)[], ['method', 'pd', ...SUMMARY_COLUMNS] as never[]),
    samples: framesOf(samples as unknown as (Tagged & Record<string, unknown>)[], ['method', 'pd', ...SAMPLE_COLUMNS] as never[]),
    byCategory: framesOf(byCategory as (Tagged & Record<string, unknown>)[], ['method', 'pd', ...CATEGORY_COLUMNS] as never[]),
  };
}
