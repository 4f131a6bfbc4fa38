import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import { runtime } from '../../sdk';
import { ensureDefaultDataset } from '../../sdk/data/defaults';
import { loadSafeEraser } from '../../sdk/data/dataset';
import { examples } from '../../sdk/data/examples';
import { defaultModelSpec, loadDefault } from '../../sdk/model/default';
import { answerExamples, defaultModelDir, rougeLF1 } from '../../sdk/model/pretrain';
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

test('loadDefault loads it and it answers forget, SD, retain and utility prompts (greedy)', async () => {
  const m = await loadDefault();
  try {
    assert.ok(m.processor instanceof LlavaProcessor, 'processor loaded with the model');
    const p = m.processor as unknown as LlavaProcessor;
    assert.is(m.config.text_config.vocab_size, p.tokenizer.size);
    const ds = await loadSafeEraser(await ensureDefaultDataset());
    const probe = [
      ...examples(ds, 'train', 'forget').slice(0, 3),
      ...examples(ds, 'val', 'forget').slice(0, 2),
      ...examples(ds, 'train', 'sd').slice(0, 2),
      ...examples(ds, 'val', 'sd').slice(0, 2),
      ...examples(ds, 'train', 'retain_text').slice(0, 1),
      ...examples(ds, 'val', 'retain_image').slice(0, 1),
      ...examples(ds, 'utility', 'utility').slice(0, 2),
    ];
    const responses = await answerExamples(m, p, probe, { maxNewTokens: 40 });
    probe.forEach((e, i) => {
      const score = rougeLF1(responses[i], e.answer);
      assert.ok(score >= 0.9, `${e.id}: "${responses[i]}" vs "${e.answer}" (ROUGE-L ${score.toFixed(2)})`);
    });
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
