import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { runtime } from '../../sdk';
import { buildTokenizer } from '../../sdk/model/tokenizer';
import { IGNORE_INDEX, LLAVA_V1_TEMPLATE, LlavaProcessor, VICUNA_V1_SYSTEM } from '../../sdk/model/processor';
import { parseLlavaConfig } from '../../sdk/model/config';
import { CheckpointError } from '../../sdk/runtime/errors';

const { tf } = runtime;

const EXAMPLES = [
  { question: 'What is shown in the image?', answer: 'A red cat.', image: '/abs/a.png' },
  { question: 'Is the sky blue?', answer: 'Yes, the sky is blue.', image: undefined },
  { question: 'What colour is the cat?', answer: 'The cat is red.', image: '/abs/b.png' },
];

function corpus(system: string): string[] {
  const p = new LlavaProcessor({ tokenizer: buildTokenizer(['x']), imageSize: 8, numImageTokens: 4, template: { system } });
  return EXAMPLES.map((e) => p.fullText(e.question, e.answer, e.image !== undefined));
}

function fakeLoader(calls: string[][]) {
  return async (paths: readonly string[], size: number) => {
    calls.push([...paths]);
    return tf.tidy(() => tf.stack(paths.map((_, i) => tf.fill([3, size, size], i + 1))) as ReturnType<typeof tf.tensor4d>);
  };
}

test.before(async () => {
  await runtime.init();
});

test('vicuna_v1 text: system, USER: <image>\\n question ASSISTANT: answer</s>', () => {
  const p = new LlavaProcessor({ tokenizer: buildTokenizer(['x']), imageSize: 8, numImageTokens: 4 });
  assert.equal(p.template, LLAVA_V1_TEMPLATE);
  assert.is(p.promptText('Q?', true), `${VICUNA_V1_SYSTEM} USER: <image>\nQ? ASSISTANT:`);
  assert.is(p.fullText('Q?', 'A.', true), `${VICUNA_V1_SYSTEM} USER: <image>\nQ? ASSISTANT: A.</s>`);
  const short = new LlavaProcessor({ tokenizer: buildTokenizer(['x']), imageSize: 8, numImageTokens: 4, template: { system: '' } });
  assert.is(short.promptText('Q?', false), 'USER: Q? ASSISTANT:');
});

test('encode: image expanded, answer-only labels (answer + </s>), right padding, pixels in example order', async () => {
  const tok = buildTokenizer(corpus(''));
  const calls: string[][] = [];
  const p = new LlavaProcessor({ tokenizer: tok, imageSize: 8, numImageTokens: 4, template: { system: '' }, imageLoader: fakeLoader(calls) });
  const b = await p.encode(EXAMPLES, { withAnswer: true });
  assert.equal(calls, [['/abs/a.png', '/abs/b.png']]);
  assert.equal(b.pixelValues!.shape, [2, 3, 8, 8]);
  assert.equal(Array.from(b.pixelValues!.dataSync().filter((_, i) => i % 192 === 0)), [1, 2]);
  b.pixelValues!.dispose();
  const T = b.inputIds[0].length;
  for (let i = 0; i < EXAMPLES.length; i++) {
    const ids = b.inputIds[i];
    const lab = b.labels[i];
    const mask = b.attentionMask[i];
    assert.is(ids.length, T);
    assert.is(lab.length, T);
    assert.is(ids[0], tok.bosId);
    const nImg = ids.filter((x) => x === tok.imageId).length;
    assert.is(nImg, EXAMPLES[i].image ? 4 : 0);
    const real = mask.reduce((a, c) => a + c, 0);
    assert.ok(mask.slice(0, real).every((m) => m === 1) && mask.slice(real).every((m) => m === 0), 'right padding');
    assert.ok(ids.slice(real).every((x) => x === tok.padId));
    // labels: −100 over the prompt (incl. image positions) and padding; the answer and </s> are labelled
    const labelled = lab.map((l, j) => [l, j] as const).filter(([l]) => l !== IGNORE_INDEX);
    const first = labelled[0][1];
    assert.ok(lab.slice(0, first).every((l) => l === IGNORE_INDEX));
    assert.equal(labelled.map(([l]) => l), ids.slice(first, real));
    assert.is(ids[real - 1], tok.eosId);
    assert.is(tok.decode(ids.slice(first, real)), EXAMPLES[i].answer);
    assert.is(tok.decode(ids.slice(0, first)), `USER: ${EXAMPLES[i].image ? ' \n' : ''}${EXAMPLES[i].question} ASSISTANT:`);
  }
});

test('prompts: left padding without answers; promptIds are ragged; text-only batches load no image', async () => {
  const tok = buildTokenizer(corpus(''));
  const calls: string[][] = [];
  const p = new LlavaProcessor({ tokenizer: tok, imageSize: 8, numImageTokens: 4, template: { system: '' }, imageLoader: fakeLoader(calls) });
  const b = await p.encode(EXAMPLES, { withAnswer: false });
  b.pixelValues!.dispose();
  const { inputIds, imagePaths } = p.promptIds(EXAMPLES);
  assert.equal(imagePaths, ['/abs/a.png', '/abs/b.png']);
  for (let i = 0; i < EXAMPLES.length; i++) {
    const n = inputIds[i].length;
    assert.equal(b.inputIds[i].slice(b.inputIds[i].length - n), inputIds[i]);
    assert.ok(b.attentionMask[i].slice(0, b.inputIds[i].length - n).every((m) => m === 0));
    assert.ok(b.labels[i].every((l) => l === IGNORE_INDEX));
    assert.is(tok.idToToken(inputIds[i][n - 1]), '\u2581ASSISTANT:');
  }
  const textOnly = await p.encode([EXAMPLES[1]], { withAnswer: true });
  assert.is(textOnly.pixelValues, undefined);
  assert.is(calls.length, 1);
});

test('decode stops at </s> and drops special tokens', () => {
  const tok = buildTokenizer(corpus(''));
  const p = new LlavaProcessor({ tokenizer: tok, imageSize: 8, numImageTokens: 4 });
  const ans = tok.encode('The cat is red.', { addBos: false });
  assert.is(p.decode([...ans, tok.eosId!, ...ans]), 'The cat is red.');
  assert.is(p.decode([tok.bosId!, ...ans]), 'The cat is red.');
  assert.is(p.decode([]), '');
});

function tinyConfig(vocab: number, imageToken: number) {
  return parseLlavaConfig({
    model_type: 'llava',
    image_token_index: imageToken,
    text_config: { model_type: 'llama', vocab_size: vocab, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1 },
    vision_config: { model_type: 'clip_vision_model', hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2, image_size: 16, patch_size: 8 },
  });
}

test('save / fromPretrained: template, tokenizer and sizes come back; mismatches are CheckpointErrors', () => {
  const tok = buildTokenizer(corpus(''));
  const cfg = tinyConfig(tok.size, tok.imageId!);
  const p = LlavaProcessor.forConfig(cfg, tok, { template: { system: 'Be brief.' } });
  assert.is(p.numImageTokens, 4);
  assert.is(p.imageSize, 16);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-proc-'));
  p.save(dir);
  const q = LlavaProcessor.fromPretrained(dir, cfg);
  assert.is(q.template.system, 'Be brief.');
  assert.equal(q.encodeOne(EXAMPLES[0], true), p.encodeOne(EXAMPLES[0], true));
  try {
    LlavaProcessor.fromPretrained(dir, tinyConfig(tok.size, 5));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is((e as Error).message, `Tokenizer ${path.join(dir, 'tokenizer.json')} does not match the model: its <image> token is id ${tok.imageId} but config.json's image_token_index is 5`);
  }
  // one row short: <pad> (the last id) has no embedding row
  assert.throws(() => LlavaProcessor.fromPretrained(dir, tinyConfig(tok.size - 1, tok.imageId!)), (e: Error) => e instanceof CheckpointError && e.message.includes(`but the model's vocab_size is ${tok.size - 1}`));
});

test('with the data layer: real PNGs are resized and normalised; wrong loader shape is a ConfigError', async () => {
  const tok = buildTokenizer(corpus(''));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-proc-img-'));
  const file = path.join(dir, 'red.png');
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile(file);
  const p = new LlavaProcessor({ tokenizer: tok, imageSize: 8, numImageTokens: 4, template: { system: '' } });
  const b = await p.encode([{ question: 'What colour is the cat?', answer: 'The cat is red.', image: file }], { withAnswer: true });
  assert.equal(b.pixelValues!.shape, [1, 3, 8, 8]);
  const px = b.pixelValues!.dataSync();
  assert.ok(Math.abs(px[0] - (1 - 0.48145466) / 0.26862954) < 1e-3, `red channel ${px[0]}`);
  assert.ok(Math.abs(px[64] - (0 - 0.4578275) / 0.26130258) < 1e-3, `green channel ${px[64]}`);
  b.pixelValues!.dispose();
  const bad = new LlavaProcessor({ tokenizer: tok, imageSize: 8, numImageTokens: 4, imageLoader: async () => tf.zeros([1, 3, 4, 4]) as ReturnType<typeof tf.tensor4d> });
  try {
    await bad.encode([EXAMPLES[0]], { withAnswer: true });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.match((e as Error).message, 'Image loader returned shape [1, 3, 4, 4] but the model expects [1, 3, 8, 8]');
  }
});

test.run();
