/**
 * The committed tiny default model ("vanilla": it still knows everything the benchmark asks it
 * to forget). The main job and the notebooks use it when no checkpoint is named. Reproduce it
 * with the command recorded in `data/models/vanilla/pretrain_spec.json` (docs/default-model.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../runtime/errors';
import type { LlavaModel } from './llava';
import { loadPretrained } from './load';
import { defaultModelDir } from './pretrain';
import './processor'; // installs the processor loader loadPretrained uses


/** The recorded training spec of the default model (command, seed, options, timings, accuracy). */
export function defaultModelSpec(dir = defaultModelDir()): Record<string, unknown> | undefined {
  const f = path.join(dir, 'pretrain_spec.json');
  if (!fs.existsSync(f)) return undefined;
  return JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
}

/**
 * Load the committed default model (with its processor as `m.processor`). A missing folder is
 * a CheckpointError that says how to rebuild it.
 */
export async function loadDefault(dir = defaultModelDir()): Promise<LlavaModel> {
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new CheckpointError(`The default model is not at ${dir}: rebuild it with \`eraserlab pretrain\` (see docs/default-model.md)`, { file: dir });
  }
  return loadPretrained(dir);
}
