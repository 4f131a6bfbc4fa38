/**
 * Span-level precision / recall / F1, counted as the SIGHAN bakeoff scorer counts them: a
 * predicted word (or typed span) is correct when both its start and end offsets (and type) match
 * a gold one; counts are summed over the whole test set (micro-average) before dividing.
 */
import { DatasetError, type DatasetIssue } from '../runtime/errors';

export interface F1Result {
  precision: number;
  recall: number;
  f1: number;
  gold: number;
  predicted: number;
  correct: number;
}

function score(gold: number, predicted: number, correct: number): F1Result {
  const precision = predicted ? correct / predicted : 0;
  const recall = gold ? correct / gold : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, gold, predicted, correct };
}

/** Word spans "start:end" of a segmented sentence. */
export function wordSpans(words: readonly string[]): string[] {
  const out: string[] = [];
  let pos = 0;
  for (const w of words) {
    out.push(`${pos}:${pos + w.length}`);
    pos += w.length;
  }
  return out;
}

/**
 * Segmentation F1 of `predicted` against `gold` (arrays of sentences, each an array of words).
 * Sentence i of both must be the same characters; a mismatch is a DatasetError naming i.
 */
export function segmentationF1(gold: ReadonlyArray<readonly string[]>, predicted: ReadonlyArray<readonly string[]>): F1Result {
  if (gold.length !== predicted.length) {
    throw new DatasetError(`segmentationF1: ${gold.length} gold sentences but ${predicted.length} predicted ones; they must pair up`, []);
  }
  const issues: DatasetIssue[] = [];
  let g = 0;
  let p = 0;
  let c = 0;
  for (let i = 0; i < gold.length; i++) {
    const gt = gold[i].join('');
    const pt = predicted[i].join('');
    if (gt !== pt) {
      issues.push({ path: `sentences[${i}]`, message: `sentence ${i}: gold text '${gt}' differs from predicted text '${pt}'`, record: i });
      continue;
    }
    const gs = new Set(wordSpans(gold[i]));
    const ps = wordSpans(predicted[i]);
    g += gs.size;
    p += ps.length;
    for (const s of ps) if (gs.has(s)) c++;
  }
  if (issues.length) throw new DatasetError('segmentationF1: gold and predicted sentences differ in their characters', issues);
  return score(g, p, c);
}

/** Typed-span F1 (NER): spans {start, end, type} per sentence. */
export function spanF1(
  gold: ReadonlyArray<ReadonlyArray<{ start: number; end: number; type?: string }>>,
  predicted: ReadonlyArray<ReadonlyArray<{ start: number; end: number; type?: string }>>,
): F1Result {
  if (gold.length !== predicted.length) throw new DatasetError(`spanF1: ${gold.length} gold sentences but ${predicted.length} predicted ones; they must pair up`, []);
  let g = 0;
  let p = 0;
  let c = 0;
  for (let i = 0; i < gold.length; i++) {
    const key = (s: { start: number; end: number; type?: string }) => `${s.start}:${s.end}:${s.type ?? ''}`;
    const gs = new Set(gold[i].map(key));
    g += gs.size;
    p += predicted[i].length;
    for (const s of predicted[i]) if (gs.has(key(s))) c++;
  }
  return score(g, p, c);
}
