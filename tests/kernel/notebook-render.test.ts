// One notebook executed by the real tslab kernel (jupyter nbconvert --execute), rendered to
// HTML by nbconvert, opened offline in headless Chromium and screenshotted: the figure's
// Plotly SVG is there and non-empty, the table is there, the page is not blank.
// Needs `npm run build` (notebooks import ../dist) and Jupyter (see docs/notebooks.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { launchChromium } from '../../sdk/plots/export';
// CommonJS helper shared with scripts/run-notebooks.js: this checkout's tslab kernelspec.
const { projectKernelEnv } = require('../../kernel/project-kernel');

const root = path.resolve(__dirname, '..', '..');
// Under the project (tslab resolves ../dist relative to the notebook), hidden from notebooks/.
const dir = path.join(root, 'tests', 'kernel', `.render-${process.pid}`);
const env = { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1', ERASERLAB_SCALE: 'test' };

const cells = [
  [
    "import { show } from '../../../dist/kernel';",
    "import { overForgetting } from '../../../dist/sdk/plots';",
    'const rows = [',
    "  { method: 'po', metric: 'sarr', value: 0.9 }, { method: 'po+pd', metric: 'sarr', value: 0.3 },",
    "  { method: 'po', metric: 'forgetRate', value: 0.95 }, { method: 'po+pd', metric: 'forgetRate', value: 0.93 },",
    '];',
    "await show(overForgetting(rows, { title: 'Render check' }));",
  ].join('\n'),
  "await show({ columns: ['method', 'metric', 'value'], values: rows.map((r) => [r.method, r.metric, r.value]), shape: [4, 3] });",
];

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('an executed notebook renders its Plotly figure offline in Chromium', async () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'kernel', 'index.js')), 'dist/kernel is missing: run `npm run build` first');
  const kernel = projectKernelEnv(env);
  assert.not.ok(kernel.error, kernel.error);
  fs.mkdirSync(dir, { recursive: true });
  const nb = {
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (eraserlab)', language: 'typescript' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.writeFileSync(path.join(dir, 'render.ipynb'), JSON.stringify(nb));
  // execute with tslab and export to HTML in one nbconvert call
  const r = spawnSync(
    'jupyter',
    ['nbconvert', '--to', 'html', '--execute', '--ExecutePreprocessor.kernel_name=tslab', '--ExecutePreprocessor.timeout=240', '--output-dir', dir, path.join(dir, 'render.ipynb')],
    { encoding: 'utf8', env: kernel.env, timeout: 300_000 },
  );
  assert.is(r.status, 0, r.stderr);
  const html = path.join(dir, 'render.html');
  assert.ok(fs.existsSync(html));
  assert.is((fs.readFileSync(html, 'utf8').match(/plotly\.js v\d/g) || []).length, 1, 'plotly.js inlined exactly once');

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.goto('file://' + html, { waitUntil: 'domcontentloaded' });
    const found = await page.evaluate(async () => {
      const doc = (globalThis as unknown as { document: any }).document;
      for (let i = 0; i < 200 && !doc.querySelector('.eraserlab-figure svg.main-svg'); i++) await new Promise((res) => setTimeout(res, 50));
      const svg = doc.querySelector('.eraserlab-figure svg.main-svg');
      if (!svg) return undefined;
      const box = svg.getBoundingClientRect();
      return {
        width: box.width,
        height: box.height,
        bars: doc.querySelectorAll('.eraserlab-figure g.trace.bars path').length,
        title: doc.querySelector('.eraserlab-figure .gtitle')?.textContent,
        tableRows: doc.querySelectorAll('.eraserlab-table tbody tr').length,
      };
    }, undefined);
    assert.ok(found, 'no Plotly SVG in the rendered notebook');
    assert.ok(found!.width > 300 && found!.height > 200, `svg ${found!.width}×${found!.height}`);
    assert.is(found!.bars, 4);
    assert.is(found!.title, 'Render check');
    assert.is(found!.tableRows, 4);
    const shot = await page.screenshot({ fullPage: false });
    const stats = await sharp(shot).stats();
    assert.ok(stats.channels[0].stdev > 5, 'screenshot is not blank');
  } finally {
    await browser.close();
  }
});

test.run();
