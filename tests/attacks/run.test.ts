import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attacks, runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyModel } from '../unlearn/helpers';

test.before(async () => {
  await runtime.init();
  process.env.ERASERLAB_QUIET = '1';
});

/** A model that fails the test if anything generates or forwards with it. */
function untouchable(adapters = true): attacks.AttackModel {
  const fail = () => {
    throw new Error('work started before the input was checked');
  };
  return { params: new Map(), config: {}, forward: fail, generate: fail, processor: { encode: fail, decode: fail }, ...(adapters ? { adapters: {} } : {}) } as unknown as attacks.AttackModel;
}

test('bad input is refused before any work: unknown attack, k < 1, an empty slice, a model without adapters', async () => {
  const ds = await tinyDataset(24);
  try {
    await attacks.runAttacks([{ method: 'ga', model: untouchable() }], ds, { attacks: ['loss', 'bogus'] });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.UnknownComponentError);
    assert.ok((e as Error).message.startsWith("Unknown attack 'bogus'. Must be one of [relearn-forget, relearn-benign,"), (e as Error).message);
  }
  try {
    await attacks.runAttacks([{ method: 'ga', model: untouchable(false) }], ds, {
      attacks: ['relearn-forget', 'relearn-benign', 'loss'],
      params: { 'relearn-forget': { steps: [0] }, 'relearn-benign': { fraction: 0.01 } },
    });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    const N = ds.train.length;
    assert.is(
      (e as Error).message,
      'Invalid attack run (3 problems):\n' +
        '  - params.relearn-forget.steps: expected a list of integers ≥ 1 (each ≥ 1), got [0]\n' +
        `  - params.relearn-benign.fraction: 0.01 of ${N} forget records rounds to 0; use at least ${(0.5 / N).toPrecision(2)} (one record), or a category\n` +
        "  - targets[0].model: 'ga' is attacked as an unlearned model but the model has no adapters: pass the model while its Unlearner is alive (unlearn.create(...).run(), before dispose()), or role 'base' for a model used as it is",
    );
  }
  // membership inference needs held-out answers
  const noVal = await tinyDataset(12);
  assert.throws(
    () => attacks.planAttacks([{ method: 'vanilla', model: untouchable() }], noVal, { attacks: ['loss', 'zlib'] }),
    (e: Error) => e.message === 'Invalid attack run (1 problem):\n  - attacks: membership inference (loss, zlib) compares forget answers with held-out answers of the same kind, but all_val.json has no unsafe_pairs',
  );
  // the vanilla model is used as it is: no adapters needed
  assert.not.throws(() => attacks.planAttacks([{ method: 'vanilla', model: untouchable(false) }], ds, { attacks: ['loss'] }));
});

test('runAttacks: rows of every family for an unlearned model, the vanilla model and a reference; frame, CSV and JSON; no leaks', async () => {
  const ds = await tinyDataset(24);
  const vanilla = await tinyModel(3, 24);
  const ga = await tinyModel(3, 24);
  const ref = await tinyModel(4, 24);
  const u = unlearn.create(ga, ds, { method: 'ga', steps: 2, seed: 1 });
  await u.run({ progress: false });
  const imageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-attack-img-'));
  const r = await runtime.expectNoLeakedTensors(
    () =>
      attacks.runAttacks(
        [
          { method: 'vanilla', model: vanilla as attacks.AttackModel },
          { method: 'ga', model: ga as attacks.AttackModel },
          { method: 'retrained', model: ref as attacks.AttackModel },
        ],
        ds,
        { attacks: ['relearn-forget', 'prefix-injection', 'typographic', 'loss', 'min_k++'], params: { 'relearn-forget': { steps: [1, 2], fraction: 0.25 } }, limit: 2, miaLimit: 3, maxNewTokens: 4, imageDir },
      ),
    { label: 'runAttacks' },
  );
  const fams = new Set(r.rows.map((x) => x.family));
  for (const f of ['baseline', 'relearn', 'prompt', 'image', 'mia', 'reference']) assert.ok(fams.has(f as never), `family ${f}`);
  assert.equal(r.frame.columns, ['method', 'pd', 'attack', 'family', 'metric', 'split', 'value', 'n']);
  assert.is(r.frame.shape[0], r.rows.length);
  const one = (m: string, attack: string, metric: string, split: string) => r.rows.filter((x) => x.method === m && x.attack === attack && x.metric === metric && x.split === split);
  // the relearning curve: k = 0, 1, 2 on both splits, and the final point equals k = 2
  for (const k of [0, 1, 2]) assert.is(one('ga', 'relearn-forget', `forgetRate@${k}`, 'rest').length, 1);
  assert.is(one('ga', 'relearn-forget', 'forgetRate', 'rest')[0].value, one('ga', 'relearn-forget', 'forgetRate@2', 'rest')[0].value);
  const rec = one('ga', 'relearn-forget', 'recovery', 'rest')[0];
  assert.ok(Math.abs(rec.value - (one('ga', 'relearn-forget', 'forgetRate@2', 'rest')[0].value - one('ga', 'relearn-forget', 'forgetRate@0', 'rest')[0].value)) < 1e-12);
  // MIA: AUC in [0, 1] over forget + held-out answers of the first 3 records per split
  const auc = one('ga', 'loss', 'auc', 'train|val')[0];
  assert.ok(auc.value >= 0 && auc.value <= 1);
  const nF = unlearn.forgetExamples(ds, 'train').filter((e) => e.record < 3).length + unlearn.forgetExamples(ds, 'val').filter((e) => e.record < 3).length;
  assert.is(auc.n, nF);
  // reference distances: the reference itself has none, the others one of each
  assert.is(r.rows.filter((x) => x.family === 'reference' && x.method === 'retrained').length, 0);
  const fq = one('ga', 'none', 'forgetQuality', 'train')[0];
  assert.ok(fq.value >= 0 && fq.value <= 1 && fq.n > 0, JSON.stringify(fq));
  assert.is(one('ga', 'loss', 'miaAucGap', 'train')[0].value, Math.abs(auc.value - one('retrained', 'loss', 'auc', 'train|val')[0].value));
  // image attacks wrote their images once, reused for the next model
  const files = fs.readdirSync(imageDir);
  assert.is(files.length, 1);
  // CSV / JSON round trip
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-attacks-'));
  attacks.writeAttacks(out, r.rows);
  const back = attacks.readAttacks(out);
  assert.is(back.length, r.rows.length);
  assert.equal(back.map((x) => [x.method, x.pd, x.metric, x.n]), r.rows.map((x) => [x.method, x.pd, x.metric, x.n]));
  assert.ok(back.every((x, i) => (Number.isNaN(x.value) && Number.isNaN(r.rows[i].value)) || Math.abs(x.value - r.rows[i].value) < 1e-12));
  const csv = fs.readFileSync(path.join(out, 'attacks.csv'), 'utf8').split('\n');
  assert.is(csv[0], 'method,pd,attack,family,metric,split,value,n');
  assert.is(csv.length, r.rows.length + 2);
  u.dispose();
  for (const m of [vanilla, ga, ref]) m.dispose();
});

test.run();
