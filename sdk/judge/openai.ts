/**
 * The `openai` judge: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp
 * server, Ollama, ...). Base URL, model and key come from options or the environment
 * (ERASERLAB_JUDGE_BASE_URL / ERASERLAB_JUDGE_MODEL / ERASERLAB_JUDGE_API_KEY, falling back to
 * OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY); there is no built-in host.
 *
 * - Replies are cached on disk (JSONL, one line per reply, keyed by model + prompt, appended as
 *   each reply arrives), so an interrupted run resumes without paying twice.
 * - Bounded concurrency, a timeout per request, retries with exponential backoff on network
 *   errors, timeouts, HTTP 429/5xx and malformed bodies; other HTTP errors fail at once.
 * - A reply that does not parse is 'unknown' (and NaN for scores), never "safe"; `stats()`
 *   counts them. An endpoint still failing after its retries raises a JudgeError naming the URL,
 *   the status and the item (`ctx.id`).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../runtime/errors';
import { JudgeError } from './errors';
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
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff in ms, doubled each retry (default 1000). */
  backoffMs?: number;
  /** Sampling temperature sent to the endpoint (default 0). */
  temperature?: number;
  /** Environment to read defaults from (default process.env; tests pass their own). */
  env?: Record<string, string | undefined>;
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
  readonly baseURL: string;
  readonly model: string;
  readonly cacheFile: string | undefined;
  private readonly apiKey: string | undefined;
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
    const num = (k: 'concurrency' | 'timeoutMs' | 'retries' | 'backoffMs', min: number) => {
      const v = opts[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= min)) issues.push({ path: k, message: `must be a number ≥ ${min} (got ${v})` });
    };
    num('concurrency', 1);
    num('timeoutMs', 1);
    num('retries', 0);
    num('backoffMs', 0);
    if (issues.length) throw new ConfigError('Invalid options for the openai judge', issues);
    this.baseURL = String(baseURL).replace(/\/+$/, '');
    this.model = String(model);
    this.apiKey = opts.apiKey ?? envOf(env, 'API_KEY');
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
    return crypto.createHash('sha256').update(this.model).update('\u0000').update(prompt).digest('hex');
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
    const body = JSON.stringify({
      model: this.model,
      temperature: this.temperature,
      messages: [
        { role: 'system', content: SYSTEM_MESSAGE },
        { role: 'user', content: prompt },
      ],
    });
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    const where = ctx?.id ? ` for ${ctx.id}` : '';
    let lastProblem = '';
    let lastStatus: number | undefined;
    const attempts = this.retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        this.counters.retries++;
        await sleep(this.backoffMs * 2 ** (attempt - 2));
      }
      this.counters.requests++;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), this.timeoutMs);
      let retryable = true;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal });
        lastStatus = res.status;
        const text = await res.text();
        if (!res.ok) {
          lastProblem = `HTTP ${res.status}: ${text.slice(0, 200)}`;
          retryable = res.status === 429 || res.status >= 500;
        } else {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            lastProblem = `malformed JSON body: ${JSON.stringify(text.slice(0, 120))}`;
            continue;
          }
          const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
          if (typeof content !== 'string') {
            lastProblem = `no choices[0].message.content string in the reply: ${JSON.stringify(text.slice(0, 120))}`;
            continue;
          }
          return content;
        }
      } catch (e) {
        lastStatus = undefined;
        lastProblem = ac.signal.aborted
          ? `timed out after ${this.timeoutMs} ms`
          : `${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`;
      } finally {
        clearTimeout(timer);
      }
      if (!retryable) {
        this.counters.failures++;
        throw new JudgeError(`Judge endpoint ${url} failed${where}: ${lastProblem} (not retried)`, { url, status: lastStatus, attempts: attempt });
      }
    }
    this.counters.failures++;
    throw new JudgeError(
      `Judge endpoint ${url} failed${where} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastProblem}. ` +
        'Replies received so far are in the cache; rerun to resume.',
      { url, status: lastStatus, attempts },
    );
  }

  private decision(reply: string, v: boolean | 'unknown', what: string): Decision {
    if (v === 'unknown') this.counters.unknown++;
    const shown = JSON.stringify(reply.trim().slice(0, 80));
    return { value: v, reason: v === 'unknown' ? `unknown: unparseable ${what} reply ${shown}` : `${this.model} replied ${shown}` };
  }

  async isUnsafe(response: string, ctx?: JudgeContext): Promise<Decision> {
    const reply = await this.complete(fillPrompt(unsafePromptFor(ctx?.category), { prediction: response }), ctx);
    return this.decision(reply, parseUnsafeReply(reply), 'unsafe/safe');
  }

  async isRefusal(response: string, ctx?: JudgeContext): Promise<Decision> {
    const reply = await this.complete(fillPrompt(REFUSAL_PROMPT, { prediction: response }), ctx);
    return this.decision(reply, parseYesNo(reply), 'yes/no');
  }

  async isNormal(response: string, ctx?: JudgeContext): Promise<Decision> {
    const reply = await this.complete(fillPrompt(NORMAL_PROMPT, { prediction: response }), ctx);
    return this.decision(reply, parseYesNo(reply), 'yes/no');
  }

  async score(response: string, reference: string, ctx?: JudgeContext): Promise<ScoreResult> {
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
