/** Variables and tensor containers for this area (the tensor types themselves are runtime/tf's). */
import { tf, type Tensor, type Variable } from '../runtime/tf';
export type TensorContainerObject = { [k: string]: Tensor | Tensor[] | TensorContainerObject };

/** A trainable variable from a freshly made tensor, disposing that tensor (tf.variable keeps it alive otherwise). */
export function makeVariable(init: Tensor, name?: string): Variable {
  const v = tf.variable(init, true, name);
  init.dispose();
  return v;
}
