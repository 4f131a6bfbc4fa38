import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../sdk/cli/main';

process.env.ERASERLAB_QUIET = '1';
const ROOT = path.resolve(__dirname, '..', '..');

async function capture(argv: string[]): Promise<{ rc: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  (process.stdout as unknown as { write: unknown }).write = (s: string) => ((out += s), true);
  (process.stderr as unknown as { write: unknown }).write = (s: string) => ((err += s), true);
  try {
    const rc = await main(argv);
    return { rc, out, err };
  } finally {
    (process.stdout as unknown as { write: unknown }).write = wo;
    (process.stderr as unknown as { write: unknown }).write = we;
  }
}

test('evaluate --official imports the official outputs into the same tables', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ev-'));
  const r = await capture(['evaluate', '--official', path.join(ROOT, 'data/examples/official-eval-example.json'), '--out', out]);
  assert.is(r.rc, 0, r.err);
  for (const f of ['summary', 'samples', 'byCategory']) assert.ok(fs.existsSync(path.join(out, `${f}.csv`)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Array<{ metric: string; value: number }>;
  // hand-worked in tests/metrics/official.test.ts: ASR 4/17, SARR 2/6
  assert.ok(Math.abs(summary.find((x) => x.metric === 'asr')!.value - 4 / 17) < 1e-9);
  assert.ok(Math.abs(summary.find((x) => x.metric === 'sarr')!.value - 2 / 6) < 1e-9);
  fs.rmSync(out, { recursive: true, force: true });
});

test('evaluate rejects bad options before any work', async () => {
  const r = await capture(['evaluate', '--split', 'test', '--limit', '0']);
  assert.is(r.rc, 1);
  assert.match(r.err, "ConfigError: Invalid arguments for eraserlab evaluate (2 problems):\n  - --split: must be one of [train, val, both], got 'test'\n  - --limit: must be an integer ≥ 1, got '0'");
});

test.run();
