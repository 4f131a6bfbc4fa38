/**
 * eraserlab: machine-unlearning research on multimodal LLMs (SafeEraser) and boundary-aware
 * Chinese sequence labelling (BABERT). One public entry; every area is a namespace
 * (docs/architecture.md). Data flows one way: data → model → unlearn → metrics/judge → plots.
 */
export * as runtime from './runtime';
export * as data from './data';
export * as model from './model';
export * as unlearn from './unlearn';
export * as metrics from './metrics';
export * as judge from './judge';
export * as attacks from './attacks';
export * as plots from './plots';
export * as boundary from './boundary';
export * as experiment from './experiment';
