/** tfjs tensor types, derived from the one tf instance (runtime/tf exports a value, not a namespace). */
import { tf } from '../runtime/tf';

export type Tensor = ReturnType<typeof tf.tensor>;
export type Scalar = ReturnType<typeof tf.scalar>;
export type Tensor1D = ReturnType<typeof tf.tensor1d>;
export type Tensor2D = ReturnType<typeof tf.tensor2d>;
export type Tensor3D = ReturnType<typeof tf.tensor3d>;
export type Tensor4D = ReturnType<typeof tf.tensor4d>;
export type Variable = ReturnType<typeof tf.variable>;
