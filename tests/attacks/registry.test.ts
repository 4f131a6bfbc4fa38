import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attacks, runtime } from '../../sdk';

test('every family has its attacks, each with a doc line and parameters whose defaults pass their own checks', () => {
  assert.equal(attacks.attackNames('relearn'), ['relearn-forget', 'relearn-benign']);
  assert.equal(attacks.attackNames('prompt'), ['prefix-injection', 'role-play', 'ignore-instructions', 'paraphrase', 'multi-turn', 'distractors']);
  assert.equal(attacks.attackNames('image'), ['gaussian-noise', 'blur', 'jpeg', 'crop-rescale', 'rotate', 'color-jitter', 'typographic']);
  assert.equal(attacks.attackNames('mia'), ['loss', 'zlib', 'min_k', 'min_k++']);
  for (const d of attacks.attackDefinitions()) {
    assert.ok(d.doc.length > 10, d.name);
    for (const [k, s] of Object.entries(d.params)) assert.is(attacks.checkParam(s.default, s, k), undefined, `${d.name}.${k}`);
  }
  assert.is(attacks.describeAttacks().length, attacks.attackNames().length);
});

test('unknown attack names list the valid ones', () => {
  try {
    attacks.getAttack('bogus');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.UnknownComponentError);
    assert.is((e as Error).message, `Unknown attack 'bogus'. Must be one of [${attacks.attackNames().join(', ')}]`);
    assert.ok((e as Error).message.startsWith("Unknown attack 'bogus'. Must be one of [relearn-forget, relearn-benign, prefix-injection"));
  }
});

test('resolveAttack fills defaults and reports every bad parameter with its path', () => {
  const r = attacks.resolveAttack('relearn-forget');
  assert.equal(r.params, { steps: [4, 8, 16], fraction: 0.1, category: '', lr: 1e-3, batchSize: 8 });
  assert.equal(attacks.resolveAttack('min_k', { k: 0.2 }).params, { k: 0.2 });
  try {
    attacks.resolveAttack('relearn-forget', { steps: [0, 5], fraction: 2, bogus: 1 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, runtime.ConfigError);
    assert.is(
      (e as Error).message,
      "Invalid parameters for attack 'relearn-forget' (3 problems):\n" +
        '  - attacks.relearn-forget.steps: expected a list of integers ≥ 1 (each ≥ 1), got [0, 5]\n' +
        '  - attacks.relearn-forget.fraction: expected a number ≥ 0 and ≤ 1, got 2\n' +
        "  - attacks.relearn-forget.bogus: unknown parameter of attack 'relearn-forget'; valid: [steps, fraction, category, lr, batchSize]",
    );
  }
});

test('registerAttack checks the definition and adds it (a short section of docs/adding-an-attack.md)', () => {
  try {
    attacks.registerAttack({ name: 'x y', family: 'prompt', doc: '', params: {} } as never);
    assert.unreachable();
  } catch (e) {
    assert.is(
      (e as Error).message,
      "Invalid attack definition 'x y' (3 problems):\n  - name: must be a non-empty name of letters, digits, +, %, _ or -\n  - doc: must be a one-line description\n  - transform: a prompt attack needs a transform() function",
    );
  }
  attacks.registerAttack({ name: 'shout', family: 'prompt', doc: 'the query in capitals', params: {}, transform: (q) => q.toUpperCase() });
  assert.ok(attacks.attackNames('prompt').includes('shout'));
  const r = attacks.resolveAttack('shout') as attacks.ResolvedAttack<attacks.PromptAttackDefinition>;
  assert.is(r.def.transform('how?', r.params, { category: '', keyword: '', id: 'x', seed: 1 }), 'HOW?');
});

test.run();
