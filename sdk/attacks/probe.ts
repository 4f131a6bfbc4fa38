/**
 * Scoring a model under an attack: the metrics layer's `evaluate` (same judge, same
 * forget-rate threshold, same records) with the query or image of every probe rewritten.
 * Transformed images are written once per (attack, parameters, source image) and shared by
 * every model attacked after it.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evaluate, responderFromModel, type EvalDataset, type GenerativeModelLike, type Responder } from '../metrics/evaluate';
import type { SampleKind } from '../metrics/types';
import { rowsOfSummary } from './frame';
import { writeFileAtomic } from '../runtime/fsutil';
import type { ImageAttackDefinition, PromptAttackDefinition, ResolvedAttack, TransformContext } from './types';

export interface ProbeOptions {
  split: 'train' | 'val';
  kinds: readonly SampleKind[];
  limit?: number;
  maxNewTokens: number;
  seed: number;
  judge?: string | import('../judge/types').Judge;
  /** Prompts per generation call (default 32). */
  batchSize?: number;
}

/** metric → {value, n} of one evaluation. */
export type MetricValues = Map<string, { value: number; n: number }>;

interface ProbeMeta {
  category: string;
  keyword: string;
  rel: string;
}

/** id → what a transformation needs to know about the probe's record, for one split. */
function probeMeta(ds: EvalDataset, split: 'train' | 'val'): Map<string, ProbeMeta> {
  const recs = split === 'train' ? ds.train : ds.val;
  const out = new Map<string, ProbeMeta>();
  recs.forEach((r, i) => {
    let category = typeof r.category === 'string' ? r.category : '';
    try {
      if (ds.categoryOf) category = String(ds.categoryOf(split, i));
    } catch {
      /* keep the field */
    }
    const keyword = typeof r.keyword === 'string' && r.keyword ? r.keyword : category;
    out.set(`${split}/${i}`, { category, keyword, rel: r.image_path });
  });
  return out;
}

function recordKey(id: string): string {
  return id.split('/').slice(0, 2).join('/');
}

/** Where transformed images go (default: a folder under the OS temp dir). */
export function defaultImageDir(): string {
  return path.join(os.tmpdir(), 'eraserlab-attack-images');
}

/**
 * A cache of transformed images: `<dir>/<attack>-<params hash>/<source hash>.png`, written
 * atomically; the same source, attack and parameters always give the same file.
 */
export class ImageCache {
  private readonly memo = new Map<string, Promise<string>>();
  constructor(readonly dir: string = defaultImageDir()) {}

  get(attack: ResolvedAttack<ImageAttackDefinition>, source: string, ctx: TransformContext): Promise<string> {
    const ph = crypto.createHash('sha256').update(JSON.stringify([attack.def.name, attack.params, ctx.seed])).digest('hex').slice(0, 10);
    const key = `${attack.def.name}|${ph}|${source}|${ctx.keyword}`;
    let p = this.memo.get(key);
    if (!p) {
      p = (async () => {
        const src = fs.readFileSync(source);
        const sh = crypto.createHash('sha256').update(src).update(ctx.keyword).digest('hex').slice(0, 16);
        const file = path.join(this.dir, `${attack.def.name}-${ph}`, `${sh}.png`);
        if (!fs.existsSync(file)) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          writeFileAtomic(file, await attack.def.apply(src, attack.params, { ...ctx, id: sh }));
        }
        return file;
      })();
      this.memo.set(key, p);
    }
    return p;
  }
}

/** A responder that rewrites each prompt (query and/or image) before the model answers it. */
export function attackedResponder(
  base: Responder,
  meta: Map<string, ProbeMeta>,
  seed: number,
  prompt?: ResolvedAttack<PromptAttackDefinition>,
  image?: { attack: ResolvedAttack<ImageAttackDefinition>; cache: ImageCache },
): Responder {
  return {
    async respond(prompts, o) {
      const rewritten = await Promise.all(
        prompts.map(async (p) => {
          const m = meta.get(recordKey(p.id)) ?? { category: '', keyword: '', rel: '' };
          const ctx: TransformContext = { category: m.category, keyword: m.keyword, id: p.id, seed };
          const question = prompt ? prompt.def.transform(p.question, prompt.params, ctx) : p.question;
          const img = image && p.image ? await image.cache.get(image.attack, p.image, ctx) : p.image;
          return { ...p, question, image: img };
        }),
      );
      return base.respond(rewritten, o);
    },
  };
}

/** Evaluate `model` on a split with an optional prompt and/or image attack applied to every probe. */
export async function scoreUnder(
  model: GenerativeModelLike,
  ds: EvalDataset,
  o: ProbeOptions & { prompt?: ResolvedAttack<PromptAttackDefinition>; image?: { attack: ResolvedAttack<ImageAttackDefinition>; cache: ImageCache } },
): Promise<MetricValues> {
  const responder = o.prompt || o.image ? attackedResponder(responderFromModel(model), probeMeta(ds, o.split), o.seed, o.prompt, o.image) : undefined;
  const r = await evaluate(model, ds, { split: o.split, kinds: o.kinds, limit: o.limit, maxNewTokens: o.maxNewTokens, seed: o.seed, preset: 'greedy', judge: o.judge ?? 'rules', responder, batchSize: o.batchSize ?? 32 });
  const out: MetricValues = new Map();
  for (const row of rowsOfSummary(r.summary)) out.set(row.metric, { value: row.value, n: row.n });
  return out;
}
