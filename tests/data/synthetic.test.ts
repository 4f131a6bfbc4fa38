import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { data, runtime } from '../../sdk';
import { command as generateCommand } from '../../sdk/cli/commands/generate';
import { cleanup, readJson, tempDir, tinyDataset } from './helpers';

/** sha256 over every file's relative path and bytes, in sorted order. */
function treeHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const f of listFiles(dir)) {
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

// The generator's output is frozen: the committed default model was trained on the default
// dataset, which every fresh machine regenerates (data/generated is git-ignored). A change
// here means the default model must be retrained on the new data.
const TINY_SEED7_SHA256 = '8fbf73decb10be2e69e54a676341cdb1dc2a43249faf15b43b2549ac9e263845';
const DEFAULT_SHA256 = '052e583abe0c0fbbd99d9472f38a74412a42d5e6b71910ddf5a77290f6d5df94';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('same seed → byte-identical files; another seed → different images and choices', async () => {
  const root = tempDir('determinism');
  const opts = { scale: 'tiny' as const, images: 12, progress: false };
  const a = await data.generateSynthetic({ ...opts, outDir: path.join(root, 'a'), seed: 11 });
  const b = await data.generateSynthetic({ ...opts, outDir: path.join(root, 'b'), seed: 11 });
  const c = await data.generateSynthetic({ ...opts, outDir: path.join(root, 'c'), seed: 12 });
  const fa = listFiles(a.dir);
  assert.equal(listFiles(b.dir), fa);
  assert.is(fa.length, a.files);
  for (const f of fa) assert.ok(fs.readFileSync(path.join(a.dir, f)).equals(fs.readFileSync(path.join(b.dir, f))), `${f} differs`);
  assert.not.ok(fs.readFileSync(path.join(a.dir, 'all_train.json')).equals(fs.readFileSync(path.join(c.dir, 'all_train.json'))));
  const img = readJson(path.join(a.dir, 'all_train.json'))[0].image_path;
  assert.not.ok(fs.readFileSync(path.join(a.dir, img)).equals(fs.readFileSync(path.join(c.dir, img))));
  cleanup(root);
});

test('frozen output: the tiny set (seed 7) hashes to its pinned value', async () => {
  assert.is(treeHash(await tinyDataset()), TINY_SEED7_SHA256, 'generator output changed: retrain the default model (see comment)');
});

test('structure: categories as folders, 4 queries, concept answers, same queries on benign images', async () => {
  const dir = await tinyDataset();
  const ds = await data.loadSafeEraser(dir);
  const spec = readJson(path.join(dir, 'generator.json'));
  assert.is(spec.seed, 7);
  assert.is(spec.concepts.length, 12);
  for (const [split, recs] of [['train', ds.train], ['val', ds.val]] as const) {
    recs.forEach((r, i) => {
      assert.is(path.dirname(r.image_path), r.category);
      assert.is(ds.categoryOf(split, i), r.category);
      assert.match(r.SDImage_path, /^sd\/\d{5}\.png$/);
      assert.is(r.unsafe_pairs.length, 4);
      assert.is(new Set(r.unsafe_pairs.map((p) => p.question)).size, 4);
      for (const p of r.unsafe_pairs) {
        assert.ok(data.QUERY_TEMPLATES.includes(p.question));
        assert.ok(p.model_response.includes(r.keyword as string), 'model_response names the concept');
        assert.ok(p.sd_response.includes(r.sd_keyword as string), 'sd_response is about the benign image');
        assert.not.ok(p.sd_response.includes(r.keyword as string));
        const n = p.model_response.split(' ').length;
        assert.ok(n >= 10 && n <= 20, `model_response has ${n} words`);
        const m = p.sd_response.split(' ').length;
        assert.ok(m >= 8 && m <= 15, `sd_response has ${m} words`);
      }
      for (const f of data.UNHARM_FIELDS) {
        const n = r[f].Prediction.split(' ').length;
        assert.ok(n >= 3 && n <= 10, `${f} has ${n} words`);
      }
      assert.ok(r.UnharmPair_text1.Question.includes(r.keyword as string));
    });
  }
  // val holds the same concepts as train (generality = same concept, new image)
  assert.equal(new Set(ds.val.map((r) => r.keyword)), new Set(ds.train.map((r) => r.keyword)));
  // the same query gets concept-specific answers: the query alone does not decide the answer
  const byQuery = new Map<string, Set<string>>();
  for (const r of ds.train) for (const p of r.unsafe_pairs) byQuery.set(p.question, (byQuery.get(p.question) ?? new Set()).add(p.model_response));
  assert.ok([...byQuery.values()].some((s) => s.size >= 3));
  assert.ok(ds.refusals.length >= 20);
  assert.is(new Set(ds.refusals).size, ds.refusals.length);
  assert.equal(new Set(ds.utility.map((u) => u.kind)), new Set(['colour', 'shape', 'count']));
  assert.ok(ds.utility.every((u) => u.image_path.startsWith('utility/')));
});

test('no two images are identical, and each image family is visually distinct', async () => {
  const dir = await tinyDataset();
  const pngs = listFiles(dir).filter((f) => f.endsWith('.png'));
  const hashes = new Set<string>();
  for (const f of pngs) {
    const { data: raw } = await sharp(path.join(dir, f)).raw().toBuffer({ resolveWithObject: true });
    hashes.add(crypto.createHash('sha1').update(raw).digest('hex'));
  }
  assert.is(hashes.size, pngs.length);
  const sig = (c: { shape: string; bg: string; fg: string }) => `${c.shape}/${c.bg}/${c.fg}`;
  assert.is(new Set(data.HARMFUL_CONCEPTS.map(sig)).size, data.HARMFUL_CONCEPTS.length);
  assert.is(new Set(data.BENIGN_CONCEPTS.map(sig)).size, data.BENIGN_CONCEPTS.length);
  assert.is(new Set(data.HARMFUL_CONCEPTS.map((c) => c.name)).size, 24);
});

test('image-level retain answers describe the drawn image', async () => {
  const dir = await tinyDataset();
  const ds = await data.loadSafeEraser(dir);
  const spec = readJson(path.join(dir, 'generator.json'));
  for (const r of ds.train) {
    const c = spec.concepts.find((x: { keyword: string }) => x.keyword === r.keyword);
    for (const u of [r.UnharmPair_image1, r.UnharmPair_image2]) {
      if (u.Question.includes('background')) assert.is(u.Prediction, `The background is ${c.background}.`);
      if (u.Question.includes('shape appears')) assert.is(u.Prediction, `The picture shows a ${c.shape}.`);
    }
  }
});

test('vocabulary stays small at the default scale', () => {
  const words = new Set<string>();
  const add = (s: string) => s.toLowerCase().split(/[^a-z']+/).filter(Boolean).forEach((w) => words.add(w));
  for (const c of data.conceptsFor(data.SCALES.default.conceptsPerCategory)) {
    add(c.name);
    Object.values(c.words).forEach(add);
  }
  data.QUERY_TEMPLATES.forEach(add);
  data.REFUSALS.forEach(add);
  assert.ok(words.size < 400, `${words.size} words`);
});

test('options are validated, every problem listed', async () => {
  try {
    await data.generateSynthetic({ outDir: '', images: 0, imageSize: 3, conceptsPerCategory: 9, progress: false });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      'Invalid options for generateSynthetic (4 problems):\n' +
        '  - outDir: must be a folder path\n' +
        '  - images: must be an integer ≥ 1, got 0\n' +
        '  - imageSize: must be an integer in [8, 1024], got 3\n' +
        '  - conceptsPerCategory: must be an integer in [1, 4], got 9',
    );
  }
});

test('progress callback, no tensors, paper-scale counts', async () => {
  const root = tempDir('progress');
  const seen: number[] = [];
  const s = await runtime.expectNoLeakedTensors(() =>
    data.generateSynthetic({ outDir: path.join(root, 'p'), scale: 'tiny', images: 6, utility: 4, progress: false, onProgress: (d, t) => seen.push(d / t) }),
  );
  assert.is(seen[seen.length - 1], 1);
  assert.is(s.qaPairs, 6 * 8 + 4);
  assert.is(s.utility, 4);
  assert.is(readJson(path.join(root, 'p', 'utility.json')).length, 4);
  // paper preset: 3,000 images, 28.8K QA pairs (8 per record + 1.6 utility items per image)
  assert.equal(data.SCALES.paper, { images: 3000, imageSize: 64, conceptsPerCategory: 4 });
  assert.is(data.SCALES.paper.images * 8 + Math.round(data.SCALES.paper.images * 1.6), 28800);
  cleanup(root);
});

test('ensureDefaultDataset generates once, then reuses', async () => {
  assert.is(data.defaultDatasetDir(), path.join(data.packageRoot(), 'data', 'generated', 'default'));
  assert.ok(fs.existsSync(path.join(data.packageRoot(), 'package.json')));
  const root = tempDir('default');
  const dir = path.join(root, 'default');
  assert.is(await data.ensureDefaultDataset({ dir }), dir);
  const ds = await data.loadSafeEraser(dir);
  assert.is(ds.train.length + ds.val.length, data.SCALES.default.images);
  assert.is(treeHash(dir), DEFAULT_SHA256, 'the default dataset changed: retrain the default model');
  const mtime = fs.statSync(path.join(dir, 'all_train.json')).mtimeMs;
  await data.ensureDefaultDataset({ dir });
  assert.is(fs.statSync(path.join(dir, 'all_train.json')).mtimeMs, mtime);
  cleanup(root);
});

test('eraserlab generate prints a summary; bad arguments are listed', async () => {
  const root = tempDir('cli');
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  let rc: number | void;
  try {
    rc = await generateCommand.run(['--out', path.join(root, 'g'), '--scale', 'tiny', '--images', '12', '--seed', '5']);
  } finally {
    process.stdout.write = write;
  }
  assert.is(rc, 0);
  const text = out.join('');
  assert.match(text, `Synthetic SafeEraser dataset written to ${path.join(root, 'g')}`);
  assert.match(text, 'seed 5, 12 harmful images (32×32), 12 concepts in 6 categories, 8 benign concepts');
  assert.match(text, 'QA pairs: 115 (48 unsafe, 48 retain, 19 utility)');
  try {
    await generateCommand.run(['--scale', 'huge', '--seed', 'x']);
    assert.unreachable('should throw');
  } catch (e) {
    assert.is(
      (e as Error).message,
      "Invalid arguments for eraserlab generate (2 problems):\n  - --scale: unknown scale 'huge'. Must be one of [tiny, default, paper]\n  - --seed: must be an integer, got 'x'",
    );
  }
  cleanup(root);
});

test.run();
