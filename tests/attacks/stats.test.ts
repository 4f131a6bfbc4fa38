import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attacks } from '../../sdk';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('ks2samp: statistic and exact two-sided p-value as scipy.stats.ks_2samp (values from scipy 1.x)', () => {
  let r = attacks.ks2samp([1, 2, 3], [4, 5, 6]);
  close(r.statistic, 1);
  close(r.pvalue, 0.1); // 2 of C(6,3) = 20 orders
  r = attacks.ks2samp([1, 2, 3, 4], [5, 6, 7, 8, 9]);
  close(r.pvalue, 2 / 126);
  r = attacks.ks2samp([1, 3, 5, 7], [2, 4, 6, 8]);
  close(r.statistic, 0.25);
  close(r.pvalue, 1);
  r = attacks.ks2samp([0.1, 0.4, 0.7, 0.2, 0.9], [0.3, 0.5, 0.8]);
  close(r.statistic, 0.4);
  close(r.pvalue, 0.8571428571428572, 1e-12);
  r = attacks.ks2samp([0.11, 0.5, 0.52, 0.9, 0.95, 0.3, 0.31], [0.2, 0.25, 0.27, 0.6, 0.05]);
  close(r.statistic, 0.6571428571428571, 1e-12);
  close(r.pvalue, 0.11616161616161617, 1e-12);
  // the same sample: nothing to tell apart
  r = attacks.ks2samp([1, 2, 3], [1, 2, 3]);
  close(r.statistic, 0);
  close(r.pvalue, 1);
  assert.ok(Number.isNaN(attacks.ks2samp([], [1]).pvalue));
  // fully separated samples of 96: p = 2 / C(192, 96), far below 1 − (1 − p) in doubles
  const a = Array.from({ length: 96 }, (_, i) => i);
  const b = Array.from({ length: 96 }, (_, i) => 1000 + i);
  let logC = 0;
  for (let i = 1; i <= 96; i++) logC += Math.log(96 + i) - Math.log(i);
  const p = attacks.ks2samp(a, b).pvalue;
  assert.ok(p > 0 && Math.abs(Math.log(p) - (Math.log(2) - logC)) < 1e-6, `${p} vs ${Math.exp(Math.log(2) - logC)}`);
});

test('rocAuc: the Mann–Whitney probability, ties count one half (sklearn roc_auc_score)', () => {
  close(attacks.rocAuc([0, 0, 1], [1, 2, 3]), 17 / 18); // one tie between 1 and 1
  close(attacks.rocAuc([1, 2], [3, 4]), 1);
  close(attacks.rocAuc([3, 4], [1, 2]), 0);
  close(attacks.rocAuc([1, 1], [1, 1]), 0.5);
  assert.ok(Number.isNaN(attacks.rocAuc([], [1])));
});

test.run();
