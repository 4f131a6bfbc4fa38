/**
 * `eraserlab babert`: the BABERT experiment (docs/babert.md) — MLM-only vs MLM + L_BA
 * pretraining, each fine-tuned with a CRF for word segmentation, F1 on silver and gold.
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { parseArgs } from '../main';
import { ConfigError, type Issue } from '../../runtime/errors';
import { writeJsonAtomic } from '../../runtime/fsutil';
import { runExperiment, type ExperimentConfig, type ExperimentScale } from '../../boundary/experiment';
import { comparisonFigure } from '../../boundary/plots';

const USAGE = `Usage: eraserlab babert [--scale test|default] [--seeds 1,2,3] [--out DIR] [--pretrain-steps N]
                      [--finetune-steps N] [--ba-layer K] [--ba-weight W] [--json]

Pretrain the same small BERT with MLM only and with MLM + L_BA (boundary-aware loss), fine-tune
each with a CRF for Chinese word segmentation, and report span F1 on silver (jieba) and gold
(data/babert/gold.txt) sentences as mean ± std over seeds. Raw text comes from the Debian
packages manpages-zh and fortunes-zh. ERASERLAB_SCALE=test is the same as --scale test.

  --scale S            test (seconds) or default (minutes; the documented experiment)
  --seeds LIST         comma-separated seeds (default 1,2,3; test: 1)
  --out DIR            write result.json and comparison.json (a Plotly spec) here
  --pretrain-steps N   pretraining steps per run
  --finetune-steps N   fine-tuning steps per run
  --ba-layer K         hidden state L_BA reads (0 = embeddings, k = after layer k)
  --ba-weight W        weight of L_BA
  --json               print the result as JSON instead of a table`;

export const command: CliCommand = {
  name: 'babert',
  summary: 'BABERT: MLM vs MLM + boundary-aware pretraining, word segmentation F1',
  usage: USAGE,
  async run(argv) {
    const a = parseArgs(argv, ['json']);
    const known = ['_', 'scale', 'seeds', 'out', 'pretrain-steps', 'finetune-steps', 'ba-layer', 'ba-weight', 'json'];
    const issues: Issue[] = [];
    for (const k of Object.keys(a)) if (!known.includes(k)) issues.push({ path: `--${k}`, message: `unknown option. Must be one of [${known.slice(1).map((x) => `--${x}`).join(', ')}]` });
    const num = (k: string, int: boolean): number | undefined => {
      if (a[k] === undefined) return undefined;
      const v = Number(a[k]);
      if (!Number.isFinite(v) || (int && (!Number.isInteger(v) || v < 0))) {
        issues.push({ path: `--${k}`, message: `expected ${int ? 'a non-negative integer' : 'a number'}, got '${String(a[k])}'` });
        return undefined;
      }
      return v;
    };
    const overrides: Partial<ExperimentConfig> = {};
    if (typeof a.seeds === 'string') {
      const seeds = a.seeds.split(',').map(Number);
      if (seeds.some((s) => !Number.isInteger(s))) issues.push({ path: '--seeds', message: `expected comma-separated integers, got '${a.seeds}'` });
      else overrides.seeds = seeds;
    }
    const ps = num('pretrain-steps', true);
    const fs_ = num('finetune-steps', true);
    const bl = num('ba-layer', true);
    const bw = num('ba-weight', false);
    const scale = a.scale as string | undefined;
    if (scale !== undefined && scale !== 'test' && scale !== 'default') issues.push({ path: '--scale', message: `'${String(scale)}' must be one of [test, default]` });
    if (issues.length) throw new ConfigError('Invalid arguments for eraserlab babert', issues);
    const pre: Record<string, number> = {};
    if (ps !== undefined) pre.steps = ps;
    if (bl !== undefined) pre.baLayer = bl;
    if (bw !== undefined) pre.baWeight = bw;
    if (Object.keys(pre).length) overrides.pretrain = pre as never;
    if (fs_ !== undefined) overrides.finetune = { steps: fs_ } as never;
    const out = typeof a.out === 'string' ? path.resolve(a.out) : undefined;
    const result = await runExperiment({ scale: scale as ExperimentScale | undefined, overrides, outDir: out });
    if (out) writeJsonAtomic(path.join(out, 'comparison.json'), comparisonFigure(result));
    if (a.json) {
      process.stdout.write(JSON.stringify(result, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
      return 0;
    }
    const pct = (x: number) => (100 * x).toFixed(2);
    const lines = [
      `BABERT segmentation, scale ${result.config.scale}, ${result.config.seeds.length} seed(s), backend ${result.backend}, ${result.seconds.toFixed(0)} s`,
      `corpus ${result.data.corpusChars} chars; n-gram dictionary ${result.data.stats.entries} entries; vocab ${result.data.vocab}; fine-tune ${result.data.finetuneSentences}, silver test ${result.data.silverTest}, gold ${result.data.gold} sentences`,
      '',
      'objective   silver F1 (agreement with jieba)   gold F1',
    ];
    for (const r of result.summary) lines.push(`${r.objective.padEnd(10)}  ${pct(r.silverF1Mean)} ± ${pct(r.silverF1Std)}`.padEnd(47) + `${pct(r.goldF1Mean)} ± ${pct(r.goldF1Std)}`);
    lines.push('', 'per run:');
    for (const r of result.runs) lines.push(`  seed ${r.seed} ${r.objective.padEnd(7)} silver ${pct(r.silver.f1)}  gold ${pct(r.gold.f1)}  (${r.seconds.toFixed(0)} s)`);
    if (out) lines.push('', `wrote ${path.join(out, 'result.json')} and comparison.json`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
