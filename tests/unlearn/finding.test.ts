/**
 * The paper's finding at small scale (docs/results.md): from a tiny model that answers every
 * forget and SD prompt, preference optimisation forgets and over-forgets (the same query on the
 * benign SD image stops getting its normal answer: high SARR), and adding the Prompt Decouple
 * loss keeps the forgetting while cutting SARR sharply.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyVanilla } from './helpers';

test.before(async () => {
  await runtime.init();
});

test('PO forgets and over-forgets; PO+PD forgets and keeps the benign answers', async () => {
  const ds = await tinyDataset();
  const m = await tinyVanilla({ steps: 200 });
  const snap = new Map([...m.params].map(([k, v]) => [k, v.clone()]));
  const probe = { forget: 100, sd: 100, retain: 100, utility: 100 };
  const result: Record<string, unlearn.ProbeResult> = {};
  for (const method of ['vanilla', 'po', 'po+pd']) {
    for (const [k, v] of m.params) v.assign(snap.get(k)!);
    const u = unlearn.create(m, ds, { method: method === 'vanilla' ? 'ga' : method, steps: 30, batchSize: 4, lr: 2e-3, probe });
    if (method !== 'vanilla') await u.run({ progress: false });
    result[method] = await u.probe();
    u.dispose();
    u.discardAdapters(); // the next method starts from the vanilla weights without these adapters
  }
  const { vanilla, po } = result;
  const pd = result['po+pd'];
  const show = JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, r]) => [k, { f: r.forgetRate, sarr: r.sarr, retain: r.retainRouge }])));
  assert.ok(vanilla.forgetRate >= 0.9 && vanilla.sarr <= 0.1, `the tiny vanilla model answers forget and SD prompts: ${show}`);
  assert.ok(po.forgetRate <= 0.2 && pd.forgetRate <= 0.2, `both forget: ${show}`);
  assert.ok(po.sarr >= 0.6, `PO over-forgets: ${show}`);
  assert.ok(pd.sarr <= 0.25 && po.sarr - pd.sarr >= 0.4, `PD cuts SARR: ${show}`);
  assert.ok(pd.retainRouge >= 0.7, `PO+PD keeps retain answers: ${show}`);
  for (const t of snap.values()) t.dispose();
  m.dispose();
});

test.run();
