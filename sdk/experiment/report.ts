/**
 * The main job's results folder: tables (CSV + JSON), the figures built from them, the terminal
 * table and a self-contained HTML report (plotly.js inlined, figures as inline SVG; opens
 * offline). Pure functions over plain rows, plus the small writers the job uses
 * (docs/quickstart.md, "The results folder").
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../runtime/fsutil';
import type { Figure } from '../plots/figure';
import { forgettingCurves, overForgetting, tradeoff, categoryHeatmap, sampleGallery, metricLabel } from '../plots/figures';
import type { GallerySample } from '../plots/figures';
import { plotlyJs } from '../plots/export';

export type Row = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Tables

/** A value as JSON can hold it: non-finite numbers become null. */
function jsonValue(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v;
}

/** Rows with non-finite numbers replaced by null, keys in `columns` order. */
export function jsonRows(rows: readonly Row[], columns: readonly string[]): Row[] {
  return rows.map((r) => Object.fromEntries(columns.map((c) => [c, jsonValue(r[c] === undefined ? null : r[c])])));
}

/** Rows back from JSON: null in the numeric columns becomes NaN. */
export function fromJsonRows(rows: readonly Row[], numeric: readonly string[]): Row[] {
  return rows.map((r) => {
    const o: Row = { ...r };
    for (const c of numeric) if (c in o && (o[c] === null || o[c] === undefined)) o[c] = NaN;
    return o;
  });
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV (header row, quoted where needed, NaN and null as empty cells). */
export function toCsv(rows: readonly Row[], columns: readonly string[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

/** The columns of `rows` in first-seen order, `first` leading. */
export function columnsOf(rows: readonly Row[], first: readonly string[] = []): string[] {
  const seen = new Set<string>(first);
  const out = [...first];
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k)) (seen.add(k), out.push(k));
  return out;
}

/** Write `<dir>/<name>.csv` and `<dir>/<name>.json` (each atomically). */
export function writeTable(dir: string, name: string, rows: readonly Row[], columns: readonly string[]): void {
  writeFileAtomic(path.join(dir, `${name}.csv`), toCsv(rows, columns));
  writeFileAtomic(path.join(dir, `${name}.json`), JSON.stringify(jsonRows(rows, columns), null, 1) + '\n');
}

/** Read `<dir>/<name>.json` written by writeTable (null → NaN in `numeric`). */
export function readTable(dir: string, name: string, numeric: readonly string[] = []): Row[] {
  const rows = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Row[];
  return fromJsonRows(rows, numeric);
}

// ---------------------------------------------------------------------------------------------
// The headline table

/** One line per method: the numbers the paper compares (rates as fractions, NaN where absent). */
export interface HeadlineRow {
  method: string;
  pd: boolean;
  /** Forget rate on the forget split (efficacy) and on the held-out split (generality). */
  forgetTrain: number;
  forgetVal: number;
  asrVal: number;
  rrVal: number;
  sarrVal: number;
  /** Benign-image answers that are refusals (the refusal part of SARR; the rest is broken answers). */
  sdRefusalVal: number;
  rougeVal: number;
  specificity: number;
  /** Standard deviation across seeds per column (from an aggregated summary); tables print mean ± sd. */
  sd?: Partial<Record<keyof HeadlineRow, number>>;
}

export const HEADLINE_COLUMNS: ReadonlyArray<{ key: keyof HeadlineRow; label: string; rate: boolean }> = [
  { key: 'method', label: 'method', rate: false },
  { key: 'pd', label: 'PD', rate: false },
  { key: 'forgetTrain', label: 'forget rate (train) ↓', rate: true },
  { key: 'forgetVal', label: 'forget rate (val) ↓', rate: true },
  { key: 'asrVal', label: 'ASR (val) ↓', rate: true },
  { key: 'rrVal', label: 'RR (val) ↑', rate: true },
  { key: 'sarrVal', label: 'SARR (val) ↓', rate: true },
  { key: 'sdRefusalVal', label: 'SD refusals (val)', rate: true },
  { key: 'rougeVal', label: 'ROUGE-L (val) ↑', rate: true },
  { key: 'specificity', label: 'specificity ↑', rate: true },
];

/** The headline rows from a summary table with `method`/`pd` columns, methods in first-seen order. */
export function headlineRows(summary: readonly Row[]): HeadlineRow[] {
  const methods: string[] = [];
  for (const r of summary) if (!methods.includes(String(r.method))) methods.push(String(r.method));
  const get = (m: string, metric: string, split?: string) => {
    const r = summary.find((x) => String(x.method) === m && x.metric === metric && (split === undefined || x.split === split));
    return r ? Number(r.value) : NaN;
  };
  return methods.map((m) => {
    const pdRow = summary.find((x) => String(x.method) === m);
    return {
      method: m,
      pd: pdRow ? pdRow.pd === true || pdRow.pd === 'true' : false,
      forgetTrain: get(m, 'forgetRate', 'train'),
      forgetVal: get(m, 'forgetRate', 'val'),
      asrVal: get(m, 'asr', 'val'),
      rrVal: get(m, 'rr', 'val'),
      sarrVal: get(m, 'sarr', 'val'),
      sdRefusalVal: get(m, 'sdRefusalRate', 'val'),
      rougeVal: get(m, 'rougeL', 'val'),
      specificity: get(m, 'specificity'),
    };
  });
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');
const pctSd = (x: number, sd: number | undefined) => (Number.isFinite(x) && sd !== undefined && Number.isFinite(sd) ? `${pct(x)} ± ${pct(sd)}` : pct(x));

/** The (metric, split) each headline column reads (split undefined: any). */
export const HEADLINE_METRICS: Readonly<Record<string, [string, string | undefined]>> = {
  forgetTrain: ['forgetRate', 'train'],
  forgetVal: ['forgetRate', 'val'],
  asrVal: ['asr', 'val'],
  rrVal: ['rr', 'val'],
  sarrVal: ['sarr', 'val'],
  sdRefusalVal: ['sdRefusalRate', 'val'],
  rougeVal: ['rougeL', 'val'],
  specificity: ['specificity', undefined],
};

/**
 * Headline rows from a summary aggregated across seeds (`metrics.aggregateSeeds`: `value` = the
 * mean, `sd` the standard deviation): the same rows with `sd` filled, so tables print mean ± sd.
 */
export function headlineRowsWithSd(aggregated: readonly Row[]): HeadlineRow[] {
  const rows = headlineRows(aggregated);
  for (const r of rows) {
    r.sd = {};
    for (const [key, [metric, split]] of Object.entries(HEADLINE_METRICS) as Array<[keyof HeadlineRow, [string, string | undefined]]>) {
      const x = aggregated.find((a) => String(a.method) === r.method && a.metric === metric && (split === undefined || a.split === split));
      if (x && x.sd !== undefined && x.sd !== null) r.sd[key] = Number(x.sd);
    }
  }
  return rows;
}

function cells(rows: readonly HeadlineRow[]): string[][] {
  return rows.map((r) => HEADLINE_COLUMNS.map((c) => (c.key === 'pd' ? (r.pd ? 'yes' : '') : c.rate ? pctSd(r[c.key] as number, r.sd?.[c.key]) : String(r[c.key]))));
}

/** A plain-text table (percentages) for the terminal. */
export function terminalTable(rows: readonly HeadlineRow[]): string {
  const head = HEADLINE_COLUMNS.map((c) => c.label);
  const body = cells(rows);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cs: string[]) => cs.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(rows: readonly HeadlineRow[]): string {
  const head = `| ${HEADLINE_COLUMNS.map((c) => c.label).join(' | ')} |`;
  const sep = `|${HEADLINE_COLUMNS.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`;
  return [head, sep, ...cells(rows).map((c) => `| ${c.join(' | ')} |`)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The paired comparison table (each method against its +PD variant)

const signedPct = (x: number) => {
  if (!Number.isFinite(x)) return '–';
  const t = Math.abs(100 * x).toFixed(1);
  return t === '0.0' ? '0.0' : `${x > 0 ? '+' : '−'}${t}`;
};
const pValueText = (p: number) => (!Number.isFinite(p) ? '–' : p < 0.001 ? '<0.001' : p.toFixed(3));

/** Labels and cells of the comparison table (rows from `metrics.comparePdRows`: a, b, metric, split, valueA, valueB, diff, ciLow, ciHigh, pValue, n, units). */
function comparisonCells(rows: readonly Row[]): { head: string[]; body: string[][] } {
  const head = ['method', 'vs', 'metric', 'split', 'without PD', 'with PD', 'Δ (with − without)', '95% CI of Δ', 'p', 'pairs', 'records × seeds'];
  const body = rows.map((r) => [
    String(r.a),
    String(r.b),
    metricLabel(String(r.metric)),
    String(r.split),
    pct(Number(r.valueA)),
    pct(Number(r.valueB)),
    signedPct(Number(r.diff)),
    Number.isFinite(Number(r.ciLow)) ? `[${signedPct(Number(r.ciLow))}, ${signedPct(Number(r.ciHigh))}]` : '–',
    pValueText(Number(r.pValue)),
    String(r.n),
    String(r.units),
  ]);
  return { head, body };
}

/** The paired comparison as a plain-text table (points; Δ < 0: PD lowers the metric). */
export function comparisonTerminalTable(rows: readonly Row[]): string {
  const { head, body } = comparisonCells(rows);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cs: string[]) => cs.map((c, i) => (i < 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The paired comparison in Markdown. */
export function comparisonMarkdownTable(rows: readonly Row[]): string {
  const { head, body } = comparisonCells(rows);
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 4 ? '---' : '---:')).join('|')}|`, ...body.map((c) => `| ${c.join(' | ')} |`)].join('\n');
}

function comparisonHtml(rows: readonly Row[]): string {
  const { head, body } = comparisonCells(rows);
  return `<table class="comparison"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${body
    .map((cs) => `<tr>${cs.map((c, j) => `<td${j >= 4 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n')}\n</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface ReportFigure {
  /** File stem under figures/ (e.g. 'over-forgetting'). */
  name: string;
  title: string;
  caption: string;
  figure: Figure;
  /** Export height at the two-column width (default: the exporter's). */
  heightInches?: number;
}

export interface FigureInputs {
  /** Summary rows with method/pd columns (all methods, vanilla included). */
  summary: readonly Row[];
  byCategory: readonly Row[];
  /** Training histories with a method column. */
  history: readonly Row[];
  /** Gallery rows: image (absolute path), question, before, after, caption. */
  gallery: readonly GallerySample[];
  /** The method whose responses are the gallery's "after" column. */
  galleryMethod?: string;
}

/**
 * Every figure of the report, without titles (paper figures carry captions instead; the
 * report puts the title above each). A figure whose inputs are missing (e.g. no history for the
 * vanilla-only run) is left out rather than failing the job.
 */
export function buildFigures(inp: FigureInputs): ReportFigure[] {
  const out: ReportFigure[] = [];
  const add = (name: string, title: string, caption: string, make: () => Figure, heightInches?: number) => {
    try {
      out.push({ name, title, caption, figure: make(), ...(heightInches ? { heightInches } : {}) });
    } catch (e) {
      out.push({ name, title, caption: `${caption} (not drawn: ${(e as Error).message})`, figure: { data: [], layout: { title: { text: title } } } as unknown as Figure });
    }
  };
  if (inp.history.length) {
    const methods = new Set(inp.history.map((r) => String(r.method)));
    const multi = methods.size > 1;
    add(
      'forgetting-curves',
      'Forgetting curves',
      multi
        ? 'Training loss of each method (top) and, from the probe run during unlearning, the forget rate (solid), refusal rate (dotted) and SARR (dashed) over steps (bottom); colour is the method.'
        : 'Training loss and its terms (top) and the probe’s forget rate, refusal rate and SARR over steps (bottom).',
      () => {
        const fig = forgettingCurves(inp.history as Row[] as never);
        // with many methods, one legend entry per method (colour); the caption explains line styles
        if (multi) for (const t of fig.data) if (t.yaxis === 'y2') t.showlegend = false;
        return fig;
      },
      multi ? 4.5 : undefined,
    );
  }
  if (inp.summary.some((r) => r.metric === 'sarr')) {
    add('over-forgetting', 'Over-forgetting: SARR with and without PD', 'SARR on the held-out split (benign image + harmful query answered with a refusal or gibberish; lower is better) and the forget rate, per method without and with the Prompt Decouple loss. Error bars: 95% intervals (one seed: Wilson; several seeds: t interval of the mean).', () =>
      overForgetting(inp.summary as Row[] as never),
    );
  }
  if (inp.summary.some((r) => r.metric === 'forgetRate') && inp.summary.some((r) => ['specificity', 'rougeL', 'judgeScore'].includes(String(r.metric)))) {
    add('tradeoff', 'Trade-off: forget quality against utility', 'Forget rate on the held-out split (x; lower is better) against utility (y): one point per method, circle without PD, diamond with PD; error bars are 95% intervals.', () =>
      tradeoff(inp.summary as Row[] as never, { xSplit: 'val' }),
    );
  }
  const catVal = inp.byCategory.filter((r) => r.split === 'val' && r.metric === 'sarr');
  if (catVal.length) {
    add('category-heatmap', 'SARR per category', 'SARR on the held-out split per category (rows) and method (columns).', () =>
      categoryHeatmap(catVal as Row[] as never, { metrics: ['sarr'] }),
    );
  }
  if (inp.gallery.length) {
    add('sample-gallery', 'Sample gallery', `Harmful image and query, the vanilla model’s response and the response after ${inp.galleryMethod ?? 'unlearning'}.`, () =>
      sampleGallery(inp.gallery as GallerySample[], { beforeLabel: 'Vanilla', afterLabel: `After ${inp.galleryMethod ?? 'unlearning'}`, limit: 6 }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTML report

export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : '–';
  if (v === null || v === undefined) return '–';
  return String(v);
}

/** An HTML table of rows (at most `limit`; a note says how many were left out). */
export function htmlTable(rows: readonly Row[], columns: readonly string[], opts: { limit?: number; className?: string } = {}): string {
  const shown = opts.limit !== undefined ? rows.slice(0, opts.limit) : rows;
  const head = `<tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = shown.map((r) => `<tr>${columns.map((c) => `<td>${esc(fmt(r[c]))}</td>`).join('')}</tr>`).join('\n');
  const more = rows.length > shown.length ? `<p class="note">${rows.length - shown.length} more rows in the CSV/JSON files.</p>` : '';
  return `<table class="${opts.className ?? 'data'}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>${more}`;
}

function headlineHtml(rows: readonly HeadlineRow[]): string {
  const head = `<tr>${HEADLINE_COLUMNS.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr>`;
  const body = cells(rows)
    .map((cs, i) => `<tr class="${rows[i].pd ? 'pd' : ''}">${cs.map((c, j) => `<td${j >= 2 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table class="headline"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

/** The rows of the intervals table: the headline metrics, rates in percent. */
function intervalRows(rows: readonly Row[]): Row[] {
  const wanted = new Set(Object.values(HEADLINE_METRICS).map(([m]) => m));
  const p = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Number((100 * v).toFixed(1)) : v);
  return rows
    .filter((r) => wanted.has(String(r.metric)))
    .map((r) => ({ ...r, value: p(r.value), ciLow: p(r.ciLow), ciHigh: p(r.ciHigh), sd: p(r.sd) }));
}

export interface ReportInput {
  title: string;
  /** Key facts shown at the top (dataset, model, seed, steps, judge, backend, ...). */
  meta: Record<string, string | number | boolean>;
  headline: readonly HeadlineRow[];
  /** Figures, with the exported SVG text where export ran. */
  figures: ReadonlyArray<ReportFigure & { svg?: string; files?: string[] }>;
  /** A line saying why figures were not exported (shown in the report). */
  exportNote?: string;
  byCategory: readonly Row[];
  samples: readonly Row[];
  /** Include plotly.js so each figure can also be explored interactively (default true). */
  interactive?: boolean;
  /** Paired comparison rows (`metrics.comparePdRows`): a table of each method against its +PD variant. */
  comparison?: readonly Row[];
  /** The seeds the results aggregate (several: the headline shows mean ± sd across them). */
  seeds?: readonly number[];
  /** Summary rows with intervals (ciLow, ciHigh, ciMethod): a collapsible table of every headline metric's 95% interval. */
  intervals?: readonly Row[];
  /** The robustness table (`attacks.robustnessTable`), when the job ran the attacks. */
  robustness?: readonly Row[];
}

const CSS = `
body{font:14px/1.5 -apple-system,"Segoe UI","Liberation Sans",Arial,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#222}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:16px;margin:8px 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;font-size:13px}dl.meta dt{color:#666}dl.meta dd{margin:0;word-break:break-all}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.pd td{background:#f3f8ff}
table.data td{max-width:360px;overflow-wrap:anywhere}
figure{margin:16px 0 28px;padding:0}figure .static svg{width:100%;max-width:900px;height:auto;display:block}
figure .static{min-height:40px}figcaption{font-size:13px;color:#444;margin-top:4px}
.note{color:#8a5a00;font-size:13px}.files{font-size:12px;color:#666}
button.toggle{font-size:12px;margin:4px 0;cursor:pointer}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
`;

/**
 * The self-contained HTML report: headline table, figures (inline SVG; with `interactive`,
 * plotly.js is inlined and each figure can be switched to an interactive plot; without an SVG
 * the interactive plot is drawn at load), per-category and per-sample tables. No network.
 */
export function renderReport(inp: ReportInput): string {
  const interactive = inp.interactive !== false;
  const metaHtml = `<dl class="meta">${Object.entries(inp.meta)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>`;
  const figs = inp.figures
    .map((f, i) => {
      const svg = f.svg && /<svg[\s>]/.test(f.svg) ? f.svg.slice(f.svg.indexOf('<svg')) : undefined;
      const files = f.files && f.files.length ? `<div class="files">files: ${f.files.map((x) => esc(x)).join(', ')}</div>` : '';
      const toggle = interactive && svg ? `<button class="toggle" data-fig="${i}">interactive</button>` : '';
      return (
        `<figure id="fig-${esc(f.name)}" data-name="${esc(f.name)}">\n<h3>${esc(f.title)}</h3>\n` +
        `<div class="static">${svg ?? ''}</div>\n<div class="plotly" id="plotly-${i}" data-static="${svg ? '1' : '0'}"></div>\n` +
        `${toggle}<figcaption>${esc(f.caption)}</figcaption>${files}\n</figure>`
      );
    })
    .join('\n');
  const figJson = JSON.stringify(inp.figures.map((f) => ({ data: f.figure.data, layout: f.figure.layout }))).replace(/<\/(script)/gi, '<\\/$1');
  const sampleCols = ['method', 'id', 'category', 'kind', 'question', 'response', 'reference', 'unsafe', 'refusal', 'normal', 'score', 'rougeL_recall'];
  const catCols = ['method', 'category', 'metric', 'split', 'value', 'n'];
  const script = interactive
    ? `<script>${plotlyJs().replace(/<\/(script)/gi, '<\\/$1')}</script>
<script>
(function(){
  var FIGS = ${figJson};
  function draw(i){ var el=document.getElementById('plotly-'+i); if(el.dataset.drawn) return; el.dataset.drawn='1';
    var f=FIGS[i]; Plotly.newPlot(el, f.data, Object.assign({}, f.layout, {autosize:true}), {responsive:true, displaylogo:false}); }
  FIGS.forEach(function(_, i){ var el=document.getElementById('plotly-'+i); if(el && el.dataset.static==='0') draw(i); });
  Array.prototype.forEach.call(document.querySelectorAll('button.toggle'), function(b){
    b.addEventListener('click', function(){ var i=+b.dataset.fig; var fig=b.parentNode; var st=fig.querySelector('.static'), pl=fig.querySelector('.plotly');
      if(st.style.display==='none'){ st.style.display=''; pl.style.display='none'; b.textContent='interactive'; }
      else { st.style.display='none'; pl.style.display=''; draw(i); b.textContent='static'; } });
  });
})();
</script>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(inp.title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(inp.title)}</h1>
${metaHtml}
<h2>Results</h2>
<p>Rates in percent. Forget rate: share of harmful queries still answered with the forgotten answer (train = efficacy, val = generality).
ASR: unsafe responses; RR: refusals; SARR: benign image + harmful query answered with a refusal or gibberish (over-forgetting);
ROUGE-L: retain answers against their references; specificity: utility questions answered correctly.</p>
${inp.seeds && inp.seeds.length > 1 ? `<p>Mean ± sample standard deviation across ${inp.seeds.length} seeds (${inp.seeds.map((x) => esc(x)).join(', ')}); the per-seed values, t intervals and each rate's Wilson interval are in summary_seeds.csv and summary.csv.</p>` : '<p>One seed; each rate&#39;s 95% Wilson interval (and the means&#39; bootstrap interval) is in summary.csv (ciLow, ciHigh).</p>'}
${headlineHtml(inp.headline)}
${
  inp.comparison && inp.comparison.length
    ? `<h2>With and without PD: paired comparison</h2>
<p>Each method against its Prompt Decouple variant on the same items${inp.seeds && inp.seeds.length > 1 ? ' and seeds' : ''}: the difference in points (negative: PD lowers the metric),
its paired bootstrap 95% interval (records resampled) and a sign-flip permutation p-value. An interval that contains 0 is not evidence of a difference.</p>
${comparisonHtml(inp.comparison)}`
    : ''
}
${
  inp.robustness && inp.robustness.length
    ? `<h2>Robustness: is it really forgotten?</h2>
<p>Forget rate (share of harmful queries answered with the forgotten answer) with no attack, on the rest of the forget set before and after a relearning attack (LoRA fine-tuning on 10% of the forget records) and after benign relearning,
under the strongest prompt and image attack; membership-inference AUC of forget vs held-out answers (0.5 = indistinguishable) and the KS forget quality against the retrained reference (high = like a model that never saw the forget data). All rows: attacks.csv; see docs/robustness.md.</p>
${htmlTable(
  inp.robustness.map((r) => {
    const pc = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : '');
    const f2 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (v < 0.001 && v > 0 ? v.toExponential(1) : v.toFixed(2)) : '');
    return {
      model: r.method,
      PD: r.pd ? '✓' : '',
      'forget rate': pc(r.forget),
      'relearn before → after': `${pc(r.relearnBefore)} → ${pc(r.relearnAfter)}`,
      'benign relearn': pc(r.benignAfter),
      'strongest prompt attack': r.promptAttack ? `${pc(r.prompt)} (${String(r.promptAttack)})` : '',
      'strongest image attack': r.imageAttack ? `${pc(r.image)} (${String(r.imageAttack)})` : '',
      'MIA AUC (LOSS)': f2(r.aucLoss),
      'MIA AUC (Min-K%++)': f2(r.aucMinKpp),
      'forget quality': f2(r.forgetQuality),
    };
  }),
  ['model', 'PD', 'forget rate', 'relearn before → after', 'benign relearn', 'strongest prompt attack', 'strongest image attack', 'MIA AUC (LOSS)', 'MIA AUC (Min-K%++)', 'forget quality'],
)}`
    : ''
}
<h2>Figures</h2>
${inp.exportNote ? `<p class="note">${esc(inp.exportNote)}</p>` : ''}
${figs}
${inp.intervals && inp.intervals.length ? `<h2>95% intervals</h2>\n<details><summary>${inp.intervals.length} rows (${inp.seeds && inp.seeds.length > 1 ? 'mean across seeds with its t interval' : 'Wilson for rates, record bootstrap for means'})</summary>${htmlTable(intervalRows(inp.intervals), ['method', 'metric', 'split', 'value', 'ciLow', 'ciHigh', 'ciMethod', inp.seeds && inp.seeds.length > 1 ? 'sd' : 'n'])}</details>` : ''}
<h2>Per category</h2>
<details><summary>${inp.byCategory.length} rows</summary>${htmlTable(inp.byCategory, catCols)}</details>
<h2>Samples</h2>
<details><summary>${inp.samples.length} responses</summary>${htmlTable(inp.samples, sampleCols, { limit: 1500 })}</details>
${script}
</body></html>
`;
}

/** Label for a metric in tables (re-exported for callers building their own). */
export { metricLabel };
