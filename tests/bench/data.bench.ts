/**
 * Data benchmark (issue 2; figures in docs/performance.md "Data").
 *   npx tsx tests/bench/data.bench.ts [--json] [--keep DIR]
 * 1. Generate the paper-scale synthetic dataset (3,000 images, 28.8K QA pairs); target < 60 s.
 *    Peer: sharp PNG-encoding the same number of same-sized raw buffers alone.
 * 2. Load + validate its JSON (loadSafeEraser, existence of every image checked); target < 2 s.
 *    Peer: JSON.parse of the same files alone.
 * 3. Decode + resize the 3,000 harmful images to 32×32 normalised tensors (loadImages, cache
 *    cleared) vs sharp's own raw decode of the same files in the same run; floor 50%.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { data, runtime } from '../../sdk';

export interface DataBenchResult {
  backend: string;
  generateSeconds: number;
  generatePeerSeconds: number;
  generateRatio: number;
  qaPairs: number;
  files: number;
  loadSeconds: number;
  loadPeerSeconds: number;
  loadRatio: number;
  decodeImagesPerSecond: number;
  sharpRawImagesPerSecond: number;
  decodeRatio: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function pool<T>(items: readonly T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export async function run(opts: { keep?: string; log?: (s: string) => void } = {}): Promise<DataBenchResult> {
  const log = opts.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const info = await runtime.init();
  const root = opts.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-bench-data-'));
  const dir = path.join(root, 'paper');
  try {
    // 1. generation
    let t = now();
    const s = await data.generateSynthetic({ outDir: dir, scale: 'paper', seed: 233, progress: false });
    const generateSeconds = now() - t;
    const px = Buffer.alloc(s.imageSize * s.imageSize * 3, 128);
    for (let i = 0; i < px.length; i++) px[i] = (i * 2654435761) >>> 24;
    const pngCount = s.files - 5;
    t = now();
    const jobs = Array.from({ length: pngCount }, (_, i) => i);
    await pool(jobs, 64, async () =>
      sharp(px, { raw: { width: s.imageSize, height: s.imageSize, channels: 3 } }).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer(),
    );
    const generatePeerSeconds = now() - t;
    log(`generate paper scale: ${generateSeconds.toFixed(2)} s for ${s.images} images, ${s.qaPairs} QA pairs, ${s.files} files (target < 60 s); sharp PNG encode alone ${generatePeerSeconds.toFixed(2)} s; ratio ${(generateSeconds / generatePeerSeconds).toFixed(2)}×`);

    // 2. load + validate
    t = now();
    const ds = await data.loadSafeEraser(dir);
    const loadSeconds = now() - t;
    t = now();
    for (const f of ['all_train.json', 'all_val.json', 'prompt.json', 'utility.json']) JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const loadPeerSeconds = now() - t;
    log(`load + validate: ${loadSeconds.toFixed(3)} s for ${ds.counts().qaPairs} QA pairs (target < 2 s); JSON.parse alone ${loadPeerSeconds.toFixed(3)} s; ratio ${(loadSeconds / loadPeerSeconds).toFixed(2)}×`);

    // 3. decode + resize to 32×32 tensors vs sharp raw decode (peer first, then ours, then peer again; best of each)
    const files = [...ds.train, ...ds.val].map((r) => ds.imagePath(r.image_path));
    const peer = async () => {
      const t0 = now();
      await pool(files, 8, (f) => sharp(f).raw().toBuffer());
      return files.length / (now() - t0);
    };
    const ours = async () => {
      data.clearImageCache();
      const t0 = now();
      const batch = await data.loadImages(files, 32);
      const rate = files.length / (now() - t0);
      batch.dispose();
      return rate;
    };
    const p1 = await peer();
    const o1 = await ours();
    const p2 = await peer();
    const o2 = await ours();
    const sharpRawImagesPerSecond = Math.max(p1, p2);
    const decodeImagesPerSecond = Math.max(o1, o2);
    const decodeRatio = decodeImagesPerSecond / sharpRawImagesPerSecond;
    log(`decode + resize ${files.length} images (${s.imageSize}² PNG → 32×32 float32 [N,3,32,32]): ${decodeImagesPerSecond.toFixed(0)} images/s; sharp raw decode ${sharpRawImagesPerSecond.toFixed(0)} images/s; ratio ${(100 * decodeRatio).toFixed(0)}% (floor 50%)`);
    return {
      backend: info.backend,
      generateSeconds,
      generatePeerSeconds,
      generateRatio: generateSeconds / generatePeerSeconds,
      qaPairs: s.qaPairs,
      files: s.files,
      loadSeconds,
      loadPeerSeconds,
      loadRatio: loadSeconds / loadPeerSeconds,
      decodeImagesPerSecond,
      sharpRawImagesPerSecond,
      decodeRatio,
    };
  } finally {
    if (!opts.keep) fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  const k = process.argv.indexOf('--keep');
  process.env.ERASERLAB_QUIET = '1';
  run({ keep: k > 0 ? process.argv[k + 1] : undefined, log: json ? () => {} : undefined }).then(
    (r) => {
      if (json) process.stdout.write(JSON.stringify(r) + '\n');
      const ok = r.generateSeconds < 60 && r.loadSeconds < 2 && r.decodeRatio >= 0.5;
      if (!ok) process.stderr.write('data bench: a target was missed\n');
      process.exit(ok ? 0 : 1);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
