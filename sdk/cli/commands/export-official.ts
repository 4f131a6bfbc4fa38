/**
 * `eraserlab export-official`: write the official SafeEraser pipeline's training config
 * (config/forget_lora.yaml) for one of our runs, so it can be repeated at scale on GPUs with
 * PyTorch + DeepSpeed (docs/scale-out.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, Issue } from '../../runtime/errors';
import { exportOfficial, exportOfficialDataset, officialYaml, toOfficialConfig } from '../../unlearn/official';
import type { RunSpec } from '../../unlearn/unlearner';

const USAGE = `Usage: eraserlab export-official --run SPEC --out DIR [--model-path P] [--data-dir D | --with-dataset] [--save-dir S]

Write config/forget_lora.yaml for the official SafeEraser pipeline (yuu250/SafeEraser, forget.py)
from a run spec (run.json in any checkpoint folder written by \`eraserlab unlearn\` or
Unlearner.save). Methods the pipeline lacks (npo, npo+pd) and non-default loss weights are refused.

  --run SPEC        a run.json, or a checkpoint folder holding one
  --out DIR         where to write config/forget_lora.yaml (the official repository's root)
  --model-path P    model_path for the pipeline (default llava-hf/llava-1.5-7b-hf)
  --data-dir D      the dataset folder as the pipeline sees it (default: the run's dataset folder)
  --with-dataset    also write the run's dataset to DIR/dataset with image paths as the official
                    code opens them (dataset/<path>, from the repository root); data_path follows
  --save-dir S      save_dir for the pipeline's checkpoints`;

export const command: CliCommand = {
  name: 'export-official',
  summary: "Write the official SafeEraser pipeline's config for a run spec (scale-out)",
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, ['with-dataset']);
    const known = ['_', 'run', 'out', 'model-path', 'data-dir', 'with-dataset', 'save-dir'];
    const issues: Issue[] = [];
    for (const k of Object.keys(a)) if (!known.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${known.slice(1).map((x) => `--${x}`).join(', ')}]` });
    if (typeof a.run !== 'string') issues.push({ path: '--run', message: 'required: a run.json or a checkpoint folder' });
    if (typeof a.out !== 'string') issues.push({ path: '--out', message: 'required: the output folder' });
    if (a['with-dataset'] !== undefined && a['with-dataset'] !== true) issues.push({ path: '--with-dataset', message: 'takes no value' });
    if (a['with-dataset'] === true && a['data-dir'] !== undefined) issues.push({ path: '--data-dir', message: 'not with --with-dataset, which sets data_path to dataset/all_train.json' });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab export-official', issues);
    let file = path.resolve(a.run as string);
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'run.json');
    if (!fs.existsSync(file)) throw new ConfigError(`Run spec not found: ${file}`, [{ path: '--run', message: 'expected run.json or a folder holding it' }]);
    let spec: RunSpec;
    try {
      spec = JSON.parse(fs.readFileSync(file, 'utf8')) as RunSpec;
    } catch (e) {
      throw new ConfigError(`Run spec ${file} is not JSON (${(e as Error).message})`, [{ path: '--run', message: 'not JSON' }]);
    }
    if (spec?.kind !== 'eraserlab.unlearn') throw new ConfigError(`${file} is not an eraserlab unlearning run spec`, [{ path: 'kind', message: `expected 'eraserlab.unlearn', got '${String(spec?.kind)}'` }]);
    const out = path.resolve(a.out as string);
    const opts = {
      modelPath: typeof a['model-path'] === 'string' ? a['model-path'] : undefined,
      saveDir: typeof a['save-dir'] === 'string' ? a['save-dir'] : undefined,
    };
    toOfficialConfig(spec, opts); // refuse an unsupported run before writing any dataset
    const dataDir = a['with-dataset'] === true ? await exportOfficialDataset(spec, out) : typeof a['data-dir'] === 'string' ? a['data-dir'] : undefined;
    if (a['with-dataset'] === true) process.stdout.write(`Wrote ${path.join(out, 'dataset')} (image paths as dataset/<path>)\n`);
    const cfg = exportOfficial(spec, out, {
      ...opts,
      dataDir,
    });
    process.stdout.write(`Wrote ${path.join(out, 'config', 'forget_lora.yaml')} (forget_loss ${cfg.forget_loss}):\n\n${officialYaml(cfg)}`);
    return 0;
  },
};
