/**
 * Unlearning benchmark (docs/performance.md, "Unlearning runs").
 *
 * 1. One full default run of one method (po+pd, with its probes) from the vanilla model on the
 *    default synthetic dataset: wall time (budget: 2 minutes), steps/s, tokens/s, tensors alive
 *    before/after (no growth), peak RSS.
 * 2. The same loss on the same batch against the PyTorch peer (tests/bench/peer/llava_peer.py):
 *    a full-parameter GA step (−NLL: the cost of one NLL training step) of the vanilla model on
 *    one forget batch, tfjs vs torch, ratio printed.
 *
 *   npx tsx tests/bench/unlearn.bench.ts [--method po+pd] [--model DIR] [--dataset DIR] [--quick]
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

async function main(): Promise<void> {
  const info = await runtime.init();
  const quick = process.argv.includes('--quick');
  const methodName = arg('method') ?? 'po+pd';
  const modelDir = path.resolve(arg('model') ?? path.join(data.packageRoot(), 'data', 'models', 'vanilla'));
  const dsDir = path.resolve(arg('dataset') ?? (await data.ensureDefaultDataset()));
  const ds = await data.loadSafeEraser(dsDir);
  log(`machine: ${JSON.stringify(machine())}; backend ${info.backend} (${info.threads} threads)`);

  // ---- 1. a full default run --------------------------------------------------------------
  const m = await model.loadPretrained(modelDir);
  const u = unlearn.create(m as unknown as unlearn.UnlearnableModel, ds, { method: methodName, ...(quick ? { steps: 10 } : {}) });
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
  const full = unlearn.create(m as unknown as unlearn.UnlearnableModel, ds, {
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
  let peer: Record<string, unknown> = {};
  const r = spawnSync(PYTHON, [PEER], {
    input: JSON.stringify({ cmd: 'bench', model: modelDir, batch: batchFile, threads: os.cpus().length, trainSteps: steps, trainWarmup: 2, genTokens: 0, lr: 1e-5 }),
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 1 << 26,
  });
  fs.rmSync(batchFile, { force: true });
  try {
    peer = JSON.parse((r.stdout || '').trim().split('\n').pop() || '{}');
  } catch {
    peer = { error: (r.stderr || '').slice(-500) };
  }
  const tfjsMs = median(times);
  const torchMs = Number(peer.trainStepMs);
  const ratio = tfjsMs / torchMs;
  log(
    '\nsame loss (−NLL, full parameters), same batch (8 forget samples, ' +
      `${enc.inputIds[0].length} tokens each):\n` +
      table(['side', 'ms/step', 'steps/s'], [
        [`tfjs ${info.backend}`, fmt(tfjsMs, 0), fmt(1000 / tfjsMs, 2)],
        [`torch ${String(peer.torch ?? '?')} (${String(peer.threads ?? '?')} threads)`, fmt(torchMs, 0), fmt(1000 / torchMs, 2)],
      ]) +
      `\nratio tfjs/torch: ${fmt(ratio, 2)}× the time`,
  );
  m.dispose();
  const out = { machine: machine(), backend: info.backend, run, peer: { tfjsStepMs: tfjsMs, torchStepMs: torchMs, ratio, peer: { torch: peer.torch, threads: peer.threads, error: peer.error } } };
  reportJson(out);
  if (jsonMode()) process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
