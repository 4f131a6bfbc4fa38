/**
 * The sample gallery of the main job's report: which method it shows and which prompts.
 */
import type { SafeEraserDataset } from '../data/dataset';
import type { GallerySample } from '../plots/figures';
import type { Row } from './report';

/** The method the gallery shows: po+pd, else the first method with PD, else the last one. */
export function galleryMethodOf(methods: readonly string[]): string | undefined {
  return methods.find((m) => /^po\+pd$/.test(m)) ?? methods.find((m) => m.endsWith('+pd')) ?? methods[methods.length - 1];
}

/** Gallery rows: harmful prompts, the vanilla response and the response after `method`. */
export function galleryRows(ds: SafeEraserDataset, before: Row[], after: Row[], n = 6): GallerySample[] {
  const pick = (rows: Row[]) => new Map(rows.filter((r) => r.kind === 'harmful' && r.split === 'val' && Number(r.sample) === 0).map((r) => [String(r.id), r]));
  const b = pick(before);
  const a = pick(after);
  const out: GallerySample[] = [];
  // one per category first, so the gallery spans the benchmark
  const seenCats = new Set<string>();
  const ids = [...b.keys()].filter((id) => a.has(id));
  const ordered = [...ids.filter((id) => Number(b.get(id)!.pair) === 0), ...ids.filter((id) => Number(b.get(id)!.pair) !== 0)];
  for (const pass of [0, 1]) {
    for (const id of ordered) {
      if (out.length >= n) break;
      const r = b.get(id)!;
      const cat = String(r.category);
      if (pass === 0 && seenCats.has(cat)) continue;
      if (out.some((o) => o.caption?.endsWith(id))) continue;
      seenCats.add(cat);
      const rec = ds.val[Number(r.record)];
      out.push({
        image: rec ? ds.imagePath(rec.image_path) : undefined,
        question: String(r.question),
        before: String(r.response),
        after: String(a.get(id)!.response),
        caption: `${cat} · ${id}`,
      });
    }
  }
  return out;
}
