#!/usr/bin/env node
'use strict';
// The test command, in two tiers (README, "Tests"):
//
//   npm test                 fast tier: type-check the tests (tsconfig.tests.json), every
//                            tests/**/*.test.ts except the slow ones through uvu (TypeScript via
//                            tsx), the API reference check, then build and run the notebooks
//                            headless at the test scale. What CI runs first.
//   npm run test:slow        slow tier: the reproduction tests (the paper's finding at small
//                            scale and with the committed model, every figure through Chromium)
//                            and the notebooks at the default scale.
//   node scripts/test.js --unit [regex]   uvu only (no type-check, no notebooks), fast tier files
//   node scripts/test.js --slow --unit    uvu only, slow tier files
//
// Prints "N passed, N failed".
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const slow = args.includes('--slow');
const filter = args.find((a) => !a.startsWith('--'));

/**
 * The slow tier: reproductions that train or render at full size (minutes each). tests/slow/
 * runs the main job with its defaults and checks the paper's phenomenon, then notebooks 02 and
 * 03 at their default scale with their tables and figures checked (so the notebook pass below
 * leaves those two out).
 */
const SLOW = ['slow/', 'unlearn/finding\\.test\\.ts$', 'plots/export\\.test\\.ts$'];
const SLOW_NOTEBOOKS_SKIP = /^0[23]-/;
const slowRe = `(${SLOW.join('|')})`;
const pattern = filter || (slow ? slowRe : '\\.test\\.ts$');
let passed = 0;
let failed = 0;
let skipped = 0;

const env = { ...process.env, ERASERLAB_QUIET: process.env.ERASERLAB_QUIET || '1' };
const tsc = require.resolve('@tslab/typescript-for-tslab/bin/tsc', { paths: [root] });

if (!unitOnly && !slow) {
  // The tests are type-checked with the SDK (the TypeScript that tslab uses, a 5.0 fork).
  const tc = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.tests.json'], { cwd: root, stdio: 'inherit' });
  if (tc.status === 0) passed += 1;
  else {
    console.log('typecheck:tests failed');
    failed += 1;
  }
}

// The notebooks and the API reference check read the compiled SDK: build it first.
if (!unitOnly) {
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.log('build failed');
    failed += 1;
  }
}

// uvu's -i takes one pattern per flag; the fast tier leaves the slow files out.
const ignore = ['-i', 'bench', '-i', 'fixtures', '-i', 'support'];
if (!slow && !filter) for (const s of SLOW) ignore.push('-i', s);
const uvu = spawnSync(process.execPath, [path.join(root, 'node_modules/uvu/bin.js'), 'tests', pattern, '-r', 'tsx/cjs', ...ignore], {
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
const uvuPassed = m(/Passed:\s+(\d+)/);
const uvuSkipped = m(/Skipped:\s+(\d+)/);
const uvuFailed = Math.max(0, m(/Total:\s+(\d+)/) - uvuPassed - uvuSkipped);
passed += uvuPassed;
skipped += uvuSkipped;
failed += uvuFailed;
if (uvu.status !== 0 && uvuFailed === 0) failed += 1;

const nbRunner = path.join(root, 'scripts', 'run-notebooks.js');
if (!unitOnly && fs.existsSync(nbRunner)) {
  const clean = spawnSync(process.execPath, [path.join(root, 'scripts/check-notebooks-clean.js')], { cwd: root, stdio: 'inherit' });
  if (clean.status === 0) passed += 1;
  else failed += 1;
  const nbEnv = { ...env, ERASERLAB_SCALE: slow ? 'default' : process.env.ERASERLAB_SCALE || 'test' };
  const nbArgs = slow ? [`^(?!${SLOW_NOTEBOOKS_SKIP.source.slice(1)})`] : [];
  const nb = spawnSync(process.execPath, [nbRunner, ...nbArgs], { cwd: root, env: nbEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
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
