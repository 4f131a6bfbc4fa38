/**
 * `eraserlab generate`: make a synthetic SafeEraser-shaped dataset (docs/data.md) and print a
 * summary of what was written, read back through the loader.
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { defineCommand, type CommandSpec } from '../options';
import { assertOutputDir } from '../../runtime/outdir';
import { generateSynthetic, SCALES, SyntheticScale } from '../../data/synthetic';
import { generatedDir } from '../../data/defaults';
import { loadSafeEraser } from '../../data/dataset';
import { DEFAULT_SEED } from '../../runtime/rng';

export const spec: CommandSpec = {
  name: 'generate',
  description:
    'Generate a synthetic SafeEraser-shaped dataset (all_train.json, all_val.json, prompt.json, utility.json and PNG images under <Category>/, sd/ and utility/). ' +
    'The output folder is replaced atomically when it is an earlier generated dataset; a folder holding anything else is refused.',
  options: [
    { name: 'out', type: 'path', doc: 'Output folder (default: data/generated/<scale>, with -s<seed>, -n<images>, -px<size> appended for overrides, e.g. default-s5).' },
    { name: 'scale', type: 'enum', choices: () => Object.keys(SCALES), doc: 'Preset: tiny (24 images), default (180 images, 32×32), paper (3,000 images, 64×64).', default: 'default' },
    { name: 'images', type: 'int', min: 1, doc: 'Harmful images (= records), overriding the preset.' },
    { name: 'seed', type: 'int', min: 0, metavar: 'S', doc: 'Seed; the same seed gives byte-identical files.', default: DEFAULT_SEED },
    { name: 'image-size', type: 'int', min: 1, metavar: 'PX', doc: 'Side of the square images, overriding the preset.' },
  ],
};

export const command: CliCommand = defineCommand(spec, 'Generate a synthetic SafeEraser dataset and print its summary', async (a) => {
  const scale = (a.scale as SyntheticScale | undefined) ?? 'default';
  const images = a.images as number | undefined;
  const seed = a.seed as number | undefined;
  const imageSize = a['image-size'] as number | undefined;
  // Overrides get their own folder, so `generate --seed 5` never replaces the default dataset.
  const name = `${scale}${seed !== undefined && seed !== DEFAULT_SEED ? `-s${seed}` : ''}${images !== undefined ? `-n${images}` : ''}${imageSize !== undefined ? `-px${imageSize}` : ''}`;
  const outDir = typeof a.out === 'string' ? path.resolve(a.out) : generatedDir(name);
  assertOutputDir(outDir, 'dataset', { command: 'eraserlab generate' });
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
});
