#!/usr/bin/env node
'use strict';
// The test command: every tests/**/*.test.ts through uvu (TypeScript via tsx), then the
// notebooks headless (scripts/run-notebooks.js) unless --unit. Prints "N passed, N failed".
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
// --slow: the slow tier (tests/slow: reproduction of the paper's finding by the main job, the
// notebooks at their default scale); otherwise the fast tier (everything else, notebooks at the
// test scale).
const slow = args.includes('--slow');
const unitOnly = args.includes('--unit') || slow;
const pattern = args.find((a) => !a.startsWith('--')) || '\\.test\\.ts$';
let passed = 0;
let failed = 0;
let skipped = 0;

const env = { ...process.env, ERASERLAB_QUIET: process.env.ERASERLAB_QUIET || '1' };
if (slow) {
  // the slow tier runs notebooks, which import the compiled SDK: build it first
  const b = spawnSync(process.execPath, [require.resolve('@tslab/typescript-for-tslab/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) {
    console.log('build failed: the slow tier needs dist/');
    process.exit(1);
  }
}
const uvuArgs = slow ? ['tests/slow', pattern] : ['tests', pattern, '-i', 'slow'];
const uvu = spawnSync(process.execPath, [path.join(root, 'node_modules/uvu/bin.js'), ...uvuArgs, '-r', 'tsx/cjs', '-i', 'bench', '-i', 'fixtures'], {
  cwd: root,
  env,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 1 << 28,
});
process.stdout.write(uvu.stdout || '');
const m = (re) => {
  const r = re.exec(uvu.stdout || '');
  return r ? Number(r[1]) : 0;
};
passed += m(/Passed:\s+(\d+)/);
skipped += m(/Skipped:\s+(\d+)/);
const total = m(/Total:\s+(\d+)/);
failed += Math.max(0, total - passed - skipped);
if (uvu.status !== 0 && failed === 0) failed = 1;

const nbRunner = path.join(root, 'scripts', 'run-notebooks.js');
if (!unitOnly && fs.existsSync(nbRunner)) {
  // Notebooks import the compiled SDK (../dist/sdk): build first so they test the current sources,
  // with the TypeScript that tslab itself uses (a 5.0 fork), so the public .d.ts fits notebooks.
  const build = spawnSync(process.execPath, [require.resolve('@tslab/typescript-for-tslab/bin/tsc', { paths: [root] }), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.log('build failed: notebooks not run');
    failed += 1;
  }
  const clean = spawnSync(process.execPath, [path.join(root, 'scripts/check-notebooks-clean.js')], { cwd: root, stdio: 'inherit' });
  if (clean.status === 0) passed += 1;
  else failed += 1;
  const nb = spawnSync(process.execPath, [nbRunner], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(nb.stdout || '');
  const p = /notebooks: (\d+) passed, (\d+) failed/.exec(nb.stdout || '');
  if (p) {
    passed += Number(p[1]);
    failed += Number(p[2]);
  }
  if (nb.status !== 0 && !(p && Number(p[2]) > 0)) failed += 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
