/**
 * The notebook layer (tslab): rich display, in-place progress and live training plots.
 *
 *     import { show, progress, liveTrainingPlot } from '../dist/kernel';
 *
 * Importing this module inside a tslab kernel also installs the notebook progress display
 * (so every SDK loop renders a bar that updates in place) and the short error format
 * (`Name: message` for the SDK's errors). Outside a notebook everything degrades to text.
 */
import * as util from 'util';
import { setProgressFactory } from '../sdk/runtime/progress';
import type { ProgressBar } from '../sdk/runtime/progress';
import { EraserError } from '../sdk/runtime/errors';
import type { Figure } from '../sdk/plots/figure';
import { forgettingCurves } from '../sdk/plots/figures';
import { emit, inNotebook, MimeBundle, newDisplayId } from './display';
import {
  esc,
  evalRecordBundle,
  evaluationBundle,
  examplesBundle,
  figureBundle,
  frameBundle,
  ImageOptions,
  isExample,
  isFigure,
  isEvalRecord,
  isEvaluation,
  isFrame,
  isImageShape,
  isSeries,
  isSharp,
  isStepRecord,
  isTensor,
  plotlyLibraryHtml,
  seriesBundle,
  sharpBundle,
  stepBundle,
  TableOptions,
  takePlotlyInline,
  tensorBundle,
} from './render';

export { inNotebook, clearOutput } from './display';
export type { MimeBundle } from './display';
export type { ImageOptions, TableOptions } from './render';

export interface ShowOptions extends TableOptions, ImageOptions {
  /** Replace this display in place instead of adding an output (from `newDisplayId()`). */
  displayId?: string;
  /** At most this many examples when showing an array of examples (default 12). */
  limit?: number;
}

/** Make sure plotly.js is in the notebook (once per kernel process) before the first figure. */
function ensurePlotly(): void {
  if (!inNotebook()) return;
  if (takePlotlyInline()) emit({ 'text/html': plotlyLibraryHtml(), 'text/plain': '' });
}

/** The MIME bundle `show` would send for `x`. */
export async function render(x: unknown, opts: ShowOptions = {}): Promise<MimeBundle> {
  if (isFigure(x)) return figureBundle(x);
  if (isFrame(x)) return frameBundle(x, opts);
  if (isSeries(x)) return seriesBundle(x, opts);
  if (isTensor(x)) return tensorBundle(x, opts);
  if (isSharp(x)) return sharpBundle(x, opts);
  if (isEvaluation(x)) return evaluationBundle(x, opts);
  if (isStepRecord(x)) return stepBundle(x);
  if (isEvalRecord(x)) return evalRecordBundle(x);
  if (isExample(x)) return examplesBundle([x], { size: opts.size, limit: 1 });
  if (Array.isArray(x) && x.length > 0 && x.every(isExample)) return examplesBundle(x, { size: opts.size, limit: opts.limit });
  if (x instanceof Error) return { 'text/plain': formatError(x) };
  if (typeof x === 'string') return { 'text/plain': x, 'text/html': `<pre>${esc(x)}</pre>` };
  return { 'text/plain': util.inspect(x, { depth: 4, colors: false }) };
}

/** At most this much text/plain for a value without a rich form (the rest is cut with a note). */
const MAX_VALUE_TEXT = 20000;

/**
 * The `execute_result` of a cell whose last expression has a value (what the project's kernel
 * sends): the same rich forms as `show` (table, figure, picture, summaries of evaluations and
 * unlearner records) and, for anything else, the inspected value as text (strings quoted, like
 * a REPL). A tensor that is not a picture shows as its values.
 */
export async function resultBundle(x: unknown): Promise<MimeBundle> {
  if (isTensor(x) && !isImageShape(x.shape)) return { 'text/plain': String((x as { toString(): string }).toString()) };
  if (isFigure(x)) ensurePlotly();
  if (
    isFigure(x) ||
    isFrame(x) ||
    isSeries(x) ||
    isTensor(x) ||
    isSharp(x) ||
    isEvaluation(x) ||
    isStepRecord(x) ||
    isEvalRecord(x) ||
    isExample(x) ||
    (Array.isArray(x) && x.length > 0 && x.every(isExample))
  ) {
    return render(x);
  }
  if (x instanceof Error) return { 'text/plain': formatError(x) };
  let text = util.inspect(x, { depth: 3, colors: false, maxArrayLength: 50, maxStringLength: 2000, breakLength: 100 });
  if (text.length > MAX_VALUE_TEXT) text = `${text.slice(0, MAX_VALUE_TEXT)}\n… (${text.length - MAX_VALUE_TEXT} more characters)`;
  return { 'text/plain': text };
}

/**
 * Show anything rich: a Plotly figure (inline, plotly.js from node_modules), a danfo DataFrame
 * or Series (HTML table, paged when long), an image tensor ([3,H,W] / [H,W,3] / [H,W], CLIP-
 * normalised or 0..1 or 0..255), a dataset Example or an array of them (image + question +
 * answer). Anything else is printed. Outside a notebook the text form goes to stdout.
 */
export async function show(x: unknown, opts: ShowOptions = {}): Promise<void> {
  const bundle = await render(x, opts);
  if (isFigure(x)) ensurePlotly();
  emit(bundle, opts.displayId ? { id: opts.displayId, update: true } : {});
}

export { newDisplayId } from './display';

/** A handle that redraws one output in place. */
export interface LiveDisplay {
  readonly id: string;
  /** Replace the output with `x` (anything `show` accepts). */
  update(x: unknown, opts?: ShowOptions): Promise<void>;
}

/** One output that later calls replace in place (tslab's display-id updates). */
export function liveDisplay(): LiveDisplay {
  const id = newDisplayId();
  let first = true;
  return {
    id,
    async update(x: unknown, opts: ShowOptions = {}) {
      const bundle = await render(x, opts);
      if (isFigure(x)) ensurePlotly();
      emit(bundle, { id, update: !first });
      first = false;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Progress

function fmtSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressBundle(label: string, done: number, total: number, elapsedMs: number, status?: string, finished = false): MimeBundle {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const eta = done > 0 && !finished ? fmtSeconds(((elapsedMs / 1000) * (total - done)) / done) : undefined;
  const info = `${done}/${total} ${Math.round(frac * 100)}% ${finished ? `in ${fmtSeconds(elapsedMs / 1000)}` : `eta ${eta ?? '?'}`}${status ? ` · ${status}` : ''}`;
  const html =
    `<div class="eraserlab-progress" style="font:12px/1.6 sans-serif;display:flex;gap:8px;align-items:center">` +
    `<span>${esc(label)}</span><progress value="${done}" max="${Math.max(total, 1)}" style="width:240px"></progress>` +
    `<span style="color:#555">${esc(info)}</span></div>`;
  return { 'text/html': html, 'text/plain': `${label} ${info}` };
}

/**
 * A progress bar that updates in place in the notebook (redraws at most every `intervalMs`,
 * default 200, plus the final state). Outside a notebook: the SDK's terminal bar.
 */
export function progress(total: number, label = 'progress', opts: { intervalMs?: number } = {}): ProgressBar {
  if (!inNotebook()) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const rt = require('../sdk/runtime/progress') as typeof import('../sdk/runtime/progress');
    return rt.progress(total, label);
  }
  const id = newDisplayId();
  const start = Date.now();
  const interval = opts.intervalMs ?? 200;
  let pos = 0;
  let last = -Infinity;
  let first = true;
  let finished = false;
  const draw = (status: string | undefined, force: boolean) => {
    const now = Date.now();
    if (!force && now - last < interval) return;
    last = now;
    emit(progressBundle(label, pos, total, now - start, status, finished), { id, update: !first });
    first = false;
  };
  draw(undefined, true);
  return {
    update(done, status) {
      pos = done;
      draw(status, false);
    },
    tick(n = 1, status) {
      pos += n;
      draw(status, false);
    },
    done(status) {
      pos = total;
      finished = true;
      draw(status, true);
    },
  };
}

/** Route every SDK progress bar (runtime.progress) to the in-place notebook display. */
export function installNotebookProgress(): void {
  setProgressFactory((total, label) => progress(total, label));
}

// ---------------------------------------------------------------------------------------------
// Errors

/** `Name: message` (the SDK's messages carry the diagnosis; the stack is noise in a notebook). */
export function formatError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Make the SDK's errors print as `Name: message` wherever Node formats them (tslab prints a
 * failed cell's error with console.error, which uses util.inspect). Other errors keep stacks.
 */
export function installErrorFormatting(): void {
  const proto = EraserError.prototype as unknown as Record<symbol, unknown>;
  proto[util.inspect.custom] = function (this: Error) {
    return formatError(this);
  };
}

// ---------------------------------------------------------------------------------------------
// Live training plot

/** What `liveTrainingPlot` needs from an unlearner (contracts: unlearn events). */
export interface StepRecordLike {
  step: number;
  loss: number;
  terms?: Record<string, number>;
  lr?: number;
  gradNorm?: number;
  epoch?: number;
}
export interface EvalRecordLike {
  step: number;
  forgetRate?: number;
  refusalRate?: number;
  sarr?: number;
  retainRouge?: number;
  utilityAcc?: number;
}
export interface TrainingEventSource {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string, listener: (record: any) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (record: any) => void): unknown;
}

export interface LiveTrainingPlotOptions {
  title?: string;
  /** Redraw at most this often on steps (default 1000 ms); evals and the end always redraw. */
  intervalMs?: number;
}

export interface LiveTrainingPlot {
  /** The history rows collected so far (step rows with eval columns merged in). */
  rows(): Array<Record<string, number>>;
  /** The current figure. */
  figure(): Figure;
  /** Stop listening (also happens on the unlearner's 'end'). */
  stop(): void;
}

/**
 * Losses (total and each term), forget rate, refusal rate and SARR, redrawn in place while an
 * unlearner runs: the over-forgetting picture as it happens.
 *
 *     const live = liveTrainingPlot(unlearner); await unlearner.run();
 */
export function liveTrainingPlot(source: TrainingEventSource, opts: LiveTrainingPlotOptions = {}): LiveTrainingPlot {
  const rows: Array<Record<string, number>> = [];
  const byStep = new Map<number, Record<string, number>>();
  const display = liveDisplay();
  const interval = opts.intervalMs ?? 1000;
  let last = -Infinity;
  let stopped = false;
  const figure = () => forgettingCurves(rows, { title: opts.title ?? 'Unlearning' });
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < interval) return;
    last = now;
    void display.update(figure());
  };
  const rowFor = (step: number) => {
    let r = byStep.get(step);
    if (!r) {
      r = { step };
      byStep.set(step, r);
      rows.push(r);
      rows.sort((a, b) => a.step - b.step);
    }
    return r;
  };
  const onStep = (s: StepRecordLike) => {
    const r = rowFor(s.step);
    r.loss = s.loss;
    for (const [k, v] of Object.entries(s.terms ?? {})) r[`term_${k}`] = v;
    if (s.epoch !== undefined) r.epoch = s.epoch;
    redraw(false);
  };
  const onEval = (e: EvalRecordLike) => {
    const r = rowFor(e.step);
    for (const k of ['forgetRate', 'refusalRate', 'sarr', 'retainRouge', 'utilityAcc'] as const) {
      if (typeof e[k] === 'number') r[k] = e[k] as number;
    }
    redraw(true);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    source.off?.('step', onStep);
    source.off?.('eval', onEval);
    source.off?.('end', onEnd);
  };
  const onEnd = () => {
    redraw(true);
    stop();
  };
  source.on('step', onStep);
  source.on('eval', onEval);
  source.on('end', onEnd);
  return { rows: () => rows, figure, stop };
}

/** Everything a notebook wants: in-place progress and short SDK errors (done on import in tslab). */
export function installNotebook(): void {
  installNotebookProgress();
  installErrorFormatting();
}

if (inNotebook()) installNotebook();
