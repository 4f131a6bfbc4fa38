/**
 * Figure export for papers: PNG, SVG and PDF rendered by plotly.js in headless Chromium
 * (Debian `chromium` + `playwright-core`, installed by scripts/setup.sh).
 *
 * Sizes: a figure without its own `layout.width` is laid out at 72 layout units per inch, so
 * a font size of 8 is 8 pt on paper. A figure with its own width (the gallery) keeps its
 * layout and is scaled to the paper width. PNG = width × dpi pixels; SVG carries physical
 * `in` sizes and a viewBox; PDF prints the inline SVG at the paper size (vector, real text).
 *
 * plotly.js is read from node_modules and inlined into one page (no CDN, no network); parsing
 * it costs ~2 s, so one page is kept and each figure is redrawn with `Plotly.react`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EraserError } from '../runtime/errors';
import { writeFileAtomic } from '../runtime/fsutil';
import type { Figure } from './figure';
import { PAPER_FONT } from './figure';

export type ExportFormat = 'png' | 'svg' | 'pdf';
export type PaperPreset = 'one-column' | 'two-column';

/** Column widths of common two-column paper templates (ACL, IEEE, NeurIPS-style). */
export const PAPER_PRESETS: Readonly<Record<PaperPreset, { widthInches: number; fontSize: number }>> = {
  'one-column': { widthInches: 3.5, fontSize: 8 },
  'two-column': { widthInches: 7.16, fontSize: 9 },
};

export interface ExportOptions {
  /** Default: from the file extension (.png/.svg/.pdf), else png. */
  format?: ExportFormat;
  /** Width and base font size preset (default 'one-column' unless widthInches is given). */
  preset?: PaperPreset;
  widthInches?: number;
  /** Default: the figure's own aspect ratio when it has one, else 0.75 × width (0.5 × for two-column). */
  heightInches?: number;
  /** PNG resolution (default 300). */
  dpi?: number;
  /** A font family, or {family, size} (size in pt). Default: Liberation Sans / Arial at the preset's size. */
  font?: string | { family?: string; size?: number };
}

export interface ExportResult {
  file: string;
  format: ExportFormat;
  widthInches: number;
  heightInches: number;
  /** PNG: pixels. SVG/PDF: layout units (72 per inch unless the figure has its own width). */
  width: number;
  height: number;
  bytes: number;
}

/** Figure export failed (Chromium missing, a bad figure, an unwritable file). */
export class ExportError extends EraserError {}

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The flags a sandboxed, offline, root machine needs (no sandbox, no GPU, no network services). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(explicit?: string): string {
  return explicit ?? process.env.ERASERLAB_CHROMIUM ?? DEFAULT_CHROMIUM;
}

/** The minimal surface of playwright-core we use (its own types stay out of our .d.ts). */
export interface BrowserPage {
  setContent(html: string, opts?: { waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' }): Promise<void>;
  addScriptTag(o: { content?: string; path?: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  pdf(o: Record<string, unknown>): Promise<Buffer>;
  screenshot(o?: Record<string, unknown>): Promise<Buffer>;
  goto(url: string, o?: Record<string, unknown>): Promise<unknown>;
  setViewportSize(s: { width: number; height: number }): Promise<void>;
  close(): Promise<void>;
}
export interface BrowserSession {
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}

/**
 * Launch headless Chromium with a fresh profile folder (removed on close). Used by the
 * exporter, and by tests that screenshot rendered notebooks and reports.
 */
export async function launchChromium(opts: { executablePath?: string } = {}): Promise<BrowserSession> {
  const exe = chromiumPath(opts.executablePath);
  if (!fs.existsSync(exe)) {
    throw new ExportError(
      `Chromium not found at ${exe}: figure export renders with headless Chromium. ` +
        `Install it with \`apt-get install chromium\` (Debian/Ubuntu), or point ERASERLAB_CHROMIUM at a Chromium/Chrome binary.`,
    );
  }
  let pw: { chromium: { launchPersistentContext(dir: string, o: object): Promise<{ newPage(): Promise<unknown>; pages(): unknown[]; close(): Promise<void> }> } };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    pw = require('playwright-core');
  } catch (e) {
    throw new ExportError(`playwright-core is not installed (${(e as Error).message.split('\n')[0]}); run \`npm install\` in the eraserlab folder.`);
  }
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-chromium-'));
  const cleanup = () => fs.rmSync(userDir, { recursive: true, force: true });
  let ctx: Awaited<ReturnType<typeof pw.chromium.launchPersistentContext>>;
  try {
    ctx = await pw.chromium.launchPersistentContext(userDir, { executablePath: exe, headless: true, args: [...CHROMIUM_ARGS] });
  } catch (e) {
    cleanup();
    throw new ExportError(`Chromium at ${exe} failed to start: ${(e as Error).message.split('\n')[0]}`);
  }
  const onExit = () => cleanup();
  process.once('exit', onExit);
  let first = ctx.pages()[0] as BrowserPage | undefined;
  return {
    async newPage() {
      if (first) {
        const p = first;
        first = undefined;
        return p;
      }
      return (await ctx.newPage()) as BrowserPage;
    },
    async close() {
      process.removeListener('exit', onExit);
      try {
        await ctx.close();
      } finally {
        cleanup();
      }
    },
  };
}

let plotlySource: string | undefined;
/** plotly.js (the minified dist bundle) from node_modules, read once. */
export function plotlyJs(): string {
  if (!plotlySource) {
    let file: string;
    try {
      file = require.resolve('plotly.js-dist-min');
    } catch {
      throw new ExportError('plotly.js-dist-min is not installed; run `npm install` in the eraserlab folder.');
    }
    plotlySource = fs.readFileSync(file, 'utf8');
  }
  return plotlySource;
}

export function formatOf(file: string, format?: ExportFormat): ExportFormat {
  if (format) return format;
  const ext = path.extname(file).toLowerCase().slice(1);
  return ext === 'svg' || ext === 'pdf' ? ext : 'png';
}

interface Plan {
  format: ExportFormat;
  widthInches: number;
  heightInches: number;
  /** layout units */
  w: number;
  h: number;
  scale: number;
  layout: Record<string, unknown>;
}

function plan(fig: Figure, file: string, opts: ExportOptions): Plan {
  const format = formatOf(file, opts.format);
  if (!['png', 'svg', 'pdf'].includes(format)) throw new ExportError(`Unknown export format '${format}'. Must be one of [png, svg, pdf]`);
  if (opts.preset && !PAPER_PRESETS[opts.preset]) {
    throw new ExportError(`Unknown paper preset '${opts.preset}'. Must be one of [${Object.keys(PAPER_PRESETS).join(', ')}]`);
  }
  const preset = PAPER_PRESETS[opts.preset ?? 'one-column'];
  const widthInches = opts.widthInches ?? preset.widthInches;
  const ownW = typeof fig.layout.width === 'number' ? fig.layout.width : undefined;
  const ownH = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  const aspect = ownW && ownH ? ownH / ownW : opts.preset === 'two-column' ? 0.5 : 0.75;
  const heightInches = opts.heightInches ?? widthInches * aspect;
  for (const [k, v] of [['widthInches', widthInches], ['heightInches', heightInches], ['dpi', opts.dpi ?? 300]] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new ExportError(`exportFigure: ${k} must be a positive number, got ${v}`);
  }
  // Layout units per inch: 72 (1 unit = 1 pt), or what keeps a figure's own width.
  const upi = ownW ? ownW / widthInches : 72;
  const w = Math.round(widthInches * upi);
  const h = Math.round(heightInches * upi);
  const dpi = opts.dpi ?? 300;
  const font = typeof opts.font === 'string' ? { family: opts.font } : opts.font ?? {};
  const baseFont = (fig.layout.font ?? {}) as { family?: string; size?: number; color?: string };
  const layout: Record<string, unknown> = {
    ...fig.layout,
    width: w,
    height: h,
    autosize: false,
    font: {
      ...baseFont,
      family: font.family ?? baseFont.family ?? PAPER_FONT,
      size: font.size ?? (ownW ? baseFont.size : preset.fontSize) ?? preset.fontSize,
    },
  };
  return { format, widthInches, heightInches, w, h, scale: (widthInches * dpi) / w, layout };
}

/** Give an SVG from Plotly a physical size (inches) and a viewBox so it scales as a vector. */
function physicalSvg(svg: string, p: Plan): string {
  return svg.replace(/<svg\b([^>]*)>/, (_m, attrs: string) => {
    const rest = attrs.replace(/\s(width|height|viewBox)="[^"]*"/g, '');
    return `<svg${rest} width="${p.widthInches}in" height="${p.heightInches}in" viewBox="0 0 ${p.w} ${p.h}">`;
  });
}

/**
 * A headless-Chromium figure exporter. Launches on first use, keeps ONE page with plotly.js
 * loaded and redraws each figure with `Plotly.react`; exports are queued. Call `close()`.
 */
export class Exporter {
  private session?: Promise<{ browser: BrowserSession; plot: BrowserPage; pdf?: BrowserPage }>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly executablePath?: string;
  /** Exports done (for tests and the idle timer). */
  count = 0;

  constructor(opts: { executablePath?: string } = {}) {
    this.executablePath = opts.executablePath;
  }

  private start() {
    if (!this.session) {
      this.session = (async () => {
        const browser = await launchChromium({ executablePath: this.executablePath });
        try {
          const plot = await browser.newPage();
          await plot.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><div id="gd"></div></body></html>');
          await plot.addScriptTag({ content: plotlyJs() });
          return { browser, plot };
        } catch (e) {
          await browser.close().catch(() => undefined);
          throw e;
        }
      })();
      this.session.catch(() => (this.session = undefined));
    }
    return this.session;
  }

  /** Render `fig` and write it to `file` (atomically). */
  export(fig: Figure, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
    const job = this.queue.then(() => this.run(fig, file, opts));
    this.queue = job.catch(() => undefined);
    return job;
  }

  private async run(fig: Figure, file: string, opts: ExportOptions): Promise<ExportResult> {
    if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== 'object') {
      throw new ExportError(`exportFigure(${path.basename(file)}): expected a figure {data: [], layout: {}}`);
    }
    const p = plan(fig, file, opts);
    const s = await this.start();
    let url: string;
    try {
      url = await s.plot.evaluate(
        async (a: { data: unknown[]; layout: unknown; format: string; w: number; h: number; scale: number }) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const P = (globalThis as any).Plotly;
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const gd = (globalThis as any).document.getElementById('gd');
          await P.react(gd, a.data, a.layout, { staticPlot: true, displayModeBar: false });
          return P.toImage(gd, { format: a.format, width: a.w, height: a.h, scale: a.format === 'png' ? a.scale : 1 });
        },
        { data: JSON.parse(JSON.stringify(fig.data)), layout: JSON.parse(JSON.stringify(p.layout)), format: p.format === 'png' ? 'png' : 'svg', w: p.w, h: p.h, scale: p.scale },
      );
    } catch (e) {
      throw new ExportError(`exportFigure(${path.basename(file)}): Plotly could not render the figure: ${(e as Error).message.split('\n')[0]}`);
    }
    let bytes: Buffer;
    let width = p.w;
    let height = p.h;
    if (p.format === 'png') {
      bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
      width = bytes.readUInt32BE(16);
      height = bytes.readUInt32BE(20);
    } else {
      const svg = physicalSvg(decodeURIComponent(url.slice(url.indexOf(',') + 1)), p);
      if (p.format === 'svg') {
        bytes = Buffer.from(svg, 'utf8');
      } else {
        if (!s.pdf) s.pdf = await s.browser.newPage();
        const size = `${p.widthInches}in ${p.heightInches}in`;
        await s.pdf.setContent(
          `<!doctype html><html><head><meta charset="utf-8"><style>@page{size:${size};margin:0}html,body{margin:0;padding:0}svg{display:block}</style></head><body>${svg}</body></html>`,
        );
        bytes = await s.pdf.pdf({ width: `${p.widthInches}in`, height: `${p.heightInches}in`, printBackground: true, margin: { top: '0', right: '0', bottom: '0', left: '0' }, pageRanges: '1' });
      }
    }
    writeFileAtomic(file, bytes);
    this.count++;
    return { file: path.resolve(file), format: p.format, widthInches: p.widthInches, heightInches: p.heightInches, width, height, bytes: bytes.length };
  }

  /** Close Chromium (and remove its profile folder). Safe to call twice. */
  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    await this.queue;
    try {
      const { browser } = await s;
      await browser.close();
    } catch {
      /* never started */
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The shared exporter behind exportFigure()

let shared: Exporter | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let idleMs = 3000;
let pending = 0;

/**
 * How long the shared exporter keeps Chromium after the last export (default 3000 ms). An open
 * browser keeps Node alive, so scripts exit this long after their last export; a notebook may
 * raise it to avoid relaunching (~3 s) between cells.
 */
export function setExporterIdleTimeout(ms: number): void {
  idleMs = ms;
}

/** Close the shared exporter now (scripts that want to exit at once). */
export async function closeExporter(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const e = shared;
  shared = undefined;
  if (e) await e.close();
}

/**
 * Export one figure to PNG, SVG or PDF with the shared exporter (one Chromium for the whole
 * process, closed when idle). `format` defaults to the file extension.
 *
 *     await plots.exportFigure(fig, 'figs/sarr.pdf', { preset: 'one-column' })
 */
export async function exportFigure(fig: Figure, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  shared ??= new Exporter();
  const e = shared;
  pending++;
  try {
    return await e.export(fig, file, opts);
  } finally {
    pending--;
    if (pending === 0 && shared === e) {
      idleTimer = setTimeout(() => {
        if (shared === e && pending === 0) void closeExporter();
      }, idleMs);
    }
  }
}
