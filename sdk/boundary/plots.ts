/**
 * Plotly figure specs ({data, layout, config}) for BABERT, built by pure functions (the plots
 * area renders / exports any such spec; boundary does not import it, keeping layers one-way).
 */
import type { NgramStatistics } from './statistics';
import { vectorRows, boundaryDimNames } from './vectors';
import type { ExperimentResult } from './experiment';

export interface FigureSpec {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * The boundary statistics of one sentence: for each character, the PMI of the bigram it starts
 * and the left / right entropy of its unigram (lines), and a heatmap of the full boundary
 * vectors (characters × dimensions) below.
 */
export function boundaryStatsFigure(sentence: string, stats: NgramStatistics): FigureSpec {
  const rows = vectorRows(sentence, stats);
  const chars = [...sentence].map((c, i) => `${i}:${c}`);
  const pick = (dim: number) => rows.map((r) => r[dim]);
  const names = boundaryDimNames(stats.maxN);
  return {
    data: [
      { type: 'scatter', mode: 'lines+markers', name: 'PMI of bigram starting here', x: chars, y: pick(3), xaxis: 'x', yaxis: 'y' },
      { type: 'scatter', mode: 'lines+markers', name: 'left entropy (char)', x: chars, y: pick(1), xaxis: 'x', yaxis: 'y' },
      { type: 'scatter', mode: 'lines+markers', name: 'right entropy (char)', x: chars, y: pick(2), xaxis: 'x', yaxis: 'y' },
      { type: 'heatmap', name: 'boundary vectors', x: chars, y: names, z: names.map((_, d) => rows.map((r) => r[d])), colorscale: 'RdBu', zmid: 0, xaxis: 'x2', yaxis: 'y2', showscale: true },
    ],
    layout: {
      title: { text: `Boundary statistics: ${sentence}` },
      grid: { rows: 2, columns: 1, pattern: 'independent' },
      yaxis: { title: { text: 'nats' }, domain: [0.62, 1] },
      yaxis2: { domain: [0, 0.55], tickfont: { size: 8 } },
      xaxis: { anchor: 'y' },
      xaxis2: { anchor: 'y2' },
      height: 700,
      width: 900,
      font: { family: 'Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif' },
    },
    config: { responsive: true },
  };
}

/** Grouped bars: segmentation F1 (silver, gold) per pretraining objective, mean ± std over seeds, with each seed as a dot. */
export function comparisonFigure(result: ExperimentResult): FigureSpec {
  const data: Array<Record<string, unknown>> = [];
  for (const row of result.summary) {
    data.push({
      type: 'bar',
      name: row.objective === 'mlm' ? 'MLM only' : 'MLM + L_BA',
      x: ['silver (agreement with jieba)', 'gold (hand-labelled)'],
      y: [100 * row.silverF1Mean, 100 * row.goldF1Mean],
      error_y: { type: 'data', array: [100 * row.silverF1Std, 100 * row.goldF1Std], visible: true },
    });
  }
  for (const objective of ['mlm', 'mlm+ba'] as const) {
    const rs = result.runs.filter((r) => r.objective === objective);
    if (!rs.length) continue;
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `${objective} seeds`,
      showlegend: false,
      x: rs.flatMap(() => ['silver (agreement with jieba)', 'gold (hand-labelled)']),
      y: rs.flatMap((r) => [100 * r.silver.f1, 100 * r.gold.f1]),
      text: rs.flatMap((r) => [`seed ${r.seed}`, `seed ${r.seed}`]),
      marker: { color: 'black', size: 5 },
      offsetgroup: objective,
    });
  }
  return {
    data,
    layout: {
      title: { text: `Word segmentation F1 after pretraining (${result.runs.length / Math.max(1, result.summary.length)} seeds, scale ${result.config.scale})` },
      barmode: 'group',
      yaxis: { title: { text: 'span F1 (%)' } },
      width: 700,
      height: 450,
    },
    config: { responsive: true },
  };
}
