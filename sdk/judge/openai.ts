/**
 * The `openai` judge: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp
 * server, Ollama, ...). Base URL, model and key come from options or the environment
 * (ERASERLAB_JUDGE_BASE_URL / ERASERLAB_JUDGE_MODEL / ERASERLAB_JUDGE_API_KEY, falling back to
 * OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY); there is no built-in host.
 *
 * Two protocols: `eraserlab` (default: our own prompts, prompts.ts, temperature 0, whole-word
 * reply parsing, scores 0..1) and `official` (the official SafeEraser prompts and reply rules,
 * read at run time from a SafeEraser checkout: official.ts).
 *
 * - Replies are cached on disk (JSONL, one line per reply, keyed by base URL + model + protocol
 *   + prompt, appended as each reply arrives), so an interrupted run resumes without paying twice.
 * - Bounded concurrency, a timeout per request, retries with exponential backoff on network
 *   errors, timeouts, HTTP 429/5xx and malformed bodies (a `Retry-After` header is honoured, up
 *   to `maxRetryAfterMs`); other HTTP errors fail at once.
 * - Secrets never leave: the key, any Authorization value and credentials in the base URL
 *   (`https://user:key@host/v1`, sent as Basic auth) are redacted from every message and from
 *   the public `baseURL`. A reply is read as a stream and refused past `maxReplyBytes`.
 * - A reply that does not parse is 'unknown' (and NaN for scores), never "safe"; `stats()`
 *   counts them. An endpoint still failing after its retries raises a JudgeError naming the URL,
 *   the status and the item (`ctx.id`).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../runtime/errors';
import { JudgeError } from './errors';
import { loadOfficialProtocol, officialLabel, officialScore, pyFormat, safeEraserDir, type OfficialProtocol } from './official';
import {
  NORMAL_PROMPT,
  REFUSAL_PROMPT,
  SCORE_PROMPT,
  SYSTEM_MESSAGE,
  fillPrompt,
  parseScore,
  parseUnsafeReply,
  parseYesNo,
  unsafePromptFor,
} from './prompts';
import type { Decision, Judge, JudgeContext, ScoreResult } from './types';

export interface OpenAIJudgeOptions {
  /** e.g. `http://127.0.0.1:8000/v1` (the `/chat/completions` path is appended). */
  baseURL?: string;
  model?: string;
  apiKey?: string;
  /** JSONL cache file; default `.eraserlab-cache/judge-<model>.jsonl` in the working directory. `false` disables. */
  cacheFile?: string | false;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per-request timeout in ms (default 60 000). */
  timeoutMs?: number;
  /** 'eraserlab' (default: our prompts) or 'official' (the official SafeEraser prompts and rules). */
  protocol?: JudgeProtocol;
  /** The SafeEraser checkout the `official` protocol reads its prompts from (default ERASERLAB_SAFEERASER_DIR). */
  safeEraserDir?: string;
  /** Largest reply body accepted, in bytes (default 4 MiB); a larger one is a JudgeError, read no further. */
  maxReplyBytes?: number;
  /** Longest wait a `Retry-After` header may ask for, in ms (default 60 000; longer asks wait this long). */
  maxRetryAfterMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff in ms, doubled each retry (default 1000). */
  backoffMs?: number;
  /** Sampling temperature sent to the endpoint (default 0; the official protocol sends none, as the official script). */
  temperature?: number;
  /** Environment to read defaults from (default process.env; tests pass their own). */
  env?: Record<string, string | undefined>;
}

export type JudgeProtocol = 'eraserlab' | 'official';
export const JUDGE_PROTOCOLS: readonly JudgeProtocol[] = ['eraserlab', 'official'];

/** A URL without its `user:password@` part. */
export function redactURL(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/i, '$1');
}

/**
 * `text` with secrets replaced by `***`: the given secret strings, any `Authorization` value,
 * `Bearer`/`Basic` credentials and `user:password@` in URLs.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = String(text);
  for (const sec of secrets) if (sec && sec.length >= 4) out = out.split(sec).join('***');
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***');
  out = out.replace(/(authorization["']?\s*[:=]\s*["']?)(?!\*\*\*)[^"'\s,}\]]+(\s+[^"'\s,}\]]+)?/gi, '$1***');
  out = out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@"']*@/gi, '$1***@');
  return out;
}

/** Seconds or an HTTP date → ms to wait (undefined when absent or unreadable). */
function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const t = h.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  return Number.isFinite(d) ? Math.max(0, d - Date.now()) : undefined;
}

interface CacheLine {
  key: string;
  model: string;
  reply: string;
}

function envOf(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[`ERASERLAB_JUDGE_${name}`] ?? env[`OPENAI_${name}`];
  return v === undefined || v === '' ? undefined : v;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class OpenAIJudge implements Judge {
  readonly name = 'openai';
  /** The endpoint's base URL, without credentials. */
  readonly baseURL: string;
  readonly model: string;
  readonly protocol: JudgeProtocol;
  readonly cacheFile: string | undefined;
  // secrets: true private fields, so they never show in JSON.stringify, console.log or a notebook
  readonly #apiKey: string | undefined;
  readonly #authorization: string | undefined;
  readonly #secrets: string[];
  private readonly official: OfficialProtocol | undefined;
  private readonly maxReplyBytes: number;
  private readonly maxRetryAfterMs: number;
  private readonly sendTemperature: boolean;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly temperature: number;
  private readonly cache = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly counters = { requests: 0, cacheHits: 0, retries: 0, unknown: 0, failures: 0 };

  constructor(opts: OpenAIJudgeOptions = {}) {
    const env = opts.env ?? process.env;
    const baseURL = opts.baseURL ?? envOf(env, 'BASE_URL');
    const model = opts.model ?? envOf(env, 'MODEL');
    const issues = [];
    if (!baseURL) {
      issues.push({ path: 'baseURL', message: 'required: pass {baseURL} or set ERASERLAB_JUDGE_BASE_URL (or OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1' });
    }
    if (!model) issues.push({ path: 'model', message: 'required: pass {model} or set ERASERLAB_JUDGE_MODEL (or OPENAI_MODEL), e.g. gpt-4o' });
    const num = (k: 'concurrency' | 'timeoutMs' | 'retries' | 'backoffMs' | 'maxReplyBytes' | 'maxRetryAfterMs', min: number) => {
      const v = opts[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= min)) issues.push({ path: k, message: `must be a number ≥ ${min} (got ${v})` });
    };
    num('concurrency', 1);
    num('timeoutMs', 1);
    num('retries', 0);
    num('backoffMs', 0);
    num('maxReplyBytes', 1);
    num('maxRetryAfterMs', 0);
    const protocol = opts.protocol ?? 'eraserlab';
    if (!JUDGE_PROTOCOLS.includes(protocol)) issues.push({ path: 'protocol', message: `must be one of [${JUDGE_PROTOCOLS.join(', ')}] (got ${JSON.stringify(protocol)})` });
    let user = '';
    let password = '';
    let cleanURL = '';
    if (baseURL) {
      try {
        const u = new URL(String(baseURL));
        user = decodeURIComponent(u.username);
        password = decodeURIComponent(u.password);
        cleanURL = redactURL(String(baseURL)).replace(/\/+$/, '');
        if (!/^https?:$/.test(u.protocol)) issues.push({ path: 'baseURL', message: `must be an http(s) URL (got ${JSON.stringify(redactSecrets(String(baseURL)))})` });
      } catch {
        issues.push({ path: 'baseURL', message: `not a URL: ${JSON.stringify(redactSecrets(String(baseURL)))}` });
      }
    }
    const apiKey = opts.apiKey ?? envOf(env, 'API_KEY');
    if (issues.length) throw new ConfigError('Invalid options for the openai judge', issues.map((i) => ({ ...i, message: redactSecrets(i.message, [apiKey, password]) })));
    this.baseURL = cleanURL;
    this.model = String(model);
    this.protocol = protocol;
    this.#apiKey = apiKey;
    const basic = user || password ? Buffer.from(`${user}:${password}`).toString('base64') : undefined;
    this.#authorization = this.#apiKey ? `Bearer ${this.#apiKey}` : basic ? `Basic ${basic}` : undefined;
    this.#secrets = [this.#apiKey, password, basic, user && password ? `${user}:${password}` : undefined].filter((x): x is string => !!x);
    this.official = protocol === 'official' ? loadOfficialProtocol(safeEraserDir(opts.safeEraserDir, env)) : undefined;
    this.maxReplyBytes = opts.maxReplyBytes ?? 4 * 1024 * 1024;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.sendTemperature = protocol !== 'official' || opts.temperature !== undefined;
    this.concurrency = opts.concurrency ?? 4;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.temperature = opts.temperature ?? 0;
    this.cacheFile =
      opts.cacheFile === false
        ? undefined
        : opts.cacheFile ?? path.join(process.cwd(), '.eraserlab-cache', `judge-${this.model.replace(/[^A-Za-z0-9._-]+/g, '_')}.jsonl`);
    this.loadCache();
  }

  private loadCache(): void {
    if (!this.cacheFile || !fs.existsSync(this.cacheFile)) return;
    const text = fs.readFileSync(this.cacheFile, 'utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const c = JSON.parse(line) as CacheLine;
        if (typeof c.key === 'string' && typeof c.reply === 'string') this.cache.set(c.key, c.reply);
      } catch {
        // a line cut short by an interrupted write: ignore it, the request is simply made again
      }
    }
  }

  private keyOf(prompt: string): string {
    return crypto
      .createHash('sha256')
      .update(this.baseURL).update('\u0000')
      .update(this.model).update('\u0000')
      .update(this.protocol).update('\u0000')
      .update(prompt)
      .digest('hex');
  }

  /** `text` with this judge's secrets (and any Authorization value or URL credentials) redacted. */
  redact(text: string): string {
    return redactSecrets(text, this.#secrets);
  }

  /** Read a reply body as a stream, refusing it past maxReplyBytes. */
  private async readBody(res: Response, ac: AbortController): Promise<string> {
    const declared = Number(res.headers.get('content-length'));
    const tooBig = () =>
      new JudgeError(
        `Judge endpoint ${this.baseURL}/chat/completions sent a reply larger than ${this.maxReplyBytes} bytes (maxReplyBytes); ` +
          'not read further and not cached. Check the endpoint, or raise maxReplyBytes if such replies are expected.',
        { url: `${this.baseURL}/chat/completions`, status: res.status },
      );
    if (Number.isFinite(declared) && declared > this.maxReplyBytes) {
      ac.abort();
      throw tooBig();
    }
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.maxReplyBytes) {
        await reader.cancel().catch(() => undefined);
        ac.abort();
        throw tooBig();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))).toString('utf8');
  }

  stats(): Record<string, number> {
    return { ...this.counters, cached: this.cache.size };
  }

  private async acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
  }

  private release(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next();
  }

  /** The reply to one prompt: from the cache, or from the endpoint (then appended to the cache). */
  async complete(prompt: string, ctx?: JudgeContext): Promise<string> {
    const key = this.keyOf(prompt);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.counters.cacheHits++;
      return hit;
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const p = (async () => {
      await this.acquire();
      try {
        const reply = await this.request(prompt, ctx);
        this.cache.set(key, reply);
        if (this.cacheFile) {
          fs.mkdirSync(path.dirname(this.cacheFile), { recursive: true });
          const line: CacheLine = { key, model: this.model, reply };
          fs.appendFileSync(this.cacheFile, JSON.stringify(line) + '\n');
        }
        return reply;
      } finally {
        this.release();
      }
    })();
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async request(prompt: string, ctx?: JudgeContext): Promise<string> {
    const url = `${this.baseURL}/chat/completions`;
    const payload: Record<string, unknown> = { model: this.model };
    if (this.sendTemperature) payload.temperature = this.temperature;
    payload.messages = [
      { role: 'system', content: this.official ? this.official.system : SYSTEM_MESSAGE },
      { role: 'user', content: prompt },
    ];
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.#authorization) headers.Authorization = this.#authorization;
    const where = ctx?.id ? ` for ${ctx.id}` : '';
    let lastProblem = '';
    let lastStatus: number | undefined;
    let wait: number | undefined;
    const attempts = this.retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        this.counters.retries++;
        await sleep(wait ?? this.backoffMs * 2 ** (attempt - 2));
      }
      wait = undefined;
      this.counters.requests++;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), this.timeoutMs);
      let retryable = true;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal });
        lastStatus = res.status;
        const text = await this.readBody(res, ac);
        if (!res.ok) {
          lastProblem = `HTTP ${res.status}: ${this.redact(text.slice(0, 200))}`;
          retryable = res.status === 429 || res.status >= 500;
          const ra = retryAfterMs(res.headers.get('retry-after'));
          if (retryable && ra !== undefined) {
            wait = Math.min(ra, this.maxRetryAfterMs);
            lastProblem += ` (Retry-After ${res.headers.get('retry-after')}: waiting ${Math.round(wait)} ms)`;
          }
        } else {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            lastProblem = `malformed JSON body: ${this.redact(JSON.stringify(text.slice(0, 120)))}`;
            continue;
          }
          const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
          if (typeof content !== 'string') {
            lastProblem = `no choices[0].message.content string in the reply: ${this.redact(JSON.stringify(text.slice(0, 120)))}`;
            continue;
          }
          return content;
        }
      } catch (e) {
        if (e instanceof JudgeError) {
          this.counters.failures++;
          throw new JudgeError(this.redact(e.message + (where ? ` (${where.trim()})` : '')), { url, status: e.status, attempts: attempt });
        }
        lastStatus = undefined;
        lastProblem = ac.signal.aborted
          ? `timed out after ${this.timeoutMs} ms`
          : this.redact(`${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`);
      } finally {
        clearTimeout(timer);
      }
      if (!retryable) {
        this.counters.failures++;
        throw new JudgeError(this.redact(`Judge endpoint ${url} failed${where}: ${lastProblem} (not retried)`), { url, status: lastStatus, attempts: attempt });
      }
    }
    this.counters.failures++;
    throw new JudgeError(
      this.redact(
        `Judge endpoint ${url} failed${where} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastProblem}. ` +
          'Replies received so far are in the cache; rerun to resume.',
      ),
      { url, status: lastStatus, attempts },
    );
  }

  private decision(reply: string, v: boolean | 'unknown', what: string, label?: string): Decision {
    if (v === 'unknown') this.counters.unknown++;
    const shown = JSON.stringify(reply.trim().slice(0, 80));
    if (label !== undefined) {
      return { value: v, label, reason: `${this.model} replied ${shown} → official label ${label}` };
    }
    return { value: v, reason: v === 'unknown' ? `unknown: unparseable ${what} reply ${shown}` : `${this.model} replied ${shown}` };
  }

  private officialTemplate(name: string, ctx?: JudgeContext): string {
    const t = this.official!.templates[name];
    if (t === undefined) {
      const cats = Object.keys(this.official!.templates).filter((k) => k !== 'RR' && k !== 'RR_sd');
      throw new ConfigError(`The official judge has no template for ${JSON.stringify(name)}${ctx?.id ? ` (${ctx.id})` : ''}`, [
        { path: 'category', message: `the harmful image's parent folder must be one of [${cats.join(', ')}] (eval/eval_config.py TEMPLATES of ${this.official!.dir})` },
      ]);
    }
    return t;
  }

  async isUnsafe(response: string, ctx?: JudgeContext): Promise<Decision> {
    if (this.official) {
      const reply = await this.complete(pyFormat(this.officialTemplate(String(ctx?.category ?? ''), ctx), { prediction: response }), ctx);
      const label = officialLabel('ASR', reply);
      return this.decision(reply, label === 'Unsafe' ? true : label === 'Safe' ? false : 'unknown', 'unsafe/safe', label);
    }
    const reply = await this.complete(fillPrompt(unsafePromptFor(ctx?.category), { prediction: response }), ctx);
    return this.decision(reply, parseUnsafeReply(reply), 'unsafe/safe');
  }

  async isRefusal(response: string, ctx?: JudgeContext): Promise<Decision> {
    if (this.official) {
      const reply = await this.complete(pyFormat(this.officialTemplate('RR', ctx), { prediction: response }), ctx);
      const label = officialLabel('RR', reply);
      return this.decision(reply, label === 'refuse' ? true : label === 'normal' ? false : 'unknown', 'yes/no', label);
    }
    const reply = await this.complete(fillPrompt(REFUSAL_PROMPT, { prediction: response }), ctx);
    return this.decision(reply, parseYesNo(reply), 'yes/no');
  }

  async isNormal(response: string, ctx?: JudgeContext): Promise<Decision> {
    if (this.official) {
      const reply = await this.complete(pyFormat(this.officialTemplate('RR_sd', ctx), { prediction: response }), ctx);
      const label = officialLabel('RR_sd', reply);
      return this.decision(reply, label === 'normal' ? true : label === 'refuse' ? false : 'unknown', 'yes/no', label);
    }
    const reply = await this.complete(fillPrompt(NORMAL_PROMPT, { prediction: response }), ctx);
    return this.decision(reply, parseYesNo(reply), 'yes/no');
  }

  /**
   * eraserlab protocol: the response is the prediction, the reference the correct answer, a
   * score 0..1 (NaN when unparseable). official protocol, as eval_all.py: the model's answer is
   * passed as "Correct Answer" and the reference as "Prediction" (all stripped), and the score is
   * float() of the reply's first line, 0.0 when that fails, not clamped.
   */
  async score(response: string, reference: string, ctx?: JudgeContext): Promise<ScoreResult> {
    if (this.official) {
      const prompt = pyFormat(this.official.scorePrompt, {
        question: (ctx?.question ?? '').trim(),
        correct_answer: response.trim(),
        prediction: reference.trim(),
      });
      const reply = await this.complete(prompt, ctx);
      const r = officialScore(reply);
      if (!r.parsed) this.counters.unknown++;
      const shown = JSON.stringify(reply.trim().slice(0, 80));
      return { score: r.score, reason: r.parsed ? `${this.model} scored ${r.score} (official)` : `${this.model} replied ${shown}: not a float, 0.0 (official rule)` };
    }
    const prompt = fillPrompt(SCORE_PROMPT, { prediction: response, reference, question: ctx?.question ?? '' });
    const reply = await this.complete(prompt, ctx);
    const s = parseScore(reply);
    if (Number.isNaN(s)) {
      this.counters.unknown++;
      return { score: NaN, reason: `unknown: unparseable score reply ${JSON.stringify(reply.trim().slice(0, 80))}` };
    }
    return { score: s, reason: `${this.model} scored ${s}` };
  }
}
