// bin/eraserlab.js refuses a missing or stale dist/ with a one-line hint, and runs a fresh one.
// Checked on a copy of the launcher in a scratch package, so the real dist/ is not touched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-bin-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function scratch(name: string, opts: { dist: boolean; nodeModules: boolean }): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(root, 'bin', 'eraserlab.js'), path.join(dir, 'bin', 'eraserlab.js'));
  fs.mkdirSync(path.join(dir, 'sdk', 'cli'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sdk', 'cli', 'main.ts'), 'export {};\n');
  if (opts.nodeModules) fs.mkdirSync(path.join(dir, 'node_modules'));
  if (opts.dist) {
    fs.mkdirSync(path.join(dir, 'dist', 'sdk', 'cli'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'dist', 'sdk', 'cli', 'main.js'), "exports.main = async (argv) => { console.log('ran ' + argv.join(' ')); return 0; };\n");
  }
  return dir;
}

const run = (dir: string) => spawnSync(process.execPath, [path.join(dir, 'bin', 'eraserlab.js'), 'x', 'y'], { encoding: 'utf8', env: { ...process.env, ERASERLAB_FROM_SOURCE: '' } });

test('no dist/: exit 1 with the set-up hint (or the build hint once node_modules is there)', () => {
  const bare = run(scratch('bare', { dist: false, nodeModules: false }));
  assert.is(bare.status, 1);
  assert.match(bare.stderr, /^eraserlab: no build in .*dist; run `bash scripts\/setup\.sh` first\n$/);
  const installed = run(scratch('installed', { dist: false, nodeModules: true }));
  assert.is(installed.status, 1);
  assert.match(installed.stderr, /^eraserlab: no build in .*dist; run `npm run build`\n$/);
});

test('a source newer than dist/ is refused naming it; a fresh build runs', () => {
  const dir = scratch('stale', { dist: true, nodeModules: true });
  const main = path.join(dir, 'dist', 'sdk', 'cli', 'main.js');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(main, old, old);
  const stale = run(dir);
  assert.is(stale.status, 1);
  assert.is(stale.stderr, `eraserlab: dist/ is older than ${path.join('sdk', 'cli', 'main.ts')}; run \`npm run build\`\n`);
  const now = new Date(Date.now() + 1000);
  fs.utimesSync(main, now, now);
  const fresh = run(dir);
  assert.is(fresh.stderr, '');
  assert.is(fresh.stdout, 'ran x y\n');
  assert.is(fresh.status, 0);
});

test('an installed package (no sources beside dist/) runs its build', () => {
  const dir = scratch('package', { dist: true, nodeModules: false });
  fs.rmSync(path.join(dir, 'sdk'), { recursive: true });
  const r = run(dir);
  assert.is(r.stdout, 'ran x y\n');
  assert.is(r.status, 0);
});

test.run();
