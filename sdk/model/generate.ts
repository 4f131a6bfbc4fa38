/**
 * Autoregressive generation with a KV cache. Prompts of different lengths are left-padded
 * into one batch (rotary positions count real tokens only, so a padded prompt generates what
 * it would alone); each prompt can be sampled several times. Greedy at temperature 0, else
 * temperature → top-k → top-p sampling (transformers' order) from a seeded Rng.
 */
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from './tftypes';
import { ConfigError } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { positionsFromMask } from './layers';
import type { KVCache, LlavaModel } from './llava';

export interface GenerateOptions {
  /** Prompts (ragged allowed) or an int32 tensor [batch, seq]. */
  inputIds: number[][] | Tensor2D;
  /** Images for the prompts' image tokens, in order ([n, C, H, W], already normalised). */
  pixelValues?: Tensor4D;
  /** Maximum new tokens per sequence (default 32). */
  maxNewTokens?: number;
  /** Stop a sequence at this token (or any of these); default: the config's eos_token_id. The EOS token is not included in `sequences`. */
  eosTokenId?: number | number[];
  /** 0 (default) = greedy; > 0 = sample. */
  temperature?: number;
  /** Keep only the k most likely tokens when sampling (0 / undefined = off). */
  topK?: number;
  /** Nucleus sampling: keep the smallest set with cumulative probability ≥ topP (1 = off). */
  topP?: number;
  /** Seed of the sampling Rng (default 233). */
  seed?: number;
  /** Samples per prompt (default 1). Results are prompt-major: prompt 0's samples first. */
  numSamples?: number;
  /** Called after every generated step with (step, maxNewTokens). */
  onProgress?: (done: number, total: number) => void;
  /** Abort: generation stops after the current step and returns what it has (aborted: true). */
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** New tokens only (EOS excluded), one row per prompt × sample, prompt-major. */
  sequences: number[][];
  /** For each row: the prompt index it belongs to. */
  promptIndex: number[];
  /** For each row: 'eos' (stopped at an EOS token), 'length' (maxNewTokens) or 'aborted'. */
  finishReason: Array<'eos' | 'length' | 'aborted'>;
  aborted: boolean;
}

function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = a[off + i];
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** Sample one token from logits row `off..off+V` with temperature, top-k, top-p. */
export function sampleToken(logits: Float32Array, off: number, V: number, o: { temperature: number; topK?: number; topP?: number }, rng: Rng): number {
  if (!(o.temperature > 0)) return argmax(logits, off, V);
  const idx = Array.from({ length: V }, (_, i) => i);
  const l = new Float64Array(V);
  for (let i = 0; i < V; i++) l[i] = logits[off + i] / o.temperature;
  idx.sort((a, b) => l[b] - l[a] || a - b);
  let keep = V;
  if (o.topK && o.topK > 0) keep = Math.min(keep, o.topK);
  const mx = l[idx[0]];
  const p = new Float64Array(keep);
  let z = 0;
  for (let i = 0; i < keep; i++) {
    p[i] = Math.exp(l[idx[i]] - mx);
    z += p[i];
  }
  if (o.topP !== undefined && o.topP < 1) {
    let c = 0;
    let k = 0;
    while (k < keep) {
      c += p[k] / z;
      k++;
      if (c >= o.topP) break;
    }
    keep = Math.max(1, k);
  }
  return idx[rng.categorical(p.subarray(0, keep))];
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export async function generate(m: LlavaModel, o: GenerateOptions): Promise<GenerateResult> {
  const prompts: number[][] = Array.isArray(o.inputIds) ? o.inputIds : (o.inputIds.arraySync() as number[][]);
  const issues: { path: string; message: string }[] = [];
  if (prompts.length === 0) issues.push({ path: 'inputIds', message: 'no prompts' });
  prompts.forEach((p, i) => {
    if (!Array.isArray(p) || p.length === 0) issues.push({ path: `inputIds[${i}]`, message: 'empty prompt' });
  });
  const maxNew = o.maxNewTokens ?? 32;
  const numSamples = o.numSamples ?? 1;
  const temperature = o.temperature ?? 0;
  if (!Number.isInteger(maxNew) || maxNew < 0) issues.push({ path: 'maxNewTokens', message: `must be an integer ≥ 0, got ${maxNew}` });
  if (!Number.isInteger(numSamples) || numSamples < 1) issues.push({ path: 'numSamples', message: `must be an integer ≥ 1, got ${numSamples}` });
  if (!(temperature >= 0)) issues.push({ path: 'temperature', message: `must be ≥ 0, got ${temperature}` });
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) issues.push({ path: 'topP', message: `must be in (0, 1], got ${o.topP}` });
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) issues.push({ path: 'topK', message: `must be an integer ≥ 0, got ${o.topK}` });
  if (issues.length) throw new ConfigError('Invalid generate() options', issues);

  const cfg = m.config;
  const V = cfg.text_config.vocab_size;
  const eosRaw = o.eosTokenId ?? (m.generationConfig?.eos_token_id as number | number[] | undefined) ?? cfg.text_config.eos_token_id;
  const eos = new Set<number>(eosRaw === undefined ? [] : Array.isArray(eosRaw) ? eosRaw : [eosRaw]);
  const padId = (cfg.text_config.pad_token_id ?? cfg.pad_token_id ?? 0) as number;
  const imgTok = cfg.image_token_index;
  const perImage = m.numImageTokens;

  // Rows: each prompt repeated numSamples times; images follow their prompt.
  const rows: number[][] = [];
  const promptIndex: number[] = [];
  const imageIndex: number[] = [];
  let imgCursor = 0;
  prompts.forEach((p, i) => {
    const nImg = p.filter((t) => t === imgTok).length / perImage;
    const first = imgCursor;
    imgCursor += Math.ceil(nImg);
    for (let s = 0; s < numSamples; s++) {
      rows.push(p);
      promptIndex.push(i);
      for (let j = 0; j < nImg; j++) imageIndex.push(first + j);
    }
  });
  const R = rows.length;
  const L = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array(L - r.length).fill(padId), ...r]);
  const mask = rows.map((r) => [...new Array(L - r.length).fill(0), ...new Array(r.length).fill(1)]);
  const positions = positionsFromMask(mask);
  const nextPos = rows.map((r) => r.length);

  const rng = new Rng(o.seed ?? 233);
  const out: number[][] = rows.map(() => []);
  const reason: Array<'eos' | 'length' | 'aborted'> = rows.map(() => 'length');
  const done = rows.map(() => false);
  let aborted = false;

  let cache: KVCache | undefined;
  let logitsData: Float32Array;
  try {
    // Prefill: whole prompts, logits of the last position only.
    {
      const r = tf.tidy(() => {
        let pv = o.pixelValues;
        if (pv && numSamples > 1 && imageIndex.length !== pv.shape[0]) pv = tf.gather(pv, tf.tensor1d(imageIndex, 'int32')) as Tensor4D;
        const embeds = m.embed(ids, pv);
        const d = m.decode({ embeds, positions, keyMask: mask, useCache: true, lastOnly: true });
        return { logits: d.logits, k: d.cache!.k, v: d.cache!.v };
      });
      cache = { k: r.k, v: r.v, length: L };
      logitsData = (await r.logits.data()) as Float32Array;
      r.logits.dispose();
    }
    for (let step = 0; step < maxNew; step++) {
      const next = new Array<number>(R);
      for (let i = 0; i < R; i++) {
        if (done[i]) {
          next[i] = padId;
          continue;
        }
        const tok = sampleToken(logitsData, i * V, V, { temperature, topK: o.topK, topP: o.topP }, rng);
        next[i] = tok;
        if (eos.has(tok)) {
          done[i] = true;
          reason[i] = 'eos';
        } else out[i].push(tok);
      }
      o.onProgress?.(step + 1, maxNew);
      if (done.every(Boolean) || step === maxNew - 1) break;
      await yieldToLoop();
      if (o.signal?.aborted) {
        aborted = true;
        for (let i = 0; i < R; i++) if (!done[i]) reason[i] = 'aborted';
        break;
      }
      for (let i = 0; i < R; i++) mask[i].push(done[i] ? 0 : 1);
      const stepPos = rows.map((_, i) => [nextPos[i]++]);
      const prev: KVCache = cache!;
      const r = tf.tidy(() => {
        const embeds = m.embed(next.map((t) => [t]));
        const d = m.decode({ embeds, positions: stepPos, keyMask: mask, cache: prev, useCache: true, lastOnly: true });
        return { logits: d.logits, k: d.cache!.k, v: d.cache!.v };
      });
      for (const t of [...prev.k, ...prev.v]) t.dispose();
      cache = { k: r.k, v: r.v, length: prev.length + 1 };
      logitsData = (await r.logits.data()) as Float32Array;
      r.logits.dispose();
    }
  } finally {
    if (cache) for (const t of [...cache.k, ...cache.v]) t.dispose();
  }
  return { sequences: out, promptIndex, finishReason: reason, aborted };
}
