/**
 * The Unlearner: one method, one model, one dataset; `step()` is one optimiser update, `run()`
 * many, with events a notebook can draw live, probes, checkpoints, a divergence guard and
 * bit-for-bit resume (issue 4).
 *
 * Training loop as the official forget.py runs it: the forget samples in dataset order (no
 * shuffling), micro-batches of `batchSize`, gradients accumulated over
 * `gradientAccumulationSteps` micro-batches, global grad-norm clipping, AdamW with a cosine
 * schedule and warm-up of round(warmupRatio · totalSteps) updates.
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../runtime/tf';
import type { Scalar, Tensor, Tensor3D, Variable } from '../runtime/tf';
import { CheckpointError, ConfigError, DatasetError, DivergenceError, Issue } from '../runtime/errors';
import { Rng } from '../runtime/rng';
import { progress as progressBar } from '../runtime/progress';
import { versions } from '../runtime/versions';
import { backendInfo } from '../runtime/backend';
import { AdamW, GradientAccumulator, LrSchedule, globalNorm, disposeGrads } from '../model/optim';
import { resolveMethod, resolveDefinition, getMethod } from './methods';
import { OPTION_KEYS, resolveConfig, UnlearnConfig, UnlearnOptionsInput } from './options';
import { dropEosLabels, forgetExamples, officialText, pdExamples, recordsWithoutSdImage, retainExamples } from './batches';
import { defaultScorer, probeSample, runProbe, ProbeResult, ProbeScorer, ProbeSample } from './probe';
import { attachLora, AttachedAdapters, encode, generateTexts, processorOf } from './seams';
import { assertOutDirFree, readCheckpoint, writeCheckpoint, type RunSpec, type TrainerState } from './checkpoint';
import { learningRateSchedule, warmupStepsOf } from './schedules';
import type { MethodBatch, MethodBatches, MethodDefinition, MethodSpec, UnlearnDataset, UnlearnExample, UnlearnableModel } from './types';

export interface StepRecord {
  step: number;
  loss: number;
  terms: Record<string, number>;
  lr: number;
  gradNorm: number;
  epoch: number;
}

export interface EvalRecord {
  step: number;
  forgetRate: number;
  refusalRate: number;
  sarr: number;
  retainRouge: number;
  utilityAcc: number;
}

export interface EndRecord {
  step: number;
  reason: 'done' | 'aborted' | 'stopped' | 'diverged';
  message?: string;
}

export interface UnlearnerEvents {
  step: StepRecord;
  eval: EvalRecord;
  end: EndRecord;
}

export interface RunOptions {
  /** Run this many more optimiser steps. */
  steps?: number;
  /** Run until this many epochs (of the forget split) are complete in total. */
  epochs?: number;
  /** Probe every N steps (overrides the run's `evalEvery`). */
  evalEvery?: number;
  onStep?: (r: StepRecord) => void;
  onEval?: (r: EvalRecord) => void;
  /** Stop cleanly (after the current step) when aborted. */
  signal?: AbortSignal;
  /** Show a progress bar (default true; ERASERLAB_QUIET=1 silences it). */
  progress?: boolean;
}

export interface CreateOptions extends UnlearnOptionsInput {
  /**
   * A method name (`'po+pd'`), or `{name, config}`, or a method definition that is not
   * registered (used as is). Method options may also be given at the top level.
   */
  method: string | { name: string; config?: Record<string, unknown> } | MethodDefinition;
  /** Inject a scorer for the probe (e.g. the metrics layer's ROUGE-L and judge). */
  scorer?: ProbeScorer;
  /** Extra fields recorded in the run spec (e.g. where the model and data came from). */
  meta?: Record<string, unknown>;
  [methodOption: string]: unknown;
}

type Listener<K extends keyof UnlearnerEvents> = (r: UnlearnerEvents[K]) => void;

const HISTORY_EVAL = ['forgetRate', 'refusalRate', 'sarr', 'retainRouge', 'utilityAcc'] as const;

function fingerprint(ds: UnlearnDataset): string {
  // FNV-1a over the forget/PD/retain text: enough to tell datasets apart on resume.
  let h = 2166136261 >>> 0;
  const add = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  };
  for (const r of ds.train) add(JSON.stringify([r.image_path, r.SDImage_path, r.unsafe_pairs]));
  return h.toString(16).padStart(8, '0');
}

function checkDataset(ds: UnlearnDataset, def: MethodDefinition): void {
  const issues: Issue[] = [];
  const forget = forgetExamples(ds, 'train');
  if (forget.length === 0) {
    throw new DatasetError(`The forget split is empty: ${ds.train.length} records with ${forget.length} unsafe pairs in all_train.json; nothing to unlearn`, [
      { path: 'all_train.json', file: 'all_train.json', message: 'needs at least one record with unsafe_pairs' },
    ]);
  }
  if (def.uses.pd) {
    for (const i of recordsWithoutSdImage(ds, 'train').slice(0, 20)) {
      issues.push({ path: `all_train.json[${i}].SDImage_path`, message: 'missing or empty' });
    }
    if (issues.length) {
      throw new DatasetError(
        `Method '${def.name}' needs a benign SD image for every forget record (Prompt Decouple loss), but ${recordsWithoutSdImage(ds, 'train').length} record(s) have none; use '${def.name.replace(/\+pd$/, '')}' or add SDImage_path`,
        issues.map((x) => ({ ...x, file: 'all_train.json', field: 'SDImage_path', record: Number(/\[(\d+)\]/.exec(x.path)?.[1]) })),
      );
    }
  }
  if (def.uses.retain && retainExamples(ds, 'train').length === 0) {
    throw new DatasetError(`Method '${def.name}' needs retain pairs (UnharmPair_*) but all_train.json has none`, [{ path: 'all_train.json', file: 'all_train.json', message: 'no UnharmPair_* fields' }]);
  }
  if (def.uses.forgetTarget === 'refusal' && ds.refusals.length === 0) {
    throw new DatasetError(`Method '${def.name}' needs refusal sentences but prompt.json has an empty "idk" list`, [{ path: 'prompt.json.idk', file: 'prompt.json', message: 'empty' }]);
  }
}

function splitOptions(opts: CreateOptions): { method: { name: string; config: Record<string, unknown>; nested: boolean }; global: Record<string, unknown>; extra: string[] } {
  if (opts === null || typeof opts !== 'object') throw new ConfigError('unlearn.create needs options with a method', [{ path: 'method', message: 'required' }]);
  const m = opts.method;
  if (m === undefined) throw new ConfigError('unlearn.create needs a method', [{ path: 'method', message: 'required, e.g. "po+pd"' }]);
  const nested = typeof m === 'object' && m !== null;
  const name = nested ? (m as { name: string }).name : (m as string);
  if (typeof name !== 'string') throw new ConfigError('Invalid unlearning options', [{ path: nested ? 'method.name' : 'method', message: `expected a method name, got ${typeof name}` }]);
  const config: Record<string, unknown> = nested ? { ...((m as { config?: Record<string, unknown> }).config ?? {}) } : {};
  const global: Record<string, unknown> = {};
  const extra: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'method' || k === 'scorer' || k === 'meta') continue;
    if (OPTION_KEYS.includes(k)) global[k] = v;
    else extra.push(k);
  }
  return { method: { name, config, nested }, global, extra };
}

/** A method given as a definition (not registered): it has a loss function. */
function isDefinition(m: unknown): boolean {
  return typeof m === 'object' && m !== null && typeof (m as { loss?: unknown }).loss === 'function';
}

/** One unlearning run. Create with `unlearn.create(model, dataset, {method, ...})`. */
export type { RunSpec } from './checkpoint';

export class Unlearner {
  readonly model: UnlearnableModel;
  readonly dataset: UnlearnDataset;
  readonly method: MethodSpec;
  readonly options: UnlearnConfig;
  readonly spec: RunSpec;
  private readonly def: MethodDefinition;
  private readonly forget: UnlearnExample[];
  private readonly pd: UnlearnExample[];
  private readonly retain: UnlearnExample[];
  private readonly trainable: Map<string, Variable>;
  private readonly initial: Map<string, Tensor>;
  private readonly adapters: AttachedAdapters | undefined;
  private readonly optimizer: AdamW;
  private readonly schedule: LrSchedule;
  private readonly scorer: ProbeScorer;
  private pairRng: Rng;
  private refusalRng: Rng;
  private probes: ProbeSample | undefined;
  private rows: Array<Record<string, number>> = [];
  private listeners: { [K in keyof UnlearnerEvents]: Set<Listener<K>> } = { step: new Set(), eval: new Set(), end: new Set() };
  private state: { step: number; micro: number; epoch: number; stopped: boolean } = { step: 0, micro: 0, epoch: 0, stopped: false };
  private disposed = false;
  private lastEvalStep = -1;
  /** Total optimiser steps of the schedule. */
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  private readonly microPerEpoch: number;

  /** Use `unlearn.create`. Validates everything before any step runs. */
  constructor(model: UnlearnableModel, dataset: UnlearnDataset, opts: CreateOptions) {
    const custom = isDefinition(opts?.method) ? (opts.method as unknown as MethodDefinition) : undefined;
    const parts = splitOptions(custom ? { ...opts, method: { name: custom.name, config: (opts.method as { config?: Record<string, unknown> }).config } } : opts);
    const resolve = (config: Record<string, unknown>, prefix: string) => (custom ? resolveDefinition(custom, config, prefix) : resolveMethod(parts.method.name, config, prefix));
    const { def, spec } = resolve({}, 'method');
    // method options: nested config and top-level keys that are method options
    const cfgIn: Record<string, unknown> = { ...parts.method.config };
    const unknown: Issue[] = [];
    for (const k of parts.extra) {
      if (k in def.options) cfgIn[k] = opts[k];
      else unknown.push({ path: k, message: `unknown option; valid: [${[...OPTION_KEYS, ...Object.keys(def.options), 'scorer', 'meta'].join(', ')}]` });
    }
    let methodSpec: MethodSpec = spec;
    const methodIssues: Issue[] = [];
    try {
      methodSpec = resolve(cfgIn, parts.method.nested ? 'method.config' : '').spec;
    } catch (e) {
      if (e instanceof ConfigError) methodIssues.push(...e.issues.map((i) => ({ ...i, path: i.path.replace(/^\./, '') })));
      else throw e;
    }
    this.options = resolveConfig(parts.global, [...unknown, ...methodIssues]);
    this.def = def;
    this.method = methodSpec;
    this.model = model;
    this.dataset = dataset;
    checkDataset(dataset, def);
    this.forget = forgetExamples(dataset, 'train');
    this.pd = def.uses.pd ? pdExamples(dataset, 'train') : [];
    this.retain = def.uses.retain ? retainExamples(dataset, 'train') : [];
    this.scorer = opts.scorer ?? defaultScorer(dataset.refusals);
    const o = this.options;
    this.microPerEpoch = Math.ceil(this.forget.length / o.batchSize);
    this.stepsPerEpoch = Math.ceil(this.microPerEpoch / o.gradientAccumulationSteps);
    this.totalSteps = o.steps > 0 ? o.steps : Math.max(1, Math.ceil(o.epochs * this.stepsPerEpoch));
    const warmupSteps = warmupStepsOf(o, this.totalSteps);
    this.schedule = learningRateSchedule(o, this.totalSteps);
    this.pairRng = Rng.derive(o.seed, 'unlearn/retain-pairing');
    this.refusalRng = Rng.derive(o.seed, 'unlearn/refusals');

    // trainable parameters: base parameters by the official tune_* flags, plus LoRA
    this.trainable = new Map();
    for (const [k, v] of model.params) {
      const proj = k.includes('multi_modal_projector');
      const vis = k.includes('vision_tower');
      const lm = !proj && !vis;
      if ((proj && o.tuneProjector) || (vis && o.tuneVisionTower) || (lm && o.tuneLanguageModel)) this.trainable.set(k, v);
    }
    if (o.lora && (model as { adapters?: { merged?: boolean } }).adapters && (model as { adapters?: { merged?: boolean } }).adapters?.merged !== true) {
      throw new ConfigError('Invalid unlearning options', [
        {
          path: 'model.adapters',
          message:
            'the model already carries LoRA adapters (from an earlier run); a new run would replace them. ' +
            'Fold them into the weights with the earlier Unlearner\'s mergeAdapters(), remove them with discardAdapters(), or load a fresh model',
        },
      ]);
    }
    this.adapters = o.lora ? attachLora(model, o.lora, o.seed, o.tuneProjector) : undefined;
    if (this.adapters) for (const [k, v] of this.adapters.variables) this.trainable.set(k, v);
    if (this.trainable.size === 0) {
      throw new ConfigError('Invalid unlearning options', [{ path: 'tuneProjector', message: 'the model has no parameter these options would train' }]);
    }
    // the frozen reference (KL, NPO) is the starting point of the trainable parameters
    this.initial = new Map();
    if ((def.uses.reference ?? []).length) for (const [k, v] of this.trainable) this.initial.set(k, tf.keep(v.clone()));
    this.optimizer = new AdamW(this.trainable, { schedule: this.schedule, weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm });

    const trainableShapes: Record<string, number[]> = {};
    for (const [k, v] of this.trainable) trainableShapes[k] = v.shape;
    this.spec = {
      kind: 'eraserlab.unlearn',
      version: 1,
      method: this.method,
      options: this.options,
      model: { config: model.config, source: (model as { sourceDir?: string }).sourceDir, trainable: trainableShapes },
      data: { dir: dataset.dir, forget: this.forget.length, retain: this.retain.length, pd: this.pd.length, refusals: dataset.refusals.length, fingerprint: fingerprint(dataset) },
      schedule: { totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch, warmupSteps, microBatchesPerEpoch: this.microPerEpoch },
      backend: backendInfo() ?? { backend: tf.getBackend() },
      versions: versions(),
      meta: opts.meta,
    };
  }

  /** Number of optimiser steps taken. */
  get stepCount(): number {
    return this.state.step;
  }

  get epoch(): number {
    return this.state.epoch + this.state.micro / this.microPerEpoch;
  }

  /** Whether the stopping rule (stopForgetNll) ended the run. */
  get stopped(): boolean {
    return this.state.stopped;
  }

  /** Subscribe to 'step' | 'eval' | 'end'; returns an unsubscribe function. */
  on<K extends keyof UnlearnerEvents>(event: K, cb: Listener<K>): () => void {
    const set = this.listeners[event] as Set<Listener<K>>;
    if (!set) throw new ConfigError(`Unknown event '${String(event)}'. Must be one of [step, eval, end]`, []);
    set.add(cb);
    return () => set.delete(cb);
  }

  off<K extends keyof UnlearnerEvents>(event: K, cb: Listener<K>): void {
    (this.listeners[event] as Set<Listener<K>>)?.delete(cb);
  }

  private emit<K extends keyof UnlearnerEvents>(event: K, r: UnlearnerEvents[K]): void {
    for (const cb of this.listeners[event] as Set<Listener<K>>) cb(r);
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error('This Unlearner has been disposed');
  }

  /** Forget-order for an epoch (dataset order unless `shuffle`). */
  private order(epoch: number): number[] {
    const idx = this.forget.map((_, i) => i);
    return this.options.shuffle ? Rng.derive(this.options.seed, `unlearn/shuffle/${epoch}`).shuffle(idx) : idx;
  }

  /** Forward the frozen reference: the trainable parameters at their starting values, no dropout. */
  private referenceLogits(b: MethodBatch): Tensor3D {
    const saved = new Map<string, Tensor>();
    for (const [k, v] of this.trainable) saved.set(k, v.clone());
    try {
      for (const [k, v] of this.trainable) v.assign(this.initial.get(k)!);
      return this.model.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, pixelValues: b.pixelValues, training: false }).logits;
    } finally {
      for (const [k, v] of this.trainable) v.assign(saved.get(k)!);
      for (const t of saved.values()) t.dispose();
    }
  }

  /**
   * One training forward pass over several batches concatenated along the batch axis (right
   * padding to the longest), its logits sliced back to each batch's own shape. With causal
   * attention and right padding, the extra positions change nothing before them; one pass of
   * 3B rows costs far less than three passes of B on a CPU, where small kernels dominate.
   */
  private fusedForward(list: Array<MethodBatch | undefined>, memo: Map<MethodBatch, Tensor3D>): void {
    const bs = list.filter((b): b is MethodBatch => b !== undefined);
    if (bs.length < 2) return;
    const T = Math.max(...bs.map((b) => b.inputIds[0].length));
    const pad = (rows: number[][], v: number) => rows.map((r) => (r.length === T ? r : [...r, ...new Array<number>(T - r.length).fill(v)]));
    const inputIds = bs.flatMap((b) => pad(b.inputIds, 0));
    const attentionMask = bs.flatMap((b) => pad(b.attentionMask, 0));
    const pvs = bs.map((b) => b.pixelValues).filter((p): p is NonNullable<typeof p> => p !== undefined);
    const pixelValues = pvs.length === 0 ? undefined : pvs.length === 1 ? pvs[0] : tf.concat(pvs, 0);
    const logits = this.model.forward({ inputIds, attentionMask, pixelValues, training: true }).logits;
    let row = 0;
    for (const b of bs) {
      const n = b.inputIds.length;
      const t = b.inputIds[0].length;
      memo.set(b, logits.slice([row, 0, 0], [n, t, logits.shape[2]]));
      row += n;
    }
  }

  private async makeBatch(examples: UnlearnExample[]): Promise<MethodBatch> {
    if (this.options.textStyle === 'official') {
      const ex = examples.map(officialText);
      const enc = await encode(this.model, ex, true);
      const proc = processorOf(this.model) as { tokenizer?: { eosId?: number }; eosId?: number };
      const eosId = proc.tokenizer?.eosId ?? proc.eosId;
      if (eosId === undefined) {
        throw new ConfigError("textStyle 'official' needs the EOS id of the model's tokenizer", [
          { path: 'model.processor', message: 'expected processor.tokenizer.eosId (or processor.eosId) to drop the </s> label' },
        ]);
      }
      const labels = dropEosLabels(enc.labels.map((r) => [...r]), eosId);
      return { ...enc, labels, examples: ex };
    }
    const enc = await encode(this.model, examples, true);
    return { ...enc, examples };
  }

  private async microBatch(indices: number[]): Promise<MethodBatches> {
    const def = this.def;
    let fEx = indices.map((i) => this.forget[i]);
    if (def.uses.forgetTarget === 'refusal') {
      // official idk: a refusal drawn per sample from prompt.json
      fEx = fEx.map((e) => ({ ...e, answer: this.dataset.refusals[this.refusalRng.int(this.dataset.refusals.length)].trim() }));
    }
    const out: MethodBatches = { forget: await this.makeBatch(fEx) };
    if (def.uses.retain) out.retain = await this.makeBatch(indices.map(() => this.retain[this.pairRng.int(this.retain.length)]));
    if (def.uses.pd) out.pd = await this.makeBatch(indices.map((i) => this.pd[i]));
    for (const which of def.uses.reference ?? []) {
      const b = out[which];
      if (b) b.reference = tf.tidy(() => this.referenceLogits(b));
    }
    return out;
  }

  private static disposeBatches(b: MethodBatches): void {
    for (const x of [b.forget, b.retain, b.pd]) {
      x?.pixelValues?.dispose();
      x?.reference?.dispose();
    }
  }

  /** One optimiser step (gradient accumulation over micro-batches included). */
  async step(): Promise<StepRecord> {
    this.assertAlive();
    const o = this.options;
    if (this.state.micro >= this.microPerEpoch) {
      this.state.epoch += 1;
      this.state.micro = 0;
    }
    const order = this.order(this.state.epoch);
    const acc = new GradientAccumulator();
    const termSums: Record<string, number> = {};
    let lossSum = 0;
    let n = 0;
    try {
      while (n < o.gradientAccumulationSteps && this.state.micro < this.microPerEpoch) {
        const idx = order.slice(this.state.micro * o.batchSize, (this.state.micro + 1) * o.batchSize);
        const batches = await this.microBatch(idx);
        try {
          const kept: Record<string, Scalar> = {};
          const memo = new Map<MethodBatch, Tensor3D>();
          const ctx = {
            forward: (b: MethodBatch) => {
              let l = memo.get(b);
              if (!l) {
                l = this.model.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, pixelValues: b.pixelValues, training: true }).logits;
                memo.set(b, l);
              }
              return l;
            },
          };
          const { value, grads } = tf.variableGrads(() => {
            if (o.fuseBatches) this.fusedForward([batches.forget, batches.retain, batches.pd], memo);
            const r = this.def.loss(batches, this.method.config, ctx);
            for (const [k, t] of Object.entries(r.terms)) kept[k] = tf.keep(t);
            return r.loss;
          }, [...this.trainable.values()]);
          const lossV = value.dataSync()[0];
          value.dispose();
          const named = new Map<string, Tensor>();
          const byName = new Map<string, string>();
          for (const [k, v] of this.trainable) byName.set(v.name, k);
          for (const [vn, g] of Object.entries(grads)) {
            const k = byName.get(vn);
            if (k) named.set(k, g);
            else g.dispose();
          }
          acc.add(named);
          disposeGrads(named);
          lossSum += lossV;
          for (const [k, t] of Object.entries(kept)) {
            termSums[k] = (termSums[k] ?? 0) + t.dataSync()[0];
            t.dispose();
          }
        } finally {
          Unlearner.disposeBatches(batches);
        }
        this.state.micro += 1;
        n += 1;
      }
      const grads = acc.take();
      try {
        const loss = lossSum / n;
        const terms: Record<string, number> = {};
        for (const [k, v] of Object.entries(termSums)) terms[k] = v / n;
        const normT = globalNorm(grads);
        const gradNorm = normT.dataSync()[0];
        normT.dispose();
        const stepNo = this.state.step + 1;
        this.guard(stepNo, loss, terms, gradNorm);
        const info = this.optimizer.applyGradients(grads);
        this.state.step = stepNo;
        const rec: StepRecord = { step: stepNo, loss, terms, lr: info.lr, gradNorm: info.gradNorm, epoch: this.epoch };
        const row: Record<string, number> = { step: rec.step, epoch: rec.epoch, loss, lr: rec.lr, gradNorm: rec.gradNorm };
        for (const [k, v] of Object.entries(terms)) row[`term_${k}`] = v;
        for (const k of HISTORY_EVAL) row[k] = NaN;
        this.rows.push(row);
        if (o.stopForgetNll > 0 && terms.forget_nll !== undefined && terms.forget_nll >= o.stopForgetNll) this.state.stopped = true;
        this.emit('step', rec);
        return rec;
      } finally {
        disposeGrads(grads);
      }
    } finally {
      acc.dispose();
    }
  }

  /** Non-finite or exploding loss / gradient: stop before the update, naming step and term. */
  private guard(step: number, loss: number, terms: Record<string, number>, gradNorm: number): void {
    const o = this.options;
    const bad = Object.entries(terms).find(([, v]) => !Number.isFinite(v) || Math.abs(v) > o.maxLoss);
    const what = !Number.isFinite(loss) ? 'loss' : bad ? `term '${bad[0]}'` : Math.abs(loss) > o.maxLoss ? 'loss' : !Number.isFinite(gradNorm) ? 'gradient norm' : undefined;
    if (!what) return;
    const value = what === 'loss' ? loss : what === 'gradient norm' ? gradNorm : bad![1];
    const kind = Number.isFinite(value) ? `exploded (|${value.toPrecision(4)}| > maxLoss ${o.maxLoss})` : `is ${value}`;
    throw new DivergenceError(
      `Unlearning diverged at step ${step} (method '${this.method.name}'): ${what} ${kind}. ` +
        `The weights are those of step ${step - 1} (the last good step). ` +
        `Lower 'lr' (now ${o.lr}), set 'stopForgetNll' to end gradient ascent at a bound, or raise 'maxLoss'.`,
    );
  }

  /** Run the probe now (greedy answers to a fixed sample) and record it in the history. */
  async evaluate(): Promise<EvalRecord> {
    this.assertAlive();
    const r = await this.probe();
    const rec: EvalRecord = { step: this.state.step, forgetRate: r.forgetRate, refusalRate: r.refusalRate, sarr: r.sarr, retainRouge: r.retainRouge, utilityAcc: r.utilityAcc };
    const row = this.rows.length && this.rows[this.rows.length - 1].step === rec.step ? this.rows[this.rows.length - 1] : undefined;
    if (row) for (const k of HISTORY_EVAL) row[k] = rec[k];
    else {
      const r0: Record<string, number> = { step: rec.step, epoch: this.epoch, loss: NaN, lr: NaN, gradNorm: NaN };
      for (const k of this.termNames()) r0[`term_${k}`] = NaN;
      for (const k of HISTORY_EVAL) r0[k] = rec[k];
      this.rows.push(r0);
    }
    this.lastEvalStep = rec.step;
    this.emit('eval', rec);
    return rec;
  }

  /** The probe's full result (responses included) on the configured split, or another one. */
  async probe(opts: { split?: 'train' | 'val' } = {}): Promise<ProbeResult> {
    const p = this.options.probe;
    const split = opts.split ?? p.split;
    const sample = split === p.split ? (this.probes ??= probeSample(this.dataset, split, p, this.options.seed)) : probeSample(this.dataset, split, p, this.options.seed);
    return runProbe(sample, (ex) => generateTexts(this.model, ex, p.maxNewTokens), this.scorer, p.matchThreshold);
  }

  private termNames(): string[] {
    const keys = new Set<string>();
    for (const r of this.rows) for (const k of Object.keys(r)) if (k.startsWith('term_')) keys.add(k.slice(5));
    return [...keys];
  }

  /**
   * Run until `steps` more steps, `epochs` total epochs, or the schedule's end; probe every
   * `evalEvery` steps; checkpoint every `checkpointEvery` steps and at the end into `outDir`.
   */
  async run(opts: RunOptions = {}): Promise<StepRecord[]> {
    this.assertAlive();
    const o = this.options;
    if (o.outDir) assertOutDirFree(o.outDir, this.spec);
    const target =
      opts.steps !== undefined ? this.state.step + opts.steps : opts.epochs !== undefined ? Math.ceil(opts.epochs * this.stepsPerEpoch) : this.totalSteps;
    const evalEvery = opts.evalEvery ?? o.evalEvery;
    const out: StepRecord[] = [];
    const bar = opts.progress === false ? undefined : progressBar(Math.max(0, target - this.state.step), `unlearn ${this.method.name}`);
    const unsubs = [opts.onStep && this.on('step', opts.onStep), opts.onEval && this.on('eval', opts.onEval)].filter(Boolean) as Array<() => void>;
    let reason: EndRecord['reason'] = 'done';
    try {
      while (this.state.step < target && !this.state.stopped) {
        if (opts.signal?.aborted) {
          reason = 'aborted';
          break;
        }
        const rec = await this.step();
        out.push(rec);
        bar?.tick(1, `loss ${rec.loss.toFixed(3)}`);
        if (evalEvery > 0 && rec.step % evalEvery === 0) await this.evaluate();
        if (o.outDir && o.checkpointEvery > 0 && rec.step % o.checkpointEvery === 0) await this.save(path.join(o.outDir, `checkpoint-${rec.step}`));
      }
      if (this.state.stopped) reason = 'stopped';
      if (evalEvery > 0 && this.lastEvalStep !== this.state.step) await this.evaluate();
      if (o.outDir) await this.save(path.join(o.outDir, 'final'));
    } catch (e) {
      if (e instanceof DivergenceError) {
        bar?.done('diverged');
        this.emit('end', { step: this.state.step, reason: 'diverged', message: e.message });
      }
      throw e;
    } finally {
      for (const u of unsubs) u();
    }
    bar?.done(reason);
    this.emit('end', { step: this.state.step, reason });
    return out;
  }

  /** Steps, losses, terms, lr, gradNorm and probe results as a danfo DataFrame (NaN where not evaluated). */
  get history(): import('danfojs-node').DataFrame {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const dfd = require('danfojs-node') as typeof import('danfojs-node');
    const cols = this.historyColumns();
    const data: Record<string, number[]> = {};
    for (const c of cols) data[c] = this.rows.map((r) => (r[c] === undefined ? NaN : r[c]));
    return new dfd.DataFrame(data as never, { columns: cols } as never);
  }

  /** The history as plain rows. */
  get historyRows(): Array<Record<string, number>> {
    const cols = this.historyColumns();
    return this.rows.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] === undefined ? NaN : r[c]])));
  }

  private historyColumns(): string[] {
    return ['step', 'epoch', 'loss', 'lr', 'gradNorm', ...this.termNames().map((t) => `term_${t}`), ...HISTORY_EVAL];
  }

  private historyCsv(): string {
    const cols = this.historyColumns();
    const lines = [cols.join(',')];
    for (const r of this.historyRows) lines.push(cols.map((c) => (Number.isNaN(r[c]) ? '' : String(r[c]))).join(','));
    return lines.join('\n') + '\n';
  }

  /**
   * Write a checkpoint folder atomically: the trainable weights and optimiser moments
   * (safetensors), the LoRA adapter in PEFT layout (`adapter/`), the run spec, the trainer
   * state (RNG states, schedule position) and the history (CSV + JSON). An existing folder is
   * replaced only once the new one is complete.
   */
  async save(dir: string): Promise<void> {
    this.assertAlive();
    const st = this.optimizer.getState();
    const trainer: TrainerState = {
      step: this.state.step,
      micro: this.state.micro,
      epoch: this.state.epoch,
      pairRng: this.pairRng.getState(),
      refusalRng: this.refusalRng.getState(),
      adapterRng: this.adapters?.getRngState?.(),
      stopped: this.state.stopped,
      optimizerStep: st.step,
    };
    await writeCheckpoint(dir, {
      trainable: this.trainable,
      optimizer: st,
      adapters: this.adapters,
      spec: this.spec,
      trainer,
      historyCsv: this.historyCsv(),
      historyRows: this.historyRows,
    });
  }

  /** Restore weights, optimiser moments, RNG states, schedule position and history from `dir`. */
  loadState(dir: string): void {
    const ck = readCheckpoint(dir, this.trainable);
    const { trainer: ts } = ck;
    try {
      this.optimizer.setState({ step: ts.optimizerStep, m: ck.m, v: ck.v });
    } finally {
      for (const t of [...ck.m.values(), ...ck.v.values()]) t.dispose();
    }
    for (const [k, variable] of this.trainable) {
      const t = ck.weights.get(k)!;
      tf.tidy(() => variable.assign(tf.tensor(t.data, t.shape)));
    }
    this.state = { step: ts.step, micro: ts.micro, epoch: ts.epoch, stopped: ts.stopped };
    this.pairRng.setState(ts.pairRng);
    this.refusalRng.setState(ts.refusalRng);
    if (ts.adapterRng !== undefined) this.adapters?.setRngState?.(ts.adapterRng);
    this.rows = ck.history;
    const lastEval = [...this.rows].reverse().find((r) => !Number.isNaN(r.forgetRate));
    this.lastEvalStep = lastEval ? lastEval.step : -1;
  }

  /**
   * Free what only training needs: the optimiser state and the reference snapshot. The model
   * keeps what the run trained (the LoRA adapters stay attached, a trained projector stays
   * trained), so evaluating `model` after `dispose()` measures the unlearned model; the
   * adapters are freed with the model (`model.dispose()`), or now with `discardAdapters()`.
   */
  dispose(): void {
    if (this.disposed) return;
    this.optimizer.dispose();
    for (const t of this.initial.values()) t.dispose();
    this.initial.clear();
    this.disposed = true;
  }

  /**
   * Remove the run's LoRA adapters from the model and free them (after `dispose()` too). What
   * the run trained in the model's own parameters (the projector, with the default
   * `tuneProjector`) stays: reload the model to get the vanilla one back.
   */
  discardAdapters(): void {
    if (this.adaptersDiscarded) return;
    this.adapters?.detach();
    this.adaptersDiscarded = true;
  }
  private adaptersDiscarded = false;

  /**
   * Fold the run's LoRA adapters into the model's weights (W ← W + (α/r)·A·B) and free them: the
   * model then holds the unlearned weights without adapters, e.g. to save it as a plain
   * checkpoint or to start another run (a relearning attack) from it.
   */
  mergeAdapters(): void {
    if (this.adaptersDiscarded) return;
    this.adapters?.mergeAndDetach?.();
    this.adaptersDiscarded = true;
  }

  /** Whether `dispose()` has run (the model is still usable; this Unlearner is not). */
  get isDisposed(): boolean {
    return this.disposed;
  }
}

/** Start an unlearning run. Every option is validated before any step runs. */
export function create(model: UnlearnableModel, dataset: UnlearnDataset, opts: CreateOptions): Unlearner {
  return new Unlearner(model, dataset, opts);
}

/**
 * Continue a run saved by `save(dir)` exactly where it stopped: same options, weights,
 * optimiser moments, RNG states and schedule position. The model must be the one the run
 * started from (same shapes); the dataset the same (checked by fingerprint).
 */
export function resume(dir: string, model: UnlearnableModel, dataset: UnlearnDataset, opts: { scorer?: ProbeScorer } = {}): Unlearner {
  const specFile = path.join(dir, 'run.json');
  if (!fs.existsSync(specFile)) throw new CheckpointError(`Not an unlearning checkpoint: ${specFile} is missing`, { file: specFile });
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as RunSpec;
  if (spec.kind !== 'eraserlab.unlearn') throw new CheckpointError(`${specFile} is not an eraserlab unlearning run spec (kind '${String(spec.kind)}')`, { file: specFile });
  getMethod(spec.method.name);
  const fp = fingerprint(dataset);
  if (spec.data.fingerprint !== fp) {
    throw new CheckpointError(`The dataset differs from the one this run was started on (fingerprint ${fp}, checkpoint ${spec.data.fingerprint}; ${spec.data.dir})`, { file: specFile });
  }
  const { outDir, ...rest } = spec.options;
  const u = new Unlearner(model, dataset, {
    ...(rest as unknown as UnlearnOptionsInput),
    ...(outDir ? { outDir } : {}),
    method: { name: spec.method.name, config: spec.method.config },
    scorer: opts.scorer,
    meta: spec.meta,
  });
  try {
    u.loadState(dir);
  } catch (e) {
    u.dispose();
    throw e;
  }
  return u;
}
