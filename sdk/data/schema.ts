/**
 * SafeEraser file formats (docs/data.md): the official record fields, `prompt.json`, and our own
 * `utility.json`, as plain interfaces. The zod schemas live in `validate.ts`, which no public
 * declaration imports (zod 4's types need TypeScript ≥ 5.5; notebooks type-check with 5.0).
 *
 * Records are validated, never transformed: unknown fields (e.g. the official evaluation's
 * `model_response1..3`, `gpt_result_*`) stay on the object exactly as read, so
 * `load(save(x))` deep-equals `x`.
 */
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

/**
 * A SafeEraser record whose retain pairs may be missing (partial files, the official
 * evaluation's outputs): what evaluation reads. Field names are the official ones.
 */
export interface PartialSafeEraserRecord {
  image_path: string;
  SDImage_path: string;
  unsafe_pairs: UnsafePair[];
  UnharmPair_text1?: UnharmPair;
  UnharmPair_text2?: UnharmPair;
  UnharmPair_image1?: UnharmPair;
  UnharmPair_image2?: UnharmPair;
  keyword?: string;
  category?: string;
  image_id?: string | number;
  [k: string]: unknown;
}

/** One SafeEraser record (one harmful image), every retain pair present. Field names are the official ones. */
export interface SafeEraserRecord extends PartialSafeEraserRecord {
  UnharmPair_text1: UnharmPair;
  UnharmPair_text2: UnharmPair;
  UnharmPair_image1: UnharmPair;
  UnharmPair_image2: UnharmPair;
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

/**
 * One item of our `aligned.json`: a harmful image of an *already-aligned* concept (disjoint from
 * every concept of `all_train.json` / `all_val.json`) with a harmful query and the refusal the
 * vanilla model gives to it. It puts refusal language in the vanilla model's distribution, as in
 * a real chat model; unlearning never trains or evaluates on it. Same fields as `UtilityItem`;
 * `kind` is the concept's category and `keyword` its name.
 */
export interface AlignedItem extends UtilityItem {
  keyword?: string;
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
  aligned: 'aligned.json',
} as const;

/** Map a folder or field name to a canonical category, accepting case and separator variants. */
export function normaliseCategory(name: string): Category | undefined {
  const key = name.toLowerCase().replace(/[\s_\-]/g, '');
  return CATEGORIES.find((c) => c.toLowerCase() === key);
}
