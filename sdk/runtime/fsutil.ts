import * as fs from 'fs';
import * as path from 'path';

/** Write a file atomically: a temp file beside it, then rename (never a half-written file). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw annotateWriteError(e, path.dirname(path.resolve(file)));
  }
}

/**
 * Record on a file-system error (disk full, no permission) which output folder was being
 * written, as `folder`, so the CLI can say it in one line; the error is returned.
 */
export function annotateWriteError(e: unknown, folder: string): unknown {
  const err = e as NodeJS.ErrnoException & { folder?: string };
  if (err && typeof err === 'object' && typeof err.code === 'string' && err.folder === undefined) err.folder = folder;
  return e;
}

/**
 * Build a whole folder atomically: `fill` writes into a temp folder beside `dir`, which then
 * replaces `dir` (the old one is removed only after the new one is complete).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(dir)}.tmp-`));
  try {
    // mkdtemp makes the folder private (0700); an output folder is an ordinary one (umask applies)
    fs.chmodSync(tmp, 0o777 & ~process.umask());
    await fill(tmp);
    if (fs.existsSync(dir)) {
      const old = `${dir}.old-${process.pid}-${Date.now()}`;
      fs.renameSync(dir, old);
      fs.renameSync(tmp, dir);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, dir);
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw annotateWriteError(e, path.resolve(dir));
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The eraserlab package root (the folder holding its package.json), from sources or dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'eraserlab') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..');
    dir = up;
  }
}
