import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tinyDatasetDir } from '../support';

/** A fresh temp folder (removed by `cleanup`). */
export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eraserlab-${label}-`));
}

export function cleanup(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A tiny generated dataset shared by the data tests of one process (do not modify it). */
export function tinyDataset(): Promise<string> {
  return tinyDatasetDir();
}

/** Copy a dataset folder to a fresh temp folder so a test can break it. */
export async function copyOfTiny(label: string): Promise<string> {
  const src = await tinyDataset();
  const dst = path.join(tempDir(label), 'ds');
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

export function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function writeJson(file: string, v: unknown): void {
  fs.writeFileSync(file, JSON.stringify(v, null, 2));
}
