/**
 * The one place that imports a tfjs package by name (docs/architecture.md). Every other module does
 * `import { tf } from '../runtime/tf'` so the whole SDK (and danfo) shares one engine.
 * `import = require` keeps the very module object (an `import * as` namespace copy would make
 * `dfd.tensorflow === tf` false).
 */
import tfjs = require('@tensorflow/tfjs');

export const tf = tfjs;
export type Tensor = tfjs.Tensor;
export type Variable = tfjs.Variable;
export type Rank = tfjs.Rank;
