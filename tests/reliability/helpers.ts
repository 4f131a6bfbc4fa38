/**
 * Shared fixtures of the reliability tests: temp folders, running a CLI command in-process with
 * its output captured, and a tiny random model saved as a real model folder.
 */
import * as fs from 'fs';
import * as path from 'path';
export { savedTinyModel, tinyDataset, tinyModel } from '../unlearn/helpers';
export { capture, tempDir } from '../support';

/** Write a file a user owns (something eraserlab must never delete). */
export function userFile(dir: string, name = 'my-notes.txt'): string {
  fs.mkdirSync(dir, { recursive: true });
  const f = path.join(dir, name);
  fs.writeFileSync(f, 'precious\n');
  return f;
}
