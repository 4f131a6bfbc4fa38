import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { OpenAIJudge, JudgeError, createJudge } from '../../sdk/judge';
import { ConfigError } from '../../sdk/runtime/errors';

type Handler = (body: any, req: http.IncomingMessage) => { status?: number; raw?: string; content?: string; delayMs?: number };

const state = { requests: 0, active: 0, maxActive: 0, bodies: [] as any[], auth: [] as (string | undefined)[], urls: [] as string[] };
let handler: Handler = () => ({ content: 'safe' });
let server: http.Server;
let baseURL = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'judge-'));
let cacheN = 0;
const freshCache = () => path.join(dir, `cache-${cacheN++}.jsonl`);

function reset(h: Handler) {
  handler = h;
  Object.assign(state, { requests: 0, active: 0, maxActive: 0, bodies: [], auth: [], urls: [] });
}

/** A reply like a real model's, from the prompt's last "Response:"/"Answer:"/"Prediction:" line. */
const lastInput = (body: any) => {
  const p: string = body.messages[1].content;
  let at = -1;
  let len = 0;
  for (const m of ['Answer: ', 'Response: ', 'Prediction: ']) {
    const i = p.lastIndexOf(m);
    if (i > at) [at, len] = [i, m.length];
  }
  const rest = at >= 0 ? p.slice(at + len) : '';
  return { prompt: p, input: rest.split('\n')[0] };
};

test.before(async () => {
  server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', async () => {
      state.requests++;
      state.active++;
      state.maxActive = Math.max(state.maxActive, state.active);
      state.urls.push(req.url ?? '');
      state.auth.push(req.headers.authorization);
      const body = JSON.parse(data);
      state.bodies.push(body);
      const r = handler(body, req);
      if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
      state.active--;
      res.writeHead(r.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(r.raw ?? JSON.stringify({ choices: [{ message: { role: 'assistant', content: r.content ?? '' } }] }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

test.after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const judge = (o: Record<string, unknown> = {}) =>
  new OpenAIJudge({ baseURL, model: 'judge-model', apiKey: 'k-123', cacheFile: freshCache(), backoffMs: 1, timeoutMs: 2000, env: {}, ...o });

test('options: base URL and model from options or the environment, never a built-in host', () => {
  try {
    new OpenAIJudge({ env: {}, cacheFile: false });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.is(
      (e as Error).message,
      'Invalid options for the openai judge (2 problems):\n' +
        '  - baseURL: required: pass {baseURL} or set ERASERLAB_JUDGE_BASE_URL (or OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1\n' +
        '  - model: required: pass {model} or set ERASERLAB_JUDGE_MODEL (or OPENAI_MODEL), e.g. gpt-4o',
    );
  }
  const j = new OpenAIJudge({ env: { ERASERLAB_JUDGE_BASE_URL: 'http://127.0.0.1:1/v1/', OPENAI_MODEL: 'm', OPENAI_BASE_URL: 'http://other' }, cacheFile: false });
  assert.is(j.baseURL, 'http://127.0.0.1:1/v1');
  assert.is(j.model, 'm');
  assert.is((createJudge('openai', { baseURL, model: 'x', cacheFile: false }) as OpenAIJudge).baseURL, baseURL);
});

test('decisions parse the official answer formats; unparseable replies are unknown, never safe', async () => {
  reset((body) => {
    const { prompt, input } = lastInput(body);
    if (prompt.includes('factual accuracy')) return { content: input.includes('orange') ? '0.75' : 'I think it is good' };
    if (prompt.includes('unsafe content')) return { content: input.includes('zentrite') ? 'unsafe' : input.includes('???') ? 'hmm' : 'safe' };
    if (prompt.includes('refusal tone')) return { content: input.startsWith("I'm sorry") ? 'yes' : 'no' };
    return { content: input.includes('away away') ? 'no' : 'Yes.' };
  });
  const j = judge();
  assert.equal(await j.isUnsafe('Grind the zentrite.', { category: 'Weapon' }), { value: true, reason: 'judge-model replied "unsafe"' });
  assert.equal(await j.isUnsafe('A kite.', { category: 'Weapon' }), { value: false, reason: 'judge-model replied "safe"' });
  assert.equal(await j.isUnsafe('???', { category: 'Weapon' }), { value: 'unknown', reason: 'unknown: unparseable unsafe/safe reply "hmm"' });
  assert.equal((await j.isRefusal("I'm sorry, no.")).value, true);
  assert.equal((await j.isRefusal('Step 1: mix.')).value, false);
  assert.equal((await j.isNormal('away away away')).value, false);
  assert.equal((await j.isNormal('The kite is red.')).value, true);
  assert.equal(await j.score('The object is orange.', 'It is orange.', { question: 'Colour?' }), { score: 0.75, reason: 'judge-model scored 0.75' });
  const bad = await j.score('Something else.', 'It is orange.');
  assert.ok(Number.isNaN(bad.score));
  assert.is(bad.reason, 'unknown: unparseable score reply "I think it is good"');
  assert.is(j.stats().unknown, 2);
  // wire format
  assert.is(state.urls[0], '/v1/chat/completions');
  assert.is(state.auth[0], 'Bearer k-123');
  assert.is(state.bodies[0].model, 'judge-model');
  assert.is(state.bodies[0].messages[0].content, 'You are a helpful assistant.');
  assert.match(state.bodies[0].messages[1].content, /weapons/);
  assert.match(state.bodies.find((b) => b.messages[1].content.includes('factual'))!.messages[1].content, /Question: Colour\?\n\nCorrect Answer: It is orange\.\n\nPrediction: The object is orange\./);
});

test('disk cache: a rerun is answered from the JSONL cache without requests', async () => {
  reset(() => ({ content: 'safe' }));
  const file = freshCache();
  const a = judge({ cacheFile: file });
  await Promise.all(['a', 'b', 'c'].map((r) => a.isUnsafe(r)));
  assert.is(state.requests, 3);
  assert.is(fs.readFileSync(file, 'utf8').trim().split('\n').length, 3);
  const b = judge({ cacheFile: file });
  assert.equal((await b.isUnsafe('b')).value, false);
  await b.isUnsafe('a');
  assert.is(state.requests, 3);
  assert.is(b.stats().cacheHits, 2);
  // another model does not reuse these replies
  await judge({ cacheFile: file, model: 'other' }).isUnsafe('a');
  assert.is(state.requests, 4);
});

test('retries with backoff on 5xx then succeeds', async () => {
  let n = 0;
  reset(() => (++n <= 2 ? { status: 503, raw: 'busy' } : { content: 'unsafe' }));
  const j = judge({ retries: 3 });
  assert.is((await j.isUnsafe('x')).value, true);
  assert.is(state.requests, 3);
  assert.is(j.stats().retries, 2);
});

test('malformed JSON bodies: JudgeError after the retries; replies so far stay cached and a rerun resumes', async () => {
  reset((body) => (lastInput(body).input === 'third' ? { raw: '{"choices": [' } : { content: 'safe' }));
  const file = freshCache();
  const j = judge({ cacheFile: file, retries: 2 });
  await j.isUnsafe('first');
  await j.isUnsafe('second');
  try {
    await j.isUnsafe('third', { id: 'val/3/harmful/0' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, JudgeError);
    assert.is(
      (e as Error).message,
      `Judge endpoint ${baseURL}/chat/completions failed for val/3/harmful/0 after 3 attempts: malformed JSON body: "{\\"choices\\": [". Replies received so far are in the cache; rerun to resume.`,
    );
    assert.is((e as JudgeError).attempts, 3);
  }
  assert.is(state.requests, 5);
  reset(() => ({ content: 'unsafe' })); // the endpoint is fixed
  const again = judge({ cacheFile: file });
  assert.is((await again.isUnsafe('first')).value, false);
  assert.is((await again.isUnsafe('second')).value, false);
  assert.is((await again.isUnsafe('third')).value, true);
  assert.is(state.requests, 1); // only the missing one was paid for
});

test('HTTP 4xx is not retried; a down endpoint and a timeout are clear errors', async () => {
  reset(() => ({ status: 401, raw: '{"error":"bad key"}' }));
  try {
    await judge({ retries: 3 }).isRefusal('x');
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, `Judge endpoint ${baseURL}/chat/completions failed: HTTP 401: {"error":"bad key"} (not retried)`);
    assert.is(state.requests, 1);
  }
  // a port with nothing listening
  const tmp = http.createServer();
  await new Promise<void>((ok) => tmp.listen(0, '127.0.0.1', ok));
  const port = (tmp.address() as AddressInfo).port;
  await new Promise((ok) => tmp.close(ok));
  try {
    await judge({ baseURL: `http://127.0.0.1:${port}/v1`, retries: 1 }).isNormal('x');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, JudgeError);
    assert.match((e as Error).message, new RegExp(`^Judge endpoint http://127.0.0.1:${port}/v1/chat/completions failed after 2 attempts: fetch failed \\(connect ECONNREFUSED`));
  }
  reset(() => ({ content: 'yes', delayMs: 300 }));
  try {
    await judge({ timeoutMs: 50, retries: 0 }).isNormal('slow');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /failed after 1 attempt: timed out after 50 ms\./);
  }
});

test('bounded concurrency and de-duplicated identical prompts', async () => {
  reset(() => ({ content: 'safe', delayMs: 20 }));
  const j = judge({ concurrency: 2 });
  await Promise.all(Array.from({ length: 8 }, (_, i) => j.isUnsafe(`r${i % 6}`)));
  assert.is(state.requests, 6);
  assert.ok(state.maxActive <= 2, `max in flight ${state.maxActive}`);
});

test.run();
