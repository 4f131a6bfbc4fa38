/**
 * The main job as a library: `experiment.run({...})` does what `eraserlab run` does (same
 * options in camelCase, same results folder), and the results folder's readers and report
 * builders for notebooks and scripts.
 */
export { run, runMainJob, JobInterrupted } from './job';
export type { MainJobOptions, MainJobResult, MethodOutcome } from './job';
export { ALL_METHODS, JOB_SCALES, scaleOf } from './scales';
export type { JobScale, ScaleDefaults } from './scales';
export { loadResults, readMethodResults, methodDir, hasResults, METHOD_FILES } from './results';
export { galleryMethodOf, galleryRows } from './gallery';
export { exportFigures } from './figures';
export type { ExportedFigures } from './figures';
export { dirFingerprint, fileHash } from './fingerprint';
export { interruptOnSigint } from './interrupt';
export type { SigintHandle } from './interrupt';
export {
  buildFigures,
  columnsOf,
  headlineRows,
  headlineRowsWithSd,
  comparisonTerminalTable,
  comparisonMarkdownTable,
  HEADLINE_METRICS,
  htmlTable,
  jsonRows,
  fromJsonRows,
  markdownTable,
  readTable,
  renderReport,
  terminalTable,
  toCsv,
  writeTable,
  HEADLINE_COLUMNS,
} from './report';
export type { Row, HeadlineRow, ReportFigure, FigureInputs, ReportInput } from './report';
