/**
 * Content fingerprints of the dataset and model folders: what the main job's resume check
 * compares (a method's results are reused only when the inputs they were made from match).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

function sha(parts: Array<string | Buffer>): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

/** A file's content hash (size + head and tail for files over 256 MB: real checkpoints). */
export function fileHash(file: string): string {
  const st = fs.statSync(file);
  if (st.size <= 256 * 2 ** 20) return sha([fs.readFileSync(file)]);
  const fd = fs.openSync(file, 'r');
  try {
    const n = 2 ** 20;
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    fs.readSync(fd, head, 0, n, 0);
    fs.readSync(fd, tail, 0, n, st.size - n);
    return sha([String(st.size), head, tail]);
  } finally {
    fs.closeSync(fd);
  }
}

/** One hash over the names and content hashes of the files in `dir` that `match` accepts. */
export function dirFingerprint(dir: string, match: (f: string) => boolean): string {
  const files = fs.readdirSync(dir).filter((f) => match(f) && fs.statSync(path.join(dir, f)).isFile()).sort();
  return sha(files.map((f) => `${f}:${fileHash(path.join(dir, f))};`));
}
