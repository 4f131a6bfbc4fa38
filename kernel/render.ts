/**
 * What `show(x)` renders, as MIME bundles (pure but for reading images): Plotly figures, danfo
 * frames (paged HTML tables), image tensors and dataset examples.
 */
import * as fs from 'fs';
import * as util from 'util';
import type { Figure } from '../sdk/plots/figure';
import type { EvalRecord, StepRecord } from '../sdk/unlearn/unlearner';
import { plotlyJs } from '../sdk/plots/export';
import type { MimeBundle } from './display';

export const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// ---------------------------------------------------------------------------------------------
// Type tests (structural: the kernel does not depend on danfo's or tfjs's classes)

export function isFigure(x: unknown): x is Figure {
  const f = x as Figure;
  return !!f && typeof f === 'object' && Array.isArray(f.data) && !!f.layout && typeof f.layout === 'object';
}

export interface FrameLike {
  columns: string[];
  values: unknown[];
  shape: number[];
  index?: unknown[];
}
export function isFrame(x: unknown): x is FrameLike {
  const f = x as FrameLike;
  return !!f && typeof f === 'object' && Array.isArray(f.columns) && Array.isArray(f.values) && Array.isArray(f.shape) && f.shape.length === 2;
}

export interface SeriesLike {
  values: unknown[];
  shape: number[];
  index?: unknown[];
  name?: string;
}
export function isSeries(x: unknown): x is SeriesLike {
  const s = x as SeriesLike & { columns?: unknown };
  return !!s && typeof s === 'object' && Array.isArray(s.values) && Array.isArray(s.shape) && s.shape.length === 1 && !Array.isArray(s.columns);
}

export interface TensorLike {
  shape: number[];
  dtype: string;
  data(): Promise<ArrayLike<number>>;
}
export function isTensor(x: unknown): x is TensorLike {
  const t = x as TensorLike & { dataSync?: unknown };
  return !!t && typeof t === 'object' && Array.isArray(t.shape) && typeof t.dtype === 'string' && typeof t.data === 'function' && typeof t.dataSync === 'function';
}

/** A dataset example (contracts: sdk/data `Example`). */
export interface ExampleLike {
  id: string;
  kind: string;
  question: string;
  answer: string;
  image?: string;
  category?: string;
  split?: string;
  record?: number;
}
export function isExample(x: unknown): x is ExampleLike {
  const e = x as ExampleLike;
  return !!e && typeof e === 'object' && typeof e.question === 'string' && typeof e.answer === 'string' && typeof e.kind === 'string';
}

// ---------------------------------------------------------------------------------------------
// Figures

let plotlyInlined = false;

/** The plotly.js library as one HTML output; emitted once per kernel process (= notebook). */
export function plotlyLibraryHtml(): string {
  // `module`/`exports`/`define` shadowed so the UMD wrapper sets window.Plotly even on pages
  // that carry require.js or a CommonJS shim (classic Notebook, some HTML exports).
  const src = plotlyJs().replace(/<\/script/gi, '<\\/script');
  return `<script type="text/javascript">(function(){var module=undefined,exports=undefined,define=undefined;\n${src}\n}).call(window);</script>`;
}

/** Whether the next figure must be preceded by the library (call with reset for tests). */
export function takePlotlyInline(reset = false): boolean {
  if (reset) {
    plotlyInlined = false;
    return false;
  }
  const need = !plotlyInlined;
  plotlyInlined = true;
  return need;
}

let figCounter = 0;

export function figureHtml(fig: Figure, opts: { height?: number } = {}): string {
  figCounter += 1;
  const id = `eraserlab-fig-${process.pid}-${Date.now().toString(36)}-${figCounter}`;
  const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 420);
  const width = typeof fig.layout.width === 'number' ? `${fig.layout.width}px` : '100%';
  // Paper sizes (8–10 pt) are small on screen: at least 12 px inline, unless the figure fixes its own size.
  const font = (fig.layout.font ?? {}) as { size?: number };
  const layout = typeof fig.layout.width === 'number' ? fig.layout : { ...fig.layout, font: { ...font, size: Math.max(font.size ?? 12, 12) } };
  const json = JSON.stringify({ data: fig.data, layout, config: { displaylogo: false, responsive: true, ...(fig.config ?? {}) } }).replace(/</g, '\\u003c');
  return (
    `<div id="${id}" class="eraserlab-figure" style="width:${width};max-width:100%;height:${height}px"></div>` +
    `<script type="text/javascript">(function(){var f=${json};var n=0;` +
    `function draw(){var el=document.getElementById(${JSON.stringify(id)});` +
    `if(!window.Plotly||!el){if(n++<200)return setTimeout(draw,50);if(el)el.textContent='plotly.js did not load: re-run the notebook from the top';return;}` +
    `window.Plotly.newPlot(el,f.data,f.layout,f.config);}draw();})();</script>`
  );
}

export function figureText(fig: Figure): string {
  const title = (fig.layout.title as { text?: string } | undefined)?.text;
  const kinds = [...new Set(fig.data.map((t) => t.type ?? 'scatter'))].join(', ');
  return `Figure${title ? ` '${title}'` : ''}: ${fig.data.length} trace${fig.data.length === 1 ? '' : 's'} (${kinds || 'layout only'})`;
}

export function figureBundle(fig: Figure): MimeBundle {
  return {
    'text/html': figureHtml(fig),
    // JupyterLab with the plotly extension and VS Code render this natively; others use the HTML.
    'application/vnd.plotly.v1+json': JSON.parse(JSON.stringify({ data: fig.data, layout: fig.layout, config: fig.config ?? {} })),
    'text/plain': figureText(fig),
  };
}

// ---------------------------------------------------------------------------------------------
// Frames

export interface TableOptions {
  /** Rows per page (default 20); longer frames get Prev/Next buttons. */
  pageSize?: number;
  /** At most this many rows are embedded (default 1000); the rest are counted. */
  maxRows?: number;
}

/** Text cells (not numbers, not numeric strings such as the pivot's '62.5') align left. */
function isText(v: unknown): boolean {
  if (typeof v === 'number' || v === null || v === undefined || typeof v === 'boolean') return false;
  return typeof v !== 'string' || (v.trim() !== '' && !/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?%?$/i.test(v.trim()));
}

function cell(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return ''; // missing values stay blank
    if (!Number.isInteger(v)) return esc(Number(v.toPrecision(4)));
    return esc(v);
  }
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return s.length > 200 ? `<span title="${esc(s)}">${esc(s.slice(0, 197))}…</span>` : esc(s);
}

let tableCounter = 0;

/** An HTML table with one column per frame column; paged (client-side) when long. */
export function tableHtml(columns: string[], rows: unknown[][], index: unknown[] | undefined, opts: TableOptions = {}): string {
  const pageSize = opts.pageSize ?? 20;
  const maxRows = opts.maxRows ?? 1000;
  const shown = rows.slice(0, maxRows);
  const pages = Math.max(1, Math.ceil(shown.length / pageSize));
  tableCounter += 1;
  const id = `eraserlab-table-${process.pid}-${Date.now().toString(36)}-${tableCounter}`;
  const head = `<tr><th></th>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = shown
    .map((r, i) => {
      const page = Math.floor(i / pageSize);
      const hidden = page > 0 ? ' style="display:none"' : '';
      return `<tr data-page="${page}"${hidden}><th>${esc(index ? index[i] : i)}</th>${columns.map((_, j) => `<td${isText(r[j]) ? ' class="t"' : ''}>${cell(r[j])}</td>`).join('')}</tr>`;
    })
    .join('');
  const style =
    `<style>#${id} table{border-collapse:collapse;font:12px/1.4 sans-serif}#${id} td,#${id} th{padding:2px 8px;border-bottom:1px solid #e5e5e5;text-align:right}` +
    `#${id} td.t{text-align:left}#${id} thead th{border-bottom:1px solid #444}#${id} tbody th{color:#777;font-weight:normal}#${id} .pager{font:12px sans-serif;margin-top:4px}</style>`;
  const more = rows.length > shown.length ? ` (${rows.length - shown.length} more rows not shown)` : '';
  const info = `${rows.length} rows × ${columns.length} columns${more}`;
  let pager = '';
  if (pages > 1) {
    pager =
      `<div class="pager"><button data-d="-1">‹ Prev</button> <span class="pos">page 1 of ${pages}</span> <button data-d="1">Next ›</button> · ${esc(info)}</div>` +
      `<script type="text/javascript">(function(){var root=document.getElementById(${JSON.stringify(id)});if(!root)return;var p=0,n=${pages};` +
      `function go(d){p=Math.min(n-1,Math.max(0,p+d));root.querySelectorAll('tr[data-page]').forEach(function(tr){tr.style.display=(+tr.getAttribute('data-page')===p)?'':'none';});` +
      `root.querySelector('.pos').textContent='page '+(p+1)+' of '+n;}` +
      `root.querySelectorAll('button[data-d]').forEach(function(b){b.onclick=function(){go(+b.getAttribute('data-d'));};});})();</script>`;
  } else {
    pager = `<div class="pager">${esc(info)}</div>`;
  }
  return `<div id="${id}" class="eraserlab-table">${style}<table><thead>${head}</thead><tbody>${body}</tbody></table>${pager}</div>`;
}

export function tableText(columns: string[], rows: unknown[][], limit = 10): string {
  const fmt = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(4))) : typeof v === 'string' ? v : util.inspect(v));
  const shown = rows.slice(0, limit).map((r) => r.map((v) => fmt(v).slice(0, 40)));
  const widths = columns.map((c, j) => Math.max(c.length, ...shown.map((r) => (r[j] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, j) => c.padStart(widths[j])).join('  ');
  const out = [line(columns), ...shown.map(line)];
  if (rows.length > limit) out.push(`… ${rows.length - limit} more rows (${rows.length} × ${columns.length})`);
  return out.join('\n');
}

export function frameBundle(f: FrameLike, opts: TableOptions = {}): MimeBundle {
  const rows = (f.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const index = Array.isArray(f.index) ? f.index : undefined;
  return { 'text/html': tableHtml(f.columns, rows, index, opts), 'text/plain': tableText(f.columns, rows) };
}

export function seriesBundle(s: SeriesLike, opts: TableOptions = {}): MimeBundle {
  const name = s.name ?? 'value';
  const rows = s.values.map((v) => [v]);
  const index = Array.isArray(s.index) ? s.index : undefined;
  return { 'text/html': tableHtml([name], rows, index, opts), 'text/plain': tableText([name], rows) };
}

// ---------------------------------------------------------------------------------------------
// Images

/** CLIP normalisation (contracts: data.CLIP_MEAN / data.CLIP_STD), undone for display. */
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

export interface ImageOptions {
  /** How pixel values are scaled: 'clip' (CLIP mean/std normalised), 'unit' (0..1), 'byte' (0..255). Default: guessed from the range. */
  normalization?: 'clip' | 'unit' | 'byte';
  /** Longest side of the shown image in px (default 224). */
  size?: number;
}

/** [3,H,W], [H,W,3], [H,W] or [1,3,H,W] / [1,H,W,3] → PNG bytes (sharp). */
export async function tensorToPng(t: TensorLike, opts: ImageOptions = {}): Promise<Buffer> {
  let shape = t.shape.slice();
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  let chw: boolean;
  let c: number;
  let h: number;
  let w: number;
  if (shape.length === 2) {
    [h, w] = shape;
    c = 1;
    chw = false;
  } else if (shape.length === 3 && (shape[0] === 3 || shape[0] === 1) && shape[2] !== 3) {
    [c, h, w] = shape;
    chw = true;
  } else if (shape.length === 3 && (shape[2] === 3 || shape[2] === 1)) {
    [h, w, c] = shape;
    chw = false;
  } else {
    throw new Error(`show(image): expected a tensor of shape [3,H,W], [H,W,3] or [H,W], got [${t.shape.join(',')}]`);
  }
  const v = await t.data();
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < min) min = v[i];
    if (v[i] > max) max = v[i];
  }
  const norm = opts.normalization ?? (min < -0.01 ? 'clip' : max > 1.5 ? 'byte' : 'unit');
  const out = Buffer.alloc(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < 3; k++) {
        const ch = c === 1 ? 0 : k;
        const src = chw ? ch * h * w + y * w + x : (y * w + x) * c + ch;
        let val = v[src];
        if (norm === 'clip') val = (val * CLIP_STD[k] + CLIP_MEAN[k]) * 255;
        else if (norm === 'unit') val = val * 255;
        out[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(val)));
      }
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sharp = require('sharp');
  const size = opts.size ?? 224;
  return sharp(out, { raw: { width: w, height: h, channels: 3 } })
    .resize({ width: size, height: size, fit: 'inside', kernel: w < size ? 'nearest' : 'lanczos3' })
    .png()
    .toBuffer();
}

export async function fileToPng(file: string, size = 224): Promise<Buffer> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sharp = require('sharp');
  return sharp(file).resize({ width: size, height: size, fit: 'inside' }).png().toBuffer();
}

const dataUri = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

export async function tensorBundle(t: TensorLike, opts: ImageOptions = {}): Promise<MimeBundle> {
  const png = await tensorToPng(t, opts);
  return { 'image/png': png.toString('base64'), 'text/plain': `Image tensor [${t.shape.join(', ')}] ${t.dtype}` };
}

async function exampleCard(e: ExampleLike, size: number): Promise<string> {
  let img = '<div style="width:%spx;color:#777;font-style:italic">(text only)</div>'.replace('%s', String(size));
  if (e.image) {
    if (fs.existsSync(e.image)) img = `<img src="${dataUri(await fileToPng(e.image, size))}" alt="${esc(e.id)}" style="max-width:${size}px">`;
    else img = `<div style="width:${size}px;color:#b00">image not found: ${esc(e.image)}</div>`;
  }
  const meta = [e.kind, e.category, e.split !== undefined ? `${e.split}[${e.record ?? ''}]` : undefined, e.id].filter(Boolean).map(esc).join(' · ');
  return (
    `<div style="display:flex;gap:12px;align-items:flex-start;margin:6px 0;font:13px/1.45 sans-serif">${img}` +
    `<div style="max-width:640px"><div style="color:#777;font-size:11px">${meta}</div>` +
    `<div><b>Q:</b> ${esc(e.question)}</div><div><b>A:</b> ${esc(e.answer)}</div></div></div>`
  );
}

export async function examplesBundle(es: ExampleLike[], opts: { size?: number; limit?: number } = {}): Promise<MimeBundle> {
  const limit = opts.limit ?? 12;
  const cards = await Promise.all(es.slice(0, limit).map((e) => exampleCard(e, opts.size ?? 160)));
  const more = es.length > limit ? `<div style="color:#777">… ${es.length - limit} more</div>` : '';
  const text = es
    .slice(0, limit)
    .map((e) => `[${e.kind}] ${e.id}${e.image ? ` (${e.image})` : ''}\n  Q: ${e.question}\n  A: ${e.answer}`)
    .join('\n');
  return { 'text/html': cards.join('') + more, 'text/plain': text + (es.length > limit ? `\n… ${es.length - limit} more` : '') };
}

// ---------------------------------------------------------------------------------------------
// sharp images and the SDK's result objects

/** A sharp image pipeline (what `sharp(file)` returns): structural, sharp is not imported here. */
export interface SharpLike {
  clone(): SharpLike;
  png(): SharpLike;
  toBuffer(): Promise<Buffer>;
  metadata(): Promise<{ width?: number; height?: number; channels?: number; format?: string }>;
}
export function isSharp(x: unknown): x is SharpLike {
  const s = x as SharpLike;
  return !!s && typeof s === 'object' && typeof s.clone === 'function' && typeof s.png === 'function' && typeof s.toBuffer === 'function' && typeof s.metadata === 'function';
}

export async function sharpBundle(img: SharpLike, opts: ImageOptions = {}): Promise<MimeBundle> {
  const meta = await img.metadata();
  const size = opts.size ?? 512;
  let pipe = img.clone();
  const big = (meta.width ?? 0) > size || (meta.height ?? 0) > size;
  if (big) pipe = (pipe as unknown as { resize(o: object): SharpLike }).resize({ width: size, height: size, fit: 'inside' });
  const png = await pipe.png().toBuffer();
  return { 'image/png': png.toString('base64'), 'text/plain': `Image ${meta.width ?? '?'}×${meta.height ?? '?'} (${meta.channels ?? '?'} channels${meta.format ? `, ${meta.format}` : ''})` };
}

/** Whether a tensor's shape is a picture ([3,H,W], [H,W,3], [H,W], with an optional batch of 1). */
export function isImageShape(shape: number[]): boolean {
  const s = shape.length === 4 && shape[0] === 1 ? shape.slice(1) : shape;
  if (s.length === 2) return s[0] >= 2 && s[1] >= 2;
  if (s.length !== 3) return false;
  return ((s[0] === 3 || s[0] === 1) && s[1] >= 2 && s[2] >= 2) || ((s[2] === 3 || s[2] === 1) && s[0] >= 2 && s[1] >= 2);
}

/** `metrics.evaluate`'s result (contracts: EvaluateResult). */
export interface EvaluationLike {
  summary: FrameLike;
  samples: FrameLike;
  byCategory: FrameLike;
  spec?: { split?: string; judge?: string; kinds?: string[]; limit?: number; seed?: number };
}
export function isEvaluation(x: unknown): x is EvaluationLike {
  const e = x as EvaluationLike;
  return !!e && typeof e === 'object' && isFrame(e.summary) && isFrame(e.samples) && isFrame(e.byCategory);
}

export function evaluationBundle(e: EvaluationLike, opts: TableOptions = {}): MimeBundle {
  const spec = e.spec ?? {};
  const head = `Evaluation · split ${spec.split ?? '?'} · judge ${spec.judge ?? '?'} · ${e.samples.shape[0]} samples${spec.kinds ? ` (${spec.kinds.join(', ')})` : ''}${spec.seed !== undefined ? ` · seed ${spec.seed}` : ''}`;
  const rows = (e.summary.values as unknown[]).map((r) => (Array.isArray(r) ? r : [r]));
  const more = '.samples, .byCategory and .rows hold the details';
  return {
    'text/html': `<div style="font:12px/1.6 sans-serif;color:#333"><b>${esc(head)}</b></div>${tableHtml(e.summary.columns, rows, undefined, opts)}<div style="font:11px sans-serif;color:#777">${esc(more)}</div>`,
    'text/plain': `${head}\n${tableText(e.summary.columns, rows, 50)}\n(${more})`,
  };
}

/** An Unlearner step record. */
export type StepLike = StepRecord;
export function isStepRecord(x: unknown): x is StepLike {
  const s = x as StepLike;
  return !!s && typeof s === 'object' && typeof s.step === 'number' && typeof s.loss === 'number' && !!s.terms && typeof s.terms === 'object' && typeof s.lr === 'number' && typeof s.gradNorm === 'number';
}

/** An Unlearner evaluation record. */
export type EvalRecordShape = EvalRecord;
export function isEvalRecord(x: unknown): x is EvalRecordShape {
  const r = x as EvalRecordShape;
  return !!r && typeof r === 'object' && typeof r.step === 'number' && ['forgetRate', 'refusalRate', 'sarr'].every((k) => typeof (r as unknown as Record<string, unknown>)[k] === 'number');
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : String(Number(v.toPrecision(4))));

function chips(title: string, pairs: Array<[string, string]>): MimeBundle {
  const html =
    `<div style="font:12px/1.6 sans-serif;display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline"><b>${esc(title)}</b>` +
    pairs.map(([k, v]) => `<span><span style="color:#777">${esc(k)}</span> ${esc(v)}</span>`).join('') +
    `</div>`;
  return { 'text/html': html, 'text/plain': `${title} · ${pairs.map(([k, v]) => `${k} ${v}`).join(' · ')}` };
}

export function stepBundle(s: StepLike): MimeBundle {
  const terms = Object.entries(s.terms).map(([k, v]) => [k, num(v)] as [string, string]);
  return chips(`step ${s.step}`, [['loss', num(s.loss)], ...terms, ['lr', num(s.lr)], ['|grad|', num(s.gradNorm)], ['epoch', String(s.epoch)]]);
}

export function evalRecordBundle(r: EvalRecordShape): MimeBundle {
  const keys: Array<[keyof EvalRecordShape, string]> = [
    ['forgetRate', 'forget rate'],
    ['refusalRate', 'refusal rate'],
    ['sarr', 'SARR'],
    ['retainRouge', 'retain ROUGE-L'],
    ['utilityAcc', 'utility acc'],
  ];
  return chips(`eval at step ${r.step}`, keys.filter(([k]) => typeof r[k] === 'number').map(([k, label]) => [label, num(r[k] as number)]));
}
