/**
 * Unlearning benchmark (docs/performance.md, "Unlearning runs").
 *
 * 1. One full default run of one method (po+pd, with its probes) from the vanilla model on the
 *    default synthetic dataset: wall time (budget: 2 minutes), steps/s, tokens/s, tensors alive
 *    before/after (no growth), peak RSS.
 * 1b. The same method for --leak-steps N updates (default 200; 50 with --quick; 0 skips) without
 *    probes: tensors alive and RSS sampled along the way; growth after step 1 must be 0.
 * 2. The same loss on the same batch against the PyTorch peer (tests/bench/peer/llava_peer.py):
 *    a full-parameter GA step (−NLL: the cost of one NLL training step) of the vanilla model on
 *    one forget batch, tfjs vs torch, ratio printed.
 *
 *   npx tsx tests/bench/unlearn.bench.ts [--method po+pd] [--model DIR] [--dataset DIR] [--quick] [--leak-steps N]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { data, model, runtime, unlearn } from '../../sdk';
import { jsonMode, machine, median, reportJson, table, fmt } from './harness';

const PYTHON = process.env.ERASERLAB_BENCH_PYTHON || '/usr/bin/python3';
const PEER = path.join(__dirname, 'peer', 'llava_peer.py');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const log = (s: string) => (jsonMode() ? process.stderr : process.stdout).write(s + '\n');

/**
 * `--small`: every method with and without PD at small scale, from a tiny model fine-tuned on a
 * 12-image synthetic dataset until it answers everything (tests/unlearn/helpers.ts tinyVanilla),
 * probing every forget / SD / retain prompt of both splits. Prints a Markdown table
 * (docs/results.md).
 */
async function small(): Promise<void> {
  const info = await runtime.init();
  const { tinyDataset, tinyVanilla } = await import('../unlearn/helpers');
  const { resultsTable } = await import('../../sdk/cli/commands/unlearn');
  const images = Number(arg('images') ?? 12);
  const steps = Number(arg('steps') ?? 30);
  const lr = Number(arg('lr') ?? 2e-3);
  const ds = await tinyDataset(images);
  const t0 = Date.now();
  const m = await tinyVanilla({ images, steps: Number(arg('pretrain') ?? 300) });
  log(`tiny vanilla: ${images} images (${ds.train.length} train / ${ds.val.length} val records), ${[...m.params.values()].reduce((a, v) => a + v.size, 0)} parameters, trained in ${fmt((Date.now() - t0) / 1000)} s; backend ${info.backend}`);
  const snap = new Map([...m.params].map(([k, v]) => [k, v.clone()]));
  const all = 1000;
  const probe = { forget: all, sd: all, retain: all, utility: all, maxNewTokens: 32 };
  const rows: Array<{ method: string; train: unlearn.ProbeResult; val: unlearn.ProbeResult; seconds: number }> = [];
  for (const method of ['vanilla', 'ga', 'gd', 'kl', 'po', 'npo', 'ga+pd', 'gd+pd', 'kl+pd', 'po+pd', 'npo+pd']) {
    for (const [k, v] of m.params) v.assign(snap.get(k)!);
    const t = Date.now();
    const u = unlearn.create(m, ds, { method: method === 'vanilla' ? 'ga' : method, steps: method === 'vanilla' ? 1 : steps, batchSize: 4, lr, probe });
    if (method !== 'vanilla') await u.run({ progress: false });
    const seconds = (Date.now() - t) / 1000;
    rows.push({ method, train: await u.probe({ split: 'train' }), val: await u.probe({ split: 'val' }), seconds });
    u.discardAdapters();
    u.dispose();
    const r = rows[rows.length - 1];
    log(`${method}: forget ${fmt(100 * r.train.forgetRate)}% refusal ${fmt(100 * r.train.refusalRate)}% SARR ${fmt(100 * r.train.sarr)}% / val ${fmt(100 * r.val.sarr)}% retain ${fmt(100 * r.train.retainRouge)}% utility ${fmt(100 * r.train.utilityAcc)}%`);
  }
  for (const t of snap.values()) t.dispose();
  m.dispose();
  log('\n' + resultsTable(rows));
  const out = { machine: machine(), backend: info.backend, images, steps, lr, rows: rows.map((r) => ({ method: r.method, seconds: r.seconds, train: { ...r.train, responses: undefined }, val: { ...r.val, responses: undefined } })) };
  reportJson(out);
}

async function main(): Promise<void> {
  if (process.argv.includes('--small')) return small();
  const info = await runtime.init();
  const quick = process.argv.includes('--quick');
  const methodName = arg('method') ?? 'po+pd';
  const modelDir = path.resolve(arg('model') ?? path.join(data.packageRoot(), 'data', 'models', 'vanilla'));
  const dsDir = path.resolve(arg('dataset') ?? (await data.ensureDefaultDataset()));
  const ds = await data.loadSafeEraser(dsDir);
  log(`machine: ${JSON.stringify(machine())}; backend ${info.backend} (${info.threads} threads)`);

  // ---- 1. a full default run --------------------------------------------------------------
  const m = await model.loadPretrained(modelDir);
  const u = unlearn.create(m, ds, { method: methodName, ...(quick ? { steps: 10 } : {}) });
  const evalEvery = Math.max(1, Math.round(u.totalSteps / 4));
  const tensorsBefore = runtime.tf.memory().numTensors;
  let tokens = 0;
  const proc = (m as unknown as { processor: { encode: unlearn.UnlearnableModel['processor'] } }).processor as unknown as {
    encode: (e: unlearn.UnlearnExample[], o: { withAnswer: boolean }) => Promise<unlearn.EncodedBatch>;
  };
  // count tokens the run trains on (attention mask ones of every encoded training batch)
  const origEncode = proc.encode.bind(proc);
  proc.encode = async (e, o) => {
    const b = await origEncode(e, o);
    if (o.withAnswer) for (const row of b.attentionMask) for (const x of row) tokens += x;
    return b;
  };
  const t0 = Date.now();
  const recs = await u.run({ evalEvery, progress: !jsonMode() });
  const trainAndProbeS = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const final = await u.probe({ split: 'train' });
  const finalProbeS = (Date.now() - t1) / 1000;
  const totalS = trainAndProbeS + finalProbeS;
  const tensorsAfter = runtime.tf.memory().numTensors;
  const evalRows = u.historyRows.filter((r) => !Number.isNaN(r.sarr)).length;
  proc.encode = origEncode;
  // the model is reused below: its adapters go with this run (dispose() leaves them on the model)
  u.discardAdapters();
  u.dispose();
  const tensorsAfterDispose = runtime.tf.memory().numTensors;
  const run = {
    method: methodName,
    steps: recs.length,
    probes: evalRows + 1,
    seconds: totalS,
    stepsPerS: recs.length / trainAndProbeS,
    tokensPerS: tokens / trainAndProbeS,
    underTwoMinutes: totalS < 120,
    tensorsBefore,
    tensorsAfter,
    tensorsAfterDispose,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    final: { forgetRate: final.forgetRate, refusalRate: final.refusalRate, sarr: final.sarr, retainRouge: final.retainRouge, utilityAcc: final.utilityAcc },
  };
  log(
    `\nfull default run (${methodName}): ${run.steps} steps + ${run.probes} probes in ${fmt(totalS)} s ` +
      `(${run.underTwoMinutes ? 'within' : 'OVER'} the 2-minute budget); ${fmt(run.stepsPerS, 2)} steps/s, ${fmt(run.tokensPerS, 0)} tokens/s; ` +
      `tensors ${tensorsBefore} → ${tensorsAfter} (after dispose ${tensorsAfterDispose}); peak RSS ${fmt(run.peakRssMiB, 0)} MiB`,
  );

  // ---- 1b. no tensor growth over a long run (--leak-steps N, default 200; 0 skips) ----------
  const leakSteps = Number(arg('leak-steps') ?? (quick ? 50 : 200));
  let leak: { steps: number; tensors: Array<{ step: number; numTensors: number; rssMiB: number }>; growth: number; peakRssMiB: number } | undefined;
  if (leakSteps > 0) {
    const lu = unlearn.create(m, ds, { method: methodName, steps: leakSteps });
    const series: Array<{ step: number; numTensors: number; rssMiB: number }> = [];
    const every = Math.max(1, Math.round(leakSteps / 8));
    for (let i = 1; i <= leakSteps; i++) {
      await lu.step();
      if (i === 1 || i % every === 0 || i === leakSteps) series.push({ step: i, numTensors: runtime.tf.memory().numTensors, rssMiB: process.memoryUsage().rss / 1048576 });
    }
    lu.discardAdapters();
    lu.dispose();
    const growth = series[series.length - 1].numTensors - series[0].numTensors;
    leak = { steps: leakSteps, tensors: series, growth, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
    log(
      `\n${leakSteps} steps of ${methodName} (no probes): tensors alive ${series.map((x) => `${x.step}:${x.numTensors}`).join(' ')} → growth ${growth} after step 1 ` +
        `(${growth === 0 ? 'no leak' : 'LEAK'}); RSS ${series.map((x) => fmt(x.rssMiB, 0)).join(' ')} MiB; peak RSS ${fmt(leak.peakRssMiB, 0)} MiB`,
    );
  }

  // ---- 2. the same loss on the same batch vs the PyTorch peer -------------------------------
  const forget = unlearn.forgetExamples(ds).slice(0, 8);
  const enc = await origEncode(forget, { withAnswer: true });
  const batchFile = path.join(os.tmpdir(), `eraserlab-unlearn-bench-${process.pid}.safetensors`);
  model.writeSafetensors(batchFile, {
    input_ids: { shape: [enc.inputIds.length, enc.inputIds[0].length], data: Int32Array.from(enc.inputIds.flat()) },
    labels: { shape: [enc.labels.length, enc.labels[0].length], data: Int32Array.from(enc.labels.flat()) },
    pixel_values: { shape: enc.pixelValues!.shape, data: enc.pixelValues!.dataSync() as Float32Array },
  });
  const steps = quick ? 3 : 8;
  // tfjs: an Unlearner 'ga' step, all parameters trained (as the peer), one micro-batch of 8
  const full = unlearn.create(m, ds, {
    method: 'ga', lora: false, tuneLanguageModel: true, tuneProjector: true, tuneVisionTower: true, batchSize: 8, steps: 100, warmupRatio: 0, lr: 1e-5,
  });
  const times: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const s = Date.now();
    await full.step();
    if (i >= 2) times.push(Date.now() - s);
  }
  full.dispose();
  enc.pixelValues?.dispose();
  // The peer on every core and on one thread (OpenBLAS's own pool limited too: torch's
  // set_num_threads does not reach it); the faster one is the comparison.
  const runPeer = (threads: number): Record<string, unknown> => {
    const r = spawnSync(PYTHON, [PEER], {
      input: JSON.stringify({ cmd: 'bench', model: modelDir, batch: batchFile, threads, trainSteps: steps, trainWarmup: 2, genTokens: 0, lr: 1e-5 }),
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 1 << 26,
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    });
    try {
      return JSON.parse((r.stdout || '').trim().split('\n').pop() || '{}') as Record<string, unknown>;
    } catch {
      return { error: (r.stderr || '').slice(-500) };
    }
  };
  const peers = [...new Set([os.cpus().length, 1])].map(runPeer);
  fs.rmSync(batchFile, { force: true });
  const peer = peers.filter((p) => Number.isFinite(Number(p.trainStepMs))).sort((a, b) => Number(a.trainStepMs) - Number(b.trainStepMs))[0] ?? peers[0];
  const tfjsMs = median(times);
  const torchMs = Number(peer.trainStepMs);
  const ratio = tfjsMs / torchMs;
  const batchTokens = enc.inputIds.length * enc.inputIds[0].length; // tokens per step (image tokens included)
  log(
    '\nsame loss (−NLL, full parameters), same batch (8 forget samples, ' +
      `${enc.inputIds[0].length} tokens each):\n` +
      table(['side', 'ms/step', 'steps/s', 'tokens/s'], [
        [`tfjs ${info.backend}`, fmt(tfjsMs, 0), fmt(1000 / tfjsMs, 2), fmt((batchTokens * 1000) / tfjsMs, 0)],
        ...peers.map((p) => [
          `torch ${String(p.torch ?? '?')} (${String(p.threads ?? '?')} thread${p.threads === 1 ? '' : 's'})${p === peer ? ' *' : ''}`,
          fmt(Number(p.trainStepMs), 0),
          fmt(1000 / Number(p.trainStepMs), 2),
          fmt((batchTokens * 1000) / Number(p.trainStepMs), 0),
        ]),
      ]) +
      '\n(* the faster PyTorch setting, used for the ratio)' +
      `\nratio tfjs/torch: ${fmt(ratio, 2)}× the time`,
  );
  m.dispose();
  const out = { machine: machine(), backend: info.backend, run, leak, peer: { tfjsStepMs: tfjsMs, torchStepMs: torchMs, ratio, tokensPerStep: batchTokens, tfjsTokensPerS: (batchTokens * 1000) / tfjsMs, torchTokensPerS: (batchTokens * 1000) / torchMs, peer: { torch: peer.torch, threads: peer.threads, error: peer.error } } };
  reportJson(out);
  if (jsonMode()) process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
