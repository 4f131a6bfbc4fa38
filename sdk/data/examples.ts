/**
 * Views of a dataset as supervised / probe examples, and seeded batching (each
 * forget sample is paired with a retain sample drawn with a seed, docs/data.md). Tokenisation is the
 * model's processor (`LlavaProcessor.encode(examples)`); this layer only produces `Example` lists.
 */
import { Rng, DEFAULT_SEED } from '../runtime/rng';
import { ConfigError } from '../runtime/errors';
import type { SafeEraserDataset, Split } from './dataset';
import { UNHARM_FIELDS } from './schema';

export type ExampleKind = 'forget' | 'sd' | 'retain_text' | 'retain_image' | 'utility' | 'refusal' | 'aligned';
export const EXAMPLE_KINDS: readonly ExampleKind[] = ['forget', 'sd', 'retain_text', 'retain_image', 'utility', 'refusal', 'aligned'];

/** One supervised or probe example. `image` is an ABSOLUTE path, or undefined for text-only. */
export interface Example {
  /** `<split>/<record>/<kind>/<pair>`, `utility/<item id>` or `aligned/<item id>`. */
  id: string;
  kind: ExampleKind;
  split: 'train' | 'val' | 'utility' | 'aligned';
  record: number;
  pair?: number;
  category?: string;
  image?: string;
  question: string;
  answer: string;
}

export interface ExamplesOptions {
  /** For kind 'refusal': seed of the refusal drawn for each example (default 233). */
  seed?: number;
}

/**
 * The examples of one kind:
 * - `forget`: harmful image + harmful query → `model_response` (one per unsafe pair)
 * - `sd`: benign `SDImage_path` + the same query → `sd_response` (the PD target; SARR probes)
 * - `refusal`: harmful image + harmful query → a refusal from prompt.json, drawn with `seed` (PO target)
 * - `retain_text`: `UnharmPair_text1/2`, text only; `retain_image`: `UnharmPair_image1/2` on the harmful image
 * - `utility`: the utility items (the `split` argument is ignored; `split` is 'utility')
 * - `aligned`: the already-aligned concepts of `aligned.json` (harmful image + query → refusal;
 *   the `split` argument is ignored; `split` is 'aligned'): the vanilla model's pretraining only
 */
export function examples(ds: SafeEraserDataset, split: Split | 'utility' | 'aligned', kind: ExampleKind, opts: ExamplesOptions = {}): Example[] {
  if (!EXAMPLE_KINDS.includes(kind)) {
    throw new ConfigError(`Unknown example kind '${String(kind)}'. Must be one of [${EXAMPLE_KINDS.join(', ')}]`);
  }
  // the item files (utility.json, aligned.json): one example per item, split named after the file
  if (kind === 'aligned' || kind === 'utility') {
    return (kind === 'aligned' ? ds.aligned : ds.utility).map((u, i) => ({
      id: `${kind}/${u.id}`,
      kind,
      split: kind,
      record: i,
      pair: 0,
      category: u.kind,
      image: ds.imagePath(u.image_path),
      question: u.question,
      answer: u.answer,
    }));
  }
  if (split !== 'train' && split !== 'val') {
    throw new ConfigError(`Unknown split '${String(split)}' for kind '${kind}'. Must be one of [train, val]`);
  }
  const out: Example[] = [];
  const rng = kind === 'refusal' ? Rng.derive(opts.seed ?? DEFAULT_SEED, `refusal/${split}`) : undefined;
  if (kind === 'refusal' && ds.refusals.length === 0) throw new ConfigError('The dataset has no refusals (prompt.json idk is empty)');
  ds.records(split).forEach((r, i) => {
    const category = ds.categoryOf(split, i);
    const base = { split, record: i, category } as const;
    if (kind === 'forget' || kind === 'sd' || kind === 'refusal') {
      r.unsafe_pairs.forEach((p, j) => {
        out.push({
          ...base,
          id: `${split}/${i}/${kind}/${j}`,
          kind,
          pair: j,
          image: ds.imagePath(kind === 'sd' ? r.SDImage_path : r.image_path),
          question: p.question,
          answer: kind === 'forget' ? p.model_response : kind === 'sd' ? p.sd_response : (rng as Rng).pick(ds.refusals),
        });
      });
    } else {
      const fields = kind === 'retain_text' ? UNHARM_FIELDS.slice(0, 2) : UNHARM_FIELDS.slice(2);
      fields.forEach((f, j) => {
        const u = r[f];
        out.push({
          ...base,
          id: `${split}/${i}/${kind}/${j}`,
          kind,
          pair: j,
          image: kind === 'retain_image' ? ds.imagePath(r.image_path) : undefined,
          question: u.Question,
          answer: u.Prediction,
        });
      });
    }
  });
  return out;
}

export interface ForgetRetainPair {
  forget: Example;
  retain: Example;
}

/**
 * Pair each forget example with a retain example drawn from `retainPool` with `seed`. Draws go
 * through seeded shuffles of the pool, one after another, so every retain example is used
 * before any repeats (a plain with-replacement draw leaves some unused).
 */
export function pairForgetWithRetain(forget: readonly Example[], retainPool: readonly Example[], seed = DEFAULT_SEED): ForgetRetainPair[] {
  return new PairedSampler(forget, retainPool, { seed }).pairs();
}

/**
 * Seeded forget↔retain pairing that can be drawn again each epoch: `pairs(epoch)` is a pure
 * function of (seed, epoch), so a resumed run re-creates the same pairs.
 */
export class PairedSampler {
  readonly seed: number;
  constructor(
    readonly forget: readonly Example[],
    readonly retainPool: readonly Example[],
    opts: { seed?: number } = {},
  ) {
    this.seed = opts.seed ?? DEFAULT_SEED;
    if (forget.length > 0 && retainPool.length === 0) {
      throw new ConfigError('Cannot pair forget examples with retain examples: the retain pool is empty');
    }
  }

  pairs(epoch = 0): ForgetRetainPair[] {
    const rng = Rng.derive(this.seed, `pair/${epoch}`);
    const out: ForgetRetainPair[] = [];
    let order: Example[] = [];
    for (const f of this.forget) {
      if (order.length === 0) order = rng.shuffle(this.retainPool);
      out.push({ forget: f, retain: order.pop() as Example });
    }
    return out;
  }
}

export interface BatchOptions {
  shuffle?: boolean;
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
}

/** Split `items` into batches of `batchSize`, optionally shuffled with `seed` (default 233). */
export function batches<T>(items: readonly T[], batchSize: number, opts: BatchOptions = {}): T[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  const order = opts.shuffle ? Rng.derive(opts.seed ?? DEFAULT_SEED, 'batches').shuffle(items) : items.slice();
  const out: T[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (opts.dropLast && b.length < batchSize) break;
    out.push(b);
  }
  return out;
}

/** One unlearning step's inputs: aligned forget / PD (sd) / PO (refusal) rows plus paired retain rows. */
export interface TrainingBatch {
  forget: Example[];
  /** The benign-image twin of each forget example (same record, pair and query): PD's input. */
  pd: Example[];
  /** The same forget inputs with a refusal as the answer: PO's target. */
  refusal: Example[];
  retain: Example[];
}

export interface TrainingBatchOptions {
  split?: Split;
  batchSize: number;
  seed?: number;
  shuffle?: boolean;
  epoch?: number;
  /** Which retain kinds form the pool (default both). */
  retainKinds?: ('retain_text' | 'retain_image')[];
  dropLast?: boolean;
}

/**
 * The forget / retain / PD / PO views, batched: the seam the unlearning trainer consumes and
 * hands to the model's processor. Seeded by (seed, epoch): pairing and shuffling change per
 * epoch, reproducibly.
 */
export function trainingBatches(ds: SafeEraserDataset, opts: TrainingBatchOptions): TrainingBatch[] {
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? DEFAULT_SEED;
  const epoch = opts.epoch ?? 0;
  const forget = examples(ds, split, 'forget');
  const sd = examples(ds, split, 'sd');
  const refusal = examples(ds, split, 'refusal', { seed: seed + epoch });
  const pool = (opts.retainKinds ?? ['retain_text', 'retain_image']).flatMap((k) => examples(ds, split, k));
  const pairs = new PairedSampler(forget, pool, { seed }).pairs(epoch);
  const idx = pairs.map((_, i) => i);
  return batches(idx, opts.batchSize, { shuffle: opts.shuffle ?? true, seed: seed + 7919 * epoch, dropLast: opts.dropLast }).map((b) => ({
    forget: b.map((i) => pairs[i].forget),
    pd: b.map((i) => sd[i]),
    refusal: b.map((i) => refusal[i]),
    retain: b.map((i) => pairs[i].retain),
  }));
}
