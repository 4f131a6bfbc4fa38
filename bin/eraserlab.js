#!/usr/bin/env node
'use strict';
// Runs the compiled CLI from dist/ (npm run build). A missing dist/, or one older than the
// TypeScript sources beside it (a checkout edited since its last build), is refused with a
// one-line hint rather than run stale. ERASERLAB_FROM_SOURCE=1 runs the sources through tsx.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'sdk', 'cli', 'main.js');

/** The newest .ts under the source folders (none in an installed package, which ships only dist/). */
function newestSource() {
  let best = { file: '', mtime: 0 };
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const m = fs.statSync(p).mtimeMs;
        if (m > best.mtime) best = { file: p, mtime: m };
      }
    }
  };
  walk(path.join(root, 'sdk'));
  walk(path.join(root, 'kernel'));
  return best;
}

let mod;
if (process.env.ERASERLAB_FROM_SOURCE) {
  require('tsx/cjs');
  mod = require(path.join(root, 'sdk', 'cli', 'main.ts'));
} else {
  if (!fs.existsSync(compiled)) {
    const setUp = fs.existsSync(path.join(root, 'node_modules'));
    console.error(`eraserlab: no build in ${path.join(root, 'dist')}; ${setUp ? 'run `npm run build`' : 'run `bash scripts/setup.sh` first'}`);
    process.exit(1);
  }
  const src = newestSource();
  if (src.mtime > fs.statSync(compiled).mtimeMs) {
    console.error(`eraserlab: dist/ is older than ${path.relative(root, src.file)}; run \`npm run build\``);
    process.exit(1);
  }
  mod = require(compiled);
}
mod.main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
