#!/usr/bin/env node
/**
 * Build the optional native OpenBLAS addon (native/blas) with node-gyp, offline, against the
 * Node headers on this machine. Runs as the package's `install` script (so `npm ci` builds it)
 * and as `npm run build:native`. A failed build never fails the install: eraserlab then runs on
 * tfjs's own kernels, and this prints what to install (Debian: g++ make python3 libopenblas-dev).
 * `ERASERLAB_SKIP_NATIVE=1` skips it; `--strict` makes a failure exit 1 (for tests of the build).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const dir = path.join(root, 'native', 'blas');
const strict = process.argv.includes('--strict');

function done(ok, msg) {
  process.stderr.write(`eraserlab native BLAS: ${msg}\n`);
  process.exit(ok || !strict ? 0 : 1);
}

if (/^(1|true|yes)$/i.test(process.env.ERASERLAB_SKIP_NATIVE || '')) done(true, 'skipped (ERASERLAB_SKIP_NATIVE)');
if (!fs.existsSync(path.join(dir, 'binding.gyp'))) done(false, `no ${path.relative(root, dir)}/binding.gyp`);

/** npm's own node-gyp (npm sets npm_config_node_gyp in scripts), or the one beside this node. */
function findNodeGyp() {
  const cands = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

/** Node's headers without a download: npm's nodedir setting, or the prefix this node runs from. */
function findNodeDir() {
  const cands = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')];
  for (const c of cands) if (c && fs.existsSync(path.join(c, 'include', 'node', 'node_api.h'))) return c;
  return undefined;
}

const gyp = findNodeGyp();
if (!gyp) done(false, 'node-gyp not found (it ships with npm); using tfjs kernels only');
const nodedir = findNodeDir();
if (!nodedir) done(false, "Node's headers (include/node/node_api.h) not found; using tfjs kernels only");
const cblas = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/openblas/cblas.h'];
if (!cblas.some((f) => fs.existsSync(f))) done(false, 'cblas.h not found: install OpenBLAS (Debian: apt-get install libopenblas-dev); using tfjs kernels only');

const t0 = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], { cwd: dir, encoding: 'utf8' });
if (r.status !== 0) {
  const tail = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n').slice(-8).join('\n');
  done(false, `build failed (using tfjs kernels only):\n${tail}`);
}
const out = path.join(dir, 'build', 'Release', 'eraserlab_blas.node');
try {
  const lib = require(out);
  const a = new Float32Array([1, 2, 3, 4]);
  const c = new Float32Array(4);
  lib.gemm(a, a, c, 1, 2, 2, 2, false, false, 0, 0);
  if (c.join(',') !== '7,10,15,22') throw new Error(`2×2 self-check gave [${c.join(', ')}], expected [7, 10, 15, 22]`);
} catch (e) {
  fs.rmSync(out, { force: true });
  done(false, `built but failed its self-check (${e.message}); removed, using tfjs kernels only`);
}
done(true, `built ${path.relative(root, out)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
