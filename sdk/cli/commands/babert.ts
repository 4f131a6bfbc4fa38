/**
 * `eraserlab babert`: the BABERT experiment (docs/babert.md) — MLM-only vs MLM + L_BA
 * pretraining, each fine-tuned with a CRF for word segmentation, F1 on silver and gold.
 */
import * as path from 'path';
import type { CliCommand } from '../main';
import { defineCommand, type CommandSpec } from '../options';
import { assertOutputDir, lockOutput, markOutput } from '../../runtime/outdir';
import { writeJsonAtomic } from '../../runtime/fsutil';
import { runExperiment, type ExperimentConfig, type ExperimentScale } from '../../boundary/experiment';
import { comparisonFigure } from '../../boundary/plots';

export const spec: CommandSpec = {
  name: 'babert',
  description:
    'Pretrain the same small BERT with MLM only and with MLM + L_BA (boundary-aware loss), fine-tune each with a CRF for Chinese word segmentation, and report span F1 ' +
    'on silver (jieba) and gold (data/babert/gold.txt) sentences as mean ± std over seeds. Raw text comes from the Debian packages manpages-zh and fortunes-zh. ' +
    'ERASERLAB_SCALE=test is the same as --scale test.',
  options: [
    { name: 'scale', type: 'enum', choices: ['test', 'default'], metavar: 'S', doc: 'test (seconds) or default (minutes; the documented experiment).' },
    {
      name: 'seeds',
      type: 'list',
      doc: 'Comma-separated seeds (default 1,2,3; test: 1).',
      check: (v) => ((v as string[]).every((x) => /^\d+$/.test(x)) ? undefined : `must be comma-separated integers ≥ 0, got '${(v as string[]).join(',')}'`),
    },
    { name: 'out', type: 'path', doc: 'Write result.json and comparison.json (a Plotly spec) here.' },
    { name: 'pretrain-steps', type: 'int', min: 1, doc: 'Pretraining steps per run.' },
    { name: 'finetune-steps', type: 'int', min: 1, doc: 'Fine-tuning steps per run.' },
    { name: 'ba-layer', type: 'int', min: 0, metavar: 'K', doc: 'Hidden state L_BA reads (0 = embeddings, k = after layer k).' },
    { name: 'ba-weight', type: 'number', min: 0, metavar: 'W', doc: 'Weight of L_BA.' },
    { name: 'json', type: 'flag', doc: 'Print the result as JSON instead of a table.' },
  ],
};

export const command: CliCommand = defineCommand(spec, 'BABERT: MLM vs MLM + boundary-aware pretraining, word segmentation F1', async (a) => {
  const overrides: Partial<ExperimentConfig> = {};
  if (a.seeds !== undefined) overrides.seeds = (a.seeds as string[]).map(Number);
  const ps = a['pretrain-steps'] as number | undefined;
  const fs_ = a['finetune-steps'] as number | undefined;
  const bl = a['ba-layer'] as number | undefined;
  const bw = a['ba-weight'] as number | undefined;
  const scale = a.scale as string | undefined;
  const pre: Record<string, number> = {};
  if (ps !== undefined) pre.steps = ps;
  if (bl !== undefined) pre.baLayer = bl;
  if (bw !== undefined) pre.baWeight = bw;
  if (Object.keys(pre).length) overrides.pretrain = pre as never;
  if (fs_ !== undefined) overrides.finetune = { steps: fs_ } as never;
  const out = typeof a.out === 'string' ? path.resolve(a.out) : undefined;
  if (out) assertOutputDir(out, 'babert', { command: 'eraserlab babert' });
  const lock = out ? lockOutput(out, { command: 'eraserlab babert' }) : undefined;
  let result: Awaited<ReturnType<typeof runExperiment>>;
  try {
    result = await runExperiment({ scale: scale as ExperimentScale | undefined, overrides, outDir: out });
    if (out) {
      writeJsonAtomic(path.join(out, 'comparison.json'), comparisonFigure(result));
      markOutput(out, 'babert', 'eraserlab babert');
    }
  } finally {
    lock?.release();
  }
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
});
