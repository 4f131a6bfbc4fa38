import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attacks } from '../../sdk';

const r = (method: string, attack: string, family: string, metric: string, split: string, value: number): attacks.AttackRow => ({ method, pd: method.endsWith('+pd'), attack, family: family as attacks.RowFamily, metric, split, value, n: 32 });

test('robustnessTable: the strongest attack of a family is the one under which the most knowledge comes back', () => {
  const rows = [
    r('ga+pd', 'none', 'baseline', 'forgetRate', 'train', 0.05),
    r('ga+pd', 'role-play', 'prompt', 'forgetRate', 'train', 0.1),
    r('ga+pd', 'paraphrase', 'prompt', 'forgetRate', 'train', 0.4),
    r('ga+pd', 'blur', 'image', 'forgetRate', 'train', 0.2),
    r('ga+pd', 'blur', 'image', 'forgetRate', 'val', 0.9),
    r('ga+pd', 'relearn-forget', 'relearn', 'forgetRate@0', 'rest', 0.05),
    r('ga+pd', 'relearn-forget', 'relearn', 'forgetRate', 'rest', 0.75),
    r('ga+pd', 'relearn-benign', 'relearn', 'forgetRate', 'rest', 0.25),
    r('ga+pd', 'loss', 'mia', 'auc', 'train|val', 0.3),
    r('ga+pd', 'min_k++', 'mia', 'auc', 'train|val', 0.45),
    r('ga+pd', 'none', 'reference', 'forgetQuality', 'train', 0.0123),
  ];
  const [t] = attacks.robustnessTable(rows);
  assert.equal(t, { method: 'ga+pd', pd: true, forget: 0.05, relearnBefore: 0.05, relearnAfter: 0.75, benignAfter: 0.25, prompt: 0.4, promptAttack: 'paraphrase', image: 0.2, imageAttack: 'blur', aucLoss: 0.3, aucMinKpp: 0.45, forgetQuality: 0.0123 });
  const md = attacks.robustnessMarkdown(rows).split('\n');
  assert.is(md[2], '| ga+pd | ✓ | 5% | 5% → 75% | 25% | 40% (paraphrase) | 20% (blur) | 0.30 / 0.45 | 0.012 |');
});

test.run();
