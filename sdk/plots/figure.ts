/**
 * The figure type and the paper styling shared by every builder. Figures are plain Plotly
 * specs (`{data, layout, config}`, JSON-serialisable): the kernel renders them inline, the
 * exporter renders them in headless Chromium, and anyone can `JSON.stringify` them. Our own
 * loose interfaces keep plotly's types (and their compiler requirements) out of the public API.
 */

/** One Plotly trace (`type` is 'scatter', 'bar', 'heatmap', ...). */
export interface Trace {
  type?: string;
  name?: string;
  [key: string]: unknown;
}

/** A Plotly layout (`width`/`height` in CSS px; see exportFigure for how paper sizes map). */
export interface Layout {
  title?: unknown;
  width?: number;
  height?: number;
  font?: { family?: string; size?: number; color?: string };
  [key: string]: unknown;
}

/** Plotly's config object (modebar, responsiveness, ...). */
export interface FigureConfig {
  [key: string]: unknown;
}

/** A Plotly figure spec, as every builder in `plots` returns it. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  config?: FigureConfig;
}

/** A danfo DataFrame (anything with `columns` and row-major `values`) or plain row objects. */
export type FrameLike = { columns: string[]; values: unknown } | ReadonlyArray<Record<string, unknown>>;

/**
 * Okabe–Ito: eight colours distinguishable with the common colour-vision deficiencies
 * (Okabe & Ito 2008, "Color Universal Design"). Yellow comes last: it is weak on white paper.
 */
export const PALETTE: readonly string[] = [
  '#0072B2', // blue
  '#D55E00', // vermillion
  '#009E73', // bluish green
  '#E69F00', // orange
  '#CC79A7', // reddish purple
  '#56B4E9', // sky blue
  '#000000', // black
  '#F0E442', // yellow
];

/** The two colours for "without PD" / "with PD" in every figure (grey vs blue). */
export const PD_COLORS = { without: '#999999', with: '#0072B2' } as const;

/** Fonts Chromium finds on Debian (Liberation Sans is metric-compatible with Arial). */
export const PAPER_FONT = 'Liberation Sans, Arial, Helvetica, sans-serif';

/** Paper styling: small sans-serif text, white background, light grid, no modebar. */
export function paperLayout(extra: Layout = {}): Layout {
  const base: Layout = {
    font: { family: PAPER_FONT, size: 10, color: '#222222' },
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    colorway: [...PALETTE],
    margin: { l: 50, r: 15, t: 30, b: 40 },
    // Legends sit above the plot: below it they collide with axis titles at paper sizes.
    legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom', itemwidth: 30, tracegroupgap: 0 },
    hoverlabel: { font: { family: PAPER_FONT } },
  };
  return { ...base, ...extra };
}

/** Axis styling used by every cartesian figure. */
export function axis(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    showline: true,
    linecolor: '#444444',
    linewidth: 1,
    ticks: 'outside',
    ticklen: 3,
    gridcolor: '#e5e5e5',
    zeroline: false,
    automargin: true,
    ...extra,
  };
}

export const PAPER_CONFIG: FigureConfig = { displaylogo: false, responsive: true };

export function titleOf(text: string | undefined): Layout['title'] {
  return text ? { text, x: 0, xanchor: 'left', y: 1, yref: 'container', yanchor: 'top', pad: { t: 6, l: 4 } } : undefined;
}
