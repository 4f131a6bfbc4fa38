#!/usr/bin/env node
'use strict';
// The command the `tslab` / `jslab` kernelspecs run (kernel/install.js writes them):
//   node kernel/jupyter-kernel.js --config-path <connection file> [--js]
// The protocol layer is the compiled kernel/server.ts (dist/kernel/server.js); tslab compiles
// and runs the cells.
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const at = args.indexOf('--config-path');
const connectionFile = at >= 0 ? args[at + 1] : undefined;
if (!connectionFile) {
  console.error('usage: node kernel/jupyter-kernel.js --config-path <connection file> [--js]  (Jupyter passes {connection_file})');
  process.exit(2);
}
const server = path.resolve(__dirname, '..', 'dist', 'kernel', 'server.js');
if (!fs.existsSync(server)) {
  console.error(`eraserlab kernel: ${server} is missing: run \`npm run build\` in ${path.resolve(__dirname, '..')} first`);
  process.exit(1);
}
require(server)
  .startKernel({ connectionFile, js: args.includes('--js') })
  .catch((e) => {
    console.error(`eraserlab kernel: ${e && e.message ? e.message : e}`);
    process.exit(1);
  });
