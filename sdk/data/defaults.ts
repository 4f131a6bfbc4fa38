/**
 * Where generated data lives: `data/generated/<name>` under the package root (git-ignored).
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateSynthetic, SyntheticSummary } from './synthetic';
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
 * Generate the default dataset (scale 'default', seed 233) unless it is already there; returns
 * its folder. Safe when two processes race: whoever finishes second keeps the first's copy.
 */
export async function ensureDefaultDataset(opts: { dir?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<string> {
  const dir = opts.dir ?? defaultDatasetDir();
  if (fs.existsSync(path.join(dir, FILES.train))) return dir;
  try {
    const summary: SyntheticSummary = await generateSynthetic({ outDir: dir, scale: 'default', seed: DEFAULT_SEED, onProgress: opts.onProgress });
    void summary;
  } catch (e) {
    if (!fs.existsSync(path.join(dir, FILES.train))) throw e;
  }
  return dir;
}
