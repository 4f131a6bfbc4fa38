/**
 * `eraserlab generate`: make a synthetic SafeEraser-shaped dataset (docs/data.md) and print a
 * summary of what was written, read back through the loader.
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError } from '../../runtime/errors';
import { generateSynthetic, SCALES, SyntheticScale } from '../../data/synthetic';
import { generatedDir } from '../../data/defaults';
import { loadSafeEraser } from '../../data/dataset';
import { DEFAULT_SEED } from '../../runtime/rng';

const USAGE = `Usage: eraserlab generate [--out DIR] [--scale tiny|default|paper] [--images N] [--seed S] [--image-size PX]

Generate a synthetic SafeEraser-shaped dataset (all_train.json, all_val.json, prompt.json,
utility.json and PNG images under <Category>/, sd/ and utility/).

  --out DIR         output folder, replaced atomically (default: data/generated/<scale>, with
                    -s<seed>, -n<images>, -px<size> appended for overrides, e.g. default-s5)
  --scale NAME      preset: tiny (24 images), default (180 images, 32×32), paper (3,000 images, 64×64)
  --images N        harmful images (= records), overriding the preset
  --seed S          seed (default 233); the same seed gives byte-identical files
  --image-size PX   side of the square images, overriding the preset`;

function int(v: unknown, name: string, issues: { path: string; message: string }[]): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n)) {
    issues.push({ path: `--${name}`, message: `must be an integer, got '${String(v)}'` });
    return undefined;
  }
  return n;
}

export const command: CliCommand = {
  name: 'generate',
  summary: 'Generate a synthetic SafeEraser dataset and print its summary',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv);
    const issues: { path: string; message: string }[] = [];
    const known = new Set(['_', 'out', 'scale', 'images', 'seed', 'image-size']);
    for (const k of Object.keys(a)) if (!known.has(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [--out, --scale, --images, --seed, --image-size]` });
    const scale = (a.scale ?? 'default') as SyntheticScale;
    if (typeof scale !== 'string' || !(scale in SCALES)) issues.push({ path: '--scale', message: `unknown scale '${String(a.scale)}'. Must be one of [${Object.keys(SCALES).join(', ')}]` });
    const images = int(a.images, 'images', issues);
    const seed = int(a.seed, 'seed', issues);
    const imageSize = int(a['image-size'], 'image-size', issues);
    if (a.out !== undefined && typeof a.out !== 'string') issues.push({ path: '--out', message: 'needs a folder path' });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab generate', issues);
    // Overrides get their own folder, so `generate --seed 5` never replaces the default dataset.
    const name = `${scale}${seed !== undefined && seed !== DEFAULT_SEED ? `-s${seed}` : ''}${images !== undefined ? `-n${images}` : ''}${imageSize !== undefined ? `-px${imageSize}` : ''}`;
    const outDir = typeof a.out === 'string' ? path.resolve(a.out) : generatedDir(name);
    const s = await generateSynthetic({ outDir, scale, images, seed, imageSize });
    const ds = await loadSafeEraser(outDir);
    const c = ds.counts();
    const lines = [
      `Synthetic SafeEraser dataset written to ${s.dir}`,
      `  seed ${s.seed}, ${s.images} harmful images (${s.imageSize}×${s.imageSize}), ${s.concepts} concepts in 6 categories, ${s.benignConcepts} benign concepts`,
      `  records: ${c.records.train} train (all_train.json), ${c.records.val} val (all_val.json)`,
      `  QA pairs: ${c.qaPairs} (${c.unsafePairs.train + c.unsafePairs.val} unsafe, ${c.retainPairs.train + c.retainPairs.val} retain, ${c.utility} utility)`,
      `  refusals: ${c.refusals}; images: ${c.images}; files: ${s.files} (${(s.bytes / 1e6).toFixed(1)} MB) in ${s.seconds.toFixed(1)} s`,
      `  by category (train/val): ${Object.entries(c.byCategory).map(([k, v]) => `${k} ${v.train}/${v.val}`).join(', ')}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
