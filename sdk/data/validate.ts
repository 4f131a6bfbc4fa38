/**
 * zod schemas for the dataset files (internal: only function bodies use them, so no public
 * declaration file references zod). Objects are "loose": unknown fields pass through.
 */
import { z } from 'zod';

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

