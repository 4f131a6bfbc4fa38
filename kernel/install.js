#!/usr/bin/env node
'use strict';
// Register the project's kernel with this machine's Jupyter as the kernels `tslab`
// (TypeScript) and `jslab` (JavaScript): the project's protocol layer (kernel/jupyter-kernel.js
// → dist/kernel/server.js) with the project's tslab compiling and running the cells. Writes the
// kernelspec JSON itself (no Python needed) into the Jupyter data folder, pointing at this Node
// and this checkout, then checks that `jupyter kernelspec list` sees it. Run by
// scripts/setup.sh; safe to re-run.
//
// Usage: node kernel/install.js [--prefix DIR] [--data-dir DIR] [--quiet]
//   --prefix DIR    install under DIR/share/jupyter/kernels (a virtualenv / conda prefix)
//   --data-dir DIR  install under DIR/kernels (default: `jupyter --data-dir`, i.e. per user)
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quiet = args.includes('--quiet');
const log = (s) => quiet || console.log(`kernel: ${s}`);

function fail(msg) {
  console.error(`kernel: ${msg}`);
  process.exit(1);
}

function jupyter(argv) {
  const r = spawnSync('jupyter', argv, { encoding: 'utf8', env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
  return r.error || r.status !== 0 ? undefined : r.stdout;
}

function defaultDataDir() {
  const fromJupyter = jupyter(['--data-dir']);
  if (fromJupyter && fromJupyter.trim()) return fromJupyter.trim().split('\n').pop().trim();
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA || os.homedir(), 'jupyter');
  return path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

const tslabPkg = path.join(root, 'node_modules', 'tslab', 'package.json');
if (!fs.existsSync(tslabPkg)) fail(`${path.dirname(tslabPkg)} is missing: run \`npm ci\` in ${root} first`);
const kernelJs = path.join(root, 'kernel', 'jupyter-kernel.js');
if (!fs.existsSync(path.join(root, 'dist', 'kernel', 'server.js'))) {
  log(`note: ${path.join(root, 'dist', 'kernel', 'server.js')} is not built yet: run \`npm run build\` before starting the kernel`);
}

const prefix = opt('--prefix');
const dataDir = opt('--data-dir') || (prefix ? path.join(prefix, 'share', 'jupyter') : defaultDataDir());
const kernelsDir = path.join(dataDir, 'kernels');

for (const js of [false, true]) {
  const name = js ? 'jslab' : 'tslab';
  const spec = {
    // This Node and this checkout's kernel, so notebooks get the project's SDK and tslab.
    argv: [process.execPath, kernelJs, '--config-path', '{connection_file}', ...(js ? ['--js'] : [])],
    display_name: js ? 'JavaScript (eraserlab)' : 'TypeScript (eraserlab)',
    language: js ? 'javascript' : 'typescript',
    metadata: { eraserlab: { root } },
  };
  const dir = path.join(kernelsDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'kernel.json');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(spec, null, 2) + '\n');
  fs.renameSync(tmp, file);
  log(`installed ${name} → ${dir}`);
}

const listed = jupyter(['kernelspec', 'list', '--json']);
if (listed === undefined) {
  log('jupyter is not on PATH: the kernelspecs are written; install Jupyter (Debian: apt-get install jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel) to use them');
} else {
  let specs = {};
  try {
    specs = JSON.parse(listed).kernelspecs || {};
  } catch {
    /* old jupyter without --json */
  }
  const seen = ['tslab', 'jslab'].filter((k) => specs[k]);
  if (seen.length !== 2) {
    fail(`jupyter kernelspec list does not show ${['tslab', 'jslab'].filter((k) => !specs[k]).join(' and ')} (written to ${kernelsDir}; is JUPYTER_PATH/JUPYTER_DATA_DIR set elsewhere?)`);
  }
  const where = specs.tslab.resource_dir;
  if (path.resolve(where) !== path.resolve(kernelsDir, 'tslab')) {
    log(`note: jupyter resolves tslab to ${where} (an earlier install takes precedence over ${kernelsDir})`);
  }
  log('jupyter kernelspec list shows tslab and jslab');
}
