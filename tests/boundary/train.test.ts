import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as runtime from '../../sdk/runtime';
import * as boundary from '../../sdk/boundary';
import { invalid } from '../support';

const { tf } = runtime;
const CORPUS = ['今天天气很好，我们去公园散步。', '系统启动时会自动加载这些模块。', '这个命令用来列出目录中的文件。', '如果没有指定文件，就从标准输入读取数据。'];

test.before(async () => {
  await runtime.init();
});

function tiny(seed = 1) {
  const vocab = boundary.CharVocab.build(CORPUS, { minCount: 1 });
  const stats = boundary.statistics(CORPUS, { maxN: 3, minCount: 1 });
  const enc = boundary.BertEncoder.create({ vocabSize: vocab.size, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 24 }, seed);
  return { vocab, stats, enc };
}

test('pretrain (mlm and mlm+ba) and fine-tune leak no tensors and lower their losses', async () => {
  const { vocab, stats, enc } = tiny();
  const silver = boundary.jiebaSegment(CORPUS);
  await runtime.expectNoLeakedTensors(() => {
    const log = boundary.pretrain(enc, CORPUS, vocab, stats, { objective: 'mlm+ba', steps: 30, batchSize: 4, learningRate: 1e-2, bar: false, seed: 2 });
    assert.is(log.length, 30);
    assert.ok(log[0].ba > 0, 'L_BA is active');
    assert.ok(log[29].ba < log[0].ba, `L_BA ${log[0].ba} → ${log[29].ba}`);
    const mlm = boundary.pretrain(enc, CORPUS, vocab, stats, { objective: 'mlm', steps: 2, batchSize: 4, bar: false });
    assert.is(mlm[0].ba, 0);
    const seg = new boundary.Segmenter(enc, vocab, 1);
    const losses = seg.train(silver, { steps: 40, batchSize: 4, learningRate: 1e-2, bar: false });
    assert.ok(losses[39] < losses[0] * 0.5, `CRF NLL ${losses[0]} → ${losses[39]}`);
    const pred = seg.segment(CORPUS);
    assert.ok(boundary.segmentationF1(silver, pred).f1 > 0.8, 'fits its training sentences');
    seg.dispose();
  }, { label: 'trainer' });
  enc.dispose();
});

test('same seed → both objectives start from the same weights and see the same batches (paired comparison)', () => {
  const a = tiny(5);
  const b = tiny(5);
  const la = boundary.pretrain(a.enc, CORPUS, a.vocab, a.stats, { objective: 'mlm', steps: 3, batchSize: 4, bar: false, seed: 9 });
  const lb = boundary.pretrain(b.enc, CORPUS, b.vocab, b.stats, { objective: 'mlm+ba', steps: 3, batchSize: 4, bar: false, seed: 9 });
  assert.ok(Math.abs(la[0].mlm - lb[0].mlm) < 1e-5, 'first-step MLM loss identical');
  a.enc.dispose();
  b.enc.dispose();
});

test('pretraining options are validated', () => {
  const { vocab, enc } = tiny();
  try {
    boundary.pretrain(enc, CORPUS, vocab, undefined, { objective: 'mlm+ba', baLayer: 7, bar: false });
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, "Invalid pretraining options (2 problems):\n  - baLayer: must be an integer in 0..2, got 7\n  - stats: objective 'mlm+ba' needs boundary statistics");
  }
  enc.dispose();
});

test('experiment at test scale runs end to end and reports both objectives', async () => {
  if (!fs.existsSync('/usr/share/man/zh_CN')) {
    console.log('  (skipped: manpages-zh is not installed; run npm run setup)');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'babert-'));
  const before = tf.memory().numTensors;
  const r = await boundary.runExperiment({ scale: 'test', outDir: dir });
  assert.is(tf.memory().numTensors, before, 'no tensors left behind');
  assert.equal(r.summary.map((s) => s.objective), ['mlm', 'mlm+ba']);
  assert.is(r.runs.length, 2);
  for (const run of r.runs) {
    assert.ok(run.silver.f1 >= 0 && run.silver.f1 <= 1 && run.gold.gold > 0);
    assert.ok(Number.isFinite(run.pretrainLoss.last));
  }
  assert.ok(r.runs[1].pretrainLoss.lastBa > 0 && r.runs[0].pretrainLoss.lastBa === 0);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'result.json'), 'utf8'));
  assert.is(saved.config.scale, 'test');
  const fig = boundary.comparisonFigure(r);
  assert.is(fig.data.length, 4);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('gold file: format, and clear errors for bad lines', () => {
  const gold = boundary.loadGold(boundary.defaultGoldFile());
  assert.ok(gold.length >= 200, `${gold.length} gold sentences`);
  // Every gold sentence converts to a valid BIES sequence.
  boundary.validateTags(gold.map((w) => boundary.wordsToBies(w)), 'bies');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gold-'));
  const f = path.join(dir, 'g.txt');
  fs.writeFileSync(f, '# c\n我们 去\nhello world\n');
  try {
    boundary.loadGold(f);
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, `Invalid gold segmentation file ${f} (1 problem):\n  - ${f}:3: line 3 has no Han characters`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('unknown scale is a ConfigError', () => {
  try {
    boundary.experimentConfig(invalid('huge'));
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, "Unknown scale 'huge'. Must be one of [test, default] (1 problem):\n  - scale: got 'huge'");
  }
});

test('boundary statistics figure is a plain Plotly spec', () => {
  const { stats } = tiny();
  const fig = boundary.boundaryStatsFigure('系统启动', stats);
  assert.is(fig.data.length, 4);
  assert.is((fig.data[3].z as number[][]).length, boundary.boundaryDim(3));
  JSON.stringify(fig);
});

test.run();
