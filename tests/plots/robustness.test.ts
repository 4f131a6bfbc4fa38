import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plots, runtime } from '../../sdk';

const row = (method: string, attack: string, family: string, metric: string, split: string, value: number) => ({ method, pd: method.endsWith('+pd'), attack, family, metric, split, value, n: 4 });
const frame = [
  row('ga', 'none', 'baseline', 'forgetRate', 'train', 0.1),
  row('ga', 'role-play', 'prompt', 'forgetRate', 'train', 0.2),
  row('ga', 'blur', 'image', 'forgetRate', 'train', 0.3),
  row('ga', 'relearn-forget', 'relearn', 'forgetRate', 'rest', 0.9),
  row('ga', 'relearn-forget', 'relearn', 'forgetRate@0', 'rest', 0.1),
  row('ga', 'relearn-forget', 'relearn', 'forgetRate@5', 'rest', 0.9),
  row('ga+pd', 'none', 'baseline', 'forgetRate', 'train', 0.0),
  row('ga+pd', 'relearn-forget', 'relearn', 'forgetRate@0', 'rest', 0.0),
  row('ga+pd', 'relearn-forget', 'relearn', 'forgetRate@5', 'rest', 0.5),
  row('ga+pd', 'relearn-forget', 'relearn', 'forgetRate', 'rest', 0.5),
  row('ga', 'loss', 'mia', 'auc', 'train|val', 0.4),
];

test('robustnessHeatmap: models × attacks in family order, relearning after its last k, missing cells empty', () => {
  const f = plots.robustnessHeatmap(frame);
  const h = f.data[0] as { x: string[]; y: string[]; z: Array<Array<number | null>> };
  assert.equal(h.x, ['no attack', 'role-play', 'blur', 'relearn-forget']);
  assert.equal(h.y, ['ga', 'ga+pd']);
  assert.equal(h.z, [
    [0.1, 0.2, 0.3, 0.9],
    [0.0, null, null, 0.5],
  ]);
  assert.throws(() => plots.robustnessHeatmap(frame, { metric: 'auc' }), (e: Error) => e instanceof runtime.ConfigError && e.message.includes("no rows for metric 'auc'") && e.message.includes('must be one of [forgetRate]'));
});

test('relearningCurve: one line per model over k, dotted with PD', () => {
  const f = plots.relearningCurve(frame);
  assert.is(f.data.length, 2);
  const [a, b] = f.data as Array<{ name: string; x: number[]; y: number[]; line: { dash: string } }>;
  assert.equal([a.name, a.x, a.y, a.line.dash], ['ga', [0, 5], [0.1, 0.9], 'solid']);
  assert.equal([b.name, b.x, b.y, b.line.dash], ['ga+pd', [0, 5], [0, 0.5], 'dot']);
  assert.throws(() => plots.relearningCurve(frame, { attack: 'relearn-benign' }), (e: Error) => e.message.includes("no rows for attack 'relearn-benign'") && e.message.includes('must be one of [relearn-forget]'));
  assert.throws(() => plots.relearningCurve(frame.filter((r) => r.family !== 'relearn')), (e: Error) => e.message.includes('the frame has no relearning rows'));
});

test.run();
