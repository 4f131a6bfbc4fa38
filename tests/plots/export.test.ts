// Export every figure kind to PNG, SVG and PDF through ONE headless Chromium, and check the
// files: PNG pixel size, SVG parses (librsvg via sharp) and holds the text, PDF page size and
// text (poppler's pdfinfo / pdftotext), PDF and SVG vector (no raster for a line chart).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import sharp from 'sharp';
import { plots } from '../../sdk';
import { byCategoryRows, historyRows, summaryRows } from './fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-export-'));
const exporter = new plots.Exporter();
const poppler = (cmd: 'pdfinfo' | 'pdftotext', file: string) =>
  spawnSync(cmd, cmd === 'pdftotext' ? [file, '-'] : [file], { encoding: 'utf8' }).stdout ?? '';

const figures: Record<string, { fig: plots.Figure; text: string }> = {
  curves: { fig: plots.forgettingCurves(historyRows(12), { title: 'Forgetting PO' }), text: 'Forgetting PO' },
  overForgetting: { fig: plots.overForgetting(summaryRows()), text: 'SARR (lower is better)' },
  tradeoff: { fig: plots.tradeoff(summaryRows()), text: 'forget quality' },
  heatmap: { fig: plots.categoryHeatmap(byCategoryRows()), text: 'IllegalActivity' },
  gallery: { fig: plots.sampleGallery([{ question: 'How is this used?', before: 'You load it and', after: 'I cannot help with that.' }]), text: 'I cannot help with that.' },
};

test.after(async () => {
  await exporter.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const [kind, { fig, text }] of Object.entries(figures)) {
  test(`${kind}: png (one-column, 300 dpi), svg, pdf`, async () => {
    const png = await exporter.export(fig, path.join(dir, `${kind}.png`), { preset: 'one-column', dpi: 300 });
    const meta = await sharp(path.join(dir, `${kind}.png`)).metadata();
    assert.is(meta.format, 'png');
    assert.ok(Math.abs((meta.width ?? 0) - 1050) <= 1, `width ${meta.width}`); // 3.5 in × 300 dpi
    assert.is(png.width, meta.width);
    const expectH = Math.round(png.heightInches * 300);
    assert.ok(Math.abs((meta.height ?? 0) - expectH) <= 2, `height ${meta.height} vs ${expectH}`);

    await exporter.export(fig, path.join(dir, `${kind}.svg`));
    const svg = fs.readFileSync(path.join(dir, `${kind}.svg`), 'utf8');
    assert.match(svg, /^<svg[^>]* width="3.5in"/);
    assert.ok(svg.includes(text.replace(/</g, '&lt;')) || svg.includes(text), `svg text '${text}'`);
    const svgMeta = await sharp(Buffer.from(svg)).metadata(); // librsvg parses it
    assert.is(svgMeta.format, 'svg');

    const pdf = await exporter.export(fig, path.join(dir, `${kind}.pdf`), { preset: 'two-column' });
    assert.is(pdf.widthInches, 7.16);
    const info = poppler('pdfinfo', path.join(dir, `${kind}.pdf`));
    const size = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(info);
    assert.ok(size, info);
    assert.ok(Math.abs(Number(size![1]) - 7.16 * 72) < 1.5, `pdf width ${size![1]}`);
    assert.match(info, /Pages:\s+1\b/);
    const pdfText = poppler('pdftotext', path.join(dir, `${kind}.pdf`)).replace(/\s+/g, ' ');
    for (const word of text.split(' ')) assert.ok(pdfText.includes(word), `pdf text '${word}' in '${pdfText.slice(0, 200)}'`);
  });
}

test('line chart PDF is vector (no raster images) and the folder has no temp files', () => {
  const list = spawnSync('pdfimages', ['-list', path.join(dir, 'curves.pdf')], { encoding: 'utf8' }).stdout;
  assert.is(list.trim().split('\n').length, 2, list); // header lines only
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  assert.is(exporter.count, 15);
});

test('explicit width/height/dpi and a font override', async () => {
  const r = await exporter.export(figures.curves.fig, path.join(dir, 'custom.png'), { widthInches: 2, heightInches: 1, dpi: 100, font: { family: 'DejaVu Serif', size: 6 } });
  assert.is(r.width, 200);
  assert.is(r.height, 100);
  const s = await exporter.export(figures.curves.fig, path.join(dir, 'custom.svg'), { widthInches: 2, heightInches: 1, font: 'DejaVu Serif' });
  assert.is(s.format, 'svg');
  assert.match(fs.readFileSync(s.file, 'utf8'), /DejaVu Serif/);
});

test('bad options and a missing Chromium say what to do', async () => {
  let err: Error | undefined;
  await exporter.export(figures.curves.fig, path.join(dir, 'x.png'), { preset: 'poster' as plots.PaperPreset }).catch((e) => (err = e));
  assert.is(err?.name, 'ExportError');
  assert.is(err?.message, "Unknown paper preset 'poster'. Must be one of [one-column, two-column]");
  const missing = new plots.Exporter({ executablePath: '/nonexistent/chromium' });
  err = await missing.export(figures.curves.fig, path.join(dir, 'y.png')).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.is(err?.name, 'ExportError');
  assert.match(err!.message, /^Chromium not found at \/nonexistent\/chromium: .*Install it with `apt-get install chromium`/);
  assert.not.ok(fs.existsSync(path.join(dir, 'y.png')));
});

test('exportFigure: the shared exporter, closed by closeExporter', async () => {
  const r = await plots.exportFigure(figures.heatmap.fig, path.join(dir, 'shared.svg'));
  assert.is(r.format, 'svg');
  assert.ok(fs.statSync(r.file).size > 1000);
  await plots.closeExporter();
});

test.run();
