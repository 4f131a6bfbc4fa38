// Learning-rate schedules of an unlearning run: warmup, then constant, linear decay or cosine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { learningRateSchedule, warmupStepsOf } from '../../sdk/unlearn/schedules';
import { cosineSchedule } from '../../sdk/model/optim';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('warmup is round(warmupRatio × steps) and ramps linearly from 0', () => {
  assert.is(warmupStepsOf({ warmupRatio: 0.06 }, 100), 6);
  assert.is(warmupStepsOf({ warmupRatio: 0.06 }, 8), 0);
  const f = learningRateSchedule({ scheduler: 'constant', lr: 1e-3, warmupRatio: 0.1 }, 100);
  close(f(0), 0, 'step 0');
  close(f(5), 5e-4, 'step 5');
  close(f(10), 1e-3, 'end of warmup');
  close(f(99), 1e-3, 'constant after warmup');
});

test('linear decays to 0 at the last step; cosine is model/optim cosineSchedule', () => {
  const lin = learningRateSchedule({ scheduler: 'linear', lr: 2e-3, warmupRatio: 0 }, 10);
  close(lin(0), 2e-3, 'linear 0');
  close(lin(5), 1e-3, 'linear 5');
  close(lin(10), 0, 'linear 10');
  close(lin(12), 0, 'linear past the end');
  const cos = learningRateSchedule({ scheduler: 'cosine', lr: 1e-3, warmupRatio: 0.2 }, 20);
  const ref = cosineSchedule({ lr: 1e-3, totalSteps: 20, warmupSteps: 4 });
  for (let s = 0; s <= 20; s++) close(cos(s), ref(s), `cosine ${s}`);
});

test.run();
