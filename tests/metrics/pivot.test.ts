import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as dfd from 'danfojs-node';
import { metrics } from '../../sdk';

const long = [
  { method: 'vanilla', pd: false, metric: 'forgetRate', split: 'train', value: 1, n: 12, count: 12, unknown: 0 },
  { method: 'vanilla', pd: false, metric: 'sarr', split: 'val', value: 0, n: 12, count: 0, unknown: 0 },
  { method: 'po', pd: false, metric: 'forgetRate', split: 'train', value: 0.0833333, n: 12, count: 1, unknown: 0 },
  { method: 'po', pd: false, metric: 'sarr', split: 'val', value: 0.75, n: 12, count: 9, unknown: 0 },
  { method: 'po', pd: false, metric: 'sarr', split: 'train', value: NaN, n: 0, count: 0, unknown: 0 },
  { method: 'po+pd', pd: true, metric: 'sarr', split: 'val', value: 0.125, n: 12, count: 1, unknown: 0 },
];

test('pivot: methods as rows, metric × split columns, percentages, blanks for NaN and absent', () => {
  const df = metrics.pivot(new dfd.DataFrame(long));
  assert.equal(df.columns, ['method', 'PD', 'forget rate ↓ (train)', 'SARR ↓ (train)', 'SARR ↓ (val)']);
  assert.equal(dfd.toJSON(df), [
    { method: 'vanilla', PD: '', 'forget rate ↓ (train)': '100.0', 'SARR ↓ (train)': '', 'SARR ↓ (val)': '0.0' },
    { method: 'po', PD: '', 'forget rate ↓ (train)': '8.3', 'SARR ↓ (train)': '', 'SARR ↓ (val)': '75.0' },
    { method: 'po+pd', PD: 'yes', 'forget rate ↓ (train)': '', 'SARR ↓ (train)': '', 'SARR ↓ (val)': '12.5' },
  ]);
});

test('pivot: chosen metrics and splits, raw values, own labels; bad input names the columns', () => {
  const df = metrics.pivot(long, { metrics: ['sarr'], splits: ['val'], percent: false, digits: 3, labels: { sarr: 'SARR' }, pdColumn: false });
  assert.equal(df.columns, ['method', 'SARR (val)']);
  assert.equal(df['SARR (val)'].values, ['0.000', '0.750', '0.125']);
  assert.throws(() => metrics.pivot([{ method: 'x', score: 1 }] as never), /metrics\.pivot: not a summary frame/);
});

test.run();
