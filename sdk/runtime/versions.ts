import * as fs from 'fs';
import * as path from 'path';
import { tf } from './tf';

function pkgVersion(name: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Versions recorded in every run spec and printed by the first notebook cell. */
export function versions(): Record<string, string> {
  const root = path.resolve(__dirname, '..', '..');
  let own = 'unknown';
  for (const dir of [root, path.resolve(root, '..')]) {
    try {
      const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pj.name === 'eraserlab') {
        own = pj.version;
        break;
      }
    } catch {
      /* keep looking */
    }
  }
  const out: Record<string, string> = { eraserlab: own, node: process.versions.node, tfjs: tf.version.tfjs };
  for (const p of ['danfojs-node', 'sharp', 'zod']) {
    const v = pkgVersion(p);
    if (v) out[p] = v;
  }
  return out;
}
