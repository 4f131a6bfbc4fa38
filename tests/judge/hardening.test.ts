// A hostile or careless judge endpoint: echoed credentials, huge replies, rate limits, slow replies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { OpenAIJudge, JudgeError, redactSecrets, redactURL } from '../../sdk/judge';

const KEY = 'sk-live-SECRET-0123456789';
type Reply = (req: http.IncomingMessage, body: any, res: http.ServerResponse) => void;
let reply: Reply = (_q, _b, res) => res.end('{}');
const seen: { auth?: string; at: number }[] = [];
let server: http.Server;
let port = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'judge-hard-'));

test.before(async () => {
  server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, at: Date.now() });
      reply(req, data ? JSON.parse(data) : {}, res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
test.after(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ok = (content: string): Reply => (_q, _b, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ choices: [{ message: { content } }] }));
};
/** An error body that echoes the request headers, as some proxies do. */
const echoHeaders = (status: number): Reply => (req, _b, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'bad request', headers: req.headers }));
};

function errorOf(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: Error) => e,
  );
}

test('an endpoint echoing the Authorization header never gets the key printed or written', async () => {
  const cache = path.join(dir, 'echo.jsonl');
  for (const status of [400, 500]) {
    reply = echoHeaders(status);
    const j = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', apiKey: KEY, cacheFile: cache, retries: 1, backoffMs: 1, env: {} });
    const e = await errorOf(j.isRefusal('x', { id: 'val/0/harmful/0' }));
    assert.instance(e, JudgeError);
    assert.ok(!e.message.includes(KEY) && !e.message.includes('SECRET'), e.message);
    assert.match(e.message, /HTTP \d+: .*"authorization":"\*\*\*"/);
    assert.is(seen[seen.length - 1].auth, `Bearer ${KEY}`); // the key was sent
  }
  // malformed 200 bodies are quoted too: redacted as well
  reply = (req, _b, res) => res.end(`not json ${req.headers.authorization}`);
  const j = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', apiKey: KEY, cacheFile: cache, retries: 0, env: {} });
  const e = await errorOf(j.isRefusal('y'));
  assert.ok(!e.message.includes(KEY), e.message);
  assert.ok(!fs.existsSync(cache) || !fs.readFileSync(cache, 'utf8').includes(KEY));
});

test('credentials in the base URL: sent as Basic auth, never shown (baseURL, errors, cache)', async () => {
  reply = echoHeaders(401);
  const cache = path.join(dir, 'url.jsonl');
  const j = new OpenAIJudge({ baseURL: `http://alice:pw-${KEY}@127.0.0.1:${port}/v1/`, model: 'm', cacheFile: cache, env: {} });
  assert.is(j.baseURL, `http://127.0.0.1:${port}/v1`);
  assert.ok(!JSON.stringify(j).includes(KEY), 'the judge object serialises without the secret');
  const e = (await errorOf(j.isUnsafe('z'))) as JudgeError;
  assert.ok(!e.message.includes(KEY) && !e.message.includes('alice:'), e.message);
  assert.ok(!String(e.url).includes(KEY));
  assert.is(seen[seen.length - 1].auth, `Basic ${Buffer.from(`alice:pw-${KEY}`).toString('base64')}`);
  reply = ok('no');
  await j.isRefusal('fine');
  assert.ok(!fs.readFileSync(cache, 'utf8').includes(KEY));
  assert.is(redactURL('https://u:p@h.example/v1'), 'https://h.example/v1');
  assert.is(redactSecrets('GET https://u:p@h/x Authorization: Bearer abc.def key=K123', ['K123']), 'GET https://***@h/x Authorization: *** key=***');
});

test('a 300 MB reply is refused past maxReplyBytes without being read whole', async () => {
  let sent = 0;
  let aborted = false;
  reply = (_q, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const push = () => {
      while (sent < 300 * (1 << 20)) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', push);
      }
      res.end();
    };
    res.on('close', () => (aborted = true));
    push();
  };
  const cache = path.join(dir, 'big.jsonl');
  const j = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: cache, maxReplyBytes: 2 * 1024 * 1024, retries: 2, backoffMs: 1, env: {} });
  const before = seen.length;
  const e = await errorOf(j.isRefusal('big'));
  assert.instance(e, JudgeError);
  assert.match(e.message, /sent a reply larger than 2097152 bytes \(maxReplyBytes\); not read further and not cached/);
  assert.is(seen.length - before, 1, 'not retried');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(aborted, 'the connection was dropped');
  assert.ok(sent < 100 * (1 << 20), `the server could push only ${sent} bytes before the client stopped reading`);
  assert.ok(!fs.existsSync(cache));
  // a declared Content-Length past the limit is refused before reading
  reply = (_q, _b, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(10 * 1024 * 1024) });
    res.write('{');
    setTimeout(() => res.destroy(), 200);
  };
  const e2 = await errorOf(j.isRefusal('big2'));
  assert.match(e2.message, /larger than 2097152 bytes/);
  // the default limit is a few MB
  reply = ok('x'.repeat(5 * 1024 * 1024));
  const e3 = await errorOf(new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: false, env: {} }).isRefusal('big3'));
  assert.match(e3.message, /larger than 4194304 bytes/);
});

test('the cache is keyed by base URL, model, protocol and prompt', async () => {
  const cache = path.join(dir, 'shared.jsonl');
  reply = ok('yes');
  const a = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: cache, env: {} });
  assert.is((await a.isRefusal('same')).value, true);
  reply = ok('no');
  // another server (same host, another path) with the same model and prompt: asked, not served from the cache
  const b = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/other/v1`, model: 'm', cacheFile: cache, env: {} });
  assert.is((await b.isRefusal('same')).value, false);
  assert.is(b.stats().cacheHits, 0);
  // the first server again: from the cache
  const a2 = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: cache, env: {} });
  assert.is((await a2.isRefusal('same')).value, true);
  assert.is(a2.stats().cacheHits, 1);
  // credentials do not change the key (and are not in it)
  const a3 = new OpenAIJudge({ baseURL: `http://u:p@127.0.0.1:${port}/v1`, model: 'm', cacheFile: cache, env: {} });
  assert.is((await a3.isRefusal('same')).value, true);
});

test('Retry-After on 429 is honoured, bounded by maxRetryAfterMs', async () => {
  let n = 0;
  reply = (_q, _b, res) => {
    if (n++ === 0) {
      res.writeHead(429, { 'Retry-After': '1' });
      return res.end('slow down');
    }
    ok('yes')(_q, _b, res);
  };
  const j = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: false, backoffMs: 1, env: {} });
  const t0 = Date.now();
  assert.is((await j.isRefusal('rate')).value, true);
  const waited = Date.now() - t0;
  assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`);
  // a Retry-After of an hour waits only maxRetryAfterMs
  n = 0;
  reply = (_q, _b, res) => {
    if (n++ === 0) {
      res.writeHead(429, { 'Retry-After': '3600' });
      return res.end('later');
    }
    ok('no')(_q, _b, res);
  };
  const k = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: false, backoffMs: 1, maxRetryAfterMs: 200, env: {} });
  const t1 = Date.now();
  assert.is((await k.isRefusal('rate2')).value, false);
  const w = Date.now() - t1;
  assert.ok(w >= 190 && w < 2000, `waited ${w} ms`);
});

test('per-request timeout', async () => {
  reply = (_q, _b, res) => setTimeout(() => ok('yes')(_q, _b, res), 500);
  const j = new OpenAIJudge({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', cacheFile: false, timeoutMs: 50, retries: 0, env: {} });
  const e = await errorOf(j.isRefusal('slow'));
  assert.match(e.message, /failed after 1 attempt: timed out after 50 ms/);
});

test.run();
