/**
 * The paper figures as pure functions: frame in, Plotly spec out (no I/O but reading local
 * image files for the gallery). Column contracts are those of `unlearner.history`,
 * `metrics.evaluate(...).summary` / `.byCategory` with a `method` (and `pd`) column.
 */
import { getMetric } from '../metrics/contract';
import { tInterval } from '../metrics/stats';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../runtime/errors';
import { axis, Figure, FrameLike, Layout, PALETTE, PAPER_CONFIG, PD_COLORS, paperLayout, titleOf, Trace } from './figure';
import { columnsOf, escapeText, methodVariant, num, requireColumns, Row, toRows, unique, wrap } from './frame';

/** Display names for metric and history columns. */
export const METRIC_LABELS: Readonly<Record<string, string>> = {
  asr: 'ASR',
  rr: 'RR',
  sarr: 'SARR',
  rougeL: 'ROUGE-L',
  rougeL_official: 'ROUGE-L (official)',
  judgeScore: 'Judge score',
  specificity: 'Specificity',
  forgetRate: 'Forget rate',
  sdRefusalRate: 'SD refusal rate',
  refusalRate: 'Refusal rate',
  retainRouge: 'Retain ROUGE-L',
  utilityAcc: 'Utility acc.',
  loss: 'Loss',
};

export function metricLabel(m: string): string {
  if (METRIC_LABELS[m]) return METRIC_LABELS[m];
  if (m.startsWith('term_')) return m.slice(5);
  return m;
}

const FRACTION_METRICS = ['forgetRate', 'asr', 'rr', 'sarr', 'sdRefusalRate', 'specificity', 'rougeL', 'rougeL_official', 'judgeScore'];

/** The six SafeEraser categories, in the order the paper lists them. */
export const CATEGORY_ORDER: readonly string[] = ['Violence', 'Weapon', 'Privacy', 'Sex', 'HateSpeech', 'IllegalActivity'];

const RATE_AXIS = { range: [0, 1.05], tickformat: '.0%' };

/** '#rrggbb' → 'rgba(r, g, b, a)'. */
function withAlpha(hex: string, a: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${a})`;
}

// ---------------------------------------------------------------------------------------------
// Forgetting curves

export interface ForgettingCurvesOptions {
  title?: string;
  /** Evaluation columns for the lower panel (default forgetRate, refusalRate, sarr: those present). */
  metrics?: string[];
  /** Plot the loss panel on a log scale (default false; GA losses go negative). */
  logLoss?: boolean;
  /**
   * With several methods: 'panels' (default) draws one small panel per method with the rates
   * coloured by metric and one shared legend, so forget rate and SARR are told apart at a
   * glance; 'overlay' draws every method on the same two panels (colour = method, line style =
   * metric).
   */
  layout?: 'panels' | 'overlay';
  /** Panels per row in the 'panels' layout (default 5). */
  columns?: number;
}

const EVAL_DEFAULT = ['forgetRate', 'refusalRate', 'sarr'];
const EVAL_DASH: Record<string, string> = { forgetRate: 'solid', refusalRate: 'dot', sarr: 'dash', retainRouge: 'dashdot', utilityAcc: 'longdash' };

/**
 * Training history → two stacked panels over steps: the loss and each loss term (top), the
 * evaluation rates (bottom: forget rate, refusal rate, SARR). With a `method` column holding
 * several methods, colour is the method (top: total loss; bottom: line style is the metric).
 * With a `seed` column holding several seeds, each line is the mean across seeds per step and
 * a shaded band shows mean ± sd.
 */
export function forgettingCurves(history: FrameLike, opts: ForgettingCurvesOptions = {}): Figure {
  const rows = toRows(history, 'forgettingCurves(history)');
  requireColumns(rows, ['step'], 'forgettingCurves(history)');
  const cols = columnsOf(rows);
  const terms = cols.filter((c) => c.startsWith('term_'));
  const lossCols = [...(cols.includes('loss') ? ['loss'] : []), ...terms];
  const evalCols = (opts.metrics ?? EVAL_DEFAULT).filter((c) => cols.includes(c));
  const methods = cols.includes('method') ? unique(rows.map((r) => String(r.method))) : [''];
  const multi = methods.length > 1;
  if (multi && (opts.layout ?? 'panels') === 'panels' && evalCols.length > 0) return forgettingPanels(rows, methods, evalCols, opts);
  const data: Trace[] = [];
  const seeded = isSeeded(rows);
  const series = (rs: Row[], col: string) => seriesOf(rs, col, seeded);
  const band = (rs: Row[], col: string, color: string, xaxis: string, yaxis: string, group?: string) =>
    seeded ? seedBand(rs, col, color, xaxis, yaxis, group) : undefined;
  let anyEval = false;
  // Many methods: one colour per base method (ga and ga+pd share it); the +pd variant is told
  // apart by a dotted loss line and diamond markers, so 10 methods never reuse a colour.
  const bases = unique(methods.map((m) => methodVariant({ method: m }).base));
  const colourOf = (m: string) => PALETTE[bases.indexOf(methodVariant({ method: m }).base) % PALETTE.length];
  const isPd = (m: string) => methodVariant({ method: m }).pd;
  methods.forEach((m) => {
    const rs = multi ? rows.filter((r) => String(r.method) === m) : rows;
    const shownLoss = multi ? lossCols.filter((c) => c === 'loss') : lossCols;
    shownLoss.forEach((c, ci) => {
      const color = multi ? colourOf(m) : c === 'loss' ? '#000000' : PALETTE[ci % PALETTE.length];
      const b = band(rs, c, color, 'x', 'y', multi ? m : undefined);
      if (b) data.push(b);
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: multi ? m : metricLabel(c),
        legendgroup: multi ? m : undefined,
        line: { color, width: c === 'loss' ? 2 : 1.3, dash: multi && isPd(m) ? 'dot' : 'solid' },
        xaxis: 'x',
        yaxis: 'y',
        ...series(rs, c),
      });
    });
    evalCols.forEach((c, ci) => {
      const s = series(rs, c);
      if (s.x.length === 0) return;
      anyEval = true;
      const color = multi ? colourOf(m) : PALETTE[(ci + 3) % PALETTE.length];
      const b = band(rs, c, color, 'x2', 'y2', multi ? m : undefined);
      if (b) data.push(b);
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: multi ? `${m}: ${metricLabel(c)}` : metricLabel(c),
        legendgroup: multi ? m : undefined,
        line: { color, width: 1.5, dash: multi ? EVAL_DASH[c] ?? 'solid' : 'solid' },
        marker: { size: 5, color, symbol: multi && isPd(m) ? 'diamond' : 'circle' },
        xaxis: 'x2',
        yaxis: 'y2',
        ...s,
      });
    });
  });
  const layout: Layout = paperLayout({
    title: titleOf(opts.title),
    xaxis: axis({ anchor: 'y', showticklabels: !anyEval, title: anyEval ? undefined : { text: 'Step' } }),
    yaxis: axis({ anchor: 'x', domain: anyEval ? [0.56, 1] : [0, 1], title: { text: 'Loss' }, type: opts.logLoss ? 'log' : 'linear' }),
  });
  if (opts.title) layout.margin = { l: 50, r: 15, t: 50, b: 40 };
  if (anyEval) {
    layout.xaxis2 = axis({ anchor: 'y2', matches: 'x', showticklabels: true, title: { text: 'Step' } });
    layout.yaxis2 = axis({ anchor: 'x2', domain: [0, 0.44], title: { text: 'Rate' }, ...RATE_AXIS });
  }
  return { data, layout, config: { ...PAPER_CONFIG } };
}

// Several seeds in a history: each line is the mean per step, a band shows mean ± sd.

/** Whether the rows hold several seeds (a `seed` column with two or more values). */
function isSeeded(rows: Row[]): boolean {
  return rows.length > 0 && 'seed' in rows[0] && unique(rows.map((r) => String(r.seed))).length > 1;
}

/** The values of `col` per step (steps ascending; non-finite values skipped). */
function stepValues(rs: Row[], col: string): Array<[number, number[]]> {
  const by = new Map<number, number[]>();
  for (const r of rs) {
    const x = num(r.step);
    const y = num(r[col]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (!by.has(x)) by.set(x, []);
    by.get(x)!.push(y);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]);
}

/** One line's points: the rows as they are, or with several seeds the mean per step. */
function seriesOf(rs: Row[], col: string, seeded: boolean): { x: number[]; y: number[] } {
  if (!seeded) {
    const pts = rs.map((r) => [num(r.step), num(r[col])]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    return { x: pts.map((p) => p[0]), y: pts.map((p) => p[1]) };
  }
  const st = stepValues(rs, col);
  return { x: st.map((p) => p[0]), y: st.map((p) => p[1].reduce((a, b) => a + b, 0) / p[1].length) };
}

/** The mean ± sd band across seeds as a closed, filled polygon (undefined where no step has two seeds). */
function seedBand(rs: Row[], col: string, color: string, xaxis: string, yaxis: string, group?: string): Trace | undefined {
  const st = stepValues(rs, col).filter((p) => p[1].length > 1);
  if (st.length === 0) return undefined;
  const stats = st.map(([x, ys]) => {
    const t = tInterval(ys);
    return { x, lo: t.mean - t.sd, hi: t.mean + t.sd };
  });
  return {
    type: 'scatter',
    mode: 'lines',
    name: `${group ? `${group}: ` : ''}${metricLabel(col)} ± sd`,
    legendgroup: group,
    showlegend: false,
    hoverinfo: 'skip',
    x: [...stats.map((p) => p.x), ...stats.map((p) => p.x).reverse()],
    y: [...stats.map((p) => p.hi), ...stats.map((p) => p.lo).reverse()],
    fill: 'toself',
    fillcolor: withAlpha(color, 0.18),
    line: { width: 0, color: withAlpha(color, 0) },
    xaxis,
    yaxis,
  };
}

/** Metric colours of the panels layout (the same metric has the same colour in every panel). */
const METRIC_COLOURS: Record<string, string> = { forgetRate: PALETTE[1], sarr: PALETTE[0], refusalRate: PALETTE[2], retainRouge: PALETTE[3], utilityAcc: PALETTE[4] };

/** Small multiples: one panel per method (title = method), rates over steps, one shared legend. */
function forgettingPanels(rows: Row[], methods: string[], evalCols: string[], opts: ForgettingCurvesOptions): Figure {
  const ncol = Math.max(1, Math.min(opts.columns ?? 5, methods.length));
  const nrow = Math.ceil(methods.length / ncol);
  const gap = 0.06;
  const w = (1 - gap * (ncol - 1)) / ncol;
  const h = (1 - 0.1 * (nrow - 1)) / nrow;
  const data: Trace[] = [];
  const layout: Layout = paperLayout({ title: titleOf(opts.title), height: 150 + 170 * nrow, margin: { l: 50, r: 15, t: opts.title ? 70 : 50, b: 40 } });
  const annotations: Array<Record<string, unknown>> = [];
  methods.forEach((m, i) => {
    const r = Math.floor(i / ncol);
    const c = i % ncol;
    const k = i === 0 ? '' : String(i + 1);
    const x0 = c * (w + gap);
    const y1 = 1 - r * (h + 0.1);
    layout[`xaxis${k}`] = axis({ anchor: `y${k}`, domain: [x0, x0 + w], title: r === nrow - 1 ? { text: 'Step' } : undefined });
    layout[`yaxis${k}`] = axis({ anchor: `x${k}`, domain: [y1 - h, y1], ...RATE_AXIS, showticklabels: c === 0 });
    annotations.push({ text: escapeText(m), xref: 'paper', yref: 'paper', x: x0 + w / 2, y: y1, xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 11 } });
    const rs = rows.filter((x) => String(x.method) === m);
    const seeded = isSeeded(rows);
    evalCols.forEach((col, ci) => {
      const s = seriesOf(rs, col, seeded);
      if (s.x.length === 0) return;
      const color = METRIC_COLOURS[col] ?? PALETTE[(ci + 5) % PALETTE.length];
      const b = seeded ? seedBand(rs, col, color, `x${k}`, `y${k}`, col) : undefined;
      if (b) data.push({ ...b, name: `${m}: ${metricLabel(col)} ± sd` });
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: metricLabel(col),
        legendgroup: col,
        showlegend: i === 0,
        x: s.x,
        y: s.y,
        line: { color, width: 1.5, dash: EVAL_DASH[col] ?? 'solid' },
        marker: { size: 4, color },
        xaxis: `x${k}`,
        yaxis: `y${k}`,
        hovertemplate: `${escapeText(m)} · ${metricLabel(col)}<br>step %{x}: %{y:.0%}<extra></extra>`,
      });
    });
  });
  layout.annotations = annotations;
  layout.legend = { orientation: 'h', x: 0.5, xanchor: 'center', y: 1.0, yanchor: 'bottom', pad: { b: 24 } };
  return { data, layout, config: { ...PAPER_CONFIG } };
}

// ---------------------------------------------------------------------------------------------
// Summary helpers

interface Pick {
  split?: string;
}

/** A method variant's value of one metric with its interval (NaN bounds when the frame has none). */
interface Point {
  base: string;
  pd: boolean;
  value: number;
  low: number;
  high: number;
}

/**
 * The value of `metric` for each method variant, preferring the given split, then val, then
 * train, with its interval: the row's `ciLow`/`ciHigh` when there is one row, or — for a
 * per-seed frame (several rows per method, e.g. a `seed` column) — the mean across seeds and
 * its t interval.
 */
function metricByMethod(rows: Row[], metric: string, pick: Pick): Map<string, Point> {
  const best = new Map<string, { base: string; pd: boolean; rank: number; rows: Row[] }>();
  const pref = [pick.split, 'val', 'train'].filter((s): s is string => !!s);
  for (const r of rows) {
    if (String(r.metric) !== metric) continue;
    const v = methodVariant(r);
    const split = r.split === undefined ? undefined : String(r.split);
    const rank = split === undefined ? 0 : pref.indexOf(split) === -1 ? pref.length : pref.indexOf(split);
    if (pick.split && split !== undefined && split !== pick.split) continue;
    const prev = best.get(v.method);
    if (!prev || rank < prev.rank) best.set(v.method, { base: v.base, pd: v.pd, rank, rows: [r] });
    else if (rank === prev.rank) prev.rows.push(r);
  }
  const out = new Map<string, Point>();
  for (const [method, b] of best) {
    if (b.rows.length === 1) {
      const r = b.rows[0];
      out.set(method, { base: b.base, pd: b.pd, value: num(r.value), low: num(r.ciLow), high: num(r.ciHigh) });
    } else {
      const t = tInterval(b.rows.map((r) => num(r.value)));
      out.set(method, { base: b.base, pd: b.pd, value: t.mean, low: t.low, high: t.high });
    }
  }
  return out;
}

const optional = (key: string, v: unknown): Record<string, unknown> => (v === undefined ? {} : { [key]: v });

/** A Plotly error-bar spec from intervals (undefined when no point has one). */
function errorBars(points: Array<Point | undefined>, color: string): Record<string, unknown> | undefined {
  const ok = (p: Point | undefined) => p !== undefined && Number.isFinite(p.value) && Number.isFinite(p.low) && Number.isFinite(p.high);
  if (!points.some(ok)) return undefined;
  return {
    type: 'data',
    symmetric: false,
    array: points.map((p) => (ok(p) ? Math.max(0, p!.high - p!.value) : 0)),
    arrayminus: points.map((p) => (ok(p) ? Math.max(0, p!.value - p!.low) : 0)),
    visible: true,
    color,
    thickness: 1,
    width: 3,
  };
}

function methodsInOrder(rows: Row[]): string[] {
  return unique(rows.map((r) => methodVariant(r).base));
}

// ---------------------------------------------------------------------------------------------
// Over-forgetting chart

export interface OverForgettingOptions {
  title?: string;
  /** Split whose SARR is plotted (default: 'val' when present, as the paper reports it). */
  sarrSplit?: string;
  /** Split whose forget rate is plotted (default: 'val' when present, else 'train'). */
  forgetSplit?: string;
  /** Metric shown beside SARR (default 'forgetRate'). */
  forgetMetric?: string;
}

/**
 * The paper's comparison: SARR per method with and without PD side by side (left panel), and
 * the forget rate for the same bars (right panel). Methods on x; colour = without / with PD.
 * Error bars show each row's `ciLow`..`ciHigh` (95%); a per-seed frame is averaged across
 * seeds with a t interval.
 */
export function overForgetting(summaryWithMethod: FrameLike, opts: OverForgettingOptions = {}): Figure {
  const what = 'overForgetting(summary)';
  const rows = toRows(summaryWithMethod, what);
  requireColumns(rows, ['method', 'metric', 'value'], what);
  const forgetMetric = opts.forgetMetric ?? 'forgetRate';
  const sarr = metricByMethod(rows, 'sarr', { split: opts.sarrSplit });
  const forget = metricByMethod(rows, forgetMetric, { split: opts.forgetSplit });
  if (sarr.size === 0) {
    throw new ConfigError(`${what}: no 'sarr' rows`, [{ path: 'metric', message: `found [${unique(rows.map((r) => String(r.metric))).join(', ')}]` }]);
  }
  const bases = methodsInOrder(rows);
  const data: Trace[] = [];
  const panels: Array<[Map<string, Point>, string, string]> = [
    [sarr, 'x', 'y'],
    [forget, 'x2', 'y2'],
  ];
  panels.forEach(([values, xa, ya], pi) => {
    for (const pd of [false, true]) {
      const pts = bases.map((b) => {
        for (const v of values.values()) if (v.base === b && v.pd === pd) return v;
        return undefined;
      });
      const ys = pts.map((p) => (p ? p.value : null));
      const err = errorBars(pts, '#333333');
      data.push({
        type: 'bar',
        name: pd ? 'with PD' : 'without PD',
        legendgroup: pd ? 'pd' : 'nopd',
        showlegend: pi === 0,
        x: bases,
        y: ys,
        marker: { color: pd ? PD_COLORS.with : PD_COLORS.without },
        text: ys.map((y) => (y === null || !Number.isFinite(y) ? '' : `${Math.round(y * 100)}`)),
        // with error bars the value goes inside the bar, clear of the whisker
        textposition: err ? 'inside' : 'outside',
        ...(err ? { error_y: err, insidetextanchor: 'start' } : {}),
        cliponaxis: false,
        xaxis: xa,
        yaxis: ya,
      });
    }
  });
  const panelTitle = (text: string, x: number) => ({ text, xref: 'paper', yref: 'paper', x, y: 1, xanchor: 'center', yanchor: 'bottom', showarrow: false });
  const layout = paperLayout({
    title: titleOf(opts.title),
    barmode: 'group',
    bargap: 0.25,
    bargroupgap: 0.05,
    xaxis: axis({ domain: [0, 0.45], anchor: 'y' }),
    yaxis: axis({ ...RATE_AXIS, anchor: 'x' }),
    xaxis2: axis({ domain: [0.55, 1], anchor: 'y2' }),
    yaxis2: axis({ ...RATE_AXIS, anchor: 'x2' }),
    annotations: [panelTitle('SARR (lower is better)', 0.225), panelTitle(`${metricLabel(forgetMetric)} (${betterLabel(forgetMetric)})`, 0.775)],
    // legend below the panels here: their titles sit on top
    legend: { orientation: 'h', x: 0.5, xanchor: 'center', y: -0.2, yanchor: 'top' },
    margin: { l: 40, r: 10, t: opts.title ? 50 : 25, b: 45 },
  });
  return { data, layout, config: { ...PAPER_CONFIG } };
}

// ---------------------------------------------------------------------------------------------
// Trade-off plane

/** 'lower is better' / 'higher is better' from the metric registry (forget rate: lower). */
function betterLabel(metric: string): string {
  try {
    return getMetric(metric).higherIsBetter ? 'higher is better' : 'lower is better';
  } catch {
    return ['forgetRate', 'asr', 'sarr'].includes(metric) ? 'lower is better' : 'higher is better';
  }
}

export interface TradeoffOptions {
  title?: string;
  /** Forget-quality metric on x (default 'forgetRate'). */
  x?: string;
  /** Utility metric on y (default: the first present of specificity, rougeL, judgeScore). */
  y?: string;
  xSplit?: string;
  ySplit?: string;
}

/**
 * Forget quality (x) against utility (y): one labelled point per method and variant; the two
 * variants of a method share a colour (circle = without PD, diamond = with PD) and a dotted link.
 * Error bars in both directions show the rows' 95% intervals (as in `overForgetting`).
 */
export function tradeoff(summaryWithMethod: FrameLike, opts: TradeoffOptions = {}): Figure {
  const what = 'tradeoff(summary)';
  const rows = toRows(summaryWithMethod, what);
  requireColumns(rows, ['method', 'metric', 'value'], what);
  const present = unique(rows.map((r) => String(r.metric)));
  const xm = opts.x ?? 'forgetRate';
  const ym = opts.y ?? ['specificity', 'rougeL', 'judgeScore'].find((m) => present.includes(m)) ?? 'specificity';
  for (const m of [xm, ym]) {
    if (!present.includes(m)) throw new ConfigError(`${what}: no '${m}' rows`, [{ path: 'metric', message: `found [${present.join(', ')}]` }]);
  }
  const xs = metricByMethod(rows, xm, { split: opts.xSplit });
  const ys = metricByMethod(rows, ym, { split: opts.ySplit });
  const data: Trace[] = [];
  methodsInOrder(rows).forEach((base, bi) => {
    const pts: Array<{ method: string; pd: boolean; x: number; y: number; xp: Point; yp: Point }> = [];
    for (const [method, xv] of xs) {
      const yv = ys.get(method);
      if (xv.base !== base || !yv) continue;
      pts.push({ method, pd: xv.pd, x: xv.value, y: yv.value, xp: xv, yp: yv });
    }
    pts.sort((a, b) => Number(a.pd) - Number(b.pd));
    if (pts.length === 0) return;
    const color = PALETTE[bi % PALETTE.length];
    // Names go to the legend and the hover text, not onto the points: methods often land on
    // the same point (every method that forgets is at forget rate 0), where labels would overlap.
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: base,
      x: pts.map((p) => p.x),
      y: pts.map((p) => p.y),
      text: pts.map((p) => escapeText(p.method)),
      cliponaxis: false,
      marker: { color, size: 9, symbol: pts.map((p) => (p.pd ? 'diamond' : 'circle')), line: { color: '#ffffff', width: 0.5 } },
      line: { color, width: 1, dash: 'dot' },
      ...optional('error_x', errorBars(pts.map((p) => p.xp), color)),
      ...optional('error_y', errorBars(pts.map((p) => p.yp), color)),
      hovertemplate: `%{text}<br>${metricLabel(xm)} %{x:.3f}<br>${metricLabel(ym)} %{y:.3f}<extra></extra>`,
    });
  });
  // every built-in metric is a fraction in [0, 1]: fixed axes keep the points inside 0–100%
  const rate = (m: string) => (FRACTION_METRICS.includes(m) ? { range: [-0.04, 1.04], tickformat: '.0%' } : { tickformat: '.0%' });
  const layout = paperLayout({
    title: titleOf(opts.title),
    showlegend: true,
    legend: { orientation: 'v', x: 1.02, xanchor: 'left', y: 1, yanchor: 'top' },
    margin: { l: 50, r: 90, t: opts.title ? 50 : 30, b: 40 },
    xaxis: axis({ title: { text: `${metricLabel(xm)} (forget quality, ${betterLabel(xm)})` }, ...rate(xm) }),
    yaxis: axis({ title: { text: `${metricLabel(ym)} (utility)` }, ...rate(ym) }),
    annotations: [
      {
        text: '○ without PD   ◇ with PD',
        xref: 'paper',
        yref: 'paper',
        x: 1,
        y: 1.01,
        xanchor: 'right',
        yanchor: 'bottom',
        showarrow: false,
      },
    ],
  });
  return { data, layout, config: { ...PAPER_CONFIG } };
}

// ---------------------------------------------------------------------------------------------
// Category heatmap

export interface CategoryHeatmapOptions {
  title?: string;
  /** Metrics (columns of the heatmap) in order (default: all present, in order of appearance). */
  metrics?: string[];
  /** Keep only this method (when the frame has a `method` column). */
  method?: string;
  /** Plotly colour scale (default 'Viridis', which is colour-blind safe and prints in grey). */
  colorscale?: string;
}

/**
 * Six categories × metrics: cell = value (mean when several rows fall in one cell). With
 * several methods in the frame and no `method` option, columns are "method · metric".
 */
export function categoryHeatmap(byCategory: FrameLike, opts: CategoryHeatmapOptions = {}): Figure {
  const what = 'categoryHeatmap(byCategory)';
  let rows = toRows(byCategory, what);
  requireColumns(rows, ['category', 'metric', 'value'], what);
  if (opts.method !== undefined) {
    const all = unique(rows.map((r) => String(r.method)));
    rows = rows.filter((r) => String(r.method) === opts.method);
    if (rows.length === 0) throw new ConfigError(`${what}: no rows for method '${opts.method}'`, [{ path: 'method', message: `must be one of [${all.join(', ')}]` }]);
  }
  const methods = columnsOf(rows).includes('method') ? unique(rows.map((r) => String(r.method))) : [];
  const multi = methods.length > 1;
  const metrics = (opts.metrics ?? unique(rows.map((r) => String(r.metric)))).filter((m) => rows.some((r) => String(r.metric) === m));
  const colKeys: Array<{ method?: string; metric: string; label: string }> = [];
  for (const m of multi ? methods : [undefined]) {
    for (const metric of metrics) colKeys.push({ method: m, metric, label: m ? `${m} · ${metricLabel(metric)}` : metricLabel(metric) });
  }
  const cats = unique(rows.map((r) => String(r.category)));
  const categories = [...CATEGORY_ORDER.filter((c) => cats.includes(c)), ...cats.filter((c) => !CATEGORY_ORDER.includes(c))];
  const z = categories.map((cat) =>
    colKeys.map((k) => {
      const vs = rows
        .filter((r) => String(r.category) === cat && String(r.metric) === k.metric && (k.method === undefined || String(r.method) === k.method))
        .map((r) => num(r.value))
        .filter(Number.isFinite);
      return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
    }),
  );
  const flat = z.flat().filter((v): v is number => v !== null);
  const unit = flat.every((v) => v >= 0 && v <= 1);
  const data: Trace[] = [
    {
      type: 'heatmap',
      // several columns: break labels onto lines so neighbours do not collide
      x: colKeys.map((k) => (colKeys.length > 3 ? k.label.replace(/ /g, '<br>') : k.label)),
      y: categories,
      z,
      colorscale: opts.colorscale ?? 'Viridis',
      zmin: unit ? 0 : undefined,
      zmax: unit ? 1 : undefined,
      texttemplate: '%{z:.2f}',
      hovertemplate: '%{y} · %{x}: %{z:.3f}<extra></extra>',
      xgap: 1,
      ygap: 1,
      colorbar: { thickness: 10, outlinewidth: 0, tickformat: unit ? '.0%' : undefined },
    },
  ];
  const layout = paperLayout({
    title: titleOf(opts.title),
    xaxis: axis({ showline: false, ticks: '', side: 'bottom', tickangle: multi ? -30 : 0 }),
    yaxis: axis({ showline: false, ticks: '', autorange: 'reversed' }),
    margin: { l: 95, r: 15, t: 35, b: 50 },
  });
  return { data, layout, config: { ...PAPER_CONFIG } };
}

// ---------------------------------------------------------------------------------------------
// Sample gallery

/** One gallery row. `image`: an absolute path (png/jpg/gif/webp/svg) or a `data:` URI. */
export interface GallerySample {
  image?: string;
  question: string;
  before?: string;
  after?: string;
  /** Shown under the image (e.g. the category, the record id). */
  caption?: string;
}

export interface SampleGalleryOptions {
  title?: string;
  /** At most this many rows (default 6). */
  limit?: number;
  /** Column headers for the two responses (default 'Before unlearning', 'After unlearning'). */
  beforeLabel?: string;
  afterLabel?: string;
  /** Characters per line in the text columns (default 38). */
  wrapChars?: number;
}

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.svg': 'image/svg+xml' };

function imageSource(src: string | undefined): string | undefined {
  if (!src) return undefined;
  if (src.startsWith('data:')) return src;
  const mime = MIME[path.extname(src).toLowerCase()];
  if (!mime || !fs.existsSync(src)) return undefined;
  return `data:${mime};base64,${fs.readFileSync(src).toString('base64')}`;
}

const pickStr = (r: Row, names: string[]): string | undefined => {
  for (const n of names) if (r[n] !== undefined && r[n] !== null) return String(r[n]);
  return undefined;
};

/**
 * Image, query, and the response before and after unlearning, one sample per row. Rows may
 * use `before`/`after`, `responseBefore`/`responseAfter`, `response_before`/`response_after`,
 * or a single `response`; `caption` defaults to `category` and `id`. Images are embedded as
 * data URIs in `layout.images` (use `imageDataUri` to make small thumbnails first); the text
 * is real text, so it stays selectable in SVG and PDF exports.
 */
export function sampleGallery(samples: FrameLike | GallerySample[], opts: SampleGalleryOptions = {}): Figure {
  const what = 'sampleGallery(samples)';
  const all = toRows(samples as FrameLike, what);
  requireColumns(all, ['question'], what);
  const rows = all.slice(0, opts.limit ?? 6);
  const items = rows.map((r) => ({
    image: imageSource(pickStr(r, ['image', 'image_path', 'imagePath'])),
    hadImage: pickStr(r, ['image', 'image_path', 'imagePath']) !== undefined,
    question: String(r.question ?? ''),
    before: pickStr(r, ['before', 'responseBefore', 'response_before', 'response']) ?? '',
    after: pickStr(r, ['after', 'responseAfter', 'response_after']),
    caption: pickStr(r, ['caption']) ?? [r.category, r.id].filter((x) => x !== undefined && x !== null && x !== '').join(' · '),
  }));
  const twoResponses = items.some((i) => i.after !== undefined);
  const W = 900;
  const rowH = 150;
  const headH = 28;
  const margin = { l: 10, r: 10, t: opts.title ? 40 : 10, b: 10 };
  const plotH = headH + rowH * items.length;
  const H = plotH + margin.t + margin.b;
  const yOf = (px: number) => 1 - px / plotH; // paper y of a distance from the top of the plot area
  const cols = twoResponses
    ? [
        { x: 0.0, w: 0.17, head: 'Image' },
        { x: 0.19, w: 0.25, head: 'Query' },
        { x: 0.46, w: 0.26, head: opts.beforeLabel ?? 'Before unlearning' },
        { x: 0.74, w: 0.26, head: opts.afterLabel ?? 'After unlearning' },
      ]
    : [
        { x: 0.0, w: 0.17, head: 'Image' },
        { x: 0.19, w: 0.36, head: 'Query' },
        { x: 0.57, w: 0.43, head: opts.beforeLabel ?? 'Response' },
      ];
  const chars = opts.wrapChars ?? 38;
  const maxLines = Math.floor((rowH - 12) / 13);
  const annotations: Array<Record<string, unknown>> = [];
  const images: Array<Record<string, unknown>> = [];
  const shapes: Array<Record<string, unknown>> = [];
  const note = (x: number, y: number, text: string, extra: Record<string, unknown> = {}) =>
    annotations.push({ xref: 'paper', yref: 'paper', x, y, xanchor: 'left', yanchor: 'top', align: 'left', showarrow: false, text, ...extra });
  cols.forEach((c) => note(c.x, yOf(4), `<b>${escapeText(c.head)}</b>`));
  shapes.push({ type: 'line', xref: 'paper', yref: 'paper', x0: 0, x1: 1, y0: yOf(headH - 2), y1: yOf(headH - 2), line: { color: '#444444', width: 1 } });
  items.forEach((it, i) => {
    const top = headH + i * rowH + 6;
    if (it.image) {
      images.push({
        source: it.image,
        xref: 'paper',
        yref: 'paper',
        x: cols[0].x,
        y: yOf(top),
        sizex: cols[0].w,
        sizey: (rowH - 30) / plotH,
        xanchor: 'left',
        yanchor: 'top',
        sizing: 'contain',
        layer: 'above',
      });
    } else {
      note(cols[0].x, yOf(top + 40), it.hadImage ? '<i>(image not found)</i>' : '<i>(text only)</i>', { font: { color: '#777777' } });
    }
    if (it.caption) note(cols[0].x, yOf(top + rowH - 26), escapeText(String(it.caption)), { font: { color: '#555555' } });
    const texts = twoResponses ? [it.question, it.before, it.after ?? ''] : [it.question, it.before];
    texts.forEach((t, j) => {
      const c = cols[j + 1];
      note(c.x, yOf(top), wrap(t, Math.max(8, Math.round((chars * c.w) / 0.26)), maxLines));
    });
    if (i < items.length - 1) {
      const y = yOf(headH + (i + 1) * rowH);
      shapes.push({ type: 'line', xref: 'paper', yref: 'paper', x0: 0, x1: 1, y0: y, y1: y, line: { color: '#dddddd', width: 0.8 } });
    }
  });
  const layout = paperLayout({
    title: titleOf(opts.title),
    width: W,
    height: H,
    margin,
    showlegend: false,
    xaxis: { visible: false, range: [0, 1], fixedrange: true },
    yaxis: { visible: false, range: [0, 1], fixedrange: true },
    annotations,
    images,
    shapes,
  });
  return { data: [], layout, config: { ...PAPER_CONFIG, responsive: false, staticPlot: true } };
}

/**
 * A small PNG thumbnail of an image file as a data URI, for galleries and reports
 * (`size` = longest side in px, default 160).
 */
export async function imageDataUri(file: string, size = 160): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sharp = require('sharp') as (input: string) => { resize(o: object): { png(): { toBuffer(): Promise<Buffer> } } };
  if (!fs.existsSync(file)) throw new ConfigError(`imageDataUri: no such file '${file}'`);
  const png = await sharp(file).resize({ width: size, height: size, fit: 'inside' }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
