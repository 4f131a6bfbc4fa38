import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { runtime } from '../../sdk';
import { ensureDefaultDataset } from '../../sdk/data/defaults';
import { loadSafeEraser } from '../../sdk/data/dataset';
import { defaultModelSpec, loadDefault } from '../../sdk/model/default';
import { answerExamples, defaultModelDir, rougeLF1, vanillaExamples } from '../../sdk/model/pretrain';
import { LlavaProcessor } from '../../sdk/model/processor';
import { CheckpointError } from '../../sdk/runtime/errors';

test.before(async () => {
  await runtime.init();
});

test('the committed default model is there with its reproduction spec', () => {
  const dir = defaultModelDir();
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'processor_config.json', 'pretrain_spec.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  const spec = defaultModelSpec()!;
  assert.type(spec.command, 'string');
  assert.match(spec.command as string, /^eraserlab pretrain/);
  assert.is(spec.seed, 233);
  assert.ok((spec.numParameters as number) > 5e5);
  const bytes = fs.statSync(path.join(dir, 'model.safetensors')).size;
  assert.ok(bytes < 8 * 1024 * 1024, `checkpoint is ${bytes} bytes`);
});

test('loadDefault loads it and it answers as pretrain_spec.json records (greedy, fixed probe set)', async () => {
  const m = await loadDefault();
  try {
    assert.ok(m.processor instanceof LlavaProcessor, 'processor loaded with the model');
    const p = m.processor as unknown as LlavaProcessor;
    assert.is(m.config.text_config.vocab_size, p.tokenizer.size);
    const ds = await loadSafeEraser(await ensureDefaultDataset());
    // every 53rd supervised pair: all kinds, both splits
    const probe = vanillaExamples(ds).filter((_, i) => i % 53 === 0);
    const responses = await answerExamples(m, p, probe, { maxNewTokens: 40 });
    const spec = defaultModelSpec()!;
    const recorded = spec.accuracy as Array<{ kind: string; n: number; correct: number }>;
    const recordedRate = recorded.reduce((a, r) => a + r.correct, 0) / recorded.reduce((a, r) => a + r.n, 0);
    const ok = probe.map((e, i) => rougeLF1(responses[i], e.answer) >= 0.9);
    const rate = ok.filter(Boolean).length / probe.length;
    assert.ok(rate >= recordedRate - 0.15, `probe accuracy ${rate.toFixed(2)} vs recorded ${recordedRate.toFixed(2)}`);
    // it knows text-only facts, and answers forget and SD prompts with their targets
    for (const kind of ['retain_text', 'forget', 'sd'] as const) {
      assert.ok(probe.some((e, i) => e.kind === kind && ok[i]), `no ${kind} prompt answered correctly: ${probe.map((e, i) => (e.kind === kind ? responses[i] : '')).filter(Boolean).join(' | ')}`);
    }
    assert.ok(responses.every((r) => r.length > 0), 'every prompt gets an answer');
  } finally {
    m.dispose();
  }
});

test('a missing default model is a CheckpointError saying how to rebuild it', async () => {
  try {
    await loadDefault('/nonexistent/vanilla');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is((e as Error).message, 'The default model is not at /nonexistent/vanilla: rebuild it with `eraserlab pretrain` (see docs/default-model.md)');
  }
});

test.run();
