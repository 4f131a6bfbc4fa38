// The public API reference (docs/api.md) is generated from the compiled declarations; it must
// match them, so the public surface changes only on purpose (`npm run build && npm run api`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'fs';
import * as path from 'path';
import * as sdk from '../sdk';

const root = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { report } = require(path.join(root, 'scripts', 'api-report.js')) as { report(): string };

/** The newest .ts under sdk/ and kernel/, to tell a stale dist/ from a stale docs/api.md. */
function newestSource(dir: string): number {
  let best = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    best = Math.max(best, e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }
  return best;
}

test('docs/api.md is the reference generated from the current build', () => {
  const dts = path.join(root, 'dist', 'sdk', 'index.d.ts');
  assert.ok(fs.existsSync(dts), 'dist/ is missing: run `npm run build`');
  const built = fs.statSync(dts).mtimeMs;
  const src = Math.max(newestSource(path.join(root, 'sdk')), newestSource(path.join(root, 'kernel')));
  assert.ok(src <= built, 'dist/ is older than the sources: run `npm run build`');
  const want = report();
  const have = fs.readFileSync(path.join(root, 'docs', 'api.md'), 'utf8');
  if (have !== want) {
    const a = have.split('\n');
    const b = want.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    assert.unreachable(`docs/api.md is stale (first difference at line ${i + 1}: ${JSON.stringify(b[i])}); run \`npm run build && npm run api\` and commit it`);
  }
});

test('the curated namespaces list their names explicitly and keep the earlier names as aliases', () => {
  for (const f of ['model', 'boundary', 'runtime']) {
    const src = fs.readFileSync(path.join(root, 'sdk', f, 'index.ts'), 'utf8');
    assert.not.match(src, /export \* from/, `sdk/${f}/index.ts re-exports a whole module`);
  }
  assert.is(sdk.boundary.gatherRows, sdk.boundary.gatherEmbeddingRows);
  assert.is(sdk.boundary.readSafetensors, sdk.boundary.readSafetensorsMap);
  assert.is(sdk.boundary.pretrain, sdk.boundary.pretrainBert);
  assert.is(sdk.unlearn.IGNORE_INDEX, sdk.model.IGNORE_INDEX);
  assert.is(sdk.data.DEFAULT_SEED, sdk.runtime.DEFAULT_SEED);
  for (const internal of ['VT', 'LM', 'PROJ', 'answerPositions', 'tokenNll']) assert.not.ok(internal in sdk.model, `model.${internal} is internal`);
});

test.run();
