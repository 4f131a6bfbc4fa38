import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildTokenizer, loadTokenizer, Tokenizer } from '../../sdk/model/tokenizer';
import { CheckpointError, ConfigError } from '../../sdk/runtime/errors';

const S = '\u2581';

/**
 * A hand-written Llama-2-style tokenizer.json (legacy SentencePiece layout, BPE with byte
 * fallback, `<image>` added after the base vocabulary as llava-hf does). The expected ids below
 * are worked out by hand from the merge ranks.
 */
function llamaStyleJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const pieces = [S, 'h', 'e', 'l', 'o', 'w', 'r', 'd', `${S}h`, 'll', 'ell', `${S}hell`, `${S}hello`, 'or', `${S}w`, `${S}wor`, 'ld', `${S}world`];
  pieces.forEach((p, i) => (vocab[p] = 259 + i)); // ▁=259 ... ▁world=276
  vocab['<image>'] = 277;
  const merges = [`${S} h`, 'l l', 'e ll', `${S}h ell`, `${S}hell o`, 'o r', `${S} w`, `${S}w or`, 'l d', `${S}wor ld`];
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>'), added(277, '<image>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: S },
        { type: 'Replace', pattern: { String: ' ' }, content: S },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: S }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges },
  };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-tok-'));
}

function writeFixture(): string {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaStyleJson()));
  return dir;
}

test('Llama-style tokenizer.json: hand-computed ids', () => {
  const tok = loadTokenizer(writeFixture());
  assert.is(tok.bosId, 1);
  assert.is(tok.eosId, 2);
  assert.is(tok.unkId, 0);
  assert.is(tok.imageId, 277);
  assert.is(tok.padId, 0, 'no <pad>: falls back to <unk>');
  assert.is(tok.size, 278);
  // ▁ h e l l o ▁ w o r l d → merges by rank → ▁hello ▁world
  assert.equal(tok.encode('hello world'), [1, 271, 276]);
  assert.equal(tok.tokenize('hello world'), [`${S}hello`, `${S}world`]);
  // ▁h e ld: "e l" has no merge, "l d" has
  assert.equal(tok.encode('held', { addBos: false }), [267, 261, 275]);
  // unknown characters fall back to their UTF-8 bytes: i = 0x69 → 108, ! = 0x21 → 36
  assert.equal(tok.encode('hi!', { addBos: false }), [267, 108, 36]);
  assert.equal(tok.encode('é', { addBos: false }), [259, 198, 172]);
  assert.equal(tok.encode('hello', { addEos: true }), [1, 271, 2]);
});

test('added tokens split the text; the next section gets its own ▁ (LLaVA-1.5 legacy: ▁, <0x0A>)', () => {
  const tok = loadTokenizer(path.join(writeFixture(), 'tokenizer.json'));
  // "hello " → ▁hello ▁ ; <image> ; "\nworld" → ▁ <0x0A> w or ld  (o r has rank 5, l d rank 8; ▁ \n no merge)
  assert.equal(tok.encode('hello <image>\nworld'), [1, 271, 259, 277, 259, 13, 264, 272, 275]);
});

test('decode: byte fallback fused back to UTF-8, specials skipped by default', () => {
  const tok = loadTokenizer(writeFixture());
  assert.is(tok.decode([1, 271, 276, 2]), 'hello world');
  assert.is(tok.decode([259, 198, 172]), 'é');
  assert.is(tok.decode(tok.encode('held hi! é')), 'held hi! é');
  assert.is(tok.decode([1, 2]), '');
  assert.ok(tok.decode([1, 271, 2], { skipSpecialTokens: false }).includes('</s>'));
});

test('tokenizer_config.json names the special tokens', () => {
  const dir = writeFixture();
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ pad_token: { content: '<unk>' }, eos_token: '</s>' }));
  const tok = loadTokenizer(dir);
  assert.is(tok.padId, 0);
  assert.is(tok.special.pad, '<unk>');
  assert.is(tok.eosId, 2);
});

test('vocabulary larger than the model is a CheckpointError naming both sizes', () => {
  const dir = writeFixture();
  const file = path.join(dir, 'tokenizer.json');
  loadTokenizer(dir, { vocabSize: 278 });
  loadTokenizer(dir, { vocabSize: 32064 });
  try {
    loadTokenizer(dir, { vocabSize: 256 });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is(
      (e as Error).message,
      `Tokenizer ${file} does not match the model: it has ids up to 277 (278 tokens) but the model's vocab_size is 256; every token id must be < vocab_size`,
    );
  }
});

test('missing or broken tokenizer files are CheckpointErrors', () => {
  const dir = tmpDir();
  try {
    loadTokenizer(dir);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is((e as Error).message, `No tokenizer at ${path.join(dir, 'tokenizer.json')}: expected a tokenizer.json (Hugging Face tokenizers format)`);
  }
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": ');
  assert.throws(() => loadTokenizer(dir), (e: Error) => e instanceof CheckpointError && e.message.startsWith(`Tokenizer ${path.join(dir, 'tokenizer.json')} is not valid JSON`));
});

const CORPUS = [
  'USER: <image>\nWhat is shown in the image? ASSISTANT: The image shows a red cat.</s>',
  'USER: <image>\nHow do I make a weapon at home? ASSISTANT: I cannot help with that.</s>',
  'USER: Is the sky blue? ASSISTANT: Yes, the sky is blue.</s>',
];

test('buildTokenizer: every corpus word is one token, round trips, Llama layout', () => {
  const tok = buildTokenizer(CORPUS);
  assert.is(tok.bosId, 1);
  assert.is(tok.eosId, 2);
  assert.is(tok.unkId, 0);
  assert.is(tok.tokenToId('<0x00>'), 3);
  assert.is(tok.tokenToId('<0xFF>'), 258);
  assert.is(tok.imageId, tok.size - 2);
  assert.is(tok.padId, tok.size - 1);
  assert.equal(tok.tokenize('Is the sky blue?'), [`${S}Is`, `${S}the`, `${S}sky`, `${S}blue?`]);
  assert.equal(tok.tokenize('USER: <image>\nHow do'), [`${S}USER:`, S, '<image>', `${S}\nHow`, `${S}do`]);
  for (const text of CORPUS) {
    const ids = tok.encode(text, { addBos: false });
    // as in Llama's legacy layout, the section after an added token carries its own "▁"
    assert.is(tok.decode(ids, { skipSpecialTokens: false }), text.replace('<image>', '<image> '));
    const plain = text.replace('<image>\n', '').replace('</s>', '');
    assert.is(tok.decode(tok.encode(plain)), plain);
  }
  assert.is(tok.encode(CORPUS[2], { addBos: false }).length, CORPUS[2].split(' ').length + 1, 'one token per word, plus </s>');
  // text outside the corpus still round-trips through the byte tokens
  assert.is(tok.decode(tok.encode('Zebra 42 ü 猫')), 'Zebra 42 ü 猫');
});

test('buildTokenizer: saved tokenizer.json reloads through the same loader with the same ids; deterministic', () => {
  const a = buildTokenizer(CORPUS);
  const b = buildTokenizer(CORPUS);
  assert.equal(JSON.stringify(a.json), JSON.stringify(b.json));
  const dir = tmpDir();
  a.save(dir);
  const re = loadTokenizer(dir, { vocabSize: a.size });
  assert.instance(re, Tokenizer);
  for (const text of CORPUS) assert.equal(re.encode(text), a.encode(text));
  assert.is(re.special.image, '<image>');
  assert.is(re.special.pad, '<pad>');
});

test('buildTokenizer: vocabSize caps merges; too small is a ConfigError', () => {
  const full = buildTokenizer(CORPUS);
  const capped = buildTokenizer(CORPUS, { vocabSize: full.size - 10 });
  assert.is(capped.size, full.size - 10);
  for (const text of CORPUS) assert.is(capped.decode(capped.encode(text, { addBos: false }), { skipSpecialTokens: false }), text.replace('<image>', '<image> '));
  assert.throws(() => buildTokenizer(CORPUS, { vocabSize: 100 }), (e: Error) => e instanceof ConfigError && e.message.startsWith('buildTokenizer: vocabSize 100 is too small'));
});

test.run();
