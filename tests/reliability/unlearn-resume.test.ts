/**
 * `eraserlab unlearn` interrupted with a real SIGINT saves a checkpoint and exits 130; the same
 * command again resumes from it, and the result is bit for bit the uninterrupted run's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runtime } from '../../sdk';
import { capture, savedTinyModel, tempDir, tinyDataset } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const STEPS = 150; // long enough that the SIGINT lands during training on a busy machine

test.before(async () => {
  await runtime.init();
});

test('SIGINT during eraserlab unlearn: checkpoint, exit 130, the rerun resumes bit for bit', async () => {
  const ds = await tinyDataset();
  const modelDir = await savedTinyModel();
  const args = (out: string) => ['unlearn', '--method', 'ga', '--steps', String(STEPS), '--save-every', '5', '--model', modelDir, '--dataset', ds.dir, '--out', out, '--probe', '1'];
  // the reference: uninterrupted
  const ref = path.join(tempDir('resume-ref'), 'runs');
  const full = await capture(args(ref));
  assert.is(full.rc, 0, full.err);

  // interrupted: a real process, a real SIGINT once the first checkpoint is on disk
  const out = path.join(tempDir('resume'), 'runs');
  const child = cp.spawn(process.execPath, [path.join(ROOT, 'bin', 'eraserlab.js'), ...args(out)], {
    cwd: ROOT,
    env: { ...process.env, ERASERLAB_FROM_SOURCE: '1', ERASERLAB_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += String(b)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const first = path.join(out, 'ga', 'checkpoint-5');
  for (let i = 0; i < 1200 && !fs.existsSync(first); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(fs.existsSync(first), `no checkpoint appeared; stderr: ${stderr}`);
  child.kill('SIGINT');
  const code = await exited;
  assert.is(code, 130, stderr);
  const m = /eraserlab unlearn: ga interrupted at step (\d+); saved to (.*)\. Run the same command again to resume from there\./.exec(stderr);
  assert.ok(m, stderr);
  const stoppedAt = Number(m![1]);
  assert.ok(stoppedAt >= 5 && stoppedAt < STEPS, `stopped at ${stoppedAt}`);
  assert.is(m![2], path.join(out, 'ga', 'final'));
  assert.is(JSON.parse(fs.readFileSync(path.join(out, 'ga', 'final', 'trainer_state.json'), 'utf8')).step, stoppedAt);
  assert.not.ok(fs.existsSync(path.join(out, 'results.json')), 'no results for an interrupted run');
  assert.not.ok(fs.existsSync(path.join(out, '.eraserlab.lock')), 'the lock was released');

  // the same command again: resumes from the saved step and finishes
  const again = await capture(args(out));
  assert.is(again.rc, 0, again.err);
  assert.match(again.out, `ga: resuming from ${path.join(out, 'ga', 'final')} (step ${stoppedAt} of ${STEPS})`);
  assert.match(again.out, `ga: ${STEPS} steps in `);
  assert.match(again.out, `resumed from step ${stoppedAt}`);
  for (const f of ['trainable.safetensors', 'optimizer.safetensors', 'history.json']) {
    const a = fs.readFileSync(path.join(ref, 'ga', 'final', f));
    const b = fs.readFileSync(path.join(out, 'ga', 'final', f));
    assert.ok(a.equals(b), `${f} differs from the uninterrupted run`);
  }
  // checkpoints every 5 steps up to the end
  assert.ok(fs.existsSync(path.join(out, 'ga', `checkpoint-${STEPS}`)));
});

test.run();
