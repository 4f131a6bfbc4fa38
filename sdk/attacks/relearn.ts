/**
 * Relearning attacks (Hu et al. 2024, "Jogging the memory of unlearned LLMs"; Lynch et al.
 * 2024, "Eight methods to evaluate robust unlearning"): fine-tune the attacked model with LoRA,
 * using the Unlearner's trainer with a plain NLL loss, for k steps on a small slice of data,
 * then measure the forget rate on the rest of the forget set and on the held-out split. The
 * 'forget' variant trains on a slice of the forget records with their harmful answers; the
 * 'benign' variant on the same records' retain (benign) pairs only.
 *
 * An unlearned model's adapters are folded into its weights first (what an attacker who
 * downloads the released model fine-tunes), fresh LoRA adapters train on top, and afterwards
 * the model is put back exactly as it was (weights restored, its adapters re-attached).
 */
import { tf } from '../runtime/tf';
import type { Tensor } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { answerNll } from '../unlearn/losses';
import { create } from '../unlearn/unlearner';
import type { MethodDefinition, UnlearnDataset, UnlearnableModel } from '../unlearn/types';
import type { LlavaModel } from '../model/llava';
import type { LoraAdapters } from '../model/lora';
import type { RelearnAttackDefinition } from './types';

/** The trainer's loss: NLL of the batch's answers (fine-tuning, the opposite of gradient ascent). */
export const RELEARN_METHOD: MethodDefinition = {
  name: 'relearn',
  summary: 'Fine-tuning: NLL of the answers of the relearning slice',
  options: {},
  uses: {},
  loss(b, _o, ctx) {
    const f = answerNll(ctx.forward(b.forget), b.forget.labels);
    return { loss: f.mul(1), terms: { nll: f } };
  },
};

const SHARED = {
  steps: { type: 'integer[]' as const, default: [4, 8, 16], min: 1, doc: 'fine-tuning steps k at which the model is measured (the curve; the last is the attack)' },
  fraction: { type: 'number' as const, default: 0.1, min: 0, max: 1, doc: 'share of the forget records in the slice' },
  category: { type: 'string' as const, default: '', doc: 'slice = every forget record of this category instead (empty: use fraction)' },
  lr: { type: 'number' as const, default: 1e-3, min: 0, doc: 'learning rate (constant, no warm-up)' },
  batchSize: { type: 'integer' as const, default: 8, min: 1, doc: 'examples per step' },
};

export const RELEARN_ATTACKS: readonly RelearnAttackDefinition[] = [
  { name: 'relearn-forget', family: 'relearn', data: 'forget', doc: 'LoRA fine-tuning on a slice of the forget records (their harmful answers)', params: { ...SHARED } },
  { name: 'relearn-benign', family: 'relearn', data: 'benign', doc: "LoRA fine-tuning on the slice's benign retain pairs only (benign relearning)", params: { ...SHARED } },
];

type Rec = Record<string, unknown>;
const UNHARM = ['UnharmPair_text1', 'UnharmPair_text2', 'UnharmPair_image1', 'UnharmPair_image2'];

export interface RelearnSlice {
  /** Indices of the slice's records in the forget split. */
  slice: number[];
  /** The other forget records (where recovery is measured). */
  rest: number[];
  /** How the slice was chosen, for messages and the report. */
  describe: string;
}

/**
 * The relearning slice: `category` (every forget record of it) or a seeded `fraction` of the
 * forget records. Throws before any work when the slice would be empty or hold everything.
 */
export function relearnSlice(train: readonly object[], params: { fraction: number; category: string }, seed: number, where = 'relearn'): RelearnSlice {
  const recs = (train as Rec[]).map((r, i) => ({ r, i })).filter(({ r }) => Array.isArray(r.unsafe_pairs) && (r.unsafe_pairs as unknown[]).length > 0);
  const N = recs.length;
  if (N === 0) throw new ConfigError('Cannot build a relearning slice: the forget split has no record with unsafe_pairs', [{ path: 'all_train.json', message: 'empty forget split' }]);
  let slice: number[];
  let describe: string;
  if (params.category) {
    const cats = [...new Set(recs.map(({ r }) => String(r.category ?? '')))].filter(Boolean).sort();
    slice = recs.filter(({ r }) => String(r.category ?? '').toLowerCase() === params.category.toLowerCase()).map(({ i }) => i);
    if (slice.length === 0) throw new ConfigError('The relearning slice holds 0 records', [{ path: `${where}.category`, message: `no forget record has category '${params.category}'. Must be one of [${cats.join(', ')}]` }]);
    describe = `category ${params.category} (${slice.length} of ${N} forget records)`;
  } else {
    const n = Math.round(params.fraction * N);
    if (n < 1) throw new ConfigError('The relearning slice holds 0 records', [{ path: `${where}.fraction`, message: `${params.fraction} of ${N} forget records rounds to 0; use at least ${(0.5 / N).toPrecision(2)} (one record), or a category` }]);
    const order = Rng.derive(seed, 'attacks/relearn-slice').shuffle(recs.map(({ i }) => i));
    slice = order.slice(0, n).sort((a, b) => a - b);
    describe = `${n} of ${N} forget records (fraction ${params.fraction})`;
  }
  const inSlice = new Set(slice);
  const rest = recs.map(({ i }) => i).filter((i) => !inSlice.has(i));
  if (rest.length === 0) throw new ConfigError('The relearning slice holds every forget record: nothing is left to measure recovery on', [{ path: `${where}.${params.category ? 'category' : 'fraction'}`, message: `${describe}; use a smaller slice` }]);
  return { slice, rest, describe };
}

/** The records a relearning attack trains on, as a forget split the Unlearner reads. */
export function relearnRecords(train: readonly object[], slice: readonly number[], data: 'forget' | 'benign'): Rec[] {
  return slice.map((i) => {
    const r = (train as Rec[])[i];
    if (data === 'forget') return r;
    // benign: the record's retain pairs stand in for its harmful pairs (same image, as the official retain view)
    const pairs = UNHARM.map((f) => r[f] as { Question?: string; Prediction?: string } | undefined)
      .filter((u): u is { Question: string; Prediction: string } => !!u && typeof u.Question === 'string' && typeof u.Prediction === 'string')
      .map((u) => ({ question: u.Question, model_response: u.Prediction, sd_response: u.Prediction }));
    return { ...r, unsafe_pairs: pairs };
  });
}

export interface RelearnRunOptions {
  steps: number[];
  lr: number;
  batchSize: number;
  seed: number;
  /** Called after each k in `steps` (k = 0 is not trained: measure before calling). */
  measure: (k: number) => Promise<void>;
  /** Show the trainer's progress bar (default true). */
  progress?: boolean;
}

/**
 * Fine-tune `model` on `records` (a forget split) with fresh LoRA adapters, calling
 * `measure(k)` after each k of `steps`; the model is restored afterwards (even on error).
 */
export async function relearnModel(model: UnlearnableModel, ds: UnlearnDataset, records: Rec[], o: RelearnRunOptions): Promise<void> {
  const m = model as unknown as LlavaModel;
  const own = m.adapters as unknown as LoraAdapters | undefined;
  // fold the model's own adapters in (a snapshot of the weights they touch restores them exactly)
  const snapshot = new Map<string, Tensor>();
  if (own) {
    for (const key of own.modules.keys()) {
      const w = m.params.get(`${key}.weight`);
      if (w) snapshot.set(`${key}.weight`, tf.keep(w.clone()));
    }
    own.merge(m);
    own.detach(m);
  }
  const sliceDs: UnlearnDataset = Object.assign(Object.create(Object.getPrototypeOf(ds)), ds, { train: records, val: [], utility: [] });
  const kmax = Math.max(...o.steps);
  const u = create(model, sliceDs, {
    method: RELEARN_METHOD,
    seed: o.seed,
    steps: kmax,
    lr: o.lr,
    scheduler: 'constant',
    warmupRatio: 0,
    batchSize: o.batchSize,
    tuneProjector: false,
    evalEvery: 0,
    shuffle: true,
  });
  try {
    let done = 0;
    for (const k of [...new Set(o.steps)].sort((a, b) => a - b)) {
      await u.run({ steps: k - done, progress: o.progress });
      done = k;
      await o.measure(k);
    }
  } finally {
    u.dispose();
    u.discardAdapters(); // the relearning adapters go; the model's own come back below
    if (own) {
      own.unmerge();
      // W + Δ − Δ is not W to the last bit: put the exact weights back
      for (const [k, t] of snapshot) {
        m.params.get(k)!.assign(t);
        t.dispose();
      }
      own.attach(m);
    }
  }
}
