/**
 * Silver segmentation labels from jieba (`@node-rs/jieba`, precise mode, HMM off so that
 * labels come from the dictionary only and are deterministic). Whitespace tokens are dropped:
 * the segmented text is the sentence without its spaces. Silver F1 therefore measures
 * agreement with jieba, not correctness (docs/babert.md).
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';

let jieba: Jieba | undefined;

/** Segment sentences with jieba's default dictionary. */
export function jiebaSegment(sentences: readonly string[], opts: { hmm?: boolean } = {}): string[][] {
  jieba ??= Jieba.withDict(dict);
  const j = jieba;
  return sentences.map((s) => j.cut(s, opts.hmm ?? false).flatMap((w) => w.split(/\s+/)).filter((w) => w.length > 0));
}
