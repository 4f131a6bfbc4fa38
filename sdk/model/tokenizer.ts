/**
 * Tokenisers. One code path for real checkpoints and the default model: a Hugging Face
 * `tokenizer.json` read by `@huggingface/tokenizers` (pure JS; ids identical to the Rust
 * library for Llama's BPE with byte fallback). `buildTokenizer` trains a small BPE on a
 * corpus and writes it in exactly the layout Llama-2 / LLaVA-1.5 use, so the same loader
 * reads both (issue 3, "Tokenisers").
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { CheckpointError, ConfigError, DatasetError } from '../runtime/errors';
import { MAX_TEXT_CHARS } from '../data/schema';
import { writeJsonAtomic } from '../runtime/fsutil';

/** Names of the special tokens a tokenizer knows (undefined where it has none). */
export interface SpecialTokenNames {
  bos?: string;
  eos?: string;
  pad?: string;
  unk?: string;
  image?: string;
}

export interface TokenizerEncodeOptions {
  /** Prepend the BOS token (default true, as Llama's post-processor does). */
  addBos?: boolean;
  /** Append the EOS token (default false). */
  addEos?: boolean;
}

export interface TokenizerDecodeOptions {
  /** Drop special tokens (BOS, EOS, pad, image, ...) from the text (default true). */
  skipSpecialTokens?: boolean;
}

export interface LoadTokenizerOptions {
  /**
   * The model's vocabulary size (`text_config.vocab_size`): every token id must be below it,
   * otherwise a CheckpointError. Models may have more rows than the tokenizer has tokens
   * (llava-1.5-7b: 32064 rows, 32002 tokens), never fewer.
   */
  vocabSize?: number;
}

/** The raw tokenizer.json object (Hugging Face `tokenizers` serialisation). */
export type TokenizerJson = Record<string, unknown> & {
  model: { type: string; vocab: Record<string, number> | unknown; [k: string]: unknown };
  added_tokens?: Array<{ id: number; content: string; special?: boolean; [k: string]: unknown }>;
};

/** tokenizer_config.json fields we use (a token may be a string or an AddedToken object). */
export type TokenizerConfigJson = Record<string, unknown>;

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

/** A loaded tokenizer: encode / decode plus the ids of the special tokens. */
export class Tokenizer {
  /** tokenizer.json as read (kept so `save` writes it back unchanged). */
  readonly json: TokenizerJson;
  readonly config: TokenizerConfigJson;
  readonly special: SpecialTokenNames;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** The padding id: `pad` if the tokenizer has one, else `unk`, else 0 (masked out anyway). */
  readonly padId: number;
  readonly unkId: number | undefined;
  readonly imageId: number | undefined;
  /** Number of ids in use: largest id + 1 (added tokens included). */
  readonly size: number;
  /** Where it was loaded from, for error messages. */
  readonly source: string;
  private readonly hf: HfTokenizer;
  private readonly specialIds: Set<number>;

  constructor(json: TokenizerJson, config: TokenizerConfigJson = {}, source = '<memory>') {
    this.json = json;
    this.config = config;
    this.source = source;
    if (!json || typeof json !== 'object' || !json.model || typeof json.model !== 'object') {
      throw new CheckpointError(`Tokenizer ${source} is not a Hugging Face tokenizer.json: it has no "model" object`, { file: source });
    }
    try {
      this.hf = new HfTokenizer(json, config);
    } catch (e) {
      throw new CheckpointError(`Tokenizer ${source} could not be read: ${(e as Error).message}`, { file: source });
    }
    const has = (t: string | undefined): string | undefined => (t !== undefined && this.hf.token_to_id(t) !== undefined ? t : undefined);
    const first = (...c: Array<string | undefined>): string | undefined => {
      for (const t of c) if (has(t)) return t;
      return undefined;
    };
    this.special = {
      bos: first(tokenName(config.bos_token), '<s>', '<|begin_of_text|>'),
      eos: first(tokenName(config.eos_token), '</s>', '<|end_of_text|>'),
      pad: first(tokenName(config.pad_token), '<pad>'),
      unk: first(tokenName(config.unk_token), (json.model as { unk_token?: string }).unk_token, '<unk>'),
      image: first(tokenName(config.image_token), '<image>'),
    };
    const id = (t: string | undefined): number | undefined => (t === undefined ? undefined : this.hf.token_to_id(t));
    this.bosId = id(this.special.bos);
    this.eosId = id(this.special.eos);
    this.unkId = id(this.special.unk);
    this.imageId = id(this.special.image);
    this.padId = id(this.special.pad) ?? this.unkId ?? 0;
    let max = -1;
    for (const v of this.hf.get_vocab(true).values()) if (v > max) max = v;
    this.size = max + 1;
    this.specialIds = new Set<number>();
    for (const t of json.added_tokens ?? []) if (t.special) this.specialIds.add(t.id);
    for (const i of [this.bosId, this.eosId, this.unkId, this.imageId]) if (i !== undefined) this.specialIds.add(i);
    if (this.special.pad !== undefined) this.specialIds.add(this.padId);
  }

  /** Text → ids. Added tokens written in the text (`<image>`, `</s>`) become their ids. */
  encode(text: string, opts: TokenizerEncodeOptions = {}): number[] {
    if (text.length > MAX_TEXT_CHARS) {
      throw new DatasetError(`Text too long to tokenize: ${text.length.toLocaleString('en')} characters, the limit is ${MAX_TEXT_CHARS.toLocaleString('en')}`, [
        { path: 'text', message: `starts ${JSON.stringify(text.slice(0, 40))}…; a question or answer is a sentence or a paragraph, and no model here has positions for more` },
      ]);
    }
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    const out: number[] = [];
    if ((opts.addBos ?? true) && this.bosId !== undefined) out.push(this.bosId);
    for (const id of ids) out.push(id); // no spread: a long text must not overflow the call stack
    if (opts.addEos && this.eosId !== undefined) out.push(this.eosId);
    return out;
  }

  /** Text → token strings (no BOS). */
  tokenize(text: string): string[] {
    return this.hf.encode(text, { add_special_tokens: false }).tokens;
  }

  /** Ids → text (special tokens dropped by default). */
  decode(ids: ArrayLike<number>, opts: TokenizerDecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const list = Array.from(ids, Number).filter((i) => !(skip && this.specialIds.has(i)));
    if (list.length === 0) return '';
    return this.hf.decode(list, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Throw a CheckpointError unless every token id fits a model with `vocabSize` rows. */
  checkVocabSize(vocabSize: number): void {
    if (this.size > vocabSize) {
      throw new CheckpointError(
        `Tokenizer ${this.source} does not match the model: it has ids up to ${this.size - 1} (${this.size} tokens) but the model's vocab_size is ${vocabSize}; every token id must be < vocab_size`,
        { file: this.source },
      );
    }
  }

  /** Write tokenizer.json (and tokenizer_config.json when there is a config) into `dir`. */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeJsonAtomic(path.join(dir, 'tokenizer.json'), this.json);
    if (Object.keys(this.config).length > 0) writeJsonAtomic(path.join(dir, 'tokenizer_config.json'), this.config);
  }
}

/**
 * Read a Hugging Face tokenizer: a folder holding `tokenizer.json` (and optionally
 * `tokenizer_config.json`), or the path of a tokenizer.json itself.
 */
export function loadTokenizer(dirOrFile: string, opts: LoadTokenizerOptions = {}): Tokenizer {
  let file = dirOrFile;
  if (fs.existsSync(dirOrFile) && fs.statSync(dirOrFile).isDirectory()) file = path.join(dirOrFile, 'tokenizer.json');
  if (!fs.existsSync(file)) {
    throw new CheckpointError(`No tokenizer at ${file}: expected a tokenizer.json (Hugging Face tokenizers format)`, { file });
  }
  let json: TokenizerJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as TokenizerJson;
  } catch (e) {
    throw new CheckpointError(`Tokenizer ${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
  let config: TokenizerConfigJson = {};
  const cfgFile = path.join(path.dirname(file), 'tokenizer_config.json');
  if (fs.existsSync(cfgFile)) {
    try {
      config = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as TokenizerConfigJson;
    } catch (e) {
      throw new CheckpointError(`Tokenizer config ${cfgFile} is not valid JSON: ${(e as Error).message}`, { file: cfgFile });
    }
  }
  const tok = new Tokenizer(json, config, file);
  if (opts.vocabSize !== undefined) tok.checkVocabSize(opts.vocabSize);
  return tok;
}

// ---------------------------------------------------------------------------------------
// Building a small tokenizer for the default model
// ---------------------------------------------------------------------------------------

export interface BuildTokenizerOptions {
  /**
   * Total vocabulary size (special + 256 byte tokens + characters + merges + <image>, <pad>).
   * Default: keep merging until every corpus word is one token.
   */
  vocabSize?: number;
  /** Words seen fewer times than this are not merged into whole tokens (default 1). */
  minFrequency?: number;
}

const SPACE = '\u2581'; // "▁", SentencePiece's word-boundary mark, as Llama uses it

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** Llama-2's tokenizer.json around a given BPE vocab and merges (legacy SentencePiece layout). */
function llamaTokenizerJson(vocab: Record<string, number>, merges: Array<[string, string]>, added: Array<Record<string, unknown>>): TokenizerJson {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added as TokenizerJson['added_tokens'],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const ADDED = ['<unk>', '<s>', '</s>', '<image>', '<pad>'];

/**
 * Split text the way the tokenizer sees it: first around added tokens (each remaining
 * section is normalised on its own, so it gets its own leading "▁"), then into
 * "▁"-prefixed words.
 */
function corpusWords(text: string): string[] {
  const out: string[] = [];
  const sections = text.split(/(<unk>|<s>|<\/s>|<image>|<pad>)/);
  for (const sec of sections) {
    if (sec.length === 0 || ADDED.includes(sec)) continue;
    const norm = SPACE + sec.replace(/ /g, SPACE);
    out.push(...(norm.match(new RegExp(`${SPACE}[^${SPACE}]*`, 'g')) ?? []));
  }
  return out;
}

/**
 * Train a byte-fallback BPE on `corpus` and return it as a Llama-layout tokenizer:
 * ids 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3..258 the byte tokens `<0x00>`..`<0xFF>`, then the
 * corpus characters and the merges in order, then `<image>` and `<pad>` (as llava-hf puts
 * them after the base vocabulary). Deterministic: ties between pairs break by the pair's text.
 * Characters outside the corpus still encode through the byte tokens.
 */
export function buildTokenizer(corpus: readonly string[], opts: BuildTokenizerOptions = {}): Tokenizer {
  const minFrequency = opts.minFrequency ?? 1;
  const counts = new Map<string, number>();
  for (const text of corpus) for (const w of corpusWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[byteToken(b)] = 3 + b;
  let next = 259;
  const chars = new Set<string>([SPACE]);
  for (const w of counts.keys()) for (const c of Array.from(w)) chars.add(c);
  for (const c of [...chars].sort()) {
    if (vocab[c] === undefined) vocab[c] = next++;
  }
  const reserved = 2; // <image>, <pad>
  const limit = opts.vocabSize;
  if (limit !== undefined && limit < next + reserved) {
    throw new ConfigError(`buildTokenizer: vocabSize ${limit} is too small`, [
      { path: 'vocabSize', message: `the corpus needs at least ${next + reserved} (3 special + 256 bytes + ${chars.size} characters + <image> + <pad>)` },
    ]);
  }
  // Words as symbol arrays, with their frequency; words below minFrequency are not merged.
  const words: Array<{ sym: string[]; n: number }> = [];
  for (const [w, n] of [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (n >= minFrequency) words.push({ sym: Array.from(w), n });
  }
  const merges: Array<[string, string]> = [];
  for (;;) {
    if (limit !== undefined && next + reserved >= limit) break;
    const pairs = new Map<string, number>();
    for (const { sym, n } of words) {
      for (let i = 0; i + 1 < sym.length; i++) {
        const k = sym[i] + '\u0000' + sym[i + 1];
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    }
    if (pairs.size === 0) break;
    let best = '';
    let bestN = -1;
    for (const [k, n] of pairs) {
      if (n > bestN || (n === bestN && k < best)) {
        best = k;
        bestN = n;
      }
    }
    const [a, b] = best.split('\u0000');
    const ab = a + b;
    merges.push([a, b]);
    if (vocab[ab] === undefined) vocab[ab] = next++;
    for (const w of words) {
      const s = w.sym;
      if (s.length < 2) continue;
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(ab);
          i++;
        } else out.push(s[i]);
      }
      w.sym = out;
    }
  }
  const imageId = next++;
  const padId = next++;
  vocab['<image>'] = imageId;
  vocab['<pad>'] = padId;
  const added = [addedToken(0, '<unk>'), addedToken(1, '<s>'), addedToken(2, '</s>'), addedToken(imageId, '<image>'), addedToken(padId, '<pad>')];
  const json = llamaTokenizerJson(vocab, merges, added);
  const config: TokenizerConfigJson = {
    tokenizer_class: 'LlamaTokenizer',
    add_bos_token: true,
    add_eos_token: false,
    legacy: true,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    image_token: '<image>',
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
  };
  return new Tokenizer(json, config, '<built>');
}
