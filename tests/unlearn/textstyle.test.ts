// textStyle 'official': training text as the official data module prepares it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { model, runtime, unlearn } from '../../sdk';
import type { UnlearnExample } from '../../sdk/unlearn';
import { tinyDataset } from './helpers';

test.before(async () => {
  await runtime.init();
});

test("pyCapitalize is Python's str.capitalize()", () => {
  assert.is(unlearn.pyCapitalize('provide THE Steps. I am OK'), 'Provide the steps. i am ok');
  assert.is(unlearn.pyCapitalize('élan Vital'), 'Élan vital');
  assert.is(unlearn.pyCapitalize(''), '');
  assert.is(unlearn.pyCapitalize('  leading space'), '  leading space');
  assert.is(unlearn.pyCapitalize('ßtraße'), 'SStraße'.slice(0, 2) + 'traße'); // 'ß'.upper() is 'SS' in Python and JS
});

test('dropEosLabels ignores only the closing EOS label', () => {
  const labels = [
    [-100, -100, 5, 6, 2, -100],
    [-100, 2, 7, 2],
    [-100, 5, 6, 7],
  ];
  assert.equal(unlearn.dropEosLabels(labels, 2), [
    [-100, -100, 5, 6, -100, -100],
    [-100, 2, 7, -100],
    [-100, 5, 6, 7],
  ]);
});

test("textStyle 'official': capitalised text is encoded and the EOS label is dropped (the loss changes); the default is unchanged", async () => {
  assert.is(unlearn.DEFAULTS.textStyle, 'eraserlab');
  const ds = await tinyDataset();
  const losses: Record<string, number> = {};
  const seen: Record<string, UnlearnExample[]> = {};
  for (const textStyle of ['eraserlab', 'official'] as const) {
    const m = await model.loadPretrained('data/models/vanilla');
    const proc = m.processor as unknown as { encode: (e: UnlearnExample[], o: unknown) => unknown };
    const orig = proc.encode.bind(proc);
    seen[textStyle] = [];
    proc.encode = (e: UnlearnExample[], o: unknown) => {
      seen[textStyle].push(...e);
      return orig(e, o);
    };
    const u = unlearn.create(m as never, ds, { method: 'ga', steps: 2, batchSize: 2, lora: { r: 4, alpha: 32 }, textStyle });
    const r = await u.step();
    losses[textStyle] = r.terms.forget_nll;
    u.dispose();
    m.dispose();
  }
  const q = seen.official.map((e) => e.question);
  assert.ok(q.length > 0 && q.every((t) => t === unlearn.pyCapitalize(t)), 'questions capitalised');
  assert.ok(seen.official.every((e) => e.answer === unlearn.pyCapitalize(e.answer)), 'answers capitalised');
  assert.ok(Math.abs(losses.official - losses.eraserlab) > 1e-4, `forget NLL ${losses.official} vs ${losses.eraserlab}`);
});

test.run();
