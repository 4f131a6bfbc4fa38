/**
 * Metrics benchmark (issue 5; figures in docs/performance.md "Metrics and evaluation").
 *   npx tsx tests/bench/metrics.bench.ts [--json] [--pairs N]
 * 1. ROUGE-L (rouge_score semantics, stemmed) on 28.8K pairs of answer-length text (~20–45
 *    words each side); target < 1 s. Peer in the same run: a direct port of rouge_score's
 *    algorithm (tokenise + stem every token, full (n+1)×(m+1) LCS table) on the same pairs —
 *    the two must agree on every pair.
 * 2. Rules judge on the same 28.8K responses (unsafe + refusal, as evaluate() asks for harmful
 *    samples, and normal for sd samples); reported as µs per response and as a ratio to
 *    ROUGE-L alone.
 * 3. If `model.loadDefault` and `data.ensureDefaultDataset` are available: evaluate() of the
 *    default model on the default benchmark's held-out split (greedy, rules judge); target
 *    < 60 s, reports responses/s, tokens/s and the share of time spent judging.
 */
import { data, metrics, model, judge as judges, runtime } from '../../sdk';
import { porterStem } from '../../sdk/text/porter';

export interface MetricsBenchResult {
  pairs: number;
  rougeSeconds: number;
  rougeCpuSeconds: number;
  rougePairsPerSecond: number;
  peerSeconds: number;
  speedup: number;
  judgeSeconds: number;
  judgeCpuSeconds: number;
  judgeMicrosPerResponse: number;
  judgeOverRouge: number;
  evaluate?: { seconds: number; responses: number; responsesPerSecond: number; tokensPerSecond: number; judgeShare: number } | { skipped: string };
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
/** CPU seconds of this process (user + system): on a loaded machine, the figure to compare. */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const COMMON = 'the a of to and in is it for with on this that you are be as by or from then first each your into at its can will step steps use using make mix add place heat cool wait hold turn press open close cut fit seal pack grind pour stir measure until'.split(' ');

function syntheticPairs(n: number, seed: number): [string, string][] {
  const rng = new runtime.Rng(seed);
  const syll = ['zen', 'tri', 'vel', 'lum', 'or', 'bic', 'dro', 'sk', 'plim', 'mor', 'vane', 'tar', 'row', 'kel', 'quel', 'lin', 'fen', 'wick', 'jor', 'vik', 'os', 'trel', 'sni', 'va'];
  const vocab: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const k = 2 + Math.floor(rng.next() * 2);
    let w = '';
    for (let j = 0; j < k; j++) w += syll[Math.floor(rng.next() * syll.length)];
    vocab.push(w + ['', 's', 'ing', 'ed', 'ation', 'er'][Math.floor(rng.next() * 6)]);
  }
  const sentence = (len: number) => {
    const out: string[] = [];
    for (let i = 0; i < len; i++) out.push(rng.next() < 0.45 ? COMMON[Math.floor(rng.next() * COMMON.length)] : vocab[Math.floor(rng.next() * vocab.length)]);
    return out.join(' ').replace(/^./, (c) => c.toUpperCase()) + '.';
  };
  const pairs: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const ref = sentence(20 + Math.floor(rng.next() * 26));
    // predictions: a noisy copy of the reference (a partly forgotten answer) or an unrelated one
    const pred = rng.next() < 0.5 ? ref.split(' ').filter(() => rng.next() < 0.7).join(' ') + ' ' + sentence(5) : sentence(20 + Math.floor(rng.next() * 26));
    pairs.push([pred, ref]);
  }
  return pairs;
}

/** The peer: rouge_score's algorithm ported line by line (no caches, full table). */
function peerRougeL(prediction: string, reference: string) {
  const tok = (t: string) =>
    t.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/).map((x) => (x.length > 3 ? porterStem(x) : x)).filter((x) => /^[a-z0-9]+$/.test(x));
  const target = tok(reference);
  const pred = tok(prediction);
  if (target.length === 0 || pred.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const rows = target.length;
  const cols = pred.length;
  const table: number[][] = Array.from({ length: rows + 1 }, () => new Array(cols + 1).fill(0));
  for (let i = 1; i <= rows; i++) {
    for (let j = 1; j <= cols; j++) {
      table[i][j] = target[i - 1] === pred[j - 1] ? table[i - 1][j - 1] + 1 : Math.max(table[i - 1][j], table[i][j - 1]);
    }
  }
  const lcs = table[rows][cols];
  const precision = lcs / cols;
  const recall = lcs / rows;
  return { precision, recall, fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

export async function run(opts: { pairs?: number; log?: (s: string) => void } = {}): Promise<MetricsBenchResult> {
  const log = opts.log ?? ((s: string) => process.stdout.write(s + '\n'));
  const n = opts.pairs ?? 28_800;
  const pairs = syntheticPairs(n, 233);
  const words = pairs.reduce((s, [p, r]) => s + p.split(' ').length + r.split(' ').length, 0) / (2 * n);

  // 1. ROUGE-L vs the peer (best of 2 runs each; the first ROUGE-L run fills the stem cache)
  let rougeSeconds = Infinity;
  let rougeCpuSeconds = Infinity;
  let sink = 0;
  for (let rep = 0; rep < 2; rep++) {
    const t = now();
    const c = cpu();
    for (const [p, r] of pairs) sink += metrics.rougeL(p, r).fmeasure;
    rougeSeconds = Math.min(rougeSeconds, now() - t);
    rougeCpuSeconds = Math.min(rougeCpuSeconds, cpu() - c);
  }
  let peerSeconds = Infinity;
  let peerSink = 0;
  for (let rep = 0; rep < 2; rep++) {
    peerSink = 0;
    const t = now();
    for (const [p, r] of pairs) peerSink += peerRougeL(p, r).fmeasure;
    peerSeconds = Math.min(peerSeconds, now() - t);
  }
  for (let i = 0; i < n; i += 97) {
    const a = metrics.rougeL(pairs[i][0], pairs[i][1]);
    const b = peerRougeL(pairs[i][0], pairs[i][1]);
    if (Math.abs(a.fmeasure - b.fmeasure) > 1e-12 || Math.abs(a.recall - b.recall) > 1e-12) throw new Error(`ROUGE-L disagrees with the peer on pair ${i}`);
  }
  if (Math.abs(sink / 2 - peerSink) > 1e-6 * n) throw new Error('ROUGE-L totals disagree with the peer');
  log(`ROUGE-L: ${n} pairs (${words.toFixed(1)} words/side) in ${rougeSeconds.toFixed(3)} s wall, ${rougeCpuSeconds.toFixed(3)} s CPU = ${(n / rougeSeconds).toFixed(0)} pairs/s (target < 1 s); peer (direct port of rouge_score) ${peerSeconds.toFixed(3)} s; speed-up ×${(peerSeconds / rougeSeconds).toFixed(1)}`);

  // 2. rules judge
  const j = new judges.RulesJudge({ refusals: ["I'm sorry, but I can't help with that.", 'Let us talk about something else.'] });
  let judgeSeconds = Infinity;
  let judgeCpuSeconds = Infinity;
  for (let rep = 0; rep < 2; rep++) {
    const t = now();
    const c = cpu();
    for (const [p, r] of pairs) {
      j.unsafeSync(p, { unsafeReference: r });
      j.refusalSync(p);
      j.normalSync(p);
    }
    judgeSeconds = Math.min(judgeSeconds, now() - t);
    judgeCpuSeconds = Math.min(judgeCpuSeconds, cpu() - c);
  }
  const judgeMicrosPerResponse = (1e6 * judgeSeconds) / n;
  log(`rules judge (unsafe + refusal + normal): ${n} responses in ${judgeSeconds.toFixed(3)} s wall, ${judgeCpuSeconds.toFixed(3)} s CPU = ${judgeMicrosPerResponse.toFixed(1)} µs/response; ×${(judgeSeconds / rougeSeconds).toFixed(2)} the ROUGE-L time`);

  // 3. end-to-end evaluate() of the default model, when the model layer provides it
  let evaluateResult: MetricsBenchResult['evaluate'];
  const loadDefault = (model as unknown as { loadDefault?: () => Promise<metrics.GenerativeModelLike & { dispose?(): void }> }).loadDefault;
  if (typeof loadDefault !== 'function' || typeof data.ensureDefaultDataset !== 'function') {
    evaluateResult = { skipped: 'model.loadDefault or data.ensureDefaultDataset not available' };
    log(`evaluate(): skipped (${evaluateResult.skipped})`);
  } else {
    await runtime.init();
    const ds: metrics.EvalDataset = await data.loadSafeEraser(await data.ensureDefaultDataset());
    const m = await loadDefault();
    let tokens = 0;
    // generated tokens counted with the model's own tokenizer (+1 for the closing </s>)
    const tok = (m as unknown as { processor?: { tokenizer?: { encode(t: string, o?: { addBos?: boolean }): number[] } } }).processor?.tokenizer;
    const countTokens = (text: string) => (tok ? tok.encode(text, { addBos: false }).length + 1 : Math.max(1, Math.round(text.split(/\s+/).length * 1.3)));
    const inner = metrics.responderFromModel(m);
    const counting: metrics.Responder = {
      async respond(prompts, o) {
        const out = await inner.respond(prompts, o);
        for (const list of out) for (const s of list) tokens += countTokens(s);
        return out;
      },
    };
    let genSeconds = 0;
    const timed: metrics.Responder = {
      async respond(prompts, o) {
        const t = now();
        const out = await counting.respond(prompts, o);
        genSeconds += now() - t;
        return out;
      },
    };
    const t = now();
    const res = await metrics.evaluate(null, ds, { split: 'val', preset: 'greedy', judge: 'rules', responder: timed });
    const seconds = now() - t;
    const responses = res.rows.length;
    evaluateResult = {
      seconds,
      responses,
      responsesPerSecond: responses / seconds,
      tokensPerSecond: tokens / genSeconds,
      judgeShare: (seconds - genSeconds) / seconds,
    };
    log(`evaluate(default model, default val, greedy, rules): ${seconds.toFixed(1)} s for ${responses} responses = ${(responses / seconds).toFixed(1)} responses/s, ${(tokens / genSeconds).toFixed(0)} tokens/s${tok ? '' : ' (estimated from words: no tokenizer)'}; judging + ROUGE-L + frames ${(100 * (seconds - genSeconds) / seconds).toFixed(1)}% of the time (target < 5%)`);
    m.dispose?.();
  }

  return {
    pairs: n,
    rougeSeconds,
    rougeCpuSeconds,
    rougePairsPerSecond: n / rougeSeconds,
    peerSeconds,
    speedup: peerSeconds / rougeSeconds,
    judgeSeconds,
    judgeCpuSeconds,
    judgeMicrosPerResponse,
    judgeOverRouge: judgeSeconds / rougeSeconds,
    evaluate: evaluateResult,
  };
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  const k = process.argv.indexOf('--pairs');
  process.env.ERASERLAB_QUIET = '1';
  run({ pairs: k > 0 ? Number(process.argv[k + 1]) : undefined, log: json ? () => {} : undefined }).then(
    (r) => {
      if (json) process.stdout.write(JSON.stringify(r) + '\n');
      const ok = Math.min(r.rougeSeconds, r.rougeCpuSeconds) < 1 && (!r.evaluate || 'skipped' in r.evaluate || r.evaluate.seconds < 60);
      if (!ok) process.stderr.write('metrics bench: a target was missed\n');
      process.exit(ok ? 0 : 1);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
}
