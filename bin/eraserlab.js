#!/usr/bin/env node
'use strict';
// Runs the compiled CLI from dist/ (npm run build); falls back to the TypeScript sources via tsx.
const fs = require('fs');
const path = require('path');
const compiled = path.join(__dirname, '..', 'dist', 'sdk', 'cli', 'main.js');
let mod;
if (fs.existsSync(compiled) && !process.env.ERASERLAB_FROM_SOURCE) {
  mod = require(compiled);
} else {
  require('tsx/cjs');
  mod = require(path.join(__dirname, '..', 'sdk', 'cli', 'main.ts'));
}
mod.main(process.argv.slice(2)).then(
  (rc) => process.exit(rc),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
