#!/usr/bin/env node
'use strict';
// Execute every notebooks/*.ipynb headless with the tslab kernel (jupyter nbconvert --execute)
// at the small test scale, and fail on any error output. Notebooks import the compiled SDK
// (../dist), so run `npm run build` first (npm test does).
//
// Usage: node scripts/run-notebooks.js [name-regex] [--keep DIR]
//   --keep DIR   write the executed notebooks to DIR (default: a temp folder, removed)
// Environment: ERASERLAB_SCALE (default 'test'), ERASERLAB_NOTEBOOK_TIMEOUT (seconds per
// notebook, default 600). Last line: `notebooks: N passed, M failed` (scripts/test.js reads it).
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { projectKernelEnv } = require('../kernel/project-kernel');

const root = path.resolve(__dirname, '..');
const nbDir = path.join(root, 'notebooks');
const args = process.argv.slice(2);
const keepAt = args.indexOf('--keep');
const keep = keepAt >= 0 ? path.resolve(args[keepAt + 1]) : undefined;
const filter = args.find((a, i) => !a.startsWith('--') && (keepAt < 0 || i !== keepAt + 1));
const timeoutS = Number(process.env.ERASERLAB_NOTEBOOK_TIMEOUT || 600);
const env = {
  ...process.env,
  ERASERLAB_SCALE: process.env.ERASERLAB_SCALE || 'test',
  ERASERLAB_QUIET: '1',
  PYDEVD_DISABLE_FILE_VALIDATION: '1', // silence debugpy's frozen-modules notice on stderr
};

let passed = 0;
let failed = 0;
const finish = () => {
  console.log(`notebooks: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
};

const notebooks = fs.existsSync(nbDir)
  ? fs
      .readdirSync(nbDir)
      .filter((f) => f.endsWith('.ipynb') && (!filter || new RegExp(filter).test(f)))
      .sort()
  : [];
if (notebooks.length === 0) finish();

function failAll(reason) {
  for (const nb of notebooks) console.log(`✗ ${nb}: ${reason}`);
  failed += notebooks.length;
  finish();
}

if (!fs.existsSync(path.join(root, 'dist', 'sdk', 'index.js')) || !fs.existsSync(path.join(root, 'dist', 'kernel', 'index.js'))) {
  failAll('dist/ is missing: notebooks import the compiled SDK; run `npm run build` first');
}
// This checkout's kernel, even when the user's registered `tslab` points at another checkout.
const kernel = projectKernelEnv(env);
if (kernel.error) failAll(kernel.error);
if (kernel.note) console.log(`notebooks: ${kernel.note}`);
Object.assign(env, kernel.env);

const outDir = keep || fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-notebooks-'));
fs.mkdirSync(outDir, { recursive: true });

// tslab reports a failed cell on stderr: a thrown error as `Name: message` (+ stack), a type
// error as `LINE:COL - message`; nbconvert --allow-errors keeps every output so we can show it.
const ERROR_TEXT = /(^|\n)\s*(\w*Error|\w*Exception|UnhandledPromiseRejection|UncaughtException)\b[:\s]|(^|\n)(\S+ )?\d+:\d+ - /;

/** Error outputs of an executed notebook: error outputs, and stderr text that reports an error. */
function errorOutputs(file) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  nb.cells.forEach((cell, i) => {
    for (const o of cell.outputs || []) {
      const text = Array.isArray(o.text) ? o.text.join('') : o.text || '';
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      else if (o.output_type === 'stream' && o.name === 'stderr' && ERROR_TEXT.test(text)) out.push(`cell ${i}: ${text.trim().split('\n').slice(0, 8).join('\n    ')}`);
    }
  });
  return out;
}

for (const nb of notebooks) {
  const t0 = Date.now();
  const r = spawnSync(
    'jupyter',
    [
      'nbconvert',
      '--to',
      'notebook',
      '--execute',
      '--allow-errors',
      '--ExecutePreprocessor.kernel_name=tslab',
      `--ExecutePreprocessor.timeout=${timeoutS}`,
      '--output-dir',
      outDir,
      path.join(nbDir, nb),
    ],
    { cwd: root, env, encoding: 'utf8', timeout: timeoutS * 1000 + 30000, maxBuffer: 1 << 26 },
  );
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const executed = path.join(outDir, nb);
  let problems = [];
  if (r.error) problems.push(r.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutS}s` : r.error.message);
  else if (r.status !== 0) problems.push(`nbconvert exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-6).join('\n    ')}`);
  if (!r.error && fs.existsSync(executed)) problems = problems.concat(errorOutputs(executed));
  else if (!problems.length) problems.push('no executed notebook was written');
  if (problems.length) {
    failed++;
    console.log(`✗ ${nb} (${secs}s)\n    ${problems.join('\n    ')}`);
  } else {
    passed++;
    console.log(`✓ ${nb} (${secs}s)`);
  }
}
if (!keep) fs.rmSync(outDir, { recursive: true, force: true });
finish();
