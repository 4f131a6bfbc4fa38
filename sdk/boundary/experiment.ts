/**
 * The BABERT experiment: the same small encoder pretrained with MLM only and with MLM + L_BA
 * (same seed → same initial weights, batches and masks), each fine-tuned with a CRF for word
 * segmentation on jieba silver labels, scored by span F1 on held-out silver sentences and on
 * the hand-labelled gold set, over several seeds. `ERASERLAB_SCALE=test` shrinks everything to
 * seconds for the test suite.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../runtime/rng';
import { ConfigError, DatasetError } from '../runtime/errors';
import { writeJsonAtomic } from '../runtime/fsutil';
import { ensureInit, backendInfo } from '../runtime/backend';
import { progress, type OnProgress } from '../runtime/progress';
import { readDebianCorpus, readTextFile, splitSentences, isHanCode } from './corpus';
import { statistics, type NgramStatistics, type StatisticsMeta } from './statistics';
import { CharVocab } from './vocab';
import { BertEncoder, type BertConfig } from './bert';
import { pretrainBert, Segmenter, type PretrainObjective } from './train';
import { segmentationF1, type F1Result } from './f1';
import { jiebaSegment } from './silver';

export type ExperimentScale = 'test' | 'default';

export interface ExperimentConfig {
  scale: ExperimentScale;
  seeds: number[];
  /** Characters of raw corpus to read (Infinity: all of manpages-zh + fortunes-zh). */
  corpusChars: number;
  maxN: number;
  minCount: number;
  vocabSize: number;
  maxLength: number;
  model: Pick<BertConfig, 'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize'>;
  pretrain: { steps: number; batchSize: number; learningRate: number; baLayer: number; baWeight: number; maskProb: number };
  finetune: { steps: number; batchSize: number; learningRate: number; trainSentences: number };
  silverTestSentences: number;
  /** Gold set file (space-separated words, `#` comments); at most `goldSentences` are used. */
  goldFile: string;
  goldSentences: number;
}

export function defaultGoldFile(): string {
  // sdk/boundary → repository root (also from dist/sdk/boundary).
  for (const up of ['../..', '../../..']) {
    const f = path.resolve(__dirname, up, 'data', 'babert', 'gold.txt');
    if (fs.existsSync(f)) return f;
  }
  return path.resolve(__dirname, '../..', 'data', 'babert', 'gold.txt');
}

/** The configuration for a scale (ERASERLAB_SCALE when not given), with overrides applied. */
export function experimentConfig(scale?: ExperimentScale, overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const s = scale ?? ((process.env.ERASERLAB_SCALE as ExperimentScale | undefined) || 'default');
  if (s !== 'test' && s !== 'default') throw new ConfigError(`Unknown scale '${String(s)}'. Must be one of [test, default]`, [{ path: 'scale', message: `got '${String(s)}'` }]);
  const base: ExperimentConfig =
    s === 'test'
      ? {
          scale: 'test',
          seeds: [1],
          corpusChars: 40_000,
          maxN: 4,
          minCount: 2,
          vocabSize: 1500,
          maxLength: 16,
          model: { hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32 },
          pretrain: { steps: 3, batchSize: 8, learningRate: 1e-3, baLayer: 1, baWeight: 1, maskProb: 0.15 },
          finetune: { steps: 3, batchSize: 8, learningRate: 1e-3, trainSentences: 64 },
          silverTestSentences: 16,
          goldFile: defaultGoldFile(),
          goldSentences: 16,
        }
      : {
          scale: 'default',
          seeds: [1, 2, 3],
          corpusChars: Infinity,
          maxN: 4,
          minCount: 2,
          vocabSize: 3000,
          maxLength: 24,
          model: { hiddenSize: 48, numLayers: 2, numHeads: 4, intermediateSize: 96 },
          pretrain: { steps: 150, batchSize: 16, learningRate: 2e-3, baLayer: 1, baWeight: 1, maskProb: 0.15 },
          finetune: { steps: 100, batchSize: 16, learningRate: 2e-3, trainSentences: 2000 },
          silverTestSentences: 300,
          goldFile: defaultGoldFile(),
          goldSentences: Infinity,
        };
  return {
    ...base,
    ...overrides,
    model: { ...base.model, ...(overrides.model ?? {}) },
    pretrain: { ...base.pretrain, ...(overrides.pretrain ?? {}) },
    finetune: { ...base.finetune, ...(overrides.finetune ?? {}) },
  };
}

/** Read a gold file: one sentence per line, words separated by spaces; `#` lines and blank lines skipped. */
export function loadGold(file: string): string[][] {
  const text = readTextFile(file);
  const out: string[][] = [];
  const issues: Array<{ path: string; message: string; file: string; record: number }> = [];
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const words = l.split(/\s+/);
    if (!words.some((w) => [...w].some((c) => isHanCode(c.charCodeAt(0))))) {
      issues.push({ path: `${file}:${i + 1}`, message: `line ${i + 1} has no Han characters`, file, record: i });
    }
    out.push(words);
  });
  if (issues.length) throw new DatasetError(`Invalid gold segmentation file ${file}`, issues);
  if (out.length === 0) throw new DatasetError(`Gold segmentation file ${file} has no sentences`, []);
  return out;
}

function hanShare(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) if (isHanCode(s.charCodeAt(i))) h++;
  return s.length ? h / s.length : 0;
}

export interface ExperimentRun {
  objective: PretrainObjective;
  seed: number;
  silver: F1Result;
  gold: F1Result;
  pretrainLoss: { first: number; last: number; lastMlm: number; lastBa: number };
  finetuneLoss: { first: number; last: number };
  seconds: number;
}

export interface ExperimentSummaryRow {
  objective: PretrainObjective;
  runs: number;
  silverF1Mean: number;
  silverF1Std: number;
  goldF1Mean: number;
  goldF1Std: number;
  silverF1Min: number;
  silverF1Max: number;
  goldF1Min: number;
  goldF1Max: number;
}

export interface ExperimentResult {
  config: ExperimentConfig;
  data: { corpusChars: number; sentences: number; pretrainSentences: number; finetuneSentences: number; silverTest: number; gold: number; vocab: number; stats: StatisticsMeta };
  runs: ExperimentRun[];
  summary: ExperimentSummaryRow[];
  backend: string;
  seconds: number;
}

export interface ExperimentOptions {
  scale?: ExperimentScale;
  overrides?: Partial<ExperimentConfig>;
  /** Raw corpus lines (default: read the Debian packages). */
  corpus?: string[];
  /** Write result.json (the full config is in it) here. */
  outDir?: string;
  onProgress?: OnProgress;
  /** Receives the statistics once mined (for plots). */
  onStats?: (stats: NgramStatistics) => void;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const std = (xs: number[]) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);

/** Summarise runs per objective: mean ± sample standard deviation, and min / max. */
export function summarise(runs: ExperimentRun[]): ExperimentSummaryRow[] {
  const out: ExperimentSummaryRow[] = [];
  for (const objective of ['mlm', 'mlm+ba'] as const) {
    const rs = runs.filter((r) => r.objective === objective);
    if (!rs.length) continue;
    const s = rs.map((r) => r.silver.f1);
    const g = rs.map((r) => r.gold.f1);
    out.push({
      objective,
      runs: rs.length,
      silverF1Mean: mean(s),
      silverF1Std: std(s),
      goldF1Mean: mean(g),
      goldF1Std: std(g),
      silverF1Min: Math.min(...s),
      silverF1Max: Math.max(...s),
      goldF1Min: Math.min(...g),
      goldF1Max: Math.max(...g),
    });
  }
  return out;
}

/** Run the whole comparison. */
export async function runExperiment(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
  const t0 = Date.now();
  await ensureInit();
  const cfg = experimentConfig(opts.scale, opts.overrides);
  const lines = opts.corpus ?? readDebianCorpus({ maxChars: cfg.corpusChars }).lines;
  const corpusChars = lines.reduce((a, l) => a + l.length, 0);
  // Sentences; segmentation sentences are Han-dominated and carry no spaces.
  const sentences = lines.flatMap((l) => splitSentences(l, cfg.maxLength));
  const rng = Rng.derive(0, 'babert-split');
  const order = rng.shuffle(sentences.map((_, i) => i));
  const silverIdx: number[] = [];
  const trainIdx: number[] = [];
  const held = new Set<number>();
  for (const i of order) {
    const s = sentences[i].replace(/\s+/g, '');
    if (s.length < 4 || hanShare(s) < 0.7) continue;
    if (silverIdx.length < cfg.silverTestSentences) {
      silverIdx.push(i);
      held.add(i);
    } else if (trainIdx.length < cfg.finetune.trainSentences) trainIdx.push(i);
    else break;
  }
  if (trainIdx.length === 0 || silverIdx.length === 0) {
    throw new DatasetError(`The corpus has too little Chinese for the experiment: ${trainIdx.length} training and ${silverIdx.length} test sentences found (need sentences of ≥ 4 characters, ≥ 70% Han)`, []);
  }
  const pretrainSentences = sentences.filter((s, i) => !held.has(i) && s.length >= 2);
  const pretrainChars = pretrainSentences.reduce((a, x) => a + x.length, 0);
  const statsBar = progress(pretrainChars, 'boundary statistics');
  const stats = statistics(pretrainSentences, { maxN: cfg.maxN, minCount: cfg.minCount, onProgress: (d) => statsBar.update(Math.min(d, pretrainChars)) });
  statsBar.done(`${stats.size} n-grams`);
  opts.onStats?.(stats);
  const vocab = CharVocab.build(pretrainSentences, { maxSize: cfg.vocabSize });
  const silverTest = jiebaSegment(silverIdx.map((i) => sentences[i].replace(/\s+/g, '')));
  const train = jiebaSegment(trainIdx.map((i) => sentences[i].replace(/\s+/g, '')));
  const gold = loadGold(cfg.goldFile).slice(0, cfg.goldSentences);
  const runs: ExperimentRun[] = [];
  const arms: PretrainObjective[] = ['mlm', 'mlm+ba'];
  const total = cfg.seeds.length * arms.length * (cfg.pretrain.steps + cfg.finetune.steps);
  const bar = progress(total, 'babert');
  let done = 0;
  const tick = (status: string) => {
    done++;
    bar.update(done, status);
    opts.onProgress?.(done, total, status);
  };
  try {
    for (const seed of cfg.seeds) {
      for (const objective of arms) {
        const t = Date.now();
        const encoder = BertEncoder.create({ vocabSize: vocab.size, maxPositions: cfg.maxLength, ...cfg.model }, seed);
        let seg: Segmenter | undefined;
        try {
          const plog = pretrainBert(encoder, pretrainSentences, vocab, stats, {
            objective,
            ...cfg.pretrain,
            maxLength: cfg.maxLength,
            seed,
            bar: false,
            onProgress: (_d, _t, st) => tick(`seed ${seed} ${objective} pretrain ${st ?? ''}`),
          });
          seg = new Segmenter(encoder, vocab, seed);
          const flog = seg.train(train, {
            ...cfg.finetune,
            maxLength: cfg.maxLength,
            seed,
            bar: false,
            onProgress: (_d, _t, st) => tick(`seed ${seed} ${objective} fine-tune ${st ?? ''}`),
          });
          const predSilver = seg.segment(silverTest.map((w) => w.join('')));
          const predGold = seg.segment(gold.map((w) => w.join('')));
          const last = plog[plog.length - 1];
          runs.push({
            objective,
            seed,
            silver: segmentationF1(silverTest, predSilver),
            gold: segmentationF1(gold, predGold),
            pretrainLoss: { first: plog[0].loss, last: last.loss, lastMlm: last.mlm, lastBa: last.ba },
            finetuneLoss: { first: flog[0], last: flog[flog.length - 1] },
            seconds: (Date.now() - t) / 1000,
          });
        } finally {
          seg?.dispose();
          encoder.dispose();
        }
      }
    }
  } finally {
    bar.done();
  }
  const result: ExperimentResult = {
    config: cfg,
    data: {
      corpusChars,
      sentences: sentences.length,
      pretrainSentences: pretrainSentences.length,
      finetuneSentences: train.length,
      silverTest: silverTest.length,
      gold: gold.length,
      vocab: vocab.size,
      stats: stats.meta,
    },
    runs,
    summary: summarise(runs),
    backend: backendInfo()?.backend ?? 'unknown',
    seconds: (Date.now() - t0) / 1000,
  };
  if (opts.outDir) writeJsonAtomic(path.join(opts.outDir, 'result.json'), JSON.parse(JSON.stringify(result, (_k, v) => (v === Infinity ? 'Infinity' : v))));
  return result;
}
