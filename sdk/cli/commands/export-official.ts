/**
 * `eraserlab export-official`: write the official SafeEraser pipeline's training config
 * (config/forget_lora.yaml) for one of our runs, so it can be repeated at scale on GPUs with
 * PyTorch + DeepSpeed (docs/scale-out.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { invalidArguments, defineCommand, type CommandSpec, type ParsedOptions } from '../options';
import { lockOutput } from '../../runtime/outdir';
import { ConfigError, Issue } from '../../runtime/errors';
import { exportOfficial, exportOfficialDataset, officialYaml, officialYamlBackup, toOfficialConfig } from '../../unlearn/official';
import type { RunSpec } from '../../unlearn/unlearner';

export const spec: CommandSpec = {
  name: 'export-official',
  synopsis: ['--run SPEC --out DIR [--model-path P] [--data-dir D | --with-dataset] [--save-dir S]'],
  description:
    "Write config/forget_lora.yaml for the official SafeEraser pipeline (yuu250/SafeEraser, forget.py) from a run spec (run.json in any checkpoint folder written by " +
    '`eraserlab unlearn` or Unlearner.save). Methods the pipeline lacks (npo, npo+pd) and non-default loss weights are refused. The repository\'s own ' +
    'config/forget_lora.yaml is kept as config/forget_lora.yaml.orig; nothing else eraserlab did not write is replaced.',
  options: [
    { name: 'run', type: 'path', metavar: 'SPEC', required: true, doc: 'A run.json, or a checkpoint folder holding one.' },
    { name: 'out', type: 'path', required: true, doc: "Where to write config/forget_lora.yaml (the official repository's root)." },
    { name: 'model-path', type: 'string', metavar: 'P', doc: 'model_path for the pipeline.', default: 'llava-hf/llava-1.5-7b-hf' },
    { name: 'data-dir', type: 'string', metavar: 'D', doc: "The dataset folder as the pipeline sees it (default: the run's dataset folder)." },
    { name: 'with-dataset', type: 'flag', doc: "Also write the run's dataset to DIR/dataset with image paths as the official code opens them (dataset/<path>, from the repository root); data_path follows." },
    { name: 'save-dir', type: 'string', metavar: 'S', doc: "save_dir for the pipeline's checkpoints." },
  ],
};

export const command: CliCommand = defineCommand(spec, "Write the official SafeEraser pipeline's config for a run spec (scale-out)", async (a) => {
  const issues: Issue[] = [];
  if (a['with-dataset'] === true && a['data-dir'] !== undefined) issues.push({ path: '--data-dir', message: 'not with --with-dataset, which sets data_path to dataset/all_train.json' });
  invalidArguments(spec, issues);
  let file = path.resolve(a.run as string);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'run.json');
  if (!fs.existsSync(file)) throw new ConfigError(`Run spec not found: ${file}`, [{ path: '--run', message: 'expected run.json or a folder holding it' }]);
  let runSpec: RunSpec;
  try {
    runSpec = JSON.parse(fs.readFileSync(file, 'utf8')) as RunSpec;
  } catch (e) {
    throw new ConfigError(`Run spec ${file} is not JSON (${(e as Error).message})`, [{ path: '--run', message: 'not JSON' }]);
  }
  if (runSpec?.kind !== 'eraserlab.unlearn') throw new ConfigError(`${file} is not an eraserlab unlearning run spec`, [{ path: 'kind', message: `expected 'eraserlab.unlearn', got '${String(runSpec?.kind)}'` }]);
  const out = path.resolve(a.out as string);
  const opts = {
    modelPath: typeof a['model-path'] === 'string' ? a['model-path'] : undefined,
    saveDir: typeof a['save-dir'] === 'string' ? a['save-dir'] : undefined,
  };
  toOfficialConfig(runSpec, opts); // refuse an unsupported run before writing any dataset
  const lock = lockOutput(out, { command: 'eraserlab export-official' });
  try {
    return await write(runSpec, out, opts, a);
  } finally {
    lock.release();
  }
});

async function write(runSpec: RunSpec, out: string, opts: { modelPath?: string; saveDir?: string }, a: ParsedOptions): Promise<number> {
  const dataDir = a['with-dataset'] === true ? await exportOfficialDataset(runSpec, out) : typeof a['data-dir'] === 'string' ? a['data-dir'] : undefined;
  if (a['with-dataset'] === true) process.stdout.write(`Wrote ${path.join(out, 'dataset')} (image paths as dataset/<path>)\n`);
  const backup = officialYamlBackup(out);
  const cfg = exportOfficial(runSpec, out, {
    ...opts,
    dataDir,
  });
  if (backup) process.stdout.write(`Kept the repository's own config/forget_lora.yaml as ${backup}\n`);
  process.stdout.write(`Wrote ${path.join(out, 'config', 'forget_lora.yaml')} (forget_loss ${cfg.forget_loss}):\n\n${officialYaml(cfg)}`);
  return 0;
}
