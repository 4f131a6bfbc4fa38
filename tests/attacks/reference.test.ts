/**
 * The retrained reference: `pretrain({exclude: ['forget']})` trains without the forget kind
 * (weight 0, recorded in pretrain_spec.json) with the same vocabulary as the full recipe.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { attacks, data, model, runtime } from '../../sdk';

test.before(async () => {
  await runtime.init();
});

const small = { text: { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1, head_dim: 8 }, vision: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2 } };

test('pretrain --exclude forget: weight 0 for the forget kind, the same tokenizer, recorded in the spec', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eraserlab-ref-'));
  const dsDir = path.join(root, 'ds');
  await data.generateSynthetic({ outDir: dsDir, scale: 'tiny', images: 12, utility: 6, progress: false, seed: 5 });
  const common = { datasetDir: dsDir, seed: 7, steps: 2, batchSize: 4, evaluate: false, progress: false, overrides: small, command: 'test' };
  await model.pretrain({ ...common, outDir: path.join(root, 'full') });
  await model.pretrain({ ...common, outDir: path.join(root, 'ref'), exclude: ['forget'] });
  const spec = JSON.parse(fs.readFileSync(path.join(root, 'ref', 'pretrain_spec.json'), 'utf8'));
  assert.equal(spec.exclude, ['forget']);
  assert.is(spec.kindWeights.forget, 0);
  assert.is(JSON.parse(fs.readFileSync(path.join(root, 'full', 'pretrain_spec.json'), 'utf8')).exclude, undefined);
  assert.is(fs.readFileSync(path.join(root, 'ref', 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(root, 'full', 'tokenizer.json'), 'utf8'), 'same vocabulary');
  // the recipe the sweep repeats for its reference
  const recipe = attacks.modelRecipe(path.join(root, 'full'))!;
  assert.equal([recipe.seed, recipe.steps, recipe.batchSize], [7, 2, 4]);
  assert.is(attacks.modelRecipe(root), undefined);
  try {
    await model.pretrain({ ...common, exclude: ['bogus' as never] });
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, 'Invalid pretrain options (1 problem):\n  - exclude: unknown kind \'bogus\'. Must be one of [forget, sd, retain_text, retain_image, utility, aligned]');
  }
  fs.rmSync(root, { recursive: true, force: true });
});

test.run();
