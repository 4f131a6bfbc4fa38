/**
 * A character vocabulary built from the corpus: BABERT works on characters, and a small model
 * trained on ~1M characters needs a small table (a few thousand rows) rather than
 * bert-base-chinese's 21k. Ids 0..4 are [PAD], [UNK], [CLS], [SEP], [MASK] (the BERT order of
 * special tokens is not needed: sequences carry no [CLS]/[SEP], see docs/babert.md).
 */
import { DatasetError } from '../runtime/errors';

export const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const MASK_ID = 4;

export class CharVocab {
  private readonly index = new Map<string, number>();
  constructor(readonly tokens: readonly string[]) {
    tokens.forEach((t, i) => this.index.set(t, i));
  }

  /** Characters seen at least `minCount` times, most frequent first, at most `maxSize` rows in all. */
  static build(texts: Iterable<string>, opts: { minCount?: number; maxSize?: number } = {}): CharVocab {
    const counts = new Map<string, number>();
    for (const t of texts) for (let i = 0; i < t.length; i++) counts.set(t[i], (counts.get(t[i]) ?? 0) + 1);
    if (counts.size === 0) throw new DatasetError('Cannot build a character vocabulary from an empty corpus', []);
    const minCount = opts.minCount ?? 2;
    const maxSize = opts.maxSize ?? 4000;
    const chars = [...counts.entries()]
      .filter(([c, n]) => n >= minCount && !/\s/.test(c))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, Math.max(0, maxSize - SPECIALS.length))
      .map(([c]) => c);
    return new CharVocab([...SPECIALS, ...chars]);
  }

  get size(): number {
    return this.tokens.length;
  }

  id(ch: string): number {
    return this.index.get(ch) ?? UNK_ID;
  }

  /** One id per UTF-16 code unit (the unit boundary vectors and tags use). */
  encode(text: string): number[] {
    const out = new Array<number>(text.length);
    for (let i = 0; i < text.length; i++) out[i] = this.id(text[i]);
    return out;
  }

  toJSON(): string[] {
    return [...this.tokens];
  }
}
