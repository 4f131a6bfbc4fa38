// The kernel's protocol pieces without a Jupyter: message signing, the error content of failed
// cells, the history queries, is_complete, help cells and the execute_result bundles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import sharp from 'sharp';
import * as dfd from 'danfojs-node';
import { runtime } from '../../sdk';
import { decode, encode, Signer } from '../../kernel/wire';
import { compileError, stripAnsi, thrownError, userFrames } from '../../kernel/traceback';
import { globToRegExp, History } from '../../kernel/history';
import { codePointsToUtf16, helpTarget, isComplete, utf16ToCodePoints } from '../../kernel/server';
import { resultBundle } from '../../kernel';

test('messages are signed with the connection key and a tampered one is refused', () => {
  const signer = new Signer('secret', 'hmac-sha256');
  const frames = encode(signer, 'sess', 'execute_reply', { status: 'ok' }, { msg_id: 'p1' } as never, [Buffer.from('peer')]);
  const msg = decode(frames, signer);
  assert.equal(msg.identities.map(String), ['peer']);
  assert.is(msg.header.msg_type, 'execute_reply');
  assert.is(msg.header.version, '5.3');
  assert.is(msg.parent_header.msg_id, 'p1');
  const bad = frames.slice();
  bad[bad.length - 1] = Buffer.from(JSON.stringify({ status: 'error' }));
  assert.throws(() => decode(bad, signer), /invalid signature/);
  assert.throws(() => decode(frames, new Signer('other')), /invalid signature/);
  assert.throws(() => new Signer('k', 'md9'), /signature_scheme 'md9' is not supported/);
  assert.is(decode(encode(new Signer(''), 's', 'status', {}, undefined), new Signer('')).header.msg_type, 'status');
});

test('a type error names the cell line:column, shows the line and counts the others', () => {
  const code = 'const a = 1;\nconst n: number = "x";\nconst m: string = 2;';
  const d = (line: number, character: number, len: number, messageText: string, code: number) => ({
    start: { offset: 0, line, character },
    end: { offset: 0, line, character: character + len },
    messageText,
    code,
  });
  const e = compileError(code, [d(1, 6, 1, "Type 'string' is not assignable to type 'number'.", 2322), d(2, 6, 1, "Type 'number' is not assignable to type 'string'.", 2322)]);
  assert.is(e.ename, 'TSError');
  assert.is(e.evalue, "2:7 - Type 'string' is not assignable to type 'number'. (TS2322) (and 1 more)");
  const text = stripAnsi(e.traceback.join('\n'));
  assert.match(text, /^TSError: the cell does not compile \(2 errors\)\n2:7 - error TS2322: Type 'string'/);
  assert.ok(text.includes('2 | const n: number = "x";\n          ~'), text);
  assert.ok(text.includes('3:7 - error TS2322'), text);
});

test('a thrown error keeps only frames outside the kernel; SDK errors are their diagnosis', () => {
  const stack = [
    'TypeError: bad',
    '    at f (evalmachine.<anonymous>:3:9)',
    '    at Object.<anonymous> (/p/node_modules/tslab/dist/executor.js:180:30)',
    '    at sigintHandlersWrap (node:vm:280:12)',
    '    at processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '    at Kernel.run (/p/dist/kernel/server.js:500:20)',
    '    at loadModel (/p/dist/sdk/model/load.js:12:11)',
  ].join('\n');
  assert.equal(userFrames(stack), ['    at loadModel (/p/dist/sdk/model/load.js:12:11)']);
  const err = new TypeError('bad');
  err.stack = stack;
  const c = thrownError(err);
  assert.is(c.ename, 'TypeError');
  assert.is(c.evalue, 'bad');
  assert.equal(c.traceback.map(stripAnsi), ['TypeError: bad', '    at loadModel (/p/dist/sdk/model/load.js:12:11)']);
  const sdk = thrownError(new runtime.ConfigError('Bad option', [{ path: 'lr', message: 'must be > 0' }]), [runtime.EraserError as never]);
  assert.equal([sdk.ename, ...sdk.traceback.map(stripAnsi)], ['ConfigError', 'ConfigError: Bad option (1 problem):\n  - lr: must be > 0']);
  const odd = thrownError('just a string');
  assert.equal([odd.ename, odd.evalue], ['Uncaught', "'just a string'"]);
});

test('history: tail, range and glob search (unique, n) with outputs', () => {
  const h = new History();
  ['6 * 7', 'const a = 1', '6 * 7', 'a + 1'].forEach((c, i) => h.add(i + 1, c));
  h.setOutput(1, '42');
  assert.equal(h.query({ hist_access_type: 'tail', n: 2 }), [[1, 3, '6 * 7'], [1, 4, 'a + 1']]);
  assert.equal(h.query({ hist_access_type: 'tail', n: 1, output: true }), [[1, 4, ['a + 1', null]]]);
  assert.equal(h.query({ hist_access_type: 'range', session: 1, start: 1, stop: 2, output: true }), [[1, 1, ['6 * 7', '42']]]);
  assert.equal(h.query({ hist_access_type: 'range', session: 7, start: 1, stop: 9 }), []);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '6 ? 7' }).map((x) => x[1]), [1, 3]);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '6 ? 7', unique: true }).map((x) => x[1]), [3]);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '*', n: 3 }).map((x) => x[1]), [2, 3, 4]);
  assert.ok(globToRegExp('a[bc]?.*').test('ac!.x'));
  assert.not.ok(globToRegExp('a.b').test('axb'));
});

test('is_complete: complete, incomplete (with indent) and invalid code', () => {
  const dir = path.dirname(require.resolve('tslab/package.json'));
  const tslab = { isCompleteCode: require(path.join(dir, 'dist', 'converter')).isCompleteCode, ts: require(require.resolve('@tslab/typescript-for-tslab', { paths: [dir] })) };
  assert.equal(isComplete(tslab, '6 * 7'), { status: 'complete' });
  assert.equal(isComplete(tslab, 'await Promise.resolve(1)'), { status: 'complete' });
  assert.equal(isComplete(tslab, 'function f() {'), { status: 'incomplete', indent: '  ' });
  assert.is(isComplete(tslab, 'const s = `abc').status, 'incomplete');
  assert.equal(isComplete(tslab, 'const = ;'), { status: 'invalid' });
  assert.equal(isComplete(tslab, '1 +* 2'), { status: 'invalid' });
});

test('help cells and cursor positions in code points', () => {
  assert.is(helpTarget('Math.max?'), 'Math.max');
  assert.is(helpTarget(' ? data.load '), 'data.load');
  assert.is(helpTarget('a ? b : c'), undefined);
  const s = 'const 😀 = "x"; ab';
  assert.is(codePointsToUtf16(s, 17), 18);
  assert.is(utf16ToCodePoints(s, 18), 17);
});

test('execute_result bundles: values as text, frames as tables, sharp images and SDK records', async () => {
  assert.equal(await resultBundle(42), { 'text/plain': '42' });
  assert.equal(await resultBundle('ab'), { 'text/plain': "'ab'" });
  const df = await resultBundle(new dfd.DataFrame({ method: ['GA', 'PO'], sarr: [0.25, 0.75] }));
  assert.match(df['text/html'], /<th>method<\/th><th>sarr<\/th>.*<td>GA<\/td><td>0\.25<\/td>/);
  assert.is(df['text/plain'], 'method  sarr\n    GA  0.25\n    PO  0.75');
  const img = sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 255, g: 0, b: 0 } } });
  const pic = await resultBundle(img);
  assert.is(pic['text/plain'], 'Image 4×3 (3 channels, raw)');
  const back = await sharp(Buffer.from(pic['image/png'], 'base64')).metadata();
  assert.equal([back.format, back.width, back.height], ['png', 4, 3]);
  const step = await resultBundle({ step: 3, loss: 1.23456, terms: { ga: 1.2, kl: 0.034 }, lr: 1e-5, gradNorm: 0.5, epoch: 0 });
  assert.is(step['text/plain'], 'step 3 · loss 1.235 · ga 1.2 · kl 0.034 · lr 1.00e-5 · |grad| 0.5 · epoch 0');
  const ev = await resultBundle({ step: 4, forgetRate: 0.5, refusalRate: 0.25, sarr: 0.75, retainRouge: 0.3, utilityAcc: 0.6 });
  assert.is(ev['text/plain'], 'eval at step 4 · forget rate 0.5 · refusal rate 0.25 · SARR 0.75 · retain ROUGE-L 0.3 · utility acc 0.6');
  const frame = (o: Record<string, unknown[]>) => new dfd.DataFrame(o);
  const evaluation = {
    summary: frame({ metric: ['asr', 'sarr'], split: ['val', 'val'], value: [0.1, 0.8] }),
    samples: frame({ id: ['a', 'b', 'c'] }),
    byCategory: frame({ category: ['x'] }),
    rows: [],
    spec: { split: 'val', judge: 'rules', kinds: ['harmful', 'sd'], seed: 233 },
  };
  const evb = await resultBundle(evaluation);
  assert.ok(evb['text/plain'].startsWith('Evaluation · split val · judge rules · 3 samples (harmful, sd) · seed 233\nmetric  split  value'), evb['text/plain']);
  assert.match(evb['text/html'], /<td>sarr<\/td><td>val<\/td><td>0\.8<\/td>/);
  const t = runtime.tf.tensor1d([1, 2, 3]);
  assert.match((await resultBundle(t))['text/plain'], /^Tensor\n\s+\[1, 2, 3\]$/);
  t.dispose();
});

test.run();
