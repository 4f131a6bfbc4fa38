/**
 * The one place that imports a tfjs package by name (docs/architecture.md). Every other module does
 * `import { tf } from '../runtime/tf'` so the whole SDK (and danfo) shares one engine.
 * `import = require` keeps the very module object (an `import * as` namespace copy would make
 * `dfd.tensorflow === tf` false).
 */
import tfjs = require('@tensorflow/tfjs');

export const tf = tfjs;
/** The tfjs tensor types, defined once here for the whole SDK. */
export type Tensor = tfjs.Tensor;
export type Scalar = tfjs.Scalar;
export type Tensor1D = tfjs.Tensor1D;
export type Tensor2D = tfjs.Tensor2D;
export type Tensor3D = tfjs.Tensor3D;
export type Tensor4D = tfjs.Tensor4D;
export type Variable = tfjs.Variable;
export type Rank = tfjs.Rank;
