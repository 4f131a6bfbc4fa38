/** tfjs types for this area, taken from the shared `tf` (only runtime/ imports tfjs by name). */
import { tf } from '../runtime/tf';

export type Tensor = InstanceType<typeof tf.Tensor>;
export type Tensor1D = ReturnType<typeof tf.tensor1d>;
export type Tensor2D = ReturnType<typeof tf.tensor2d>;
export type Tensor3D = ReturnType<typeof tf.tensor3d>;
export type Variable = ReturnType<typeof tf.variable>;
export type TensorContainerObject = { [k: string]: Tensor | Tensor[] | TensorContainerObject };

/** A trainable variable from a freshly made tensor, disposing that tensor (tf.variable keeps it alive otherwise). */
export function makeVariable(init: Tensor, name?: string): Variable {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}
