import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as zlib from 'zlib';
import { attacks, runtime, unlearn } from '../../sdk';
import { tinyDataset, tinyModel, tf } from '../unlearn/helpers';

test.before(async () => {
  await runtime.init();
});

const stats: attacks.AnswerStats = {
  tokenLogProbs: Float32Array.from([-1, -2, -3, -4, -5]),
  mu: Float32Array.from([-1, -1, -1, -1, -1]),
  sigma2: Float32Array.from([1, 4, 0, 1, 1]),
  avgLoss: 2.5,
  text: 'the answer the answer',
};

function score(name: string, params: Record<string, unknown> = {}): number {
  const r = attacks.resolveAttack(name, params) as attacks.ResolvedAttack<attacks.MiaAttackDefinition>;
  return r.def.score(stats, r.params);
}

test('scores as OpenUnlearning computes them (signed like the loss)', () => {
  assert.is(score('loss'), 2.5);
  assert.ok(Math.abs(score('zlib') - 2.5 / zlib.deflateSync(Buffer.from(stats.text)).length) < 1e-12);
  // min_k, k = 0.4: int(5 · 0.4) = 2 lowest log-probs (−5, −4) → 4.5
  assert.ok(Math.abs(score('min_k') - 4.5) < 1e-6);
  // k = 0.1: max(1, int(0.5)) = 1 token
  assert.ok(Math.abs(score('min_k', { k: 0.1 }) - 5) < 1e-6);
  // min_k++: z = (lp − μ)/√max(σ², 1e-6) = [0, −0.5, −2000, −3, −4]; lowest two: −2000, −4 → 1002
  assert.ok(Math.abs(score('min_k++') - 1002) < 1e-3, String(score('min_k++')));
});

test('answerStats: mean NLL equals the trainer loss of each answer; token-wise stats skip the EOS prediction; no tensor leaks', async () => {
  const ds = await tinyDataset();
  const m = await tinyModel(5);
  const exs = unlearn.forgetExamples(ds, 'train').slice(0, 5);
  const got = await runtime.expectNoLeakedTensors(() => attacks.answerStats(m, exs, { batchSize: 2 }), { label: 'answerStats' });
  assert.is(got.length, 5);
  const proc = m.processor as unknown as { encode(e: unknown[], o: { withAnswer: boolean }): Promise<{ inputIds: number[][]; labels: number[][]; attentionMask: number[][]; pixelValues?: { dispose(): void } }> };
  for (let i = 0; i < exs.length; i++) {
    const b = await proc.encode([exs[i]], { withAnswer: true });
    const want = tf.tidy(() => unlearn.answerNll(m.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, pixelValues: b.pixelValues as never }).logits, b.labels).dataSync()[0]);
    b.pixelValues?.dispose();
    assert.ok(Math.abs(got[i].avgLoss - want) < 1e-4, `${got[i].avgLoss} vs ${want}`);
    const nLabels = b.labels[0].filter((x) => x !== -100).length;
    assert.is(got[i].tokenLogProbs.length, nLabels - 1);
    for (let t = 0; t < got[i].mu.length; t++) {
      assert.ok(got[i].mu[t] <= 0 && got[i].sigma2[t] >= -1e-5, 'μ is an expected log-prob, σ² a variance');
      assert.ok(got[i].tokenLogProbs[t] <= 0);
    }
  }
  m.dispose();
});

test.run();
