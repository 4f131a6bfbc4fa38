// The 'plots' namespace of the public API (see sdk/index.ts): pure Plotly figure builders
// (frames in, `{data, layout, config}` out) and paper export through headless Chromium.
export type { Figure, Trace, Layout, FigureConfig, FrameLike } from './figure';
export { PALETTE, PD_COLORS, PAPER_FONT, paperLayout } from './figure';
export type {
  ForgettingCurvesOptions,
  OverForgettingOptions,
  TradeoffOptions,
  CategoryHeatmapOptions,
  GallerySample,
  SampleGalleryOptions,
} from './figures';
export type { RobustnessHeatmapOptions, RelearningCurveOptions } from './robustness';
export { robustnessHeatmap, relearningCurve } from './robustness';
export {
  forgettingCurves,
  overForgetting,
  tradeoff,
  categoryHeatmap,
  sampleGallery,
  imageDataUri,
  metricLabel,
  METRIC_LABELS,
  CATEGORY_ORDER,
} from './figures';
export type { ExportFormat, PaperPreset, ExportOptions, ExportResult, BrowserPage, BrowserSession } from './export';
export {
  Exporter,
  ExportError,
  exportFigure,
  closeExporter,
  setExporterIdleTimeout,
  launchChromium,
  plotlyJs,
  PAPER_PRESETS,
  CHROMIUM_ARGS,
} from './export';
