/**
 * The main job's figure files: each report figure as SVG and PNG (headless Chromium through
 * plots/export) plus its Plotly JSON, under `<out>/figures/`. Export failing (no Chromium) is not
 * an error: the report then draws the figures with plotly.js and says why.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeJsonAtomic } from '../runtime/fsutil';
import { progress } from '../runtime/progress';
import { exportFigure, closeExporter } from '../plots/export';
import type { ReportFigure } from './report';

export interface ExportedFigures {
  /** Files written, relative to `out`. */
  written: string[];
  /** Why PNG/SVG export was skipped, if it was. */
  exportSkipped?: string;
  /** Each figure's SVG text, by name (inlined into report.html). */
  svgs: Map<string, string>;
}

/** Write `<out>/figures/<name>.{svg,png,plotly.json}` for every figure (SVG/PNG only when enabled). */
export async function exportFigures(
  figures: readonly ReportFigure[],
  out: string,
  opts: { enabled: boolean; log: (line: string) => void },
): Promise<ExportedFigures> {
  const figDir = path.join(out, 'figures');
  const written: string[] = [];
  let exportSkipped: string | undefined;
  const svgs = new Map<string, string>();
  if (!opts.enabled) exportSkipped = 'figure export was turned off (--no-figures)';
  else {
    fs.mkdirSync(figDir, { recursive: true });
    const fbar = progress(figures.length * 2, 'figures');
    try {
      for (const f of figures) {
        for (const fmt of ['svg', 'png'] as const) {
          const file = path.join(figDir, `${f.name}.${fmt}`);
          await exportFigure(f.figure, file, { format: fmt, preset: 'two-column', ...(f.heightInches ? { heightInches: f.heightInches } : {}) });
          written.push(path.relative(out, file));
          if (fmt === 'svg') svgs.set(f.name, fs.readFileSync(file, 'utf8'));
          fbar.tick(1, `${f.name}.${fmt}`);
        }
      }
      fbar.done();
    } catch (e) {
      fbar.done('skipped');
      exportSkipped = `PNG/SVG export was skipped: ${(e as Error).message.split('\n')[0]}`;
      opts.log(exportSkipped);
    } finally {
      await closeExporter();
    }
  }
  for (const f of figures) writeJsonAtomic(path.join(figDir, `${f.name}.plotly.json`), f.figure);
  return { written, exportSkipped, svgs };
}
