/**
 * One writer per output folder: the lock file holds PID and host; a second writer fails at once
 * naming the folder and the PID; a lock whose process is gone is stale and taken over.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtime } from '../../sdk';
import { capture, savedTinyModel, tempDir, tinyDataset } from './helpers';

const OUTDIR = path.join(__dirname, '..', '..', 'sdk', 'runtime', 'outdir.ts');

/** A child process that takes the lock of `dir` and holds it until killed; resolves once it holds it. */
function holder(dir: string): Promise<cp.ChildProcess> {
  const code = `require(${JSON.stringify(OUTDIR)}).lockOutput(${JSON.stringify(dir)}, { command: 'holder' }); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = cp.spawn(process.execPath, ['-r', 'tsx/cjs', '-e', code], { cwd: path.join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => (String(b).includes('locked') ? resolve(child) : undefined));
    child.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}

test('a second eraserlab unlearn into the same --out fails at once, naming the folder and the PID', async () => {
  const ds = await tinyDataset();
  const modelDir = await savedTinyModel();
  const out = path.join(tempDir('lock'), 'runs');
  const child = await holder(out);
  try {
    const t0 = Date.now();
    const r = await capture(['unlearn', '--method', 'ga', '--steps', '1', '--model', modelDir, '--dataset', ds.dir, '--out', out, '--probe', '1']);
    assert.is(r.rc, 1);
    assert.ok(Date.now() - t0 < 3000, 'at once');
    const lock = path.join(out, '.eraserlab.lock');
    assert.match(r.err, `OutputLockedError: ${out} is being written by process ${child.pid} on ${os.hostname()} (holder), since `);
    assert.match(r.err, `  - --out: one writer per output folder: wait for it to finish or choose another folder (if no such process runs, remove the stale lock ${lock})`);
    assert.not.ok(fs.existsSync(path.join(out, 'ga')), 'nothing written');
    const info = JSON.parse(fs.readFileSync(lock, 'utf8'));
    assert.is(info.pid, child.pid);
    assert.is(info.host, os.hostname());
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  // the holder died without releasing: its lock is stale and the next writer takes it over
  assert.ok(fs.existsSync(path.join(out, '.eraserlab.lock')), 'the killed holder left its lock');
  const r2 = await capture(['unlearn', '--method', 'ga', '--steps', '1', '--model', modelDir, '--dataset', ds.dir, '--out', out, '--probe', '1']);
  assert.is(r2.rc, 0, r2.err);
  assert.not.ok(fs.existsSync(path.join(out, '.eraserlab.lock')), 'released at the end');
});

test('lockOutput: re-entrant in one process, held across hosts, stale after a dead PID', () => {
  const dir = tempDir('lock-unit');
  const a = runtime.lockOutput(dir);
  const b = runtime.lockOutput(dir); // same process: re-entrant
  b.release();
  assert.ok(fs.existsSync(a.file), 'still held by the outer lock');
  a.release();
  a.release(); // idempotent
  assert.not.ok(fs.existsSync(a.file));
  // another host's lock cannot be checked: it counts as held
  fs.writeFileSync(a.file, JSON.stringify({ pid: 1, host: 'elsewhere', started: '2026-01-01T00:00:00Z' }));
  assert.throws(() => runtime.lockOutput(dir), (e: Error) => e instanceof runtime.OutputLockedError && e.message === `${dir} is being written by process 1 on elsewhere, since 2026-01-01T00:00:00Z (1 problem):\n  - --out: one writer per output folder: wait for it to finish or choose another folder (if no such process runs, remove the stale lock ${a.file})`);
  // this host, a PID that no longer runs: stale, taken over
  const dead = cp.spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(a.file, JSON.stringify({ pid: Number(dead), host: os.hostname(), started: '2026-01-01T00:00:00Z' }));
  const c = runtime.lockOutput(dir);
  assert.is(JSON.parse(fs.readFileSync(c.file, 'utf8')).pid, process.pid);
  c.release();
  // whole-folder writers (generate, pretrain) lock beside the folder, which they replace
  const d = runtime.lockOutput(path.join(dir, 'ds'), { beside: true });
  assert.is(d.file, path.join(dir, '.ds.eraserlab.lock'));
  d.release();
});

test.run();
