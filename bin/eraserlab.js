#!/usr/bin/env node
'use strict';
// Runs the compiled CLI from dist/ (npm run build); falls back to the TypeScript sources via tsx.
const fs = require('fs');
const path = require('path');
const compiled = path.join(__dirname, '..', 'dist', 'sdk', 'cli', 'main.js');
const notSetUp = (what) => {
  console.error(`eraserlab is not set up yet (${what}): run \`bash scripts/setup.sh\` first (it installs the dependencies and builds dist/).`);
  process.exit(1);
};
let mod;
try {
  if (fs.existsSync(compiled) && !process.env.ERASERLAB_FROM_SOURCE) {
    mod = require(compiled);
  } else {
    try {
      require.resolve('tsx/cjs');
    } catch {
      notSetUp('no dist/ build and no node_modules');
    }
    require('tsx/cjs');
    mod = require(path.join(__dirname, '..', 'sdk', 'cli', 'main.ts'));
  }
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && !fs.existsSync(path.join(__dirname, '..', 'node_modules'))) notSetUp(`missing ${String(e.message).split('\n')[0]}`);
  throw e;
}
mod.main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
