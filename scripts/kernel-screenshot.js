#!/usr/bin/env node
'use strict';
// The screenshot in docs/notebooks.md: a short notebook (a DataFrame value, a type error, an SDK
// error) executed headless with this checkout's tslab kernel, rendered to HTML by nbconvert's
// JupyterLab template and captured with headless Chromium (the Debian package, via
// playwright-core). Run after `npm run build`:
//
//   node scripts/kernel-screenshot.js [out.png]     (default docs/img/kernel-outputs.png)
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(process.argv[2] || path.join(root, 'docs', 'img', 'kernel-outputs.png'));
const { projectKernelEnv } = require('../kernel/project-kernel');

function fail(msg) {
  console.error(`kernel-screenshot: ${msg}`);
  process.exit(1);
}

if (!fs.existsSync(path.join(root, 'dist', 'kernel', 'server.js'))) fail('dist/ is not built: run `npm run build` first');
const kernel = projectKernelEnv({ ...process.env, ERASERLAB_SCALE: process.env.ERASERLAB_SCALE || 'test' });
if (kernel.error) fail(kernel.error);

const cells = [
  [
    "import { data } from '../dist/sdk';",
    '',
    'const ds = await data.loadSafeEraser(await data.ensureDefaultDataset());',
    "ds.toFrame().loc({ columns: ['id', 'split', 'category', 'kind', 'question'] }).head(5)",
  ],
  ['// a type error: the cell does not run, the error names line:column', 'const steps: number = 20;', "const lr: number = '1e-5';"],
  ["data.examples(ds, 'train', 'forgett' as any)"],
];

// A temporary folder shaped like the project (nb/, dist → ../dist) so the cells import as a notebook does.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-shot-'));
try {
  fs.symlinkSync(path.join(root, 'dist'), path.join(tmp, 'dist'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'));
  fs.mkdirSync(path.join(tmp, 'nb'));
  const nbFile = path.join(tmp, 'nb', 'kernel-outputs.ipynb');
  const nb = {
    cells: cells.map((src) => ({ cell_type: 'code', metadata: {}, source: src.join('\n'), outputs: [], execution_count: null })),
    metadata: {
      kernelspec: { name: 'tslab', display_name: 'TypeScript (eraserlab)', language: 'typescript' },
      language_info: { name: 'typescript', file_extension: '.ts', mimetype: 'text/typescript' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(nbFile, JSON.stringify(nb, null, 1));
  const r = spawnSync(
    'jupyter',
    ['nbconvert', '--to', 'html', '--template', 'lab', '--execute', '--allow-errors', '--ExecutePreprocessor.kernel_name=tslab', '--ExecutePreprocessor.timeout=300', nbFile],
    { cwd: path.join(tmp, 'nb'), env: kernel.env, encoding: 'utf8', timeout: 400_000 },
  );
  const html = nbFile.replace(/\.ipynb$/, '.html');
  if (r.status !== 0 || !fs.existsSync(html)) fail(`nbconvert failed (${r.status}): ${(r.stderr || '').trim().split('\n').slice(-8).join('\n')}`);

  (async () => {
    const { launchChromium } = require(path.join(root, 'dist', 'sdk', 'plots', 'export.js'));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1000, height: 800 });
      await page.goto(`file://${html}`, { waitUntil: 'load' });
      const png = await page.screenshot({ fullPage: true });
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const part = `${out}.${process.pid}.tmp`;
      fs.writeFileSync(part, png);
      fs.renameSync(part, out);
      console.log(`kernel-screenshot: wrote ${path.relative(process.cwd(), out)} (${png.length} bytes)`);
    } finally {
      await browser.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  })().catch((e) => fail(e && e.message ? e.message : String(e)));
} catch (e) {
  fs.rmSync(tmp, { recursive: true, force: true });
  fail(e && e.message ? e.message : String(e));
}
