/**
 * Child process for wasm-threads.test.ts: initialises the WASM backend with the thread count
 * given in argv[2] and prints one JSON line with the backend info and a few kernel results.
 * It must exit by itself (pthread workers must not keep it alive).
 */
import { init } from '../../sdk/runtime/backend';
import { tf, type Tensor } from '../../sdk/runtime/tf';

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function main(): Promise<void> {
  const threads = Number(process.argv[2] ?? '1');
  const info = await init({ backend: 'wasm', threads });
  const out = tf.tidy(() => {
    const a = tf.tensor2d(values(96 * 160, 1), [96, 160]);
    const b = tf.tensor2d(values(160 * 72, 2), [160, 72]);
    const mm = tf.matMul(a, b);
    const att = tf.softmax(tf.matMul(tf.reshape(mm, [4, 24, 72]), tf.reshape(mm, [4, 24, 72]), false, true));
    const img = tf.tensor4d(values(2 * 16 * 16 * 3, 3), [2, 16, 16, 3]);
    const conv = tf.conv2d(img, tf.tensor4d(values(4 * 4 * 3 * 8, 4), [4, 4, 3, 8]), 4, 'valid');
    const grad = tf.grad((x: Tensor) => tf.sum(tf.square(tf.matMul(x, b))))(a);
    return { mm: Array.from(mm.dataSync()), att: Array.from(att.dataSync()), conv: Array.from(conv.dataSync()), grad: Array.from(grad.dataSync()) };
  });
  process.stdout.write(JSON.stringify({ info, out }) + '\n');
}

// Only when run as a program (a test runner that loads every file must not start it).
if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(String((e as Error).stack ?? e) + '\n');
    process.exit(1);
  });
}
