/**
 * The training views of a SafeEraser dataset, as the official data module builds them
 * (yuu250/SafeEraser data_module.py, MMForgetDatasetQA):
 * - forget: every (image_path, unsafe_pairs[j].question → model_response), record by record;
 * - pd:     the same order, (SDImage_path, same question → sd_response), so forget sample i and
 *           PD sample i come from the same record and pair;
 * - retain: the four UnharmPair_* of every record, each asked on the record's harmful image
 *           (the official module attaches `image_path` to the text pairs as well).
 * Each forget sample is paired with a retain sample drawn from a seeded generator (official:
 * `(idx + randint(len(retain))) % len(retain)`).
 */
import type { UnlearnDataset, UnlearnExample } from './types';
import * as path from 'path';

import { UNHARM_FIELDS as UNHARM, type SafeEraserRecord, type UnharmPair as UnharmLike, type UnsafePair as UnsafePairLike } from '../data/schema';

function abs(ds: UnlearnDataset, rel: unknown): string | undefined {
  if (typeof rel !== 'string' || rel === '') return undefined;
  const d = ds as UnlearnDataset & { imagePath?: (r: string) => string };
  return typeof d.imagePath === 'function' ? d.imagePath(rel) : path.resolve(ds.dir, rel);
}

export type ViewSplit = 'train' | 'val';

function records(ds: UnlearnDataset, split: ViewSplit): readonly SafeEraserRecord[] {
  return split === 'train' ? ds.train : ds.val;
}

/** The record's unsafe pairs (none when the field is missing: records are checked, not trusted). */
function pairs(r: SafeEraserRecord): UnsafePairLike[] {
  return Array.isArray(r.unsafe_pairs) ? (r.unsafe_pairs as UnsafePairLike[]) : [];
}

/** One example per unsafe pair, in record/pair order: the harmful query on `imageField`, answered with `answerField`. */
function pairExamples(ds: UnlearnDataset, split: ViewSplit, kind: 'forget' | 'sd', imageField: 'image_path' | 'SDImage_path', answerField: 'model_response' | 'sd_response'): UnlearnExample[] {
  const out: UnlearnExample[] = [];
  records(ds, split).forEach((r, i) =>
    pairs(r).forEach((p, j) =>
      out.push({ id: `${split}/${i}/${kind}/${j}`, kind, split, record: i, pair: j, category: r.category as string | undefined, image: abs(ds, r[imageField]), question: p.question, answer: p[answerField] }),
    ),
  );
  return out;
}

/** Harmful image + query → model_response, in record/pair order. */
export function forgetExamples(ds: UnlearnDataset, split: ViewSplit = 'train'): UnlearnExample[] {
  return pairExamples(ds, split, 'forget', 'image_path', 'model_response');
}

/** Benign SD image + the same harmful query → sd_response (the Prompt Decouple view). */
export function pdExamples(ds: UnlearnDataset, split: ViewSplit = 'train'): UnlearnExample[] {
  return pairExamples(ds, split, 'sd', 'SDImage_path', 'sd_response');
}

/** The four UnharmPair_* of each record, on the record's harmful image (official). */
export function retainExamples(ds: UnlearnDataset, split: ViewSplit = 'train', opts: { textOnImage?: boolean } = {}): UnlearnExample[] {
  const textOnImage = opts.textOnImage ?? true;
  const out: UnlearnExample[] = [];
  records(ds, split).forEach((r, i) =>
    UNHARM.forEach((f, k) => {
      const u = r[f] as UnharmLike | undefined;
      if (!u || typeof u.Question !== 'string') return;
      const text = k < 2;
      out.push({
        id: `${split}/${i}/${text ? 'retain_text' : 'retain_image'}/${k % 2}`,
        kind: text ? 'retain_text' : 'retain_image',
        split,
        record: i,
        pair: k % 2,
        category: r.category as string | undefined,
        image: text && !textOnImage ? undefined : abs(ds, r.image_path),
        question: u.Question,
        answer: u.Prediction,
      });
    }),
  );
  return out;
}

/** The utility (general VQA) items as examples. */
export function utilityExamples(ds: UnlearnDataset): UnlearnExample[] {
  return (ds.utility ?? []).map((u, i) => ({
    id: `utility/${String(u.id ?? i)}`,
    kind: 'utility',
    split: 'utility',
    record: i,
    image: abs(ds, u.image_path),
    question: String(u.question ?? ''),
    answer: String(u.answer ?? ''),
  }));
}

/** Records (by index) whose SDImage_path is missing or empty. */
export function recordsWithoutSdImage(ds: UnlearnDataset, split: ViewSplit = 'train'): number[] {
  const out: number[] = [];
  records(ds, split).forEach((r, i) => {
    if (typeof r.SDImage_path !== 'string' || r.SDImage_path.trim() === '') out.push(i);
  });
  return out;
}

/**
 * Python's `str.capitalize()`: the first character upper-cased (title case), the rest
 * lower-cased — what the official data module does to every question and answer.
 */
export function pyCapitalize(text: string): string {
  const chars = Array.from(text);
  if (chars.length === 0) return text;
  return chars[0].toUpperCase() + chars.slice(1).join('').toLowerCase();
}

/** An example's text as the official data module prepares it. */
export function officialText(e: UnlearnExample): UnlearnExample {
  return { ...e, question: pyCapitalize(e.question), answer: pyCapitalize(e.answer) };
}

/**
 * Labels without the closing EOS: the official data module tokenises
 * `{system}USER: <image>\n{q} ASSISTANT: {a}` with no `</s>`, so no term learns (or unlearns)
 * the end of the answer. The EOS token's label becomes −100 (ignored) in place.
 */
export function dropEosLabels(labels: number[][], eosId: number | undefined): number[][] {
  if (eosId === undefined) return labels;
  for (const row of labels) {
    for (let t = row.length - 1; t >= 0; t--) {
      if (row[t] === -100) continue;
      if (row[t] === eosId) row[t] = -100;
      break; // only the last labelled token
    }
  }
  return labels;
}
