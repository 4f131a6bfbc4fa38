/**
 * Autoregressive generation with a KV cache. Prompts of different lengths are left-padded
 * into one batch (rotary positions count real tokens only, so a padded prompt generates what
 * it would alone); each prompt can be sampled several times. Greedy at temperature 0, else
 * temperature → top-k → top-p sampling (transformers' order) from a seeded Rng.
 */
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from '../runtime/tf';
import { ConfigError } from '../runtime/errors';
import { Rng, DEFAULT_SEED } from '../runtime/rng';
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
  const l = new Float64Array(V);
  let mx = -Infinity;
  for (let i = 0; i < V; i++) {
    l[i] = logits[off + i] / o.temperature;
    if (l[i] > mx) mx = l[i];
  }
  const useK = o.topK !== undefined && o.topK > 0 && o.topK < V;
  const useP = o.topP !== undefined && o.topP < 1;
  if (!useK && !useP) {
    // Plain softmax sampling: no sort needed.
    for (let i = 0; i < V; i++) l[i] = Math.exp(l[i] - mx);
    return rng.categorical(l);
  }
  const idx = Array.from({ length: V }, (_, i) => i);
  idx.sort((a, b) => l[b] - l[a] || a - b);
  let keep = useK ? (o.topK as number) : V;
  const p = new Float64Array(keep);
  let z = 0;
  for (let i = 0; i < keep; i++) {
    p[i] = Math.exp(l[idx[i]] - mx);
    z += p[i];
  }
  if (useP) {
    let c = 0;
    let k = 0;
    while (k < keep) {
      c += p[k] / z;
      k++;
      if (c >= (o.topP as number)) break;
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
  // The prompts are prefilled once (left-padded into one batch); with numSamples > 1 the
  // cache and last logits are then repeated, prompt-major, into one row per sample.
  const B = prompts.length;
  const L = Math.max(...prompts.map((r) => r.length));
  const ids = prompts.map((r) => [...new Array(L - r.length).fill(padId), ...r]);
  const promptMask = prompts.map((r) => [...new Array(L - r.length).fill(0), ...new Array(r.length).fill(1)]);
  const positions = positionsFromMask(promptMask);
  const promptIndex: number[] = [];
  for (let i = 0; i < B; i++) for (let s = 0; s < numSamples; s++) promptIndex.push(i);
  const R = promptIndex.length;
  const rows = promptIndex.map((i) => prompts[i]);
  const mask = promptIndex.map((i) => promptMask[i].slice());
  const nextPos = rows.map((r) => r.length);

  const rng = new Rng(o.seed ?? DEFAULT_SEED);
  const out: number[][] = rows.map(() => []);
  const reason: Array<'eos' | 'length' | 'aborted'> = rows.map(() => 'length');
  const done = rows.map(() => false);
  let aborted = false;

  let cache: KVCache | undefined;
  let logitsData: Float32Array;
  try {
    // Prefill: whole prompts, logits of the last position only.
    {
      const kvh = cfg.text_config.num_key_value_heads;
      const r = tf.tidy(() => {
        const embeds = m.embed(ids, o.pixelValues);
        const d = m.decode({ embeds, positions, keyMask: promptMask, useCache: true, lastOnly: true });
        let { k, v } = d.cache!;
        if (numSamples > 1) {
          // cache rows are [prompt · kvHeads]; repeat each prompt's block numSamples times
          const idx: number[] = [];
          for (const pi of promptIndex) for (let h = 0; h < kvh; h++) idx.push(pi * kvh + h);
          const t = tf.tensor1d(idx, 'int32');
          k = k.map((x) => tf.gather(x, t) as Tensor3D);
          v = v.map((x) => tf.gather(x, t) as Tensor3D);
        }
        return { logits: d.logits, k, v };
      });
      cache = { k: r.k, v: r.v, length: L };
      const promptLogits = (await r.logits.data()) as Float32Array;
      r.logits.dispose();
      logitsData = new Float32Array(R * V);
      promptIndex.forEach((pi, i) => logitsData.set(promptLogits.subarray(pi * V, (pi + 1) * V), i * V));
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
        const embeds = m.embed(next.map((t) => [t]), undefined, { imageTokensAsText: true });
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
