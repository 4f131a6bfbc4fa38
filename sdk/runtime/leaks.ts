import { tf } from './tf';

/**
 * Run `fn` (sync or async) and throw if it leaves more tensors alive than it found
 * (`tf.memory().numTensors`). `allowed` permits a known number of kept tensors.
 */
export async function expectNoLeakedTensors<T>(
  fn: () => T | Promise<T>,
  opts: { allowed?: number; label?: string } = {},
): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  const leaked = after - before - (opts.allowed ?? 0);
  if (leaked > 0) {
    throw new Error(
      `${opts.label ?? 'expectNoLeakedTensors'}: ${leaked} tensor(s) leaked (${before} before, ${after} after${
        opts.allowed ? `, ${opts.allowed} allowed` : ''
      })`,
    );
  }
  return result;
}

/** Count tensors alive now. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
