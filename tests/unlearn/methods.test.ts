import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyModel, tf } from './helpers';
import { invalid } from '../support';

const FAST = { batchSize: 2, steps: 4, lr: 1e-3, lora: { r: 4, alpha: 32 } };

test.before(async () => {
  await runtime.init();
});

test('the registry holds every SafeEraser method with and without PD', () => {
  assert.equal(unlearn.methodNames().slice(0, 10), ['ga', 'gd', 'kl', 'po', 'npo', 'ga+pd', 'gd+pd', 'kl+pd', 'po+pd', 'npo+pd']);
  assert.is(unlearn.getMethod('idk').name, 'po');
  assert.is(unlearn.getMethod('idkpd').name, 'po+pd');
  assert.is(unlearn.getMethod('gapd').name, 'ga+pd');
});

test('official weights are the defaults, each an option', () => {
  const d = (m: string) => unlearn.resolveMethod(m).spec.config;
  assert.equal(d('ga+pd'), { pdWeight: 0.5 });
  assert.equal(d('gd'), { retainWeight: 1 });
  assert.equal(d('gd+pd'), { retainWeight: 0.5, pdWeight: 0.5 });
  assert.equal(d('kl+pd'), { klWeight: 1, pdWeight: 1 });
  assert.equal(d('po+pd'), { pdWeight: 1 });
  assert.equal(d('npo'), { beta: 0.1, retainWeight: 1 });
  assert.equal(d('npo+pd'), { beta: 0.1, retainWeight: 1, pdWeight: 1 });
  assert.equal(unlearn.resolveMethod('gd+pd', { pdWeight: 0.25 }).spec, { name: 'gd+pd', config: { retainWeight: 0.5, pdWeight: 0.25 } });
});

test('unknown method lists the valid ones', () => {
  try {
    unlearn.resolveMethod('gradient-ascent');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.UnknownComponentError);
    assert.is((e as Error).message, "Unknown method 'gradient-ascent'. Must be one of [ga, gd, kl, po, npo, ga+pd, gd+pd, kl+pd, po+pd, npo+pd]".replace(']', (unlearn.methodNames().length > 10 ? ', ' + unlearn.methodNames().slice(10).join(', ') : '') + ']'));
  }
});

test('wrong option types and ranges give the path of each', () => {
  try {
    unlearn.resolveMethod('npo+pd', { beta: 0, pdWeight: 'high', retainWeight: -1, gamma: 2 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      [
        "Invalid options for method 'npo+pd' (4 problems):",
        '  - method.beta: expected a number > 0, got 0',
        '  - method.retainWeight: expected a number ≥ 0, got -1',
        '  - method.pdWeight: expected a number ≥ 0, got string',
        "  - method.gamma: unknown option for method 'npo+pd'; valid: [beta, retainWeight, pdWeight]",
      ].join('\n'),
    );
  }
});

test('every built-in method takes a step; loss is the weighted sum of its terms', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  const expect: Record<string, (t: Record<string, number>) => number> = {
    ga: (t) => -t.forget_nll,
    gd: (t) => -t.forget_nll + t.retain_nll,
    kl: (t) => -t.forget_nll + t.kl,
    po: (t) => t.po,
    npo: (t) => t.npo + t.retain_nll,
    'ga+pd': (t) => -t.forget_nll + 0.5 * t.pd,
    'gd+pd': (t) => -t.forget_nll + 0.5 * t.retain_nll + 0.5 * t.pd,
    'kl+pd': (t) => -t.forget_nll + t.kl + t.pd,
    'po+pd': (t) => t.po + t.pd,
    'npo+pd': (t) => t.npo + t.retain_nll + t.pd,
  };
  for (const [name, f] of Object.entries(expect)) {
    const u = unlearn.create(m, ds, { method: name, ...FAST });
    const r = await u.step();
    assert.ok(Math.abs(r.loss - f(r.terms)) < 1e-4, `${name}: loss ${r.loss} vs terms ${JSON.stringify(r.terms)}`);
    assert.ok(r.gradNorm > 0 && Number.isFinite(r.gradNorm), name);
    if (name.startsWith('kl')) assert.ok(Math.abs(r.terms.kl) < 1e-6, 'KL to the reference is 0 at the start');
    if (name.startsWith('npo')) assert.ok(Math.abs(r.terms.npo - 20 * Math.log(2)) < 1e-3, 'NPO at the reference is 2/β·log 2');
    u.dispose();
    u.discardAdapters(); // the next method starts from the same model without this run's adapters
  }
  m.dispose();
});

test('one fused forward pass gives the same losses as separate passes', async () => {
  const ds = await tinyDataset();
  const out: Array<Record<string, number>> = [];
  for (const fuseBatches of [true, false]) {
    const m = await tinyModel(9);
    const u = unlearn.create(m, ds, { method: 'kl+pd', ...FAST, lora: { r: 4, alpha: 32, dropout: 0 }, fuseBatches });
    const r1 = await u.step();
    const r2 = await u.step();
    out.push({ ...r1.terms, loss2: r2.loss });
    u.dispose();
    m.dispose();
  }
  for (const k of Object.keys(out[0])) assert.ok(Math.abs(out[0][k] - out[1][k]) < 1e-4, `${k}: ${out[0][k]} vs ${out[1][k]}`);
});

test('a user-defined method: one definition, one registration', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel();
  unlearn.registerMethod({
    name: 'retain-only',
    summary: 'fine-tune on the retain set only (a sanity baseline)',
    options: { scale: { type: 'number', default: 2, min: 0, doc: 'loss multiplier' } },
    uses: { retain: true },
    loss(b, o, ctx) {
      const r = unlearn.answerNll(ctx.forward(b.retain!), b.retain!.labels);
      return { loss: r.mul(o.scale as number), terms: { retain_nll: r } };
    },
  });
  const u = unlearn.create(m, ds, { method: 'retain-only', scale: 3, ...FAST });
  const r = await u.step();
  assert.ok(Math.abs(r.loss - 3 * r.terms.retain_nll) < 1e-5);
  assert.equal(u.method, { name: 'retain-only', config: { scale: 3 } });
  u.dispose();
  assert.throws(() => unlearn.registerMethod({ name: '', summary: '', options: {}, uses: {}, loss: invalid(undefined) }), /Invalid method definition '' \(2 problems\)/);
  m.dispose();
  void tf;
});

test('withPromptDecouple(def): PD weight 1.0 by default, no official name; npo+pd is built that way', () => {
  const ga = unlearn.getMethod('ga');
  const d = unlearn.withPromptDecouple(ga);
  assert.is(d.name, 'ga+pd');
  assert.is(d.options.pdWeight.default, 1);
  assert.is(d.official, undefined);
  assert.is(unlearn.withPromptDecouple(ga, 0.5, 'gapd').options.pdWeight.default, 0.5);
  assert.is(unlearn.getMethod('npo+pd').options.pdWeight.default, 1);
  assert.is(unlearn.OFFICIAL_DEFAULTS.tuneProjector, unlearn.OFFICIAL_DEFAULTS.tuneMmProjector);
});

test.run();
