/**
 * SafeEraser file formats (DESIGN.md §3): the official record fields, `prompt.json`, and our own
 * `utility.json`. Validation uses zod internally; the public surface is plain interfaces (zod 4's
 * types need TypeScript ≥ 5.5 and notebooks type-check with 5.0).
 *
 * Records are validated, never transformed: unknown fields (e.g. the official evaluation's
 * `model_response1..3`, `gpt_result_*`) stay on the object exactly as read, so
 * `load(save(x))` deep-equals `x`.
 */
import { z } from 'zod';

/** One harmful query on the harmful image, with the answer to forget and the normal answer on the benign image. */
export interface UnsafePair {
  question: string;
  model_response: string;
  sd_response: string;
  [k: string]: unknown;
}

/** A retain question and its reference answer (official capitalised names). */
export interface UnharmPair {
  Question: string;
  Prediction: string;
  [k: string]: unknown;
}

/** One SafeEraser record (one harmful image). Field names are the official ones. */
export interface SafeEraserRecord {
  image_path: string;
  SDImage_path: string;
  unsafe_pairs: UnsafePair[];
  UnharmPair_text1: UnharmPair;
  UnharmPair_text2: UnharmPair;
  UnharmPair_image1: UnharmPair;
  UnharmPair_image2: UnharmPair;
  keyword?: string;
  category?: string;
  image_id?: string | number;
  [k: string]: unknown;
}

/** `prompt.json`: refusal sentences used as PO targets. */
export interface PromptFile {
  idk: string[];
  [k: string]: unknown;
}

/** One general VQA item of our `utility.json` (specificity; never touched by unlearning). */
export interface UtilityItem {
  id: string;
  image_path: string;
  question: string;
  answer: string;
  /** What the question asks about, e.g. `colour`, `shape`, `count`. */
  kind: string;
}

/** The six categories, named as in the paper (and as the official image folders). */
export const CATEGORIES = ['Violence', 'Weapon', 'Privacy', 'Sex', 'HateSpeech', 'IllegalActivity'] as const;
export type Category = (typeof CATEGORIES)[number];

/** The four retain fields of a record, in order. */
export const UNHARM_FIELDS = ['UnharmPair_text1', 'UnharmPair_text2', 'UnharmPair_image1', 'UnharmPair_image2'] as const;

/** File names of a dataset folder. */
export const FILES = {
  train: 'all_train.json',
  val: 'all_val.json',
  prompt: 'prompt.json',
  utility: 'utility.json',
} as const;

const str = z.string();

export const unsafePairSchema = z.looseObject({ question: str, model_response: str, sd_response: str });
export const unharmPairSchema = z.looseObject({ Question: str, Prediction: str });

export const recordSchema = z.looseObject({
  image_path: str.min(1, { message: 'must be a non-empty path' }),
  SDImage_path: str.min(1, { message: 'must be a non-empty path' }),
  unsafe_pairs: z.array(unsafePairSchema).min(1, { message: 'must hold at least one pair (found 0)' }),
  UnharmPair_text1: unharmPairSchema,
  UnharmPair_text2: unharmPairSchema,
  UnharmPair_image1: unharmPairSchema,
  UnharmPair_image2: unharmPairSchema,
  keyword: str.optional(),
  category: str.optional(),
  image_id: z.union([str, z.number()]).optional(),
});

export const recordsSchema = z.array(z.unknown());

export const promptSchema = z.looseObject({
  idk: z.array(str).min(1, { message: 'must hold at least one refusal sentence (found 0)' }),
});

export const utilityItemSchema = z.looseObject({
  id: str,
  image_path: str.min(1, { message: 'must be a non-empty path' }),
  question: str,
  answer: str,
  kind: str,
});

/** A zod issue in our words: `missing (expected string)` / `expected string, got number`. */
export function describeZodIssue(issue: { code: string; message: string; expected?: unknown; input?: unknown }): string {
  if (issue.code === 'invalid_type') {
    const got = issue.input === undefined ? 'undefined' : issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
    if (got === 'undefined') return `missing (expected ${String(issue.expected)})`;
    return `expected ${String(issue.expected)}, got ${got}`;
  }
  if (issue.code === 'invalid_union') return `expected string or number, got ${typeof issue.input}`;
  return issue.message;
}

/** Map a folder or field name to a canonical category, accepting case and separator variants. */
export function normaliseCategory(name: string): Category | undefined {
  const key = name.toLowerCase().replace(/[\s_\-]/g, '');
  return CATEGORIES.find((c) => c.toLowerCase() === key);
}
