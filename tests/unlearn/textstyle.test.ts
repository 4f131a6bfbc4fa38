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

test("padViews 'common': the views share one length; NLL terms unchanged, the KL term normalised over it", async () => {
  const b1 = { inputIds: [[1, 2, 3], [1, 2]], labels: [[-100, 2, 3], [-100, 2]], attentionMask: [[1, 1, 1], [1, 1]] };
  const b2 = { inputIds: [[1, 2, 3, 4, 5]], labels: [[-100, -100, 3, 4, 5]], attentionMask: [[1, 1, 1, 1, 1]] };
  assert.is(unlearn.padToCommonLength([b1, b2], 0), 5);
  assert.equal(b1.inputIds, [[1, 2, 3, 0, 0], [1, 2, 0, 0, 0]]);
  assert.equal(b1.labels, [[-100, 2, 3, -100, -100], [-100, 2, -100, -100, -100]]);
  assert.equal(b1.attentionMask[1], [1, 1, 0, 0, 0]);
  const ds = await tinyDataset();
  const terms: Record<string, Record<string, number>> = {};
  for (const padViews of ['own', 'common'] as const) {
    const m = await model.loadPretrained('data/models/vanilla');
    const u = unlearn.create(m as never, ds, { method: 'kl', steps: 2, batchSize: 2, lora: { r: 4, alpha: 32, dropout: 0 }, padViews });
    // steps 1-2 leave the model equal to its reference as far as KL goes (warm-up lr 0, then a
    // zero KL gradient): step 3 has the same parameters in both runs and a KL term above 0
    await u.step();
    await u.step();
    terms[padViews] = (await u.step()).terms;
    u.dispose();
    m.dispose();
  }
  assert.ok(Math.abs(terms.own.forget_nll - terms.common.forget_nll) < 1e-4, `forget NLL ${terms.own.forget_nll} vs ${terms.common.forget_nll}`);
  assert.ok(terms.own.kl > 0 && terms.common.kl > 0, `kl ${terms.own.kl}, ${terms.common.kl}`);
  assert.ok(Math.abs(terms.own.kl - terms.common.kl) > 1e-3 * terms.own.kl, `kl ${terms.own.kl} vs ${terms.common.kl}`);
});

test.run();
