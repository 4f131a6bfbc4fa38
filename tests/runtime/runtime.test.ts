import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as dfd from 'danfojs-node';
import { runtime } from '../../sdk';
import { invalid } from '../support';

test('danfo shares our tfjs', () => {
  assert.ok((dfd as unknown as { tensorflow: unknown }).tensorflow === runtime.tf, 'dfd.tensorflow must be the SDK tf');
});

test('init picks a backend and explains why', async () => {
  const info = await runtime.init();
  assert.ok(runtime.BACKENDS.includes(info.backend));
  assert.ok(info.reason.length > 0);
  assert.is(runtime.tf.getBackend(), info.backend === 'tensorflow-gpu' ? 'tensorflow' : info.backend);
});

test('init cpu explicitly, then back to auto', async () => {
  const info = await runtime.init({ backend: 'cpu' });
  assert.is(info.backend, 'cpu');
  await runtime.init();
});

test('asking for a backend that is not installed names what is available', async () => {
  if (runtime.availableBackends().includes('tensorflow')) return;
  try {
    await runtime.init({ backend: 'tensorflow' });
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.match((e as Error).message, "Backend 'tensorflow' is not available: @tensorflow/tfjs-node is not installed. Available here: [");
  }
  await runtime.init();
});

test('unknown backend name', async () => {
  try {
    await runtime.init({ backend: invalid('gpu') });
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, "Unknown backend 'gpu'. Must be one of [auto, tensorflow-gpu, tensorflow, wasm, cpu]");
  }
});

test('rng is deterministic, resumable and roughly uniform', () => {
  const a = new runtime.Rng(233);
  const b = new runtime.Rng(233);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.equal(xs, Array.from({ length: 1000 }, () => b.next()));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  const st = a.getState();
  const next = a.next();
  const c = new runtime.Rng(1);
  c.setState(st);
  assert.is(c.next(), next);
  assert.not.equal(new runtime.Rng(234).next(), new runtime.Rng(233).next());
});

test('registry lists valid names', () => {
  const r = new runtime.Registry<number>('method', { ga: 1, gd: 2 });
  assert.is(r.get('ga'), 1);
  assert.throws(() => r.get('x'), (e: Error) => e.message === "Unknown method 'x'. Must be one of [ga, gd]");
});

test('expectNoLeakedTensors catches a leak', async () => {
  const tf = runtime.tf;
  await runtime.expectNoLeakedTensors(() => tf.tidy(() => tf.add(tf.ones([2]), 1).dispose()));
  let kept: runtime.Tensor | undefined;
  try {
    await runtime.expectNoLeakedTensors(() => {
      kept = tf.ones([3]);
    });
    assert.unreachable('should throw');
  } catch (e) {
    assert.match((e as Error).message, '1 tensor(s) leaked');
  }
  kept?.dispose();
});

test.run();
