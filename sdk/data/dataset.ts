/**
 * Load and save SafeEraser dataset folders exactly as the official release lays them out
 * (docs/data.md): `all_train.json` (forget), `all_val.json` (held out), `prompt.json` (refusals)
 * and images resolved relative to the folder; plus our optional `utility.json`.
 *
 * Every problem found is collected and reported at once as one `DatasetError` naming file,
 * record index and field.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DataFrame } from 'danfojs-node';
import { DatasetError, DatasetIssue } from '../runtime/errors';
import { writeDirAtomic } from '../runtime/fsutil';
import { probeImage } from './images';
import {
  CATEGORIES,
  Category,
  FILES,
  SafeEraserRecord,
  UNHARM_FIELDS,
  UtilityItem,
  AlignedItem,
  normaliseCategory,
} from './schema';
import { describeZodIssue, promptSchema, recordSchema, utilityItemSchema } from './validate';

export type Split = 'train' | 'val';

/** What `SafeEraserDataset.counts()` returns. */
export interface DatasetCounts {
  records: { train: number; val: number };
  /** `unsafe_pairs` entries (each one harmful query with its forget and benign answers). */
  unsafePairs: { train: number; val: number };
  /** `UnharmPair_*` entries (4 per record). */
  retainPairs: { train: number; val: number };
  utility: number;
  refusals: number;
  /** unsafe pairs + retain pairs + utility items: the dataset's QA pairs. */
  qaPairs: number;
  /** Distinct image files referenced (harmful, benign and utility). */
  images: number;
  byCategory: Record<Category, { train: number; val: number }>;
}

/** Columns of `SafeEraserDataset.toFrame()`, in order (one row per QA pair, see docs/data.md). */
export const FRAME_COLUMNS = ['id', 'split', 'record', 'category', 'keyword', 'kind', 'pair', 'image', 'question', 'answer'] as const;

/** A loaded SafeEraser dataset. Records are the objects as read (unknown fields kept). */
export class SafeEraserDataset {
  /** Absolute path of the dataset folder; image paths resolve relative to it. */
  readonly dir: string;
  /** `all_train.json`: the forget set (efficacy). */
  train: SafeEraserRecord[];
  /** `all_val.json`: held out (generality, ROUGE, judge score, SARR). */
  val: SafeEraserRecord[];
  /** `prompt.json` `idk`: refusal sentences (PO targets). */
  refusals: string[];
  /** Our `utility.json`: general VQA items for specificity; `[]` when the file is absent. */
  utility: UtilityItem[];
  /**
   * Our `aligned.json`: harmful images of already-aligned concepts (disjoint from the forget and
   * held-out concepts) with a query and a refusal; only the vanilla model's pretraining uses
   * them. `[]` when the file is absent (the official release has none).
   */
  aligned: AlignedItem[];

  constructor(init: { dir: string; train: SafeEraserRecord[]; val: SafeEraserRecord[]; refusals: string[]; utility?: UtilityItem[]; aligned?: AlignedItem[] }) {
    this.dir = path.resolve(init.dir);
    this.train = init.train;
    this.val = init.val;
    this.refusals = init.refusals;
    this.utility = init.utility ?? [];
    this.aligned = init.aligned ?? [];
  }

  records(split: Split): SafeEraserRecord[] {
    if (split !== 'train' && split !== 'val') throw new RangeError(`Unknown split '${String(split)}'. Must be one of [train, val]`);
    return split === 'train' ? this.train : this.val;
  }

  /** Category of record `i`: the image's parent folder (official), else the `category` field. */
  categoryOf(split: Split, i: number): Category {
    const rec = this.records(split)[i];
    if (!rec) throw new RangeError(`${split} has ${this.records(split).length} records; no record ${i}`);
    const c = recordCategory(rec);
    if (!c.category) {
      const file = split === 'train' ? FILES.train : FILES.val;
      throw new DatasetError(`Cannot tell the category of ${file}[${i}]`, [
        { path: `${file}[${i}].${c.field}`, file, record: i, field: c.field, message: c.message },
      ]);
    }
    return c.category;
  }

  /**
   * Absolute path of an image path as written in the files: relative to the folder, or (the
   * official repository's layout) relative to the folder above it, starting with the folder's
   * own name (`dataset/Violence/1.png` in `<repo>/dataset`).
   */
  imagePath(rel: string): string {
    return resolveImagePath(this.dir, rel);
  }

  counts(): DatasetCounts {
    const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, { train: 0, val: 0 }])) as DatasetCounts['byCategory'];
    const images = new Set<string>();
    const out: DatasetCounts = {
      records: { train: this.train.length, val: this.val.length },
      unsafePairs: { train: 0, val: 0 },
      retainPairs: { train: 0, val: 0 },
      utility: this.utility.length,
      refusals: this.refusals.length,
      qaPairs: 0,
      images: 0,
      byCategory,
    };
    for (const split of ['train', 'val'] as const) {
      this.records(split).forEach((r, i) => {
        out.unsafePairs[split] += r.unsafe_pairs.length;
        out.retainPairs[split] += UNHARM_FIELDS.length;
        byCategory[this.categoryOf(split, i)][split] += 1;
        images.add(this.imagePath(r.image_path));
        images.add(this.imagePath(r.SDImage_path));
      });
    }
    for (const u of this.utility) images.add(this.imagePath(u.image_path));
    out.images = images.size;
    out.qaPairs = out.unsafePairs.train + out.unsafePairs.val + out.retainPairs.train + out.retainPairs.val + out.utility;
    return out;
  }

  /**
   * One row per QA pair (columns `FRAME_COLUMNS`): for every record its `forget` rows (harmful
   * image + query → model_response), `sd` rows (benign image + the same query → sd_response),
   * `retain_text` and `retain_image` rows, then the `utility` rows. `image` is the path as
   * written in the files ('' for text-only rows); `category`/`keyword` are '' where unknown.
   */
  toFrame(): DataFrame {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const dfd = require('danfojs-node') as typeof import('danfojs-node');
    const cols: Record<(typeof FRAME_COLUMNS)[number], (string | number)[]> = {
      id: [], split: [], record: [], category: [], keyword: [], kind: [], pair: [], image: [], question: [], answer: [],
    };
    const push = (row: Record<(typeof FRAME_COLUMNS)[number], string | number>) => {
      for (const k of FRAME_COLUMNS) cols[k].push(row[k]);
    };
    for (const split of ['train', 'val'] as const) {
      this.records(split).forEach((r, i) => {
        const base = { split, record: i, category: this.categoryOf(split, i), keyword: r.keyword ?? '' };
        r.unsafe_pairs.forEach((p, j) =>
          push({ ...base, id: `${split}/${i}/forget/${j}`, kind: 'forget', pair: j, image: r.image_path, question: p.question, answer: p.model_response }),
        );
        r.unsafe_pairs.forEach((p, j) =>
          push({ ...base, id: `${split}/${i}/sd/${j}`, kind: 'sd', pair: j, image: r.SDImage_path, question: p.question, answer: p.sd_response }),
        );
        UNHARM_FIELDS.forEach((f, k) => {
          const text = k < 2;
          const u = r[f];
          push({
            ...base,
            id: `${split}/${i}/${text ? 'retain_text' : 'retain_image'}/${k % 2}`,
            kind: text ? 'retain_text' : 'retain_image',
            pair: k % 2,
            image: text ? '' : r.image_path,
            question: u.Question,
            answer: u.Prediction,
          });
        });
      });
    }
    this.utility.forEach((u, i) =>
      push({ id: `utility/${u.id}`, split: 'utility', record: i, category: '', keyword: u.kind, kind: 'utility', pair: 0, image: u.image_path, question: u.question, answer: u.answer }),
    );
    return new dfd.DataFrame(cols as unknown as Record<string, unknown[]>, { columns: [...FRAME_COLUMNS] } as never);
  }
}

/** Category of a record: parent folder of `image_path` when it names a category, else the `category` field. */
export function recordCategory(rec: { image_path?: unknown; category?: unknown }): {
  category?: Category;
  field: string;
  message: string;
} {
  const imagePath = typeof rec.image_path === 'string' ? rec.image_path : '';
  const folder = path.basename(path.dirname(imagePath.replace(/\\/g, '/')));
  const fromFolder = folder && folder !== '.' ? normaliseCategory(folder) : undefined;
  if (typeof rec.category === 'string' && rec.category !== '') {
    const fromField = normaliseCategory(rec.category);
    if (!fromField) {
      return { field: 'category', message: `unknown category '${rec.category}'. Must be one of [${CATEGORIES.join(', ')}]` };
    }
    return { category: fromFolder ?? fromField, field: 'category', message: '' };
  }
  if (fromFolder) return { category: fromFolder, field: 'image_path', message: '' };
  return {
    field: 'image_path',
    message: `unknown category: the image's parent folder '${folder === '.' ? '' : folder}' is not a category and the record has no 'category' field. Must be one of [${CATEGORIES.join(', ')}]`,
  };
}

export interface DatasetLoadOptions {
  /**
   * Also open every image with sharp (header decode) and report files that are not images.
   * Off by default (the existence check always runs); `loadImage` reports a corrupt file when
   * it meets one anyway.
   */
  checkImages?: boolean;
}

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: pos - last };
}

/** Read and parse a JSON file, recording a "not found" or "invalid JSON at line L, column C" issue. */
function readJson(dir: string, file: string, issues: DatasetIssue[], required = true): { ok: boolean; value?: unknown } {
  const abs = path.join(dir, file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8').replace(/^\uFEFF/, ''); // tolerate a UTF-8 byte-order mark
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (required) {
        issues.push({
          path: file,
          file,
          message: `file not found (a SafeEraser dataset folder holds ${FILES.train}, ${FILES.val} and ${FILES.prompt})`,
        });
      }
    } else issues.push({ path: file, file, message: `cannot read: ${(e as Error).message}` });
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : text.length;
    const { line, column } = lineCol(text, pos);
    const reason = msg.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
    issues.push({ path: file, file, message: `invalid JSON at line ${line}, column ${column}: ${reason}` });
    return { ok: false };
  }
}

interface ImageRef {
  file: string;
  record: number;
  field: string;
  rel: string;
}

/**
 * Where an image path of the files points. Relative to the dataset folder; but the official
 * SafeEraser code opens `image_path` from its repository root with the dataset at `dataset/`,
 * so a path whose first segment is the folder's own name and that does not exist inside the
 * folder is read relative to the folder's parent.
 */
export function resolveImagePath(dir: string, rel: string): string {
  const direct = path.resolve(dir, rel);
  const segments = rel.replace(/\\/g, '/').split('/').filter((x) => x !== '' && x !== '.');
  if (segments.length > 1 && segments[0] === path.basename(dir) && !fs.existsSync(direct)) {
    const viaParent = path.resolve(path.dirname(dir), rel);
    if (fs.existsSync(viaParent)) return viaParent;
  }
  return direct;
}

/** Resolve an image path inside `dir`, or explain why it is not acceptable. */
function checkImagePath(dir: string, rel: string): { abs?: string; problem?: string } {
  const abs = resolveImagePath(dir, rel);
  const inside = path.relative(dir, abs);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    return { problem: `path '${rel}' escapes the dataset folder` };
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch {
    return { problem: `image '${rel}' not found in the dataset folder` };
  }
  if (!st.isFile()) return { problem: `image '${rel}' is not a file` };
  return { abs };
}

function validateRecords(dir: string, file: string, value: unknown, issues: DatasetIssue[], refs: ImageRef[]): SafeEraserRecord[] {
  if (!Array.isArray(value)) {
    issues.push({ path: file, file, message: `expected a JSON array of records, got ${value === null ? 'null' : typeof value}` });
    return [];
  }
  value.forEach((rec, i) => {
    const where = `${file}[${i}]`;
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      issues.push({ path: where, file, record: i, message: `expected an object, got ${rec === null ? 'null' : Array.isArray(rec) ? 'array' : typeof rec}` });
      return;
    }
    const r = recordSchema.safeParse(rec, { reportInput: true });
    const bad = new Set<string>();
    if (!r.success) {
      for (const zi of r.error.issues) {
        const field = fieldPath(zi.path);
        bad.add(String(zi.path[0]));
        issues.push({ path: `${where}.${field}`, file, record: i, field, message: describeZodIssue(zi as never) });
      }
    }
    const o = rec as Record<string, unknown>;
    for (const f of ['image_path', 'SDImage_path'] as const) {
      if (bad.has(f) || typeof o[f] !== 'string') continue;
      refs.push({ file, record: i, field: f, rel: o[f] as string });
    }
    if (!bad.has('image_path') && !bad.has('category')) {
      const c = recordCategory(o);
      if (!c.category) issues.push({ path: `${where}.${c.field}`, file, record: i, field: c.field, message: c.message });
    }
  });
  return value as SafeEraserRecord[];
}

function fieldPath(parts: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/**
 * Read a SafeEraser dataset folder. Throws one `DatasetError` listing every problem: missing
 * file, invalid JSON (line/column), missing field or wrong type, empty `unsafe_pairs`, image
 * path missing or escaping the folder, unknown category, and (with `checkImages`) files that
 * are not images.
 */
export async function loadSafeEraser(dir: string, opts: DatasetLoadOptions = {}): Promise<SafeEraserDataset> {
  const root = path.resolve(dir);
  const issues: DatasetIssue[] = [];
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new DatasetError(`Cannot load SafeEraser dataset ${root}`, [
      { path: root, message: `folder not found (a SafeEraser dataset folder holds ${FILES.train}, ${FILES.val} and ${FILES.prompt})` },
    ]);
  }
  const refs: ImageRef[] = [];
  const trainJ = readJson(root, FILES.train, issues);
  const train = trainJ.ok ? validateRecords(root, FILES.train, trainJ.value, issues, refs) : [];
  const valJ = readJson(root, FILES.val, issues);
  const val = valJ.ok ? validateRecords(root, FILES.val, valJ.value, issues, refs) : [];
  const promptJ = readJson(root, FILES.prompt, issues);
  let refusals: string[] = [];
  if (promptJ.ok) {
    const p = promptSchema.safeParse(promptJ.value, { reportInput: true });
    if (p.success) refusals = (promptJ.value as { idk: string[] }).idk;
    else {
      for (const zi of p.error.issues) {
        const field = fieldPath(zi.path);
        issues.push({ path: field ? `${FILES.prompt}.${field}` : FILES.prompt, file: FILES.prompt, field: field || undefined, message: describeZodIssue(zi as never) });
      }
    }
  }
  const readItems = (file: string): UtilityItem[] => {
    const j = readJson(root, file, issues, false);
    if (!j.ok) return [];
    if (!Array.isArray(j.value)) {
      issues.push({ path: file, file, message: `expected a JSON array of items, got ${typeof j.value}` });
      return [];
    }
    j.value.forEach((item, i) => {
      const u = utilityItemSchema.safeParse(item, { reportInput: true });
      if (!u.success) {
        for (const zi of u.error.issues) {
          const field = fieldPath(zi.path);
          issues.push({ path: `${file}[${i}]${field ? '.' + field : ''}`, file, record: i, field: field || undefined, message: describeZodIssue(zi as never) });
        }
      } else refs.push({ file, record: i, field: 'image_path', rel: (item as UtilityItem).image_path });
    });
    return j.value as UtilityItem[];
  };
  const utility = readItems(FILES.utility);
  const aligned = readItems(FILES.aligned) as AlignedItem[];
  // Images: every referenced path must stay inside the folder and exist.
  const seen = new Map<string, string | undefined>();
  const toDecode = new Map<string, ImageRef[]>();
  for (const ref of refs) {
    let res = seen.get(ref.rel);
    let abs: string | undefined;
    if (!seen.has(ref.rel)) {
      const c = checkImagePath(root, ref.rel);
      res = c.problem;
      abs = c.abs;
      seen.set(ref.rel, res);
    } else abs = res ? undefined : resolveImagePath(root, ref.rel);
    if (res) issues.push({ path: `${ref.file}[${ref.record}].${ref.field}`, file: ref.file, record: ref.record, field: ref.field, message: res });
    else if (opts.checkImages && abs) {
      const list = toDecode.get(abs) ?? [];
      list.push(ref);
      toDecode.set(abs, list);
    }
  }
  if (opts.checkImages && toDecode.size > 0) {
    const entries = [...toDecode.entries()];
    const problems = new Map<string, string>();
    const width = 8;
    for (let k = 0; k < entries.length; k += width) {
      await Promise.all(
        entries.slice(k, k + width).map(async ([abs]) => {
          const p = await probeImage(abs);
          if (p) problems.set(abs, p);
        }),
      );
    }
    for (const [abs, list] of entries) {
      const p = problems.get(abs);
      if (!p) continue;
      for (const ref of list) {
        issues.push({ path: `${ref.file}[${ref.record}].${ref.field}`, file: ref.file, record: ref.record, field: ref.field, message: `'${ref.rel}' is not a readable image (${p})` });
      }
    }
  }
  if (issues.length > 0) {
    // Stable order: by file (train, val, prompt, utility), then record, then the order found.
    const order: string[] = [FILES.train, FILES.val, FILES.prompt, FILES.utility, FILES.aligned];
    const idx = issues.map((x, i) => ({ x, i }));
    idx.sort((a, b) => order.indexOf(a.x.file ?? '') - order.indexOf(b.x.file ?? '') || (a.x.record ?? -1) - (b.x.record ?? -1) || a.i - b.i);
    throw new DatasetError(`Cannot load SafeEraser dataset ${root}`, idx.map((e) => e.x));
  }
  return new SafeEraserDataset({ dir: root, train, val, refusals, utility, aligned });
}

/**
 * Write `ds` to `dir` in the same format (JSON files + every referenced image copied from
 * `ds.dir`), atomically: a temp folder beside `dir`, then a rename, so a failed save never
 * leaves a half-written dataset. Image paths are written as `prefix` + the image's path inside
 * `ds.dir` (no prefix by default: relative to the new folder; `prefix: 'dataset/'` gives the
 * official repository's layout, read from its root). `utility.json` is written only when
 * `ds.utility` is non-empty. Saving onto `ds.dir` itself is allowed.
 */
export async function saveSafeEraser(ds: SafeEraserDataset, dir: string, opts: { prefix?: string } = {}): Promise<void> {
  const target = path.resolve(dir);
  const prefix = opts.prefix ?? '';
  const rels = new Set<string>();
  for (const r of [...ds.train, ...ds.val]) {
    rels.add(r.image_path);
    rels.add(r.SDImage_path);
  }
  for (const u of [...ds.utility, ...ds.aligned]) rels.add(u.image_path);
  // where each path as written points inside ds.dir (checked before anything is written)
  const inside = new Map<string, { abs: string; rel: string }>();
  for (const rel of rels) {
    const c = checkImagePath(ds.dir, rel);
    if (c.problem) throw new DatasetError(`Cannot save SafeEraser dataset to ${target}`, [{ path: rel, message: c.problem }]);
    inside.set(rel, { abs: c.abs as string, rel: path.relative(ds.dir, c.abs as string).split(path.sep).join('/') });
  }
  const written = (rel: string) => prefix + (inside.get(rel) as { rel: string }).rel;
  const train = ds.train.map((r) => ({ ...r, image_path: written(r.image_path), SDImage_path: written(r.SDImage_path) }));
  const val = ds.val.map((r) => ({ ...r, image_path: written(r.image_path), SDImage_path: written(r.SDImage_path) }));
  const utility = ds.utility.map((u) => ({ ...u, image_path: written(u.image_path) }));
  const aligned = ds.aligned.map((u) => ({ ...u, image_path: written(u.image_path) }));
  await writeDirAtomic(target, (tmp) => {
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; a dataset folder is ordinary
    const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
    fs.writeFileSync(path.join(tmp, FILES.train), json(train));
    fs.writeFileSync(path.join(tmp, FILES.val), json(val));
    fs.writeFileSync(path.join(tmp, FILES.prompt), json({ idk: ds.refusals }));
    if (utility.length > 0) fs.writeFileSync(path.join(tmp, FILES.utility), json(utility));
    if (aligned.length > 0) fs.writeFileSync(path.join(tmp, FILES.aligned), json(aligned));
    for (const { abs, rel } of inside.values()) {
      const dest = path.join(tmp, rel);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(abs, dest);
    }
  });
}
