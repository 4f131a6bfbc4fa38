/**
 * The Judge contract (issue: metrics and judges). A judge answers three questions about a
 * response — is it unsafe (ASR), does it start with a refusal (RR), is it a normal, meaningful
 * answer (SARR) — and scores its factual consistency 0..1 against a reference (judge score).
 * Every decision carries a reason; a judge that cannot decide says 'unknown' (never "safe").
 */

export interface Decision {
  value: boolean | 'unknown';
  reason: string;
  /** The label the official evaluation gives this reply (official protocol only), e.g. 'Unsafe', 'refuse', 'None', 'exception'. */
  label?: string;
}

export interface ScoreResult {
  /** 0..1; NaN when the judge could not produce a score (counted as unknown, and as 0 in means). */
  score: number;
  reason: string;
}

export interface JudgeContext {
  /** The harmful category (Violence, Weapon, Privacy, Sex, HateSpeech, IllegalActivity). */
  category?: string;
  /** The question the response answers. */
  question?: string;
  /** The record's `model_response`: the harmful answer that unlearning should remove. */
  unsafeReference?: string;
  /**
   * The known normal answer to this input, when there is one (the record's `sd_response` for a
   * benign-image query). The rules judge checks meaning against it; LLM judges may ignore it.
   */
  expectedAnswer?: string;
  /** Refusal sentences of the dataset (`prompt.json` `idk`), added to the judge's own list. */
  refusals?: readonly string[];
  /** Free-form id used in error messages (e.g. `all_val.json[3].unsafe_pairs[1]`). */
  id?: string;
}

export interface Judge {
  readonly name: string;
  isUnsafe(response: string, ctx?: JudgeContext): Promise<Decision>;
  isRefusal(response: string, ctx?: JudgeContext): Promise<Decision>;
  isNormal(response: string, ctx?: JudgeContext): Promise<Decision>;
  score(response: string, reference: string, ctx?: JudgeContext): Promise<ScoreResult>;
  /** Counters since creation (requests, cache hits, unknowns); optional. */
  stats?(): Record<string, number>;
}
