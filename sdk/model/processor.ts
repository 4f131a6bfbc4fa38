/**
 * `LlavaProcessor`: examples → model inputs. The LLaVA-1.5 conversation format (vicuna_v1:
 * `{system} USER: <image>\n{question} ASSISTANT: {answer}</s>`), `<image>` expanded to the
 * image-token count, answer-only labels (−100 on system, prompt and image positions; the
 * answer tokens and the closing `</s>` are labelled), right padding for training and the pixel
 * values of each example's image (issue 3, "Tokenisers" and "Training pieces").
 *
 * The template is a property of the checkpoint: it is saved in `processor_config.json` beside
 * `tokenizer.json`, so a model answers in the format it was trained on.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError, ConfigError } from '../runtime/errors';
import { writeJsonAtomic } from '../runtime/fsutil';
import { loadImages } from '../data/images';
import type { Example } from '../data/examples';
import type { Tensor4D } from '../runtime/tf';
import { LlavaConfig, numImageTokens } from './config';
import { loadTokenizer, Tokenizer } from './tokenizer';
import { setProcessorLoader } from './load';

/** Label of positions the loss ignores (PyTorch's CrossEntropyLoss ignore_index). */
export const IGNORE_INDEX = -100;

/** The system prompt of LLaVA-1.5 (conv_vicuna_v1). */
export const VICUNA_V1_SYSTEM =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

/** How a conversation turn is written out. */
export interface PromptTemplate {
  /** System text before the first turn ('' for none; llava-hf checkpoints use none). */
  system: string;
  /** User role tag (default 'USER:'). */
  user: string;
  /** Assistant role tag (default 'ASSISTANT:'). */
  assistant: string;
  /** What stands for the image before the question (default '<image>\n'). */
  imagePlaceholder: string;
}

/** vicuna_v1 as LLaVA-1.5 trains it. */
export const LLAVA_V1_TEMPLATE: PromptTemplate = { system: VICUNA_V1_SYSTEM, user: 'USER:', assistant: 'ASSISTANT:', imagePlaceholder: '<image>\n' };
/** What the llava-hf checkpoints document: the same turns with no system text. */
export const LLAVA_HF_TEMPLATE: PromptTemplate = { system: '', user: 'USER:', assistant: 'ASSISTANT:', imagePlaceholder: '<image>\n' };

/** Loads images for a batch: absolute paths → [n, 3, size, size], normalised. */
export type ImageLoader = (absPaths: readonly string[], size: number) => Promise<Tensor4D>;

export interface ProcessorOptions {
  tokenizer: Tokenizer;
  /** Side of the square input images (vision_config.image_size). */
  imageSize: number;
  /** Image tokens per image (see numImageTokens(config)). */
  numImageTokens: number;
  /** Id the `<image>` placeholder expands to (config.image_token_index); default the tokenizer's `<image>`. */
  imageTokenId?: number;
  template?: Partial<PromptTemplate>;
  /** Default: data.loadImages (sharp, bicubic, CLIP mean/std, cached). */
  imageLoader?: ImageLoader;
}

export interface ProcessorEncodeOptions {
  /** Include the answer (and `</s>`) and label it (training); else end at the assistant tag. */
  withAnswer: boolean;
  /** Padding side (default: right with answers, left for prompts, as generation wants). */
  padding?: 'left' | 'right';
}

/** Token ids, labels and mask of a batch (rectangular), plus the image of each example that has one. */
export interface TokenizedBatch {
  inputIds: number[][];
  /** Aligned with inputIds (HF semantics: the loss shifts them); −100 where ignored. */
  labels: number[][];
  attentionMask: number[][];
  /** Absolute image paths, one per example with an image, in example order. */
  imagePaths: string[];
}

export interface EncodedBatch {
  inputIds: number[][];
  labels: number[][];
  attentionMask: number[][];
  /** [images, 3, size, size] in example order; absent when no example has an image. The caller disposes it. */
  pixelValues?: Tensor4D;
}

/** A prompt (and optional answer) to encode; `Example` from the data layer fits. */
export type ProcessorInput = Pick<Example, 'question' | 'answer' | 'image'>;

export class LlavaProcessor {
  readonly tokenizer: Tokenizer;
  readonly imageSize: number;
  readonly numImageTokens: number;
  readonly imageTokenId: number;
  readonly template: PromptTemplate;
  private readonly imageLoader: ImageLoader;

  constructor(o: ProcessorOptions) {
    this.tokenizer = o.tokenizer;
    this.imageSize = o.imageSize;
    this.numImageTokens = o.numImageTokens;
    const imageTokenId = o.imageTokenId ?? o.tokenizer.imageId;
    if (imageTokenId === undefined) {
      throw new CheckpointError(`Tokenizer ${o.tokenizer.source} has no <image> token and no imageTokenId was given: a LLaVA processor needs one`, { file: o.tokenizer.source });
    }
    this.imageTokenId = imageTokenId;
    this.template = { ...LLAVA_V1_TEMPLATE, ...(o.template ?? {}) };
    this.imageLoader = o.imageLoader ?? ((p, s) => loadImages(p, s));
  }

  /** The processor for a model config: image size and token count from the config, ids checked against it. */
  static forConfig(config: LlavaConfig, tokenizer: Tokenizer, opts: { template?: Partial<PromptTemplate>; imageLoader?: ImageLoader } = {}): LlavaProcessor {
    tokenizer.checkVocabSize(config.text_config.vocab_size);
    const img = tokenizer.imageId;
    if (img !== undefined && img !== config.image_token_index) {
      throw new CheckpointError(
        `Tokenizer ${tokenizer.source} does not match the model: its <image> token is id ${img} but config.json's image_token_index is ${config.image_token_index}`,
        { file: tokenizer.source },
      );
    }
    return new LlavaProcessor({
      tokenizer,
      imageSize: config.vision_config.image_size,
      numImageTokens: numImageTokens(config),
      imageTokenId: config.image_token_index,
      template: opts.template,
      imageLoader: opts.imageLoader,
    });
  }

  /** Read tokenizer.json (+ tokenizer_config.json, processor_config.json) from a checkpoint folder. */
  static fromPretrained(dir: string, config: LlavaConfig, opts: { imageLoader?: ImageLoader } = {}): LlavaProcessor {
    const tok = loadTokenizer(dir, { vocabSize: config.text_config.vocab_size });
    let template: Partial<PromptTemplate> = LLAVA_HF_TEMPLATE;
    const file = path.join(dir, 'processor_config.json');
    if (fs.existsSync(file)) {
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new CheckpointError(`Processor config ${file} is not valid JSON: ${(e as Error).message}`, { file });
      }
      const t = raw.prompt_template;
      if (t !== undefined) template = { ...LLAVA_HF_TEMPLATE, ...parseTemplate(t, file) };
    }
    return LlavaProcessor.forConfig(config, tok, { template, imageLoader: opts.imageLoader });
  }

  /** The prompt text of one example, up to and including the assistant tag. */
  promptText(question: string, hasImage: boolean): string {
    const t = this.template;
    const head = t.system ? `${t.system} ` : '';
    return `${head}${t.user} ${hasImage ? t.imagePlaceholder : ''}${question} ${t.assistant}`;
  }

  /** The whole training text of one example: prompt, answer and `</s>`. */
  fullText(question: string, answer: string, hasImage: boolean): string {
    return `${this.promptText(question, hasImage)} ${answer}${this.tokenizer.special.eos ?? ''}`;
  }

  /** Replace each image id by numImageTokens copies (what HF's processor does to the text). */
  private expand(ids: number[]): number[] {
    const out: number[] = [];
    const tokImg = this.tokenizer.imageId;
    for (const id of ids) {
      if (id === tokImg || id === this.imageTokenId) for (let k = 0; k < this.numImageTokens; k++) out.push(this.imageTokenId);
      else out.push(id);
    }
    return out;
  }

  /** Unpadded ids (and labels) of one example. */
  encodeOne(ex: ProcessorInput, withAnswer: boolean): { ids: number[]; labels: number[] } {
    const hasImage = ex.image !== undefined;
    const prompt = this.expand(this.tokenizer.encode(this.promptText(ex.question, hasImage)));
    if (!withAnswer) return { ids: prompt, labels: prompt.map(() => IGNORE_INDEX) };
    const full = this.expand(this.tokenizer.encode(this.fullText(ex.question, ex.answer, hasImage)));
    // The prompt's ids are a prefix of the full text's (the answer starts a new "▁" word);
    // fall back to the common prefix for tokenizers where they are not.
    let k = 0;
    while (k < prompt.length && k < full.length && prompt[k] === full[k]) k++;
    const labels = full.map((id, i) => (i < k ? IGNORE_INDEX : id));
    return { ids: full, labels };
  }

  /** Prompts as ragged id lists (for `model.generate`), plus the images they need, in order. */
  promptIds(examples: readonly ProcessorInput[]): { inputIds: number[][]; imagePaths: string[] } {
    return {
      inputIds: examples.map((e) => this.encodeOne(e, false).ids),
      imagePaths: examples.filter((e) => e.image !== undefined).map((e) => e.image as string),
    };
  }

  /** Token ids, labels and mask (padded), and the image paths; no image decoding. */
  tokenize(examples: readonly ProcessorInput[], opts: ProcessorEncodeOptions): TokenizedBatch {
    if (examples.length === 0) throw new ConfigError('LlavaProcessor.encode: no examples', [{ path: 'examples', message: 'expected at least one' }]);
    const side = opts.padding ?? (opts.withAnswer ? 'right' : 'left');
    const rows = examples.map((e) => this.encodeOne(e, opts.withAnswer));
    const T = Math.max(...rows.map((r) => r.ids.length));
    const pad = this.tokenizer.padId;
    const inputIds: number[][] = [];
    const labels: number[][] = [];
    const attentionMask: number[][] = [];
    for (const r of rows) {
      const n = T - r.ids.length;
      const padIds = new Array<number>(n).fill(pad);
      const padLab = new Array<number>(n).fill(IGNORE_INDEX);
      const zeros = new Array<number>(n).fill(0);
      const ones = new Array<number>(r.ids.length).fill(1);
      if (side === 'right') {
        inputIds.push([...r.ids, ...padIds]);
        labels.push([...r.labels, ...padLab]);
        attentionMask.push([...ones, ...zeros]);
      } else {
        inputIds.push([...padIds, ...r.ids]);
        labels.push([...padLab, ...r.labels]);
        attentionMask.push([...zeros, ...ones]);
      }
    }
    const imagePaths = examples.filter((e) => e.image !== undefined).map((e) => e.image as string);
    return { inputIds, labels, attentionMask, imagePaths };
  }

  /** Everything the model needs for a batch; loads (and caches) the images. */
  async encode(examples: readonly ProcessorInput[], opts: ProcessorEncodeOptions): Promise<EncodedBatch> {
    const t = this.tokenize(examples, opts);
    const out: EncodedBatch = { inputIds: t.inputIds, labels: t.labels, attentionMask: t.attentionMask };
    if (t.imagePaths.length > 0) out.pixelValues = await this.loadImages(t.imagePaths);
    return out;
  }

  /** Images as [n, 3, size, size] (size checked). */
  async loadImages(paths: readonly string[]): Promise<Tensor4D> {
    const pv = await this.imageLoader(paths, this.imageSize);
    const want = [paths.length, 3, this.imageSize, this.imageSize];
    if (pv.shape.join(',') !== want.join(',')) {
      const found = pv.shape.join(', ');
      pv.dispose();
      throw new ConfigError(`Image loader returned shape [${found}] but the model expects [${want.join(', ')}]`, [{ path: 'pixelValues', message: `expected [${want.join(', ')}]` }]);
    }
    return pv;
  }

  /** Generated ids → text: stops at the first `</s>`, drops special tokens, trims. */
  decode(ids: ArrayLike<number>): string {
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] === this.tokenizer.eosId) break;
      list.push(ids[i]);
    }
    return this.tokenizer.decode(list).trim();
  }

  /** Write tokenizer.json, tokenizer_config.json and processor_config.json (with the template) into `dir`. */
  save(dir: string): void {
    this.tokenizer.save(dir);
    writeJsonAtomic(path.join(dir, 'processor_config.json'), {
      processor_class: 'LlavaProcessor',
      image_token: this.tokenizer.special.image ?? '<image>',
      num_image_tokens: this.numImageTokens,
      image_size: this.imageSize,
      prompt_template: { ...this.template },
    });
  }
}

function parseTemplate(t: unknown, file: string): Partial<PromptTemplate> {
  const issues: Array<{ path: string; message: string }> = [];
  const out: Partial<PromptTemplate> = {};
  if (!t || typeof t !== 'object') {
    throw new ConfigError(`Invalid ${file}`, [{ path: 'prompt_template', message: 'must be an object {system, user, assistant, imagePlaceholder}' }]);
  }
  for (const k of ['system', 'user', 'assistant', 'imagePlaceholder'] as const) {
    const v = (t as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') issues.push({ path: `prompt_template.${k}`, message: `must be a string, got ${typeof v}` });
    else out[k] = v;
  }
  if (issues.length) throw new ConfigError(`Invalid ${file}`, issues);
  return out;
}

/** Decode rows of generated ids with a processor (convenience for metrics and tests). */
export function decodeAll(processor: LlavaProcessor, rows: readonly number[][]): string[] {
  return rows.map((r) => processor.decode(r));
}

// loadPretrained builds `m.processor` from the folder's tokenizer files when they exist.
setProcessorLoader((dir, model) => {
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) return undefined;
  return LlavaProcessor.fromPretrained(dir, model.config) as unknown as import('./llava').ProcessorLike;
});
