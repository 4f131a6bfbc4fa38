/**
 * Helpers shared by the tests: running a CLI command with its output captured, the tiny
 * generated dataset (one per process), temp folders, and `invalid` for values of the wrong type
 * passed on purpose to test an error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../sdk/cli/main';
import { generateSynthetic, type SyntheticOptions } from '../../sdk/data/synthetic';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** What `eraserlab ARGV` printed and returned, run in this process with stdout and stderr captured. */
export async function capture(argv: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { rc: await main(argv), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

/** A fresh temp folder, removed when the process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eraserlab-${label}-`));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tiny = new Map<string, Promise<string>>();

/**
 * The folder of a tiny generated SafeEraser dataset (seed 7; `options` change it), generated once
 * per process and per options, removed at exit. Do not modify it: copy it first.
 */
export function tinyDatasetDir(options: Partial<Omit<SyntheticOptions, 'outDir'>> = {}): Promise<string> {
  const key = JSON.stringify(options);
  let p = tiny.get(key);
  if (!p) {
    const dir = path.join(tempDir('tiny'), 'ds');
    p = generateSynthetic({ scale: 'tiny', seed: 7, progress: false, ...options, outDir: dir }).then(() => dir);
    tiny.set(key, p);
  }
  return p;
}

/** A value of the wrong type, passed on purpose to check the error it causes. */
export function invalid<T>(value: unknown): T {
  return value as T;
}
