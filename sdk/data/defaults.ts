/**
 * Where generated data lives: `data/generated/<name>` under the package root (git-ignored).
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateSynthetic, GENERATOR_VERSION, SyntheticSummary } from './synthetic';
import { FILES } from './schema';

export { packageRoot } from '../runtime/fsutil';
import { packageRoot } from '../runtime/fsutil';
import { DEFAULT_SEED } from '../runtime/rng';

/** `<package root>/data/generated/<name>`. */
export function generatedDir(name: string): string {
  return path.join(packageRoot(), 'data', 'generated', name);
}

/** The default synthetic dataset's folder: `<package root>/data/generated/default`. */
export function defaultDatasetDir(): string {
  return generatedDir('default');
}

/** Seed of the default synthetic dataset: the SDK-wide default seed (runtime/rng). */
export { DEFAULT_SEED };

/**
 * Whether `dir` holds a synthetic dataset written by this version of the generator (an older
 * generated folder lacks files the default model and the main job now use, e.g. aligned.json).
 */
export function isCurrentGenerated(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, FILES.train))) return false;
  try {
    const g = JSON.parse(fs.readFileSync(path.join(dir, 'generator.json'), 'utf8')) as { generator?: string; version?: number };
    return g.generator !== 'eraserlab.generateSynthetic' || g.version === GENERATOR_VERSION;
  } catch {
    return true; // not a generated folder (or not ours): use it as it is
  }
}

/**
 * Generate the default dataset (scale 'default', seed 233) unless it is already there; returns
 * its folder. A folder written by an older version of the generator is regenerated (it is
 * eraserlab's own output). Safe when two processes race: whoever finishes second keeps the
 * first's copy.
 */
export async function ensureDefaultDataset(opts: { dir?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<string> {
  const dir = opts.dir ?? defaultDatasetDir();
  if (isCurrentGenerated(dir)) return dir;
  try {
    const summary: SyntheticSummary = await generateSynthetic({ outDir: dir, scale: 'default', seed: DEFAULT_SEED, onProgress: opts.onProgress });
    void summary;
  } catch (e) {
    if (!isCurrentGenerated(dir)) throw e;
  }
  return dir;
}
