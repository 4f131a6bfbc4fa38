/**
 * `attacks.run(targets, dataset, opts)`: every selected attack against every target model
 * (unlearned models, the vanilla model, the retrained reference), as one frame of rows
 * `method, pd, attack, family, metric, split, value, n`. Everything is checked before any
 * model is touched: attack names and parameters, the relearning slice, the targets.
 *
 * Per target: the baseline (no attack) on the forget split (forgetRate, asr, sarr) and the
 * held-out split; each prompt attack on the forget queries; each image attack on the forget
 * images and the benign SD images (SARR); membership-inference AUC of forget vs held-out
 * answers; the relearning attacks (curve over k, on the rest of the forget set and the
 * held-out split). With a reference target, distances to it per target (family 'reference').
 */
import { ConfigError, type Issue } from '../runtime/errors';
import type { Judge } from '../judge/types';
import type { EvalDataset, GenerativeModelLike } from '../metrics/evaluate';
import type { SampleKind } from '../metrics/types';
import { forgetExamples } from '../unlearn/batches';
import type { UnlearnDataset, UnlearnableModel } from '../unlearn/types';
import { attackDefinitions, attackNames, getAttack, resolveAttack } from './registry';
import { answerStats } from './mia';
import { relearnModel, relearnRecords, relearnSlice, type RelearnSlice } from './relearn';
import { ks2samp, rocAuc } from './stats';
import { ImageCache, scoreUnder, type MetricValues } from './probe';
import { attacksFrame } from './frame';
import type { AttackRow, ImageAttackDefinition, MiaAttackDefinition, PromptAttackDefinition, RelearnAttackDefinition, ResolvedAttack, RowFamily } from './types';
import type * as dfdT from 'danfojs-node';

export type AttackModel = UnlearnableModel & GenerativeModelLike;

/** A model to attack, under the name its rows carry. */
export interface AttackTarget {
  /** 'ga+pd', 'vanilla', 'retrained', ... */
  method: string;
  /** Default: the name ends with '+pd'. */
  pd?: boolean;
  model: AttackModel;
  /**
   * 'unlearned' (default unless the method is 'vanilla' or 'retrained'): the model must carry
   * the LoRA adapters its Unlearner attached. 'base': a model used as it is (vanilla).
   * 'reference': the retrained reference the others are compared to.
   */
  role?: 'unlearned' | 'base' | 'reference';
}

export interface RunAttacksOptions {
  /** Attack names (default: every registered attack). */
  attacks?: readonly string[];
  /** Parameters per attack name, e.g. `{'relearn-forget': {steps: [5, 10]}}`. */
  params?: Record<string, Record<string, unknown>>;
  /** Forget / held-out records evaluated per generation split (default 8: 32 harmful prompts). */
  limit?: number;
  /** Records whose answers the membership scores use, per split (default 24: 96 answers each). */
  miaLimit?: number;
  maxNewTokens?: number;
  seed?: number;
  judge?: string | Judge;
  /** Where transformed images are cached (default: under the OS temp dir). */
  imageDir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Called with each target's rows when it is done (e.g. to write partial results). */
  onTarget?: (method: string, rows: AttackRow[]) => void;
}

export interface RunAttacksResult {
  rows: AttackRow[];
  frame: dfdT.DataFrame;
}

/** The defaults in one place (the CLI's --help prints them). */
export const RUN_DEFAULTS = { limit: 8, miaLimit: 24, maxNewTokens: 24, seed: 233 } as const;

interface Plan {
  prompt: ResolvedAttack<PromptAttackDefinition>[];
  image: ResolvedAttack<ImageAttackDefinition>[];
  mia: ResolvedAttack<MiaAttackDefinition>[];
  relearn: Array<ResolvedAttack<RelearnAttackDefinition> & { slice: RelearnSlice }>;
}

function roleOf(t: AttackTarget): NonNullable<AttackTarget['role']> {
  return t.role ?? (t.method === 'vanilla' ? 'base' : t.method === 'retrained' ? 'reference' : 'unlearned');
}

/** Resolve and check everything; throws (listing every problem) before any work starts. */
export function planAttacks(targets: readonly AttackTarget[], ds: UnlearnDataset & EvalDataset, opts: RunAttacksOptions = {}): Plan {
  const names = opts.attacks ?? attackNames();
  const issues: Issue[] = [];
  if (names.length === 0) issues.push({ path: 'attacks', message: `no attack selected. Must be some of [${attackNames().join(', ')}]` });
  for (const n of names) getAttack(n); // unknown names: UnknownComponentError listing the valid ones
  for (const k of Object.keys(opts.params ?? {})) if (!names.includes(k)) issues.push({ path: `params.${k}`, message: `parameters for an attack that is not selected (selected: [${names.join(', ')}])` });
  const seed = opts.seed ?? RUN_DEFAULTS.seed;
  const plan: Plan = { prompt: [], image: [], mia: [], relearn: [] };
  for (const n of names) {
    try {
      const r = resolveAttack(n, opts.params?.[n] ?? {}, `params.${n}`);
      if (r.def.family === 'prompt') plan.prompt.push(r as ResolvedAttack<PromptAttackDefinition>);
      else if (r.def.family === 'image') plan.image.push(r as ResolvedAttack<ImageAttackDefinition>);
      else if (r.def.family === 'mia') plan.mia.push(r as ResolvedAttack<MiaAttackDefinition>);
      else {
        const slice = relearnSlice(ds.train, { fraction: Number(r.params.fraction), category: String(r.params.category) }, seed, `params.${n}`);
        plan.relearn.push({ ...(r as ResolvedAttack<RelearnAttackDefinition>), slice });
      }
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (plan.mia.length && forgetExamples(ds, 'val').length === 0) {
    issues.push({ path: 'attacks', message: `membership inference (${plan.mia.map((a) => a.def.name).join(', ')}) compares forget answers with held-out answers of the same kind, but all_val.json has no unsafe_pairs` });
  }
  for (const k of ['limit', 'miaLimit', 'maxNewTokens'] as const) {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) issues.push({ path: k, message: `must be an integer ≥ 1, got ${v}` });
  }
  if (targets.length === 0) issues.push({ path: 'targets', message: 'no model to attack' });
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    if (seen.has(t.method)) issues.push({ path: `targets[${i}].method`, message: `'${t.method}' appears twice` });
    seen.add(t.method);
    const m = t.model as unknown as { processor?: { encode?: unknown }; adapters?: unknown; generate?: unknown };
    if (!m || typeof m.generate !== 'function') issues.push({ path: `targets[${i}].model`, message: `'${t.method}': not a model (no generate())` });
    else if (!m.processor || typeof m.processor.encode !== 'function') issues.push({ path: `targets[${i}].model`, message: `'${t.method}': the model has no processor (tokenizer); load it with model.loadPretrained(dir)` });
    if (roleOf(t) === 'unlearned' && m && !m.adapters) {
      issues.push({
        path: `targets[${i}].model`,
        message: `'${t.method}' is attacked as an unlearned model but the model has no adapters: pass the model while its Unlearner is alive (unlearn.create(...).run(), before dispose()), or role 'base' for a model used as it is`,
      });
    }
  });
  if (targets.filter((t) => roleOf(t) === 'reference').length > 1) issues.push({ path: 'targets', message: 'at most one reference target' });
  if (issues.length) throw new ConfigError('Invalid attack run', issues);
  return plan;
}

/** Run the attacks against every target; see the module comment for what is measured. */
export async function runAttacks(targets: readonly AttackTarget[], ds: UnlearnDataset & EvalDataset, opts: RunAttacksOptions = {}): Promise<RunAttacksResult> {
  const plan = planAttacks(targets, ds, opts);
  const seed = opts.seed ?? RUN_DEFAULTS.seed;
  const limit = opts.limit ?? RUN_DEFAULTS.limit;
  const maxNewTokens = opts.maxNewTokens ?? RUN_DEFAULTS.maxNewTokens;
  const log = opts.log ?? (() => undefined);
  const cache = new ImageCache(opts.imageDir);
  const all: AttackRow[] = [];
  // per-target values the reference comparison needs
  const probs = new Map<string, number[]>();
  const aucs = new Map<string, Map<string, number>>();
  const baseFr = new Map<string, number>();

  // membership examples: forget answers vs held-out answers of the same kind
  const miaLimit = opts.miaLimit ?? RUN_DEFAULTS.miaLimit;
  const cut = (xs: ReturnType<typeof forgetExamples>) => xs.filter((e) => e.record < miaLimit);
  const forgetEx = cut(forgetExamples(ds, 'train'));
  const holdoutEx = cut(forgetExamples(ds, 'val'));

  // the reference first: each other model's distances to it are written as soon as it is done
  const ref = targets.find((t) => roleOf(t) === 'reference');
  const order = ref ? [ref, ...targets.filter((t) => t !== ref)] : [...targets];
  const distances = (t: AttackTarget): AttackRow[] => {
    if (!ref || t === ref) return [];
    const pd = t.pd ?? t.method.endsWith('+pd');
    const out: AttackRow[] = [];
    const add = (metric: string, value: number, n: number, attack = 'none') => out.push({ method: t.method, pd, attack, family: 'reference', metric, split: 'train', value, n });
    add('forgetRateGap', Math.abs((baseFr.get(t.method) ?? NaN) - (baseFr.get(ref.method) ?? NaN)), 1);
    const p = probs.get(t.method);
    const pr = probs.get(ref.method);
    if (p && pr) {
      const ks = ks2samp(p, pr);
      add('forgetQuality', ks.pvalue, p.length);
      add('ksStatistic', ks.statistic, p.length);
    }
    for (const [name, auc] of aucs.get(t.method) ?? []) add('miaAucGap', Math.abs(auc - (aucs.get(ref.method)?.get(name) ?? NaN)), 1, name);
    return out;
  };

  for (const t of order) {
    const method = t.method;
    const pd = t.pd ?? method.endsWith('+pd');
    const rows: AttackRow[] = [];
    const push = (attack: string, family: RowFamily, vals: MetricValues, split: string, metrics: readonly string[], suffix = '') => {
      for (const m of metrics) {
        const v = vals.get(m);
        if (v) rows.push({ method, pd, attack, family, metric: m + suffix, split, value: v.value, n: v.n });
      }
    };
    const score = (split: 'train' | 'val', kinds: readonly SampleKind[], extra: Partial<Parameters<typeof scoreUnder>[2]> = {}, d: EvalDataset = ds) =>
      scoreUnder(t.model, d, { split, kinds, limit, maxNewTokens, seed, judge: opts.judge, ...extra });

    log(`${method}: baseline`);
    const base = await score('train', ['harmful', 'sd']);
    push('none', 'baseline', base, 'train', ['forgetRate', 'asr', 'rr', 'sarr']);
    baseFr.set(method, base.get('forgetRate')?.value ?? NaN);
    push('none', 'baseline', await score('val', ['harmful']), 'val', ['forgetRate', 'asr', 'rr']);

    for (const a of plan.prompt) {
      log(`${method}: prompt attack ${a.def.name}`);
      push(a.def.name, 'prompt', await score('train', ['harmful'], { prompt: a }), 'train', ['forgetRate', 'asr', 'rr']);
    }
    for (const a of plan.image) {
      log(`${method}: image attack ${a.def.name}`);
      push(a.def.name, 'image', await score('train', ['harmful', 'sd'], { image: { attack: a, cache } }), 'train', ['forgetRate', 'asr', 'rr', 'sarr']);
    }
    if (plan.mia.length || roles(targets).has('reference')) {
      log(`${method}: membership scores`);
      const f = await answerStats(t.model, forgetEx, { label: `${method} forget answers` });
      const h = await answerStats(t.model, holdoutEx, { label: `${method} held-out answers` });
      probs.set(method, f.map((s) => Math.exp(-s.avgLoss)));
      const am = new Map<string, number>();
      for (const a of plan.mia) {
        const auc = rocAuc(f.map((s) => a.def.score(s, a.params)), h.map((s) => a.def.score(s, a.params)));
        am.set(a.def.name, auc);
        rows.push({ method, pd, attack: a.def.name, family: 'mia', metric: 'auc', split: 'train|val', value: auc, n: f.length + h.length });
      }
      aucs.set(method, am);
    }
    for (const a of plan.relearn) {
      const steps = a.params.steps as number[];
      log(`${method}: ${a.def.name} on ${a.slice.describe}, k = ${steps.join(', ')}`);
      const restDs: EvalDataset = Object.assign(Object.create(Object.getPrototypeOf(ds)), ds, {
        train: a.slice.rest.map((i) => ds.train[i]),
        categoryOf: undefined,
      });
      const kmax = Math.max(...steps);
      // the curve on the rest of the forget set; the held-out split before and after
      const measure = async (k: number) => {
        const rest = await score('train', ['harmful'], {}, restDs);
        push(a.def.name, 'relearn', rest, 'rest', ['forgetRate', 'asr'], `@${k}`);
        const val = k === 0 || k === kmax ? await score('val', ['harmful']) : new Map();
        push(a.def.name, 'relearn', val, 'val', ['forgetRate', 'asr'], `@${k}`);
        return { rest, val };
      };
      const before = await measure(0);
      let after = before;
      await relearnModel(t.model, ds, relearnRecords(ds.train, a.slice.slice, a.def.data), {
        steps,
        lr: Number(a.params.lr),
        batchSize: Number(a.params.batchSize),
        seed,
        measure: async (k) => {
          const r = await measure(k);
          if (k === kmax) after = r;
        },
      });
      for (const [split, b, x] of [['rest', before.rest, after.rest], ['val', before.val, after.val]] as const) {
        push(a.def.name, 'relearn', x, split, ['forgetRate', 'asr']);
        const fb = b.get('forgetRate');
        const fa = x.get('forgetRate');
        if (fb && fa) rows.push({ method, pd, attack: a.def.name, family: 'relearn', metric: "recovery", split, value: fa.value - fb.value, n: fa.n });
      }
    }
    rows.push(...distances(t));
    all.push(...rows);
    opts.onTarget?.(method, rows);
  }
  // rows in the order the targets were given
  const rank = new Map(targets.map((t, i) => [t.method, i]));
  const sorted = all.map((r, i) => ({ r, i })).sort((a, b) => rank.get(a.r.method)! - rank.get(b.r.method)! || a.i - b.i).map((x) => x.r);
  return { rows: sorted, frame: attacksFrame(sorted) };
}

function roles(targets: readonly AttackTarget[]): Set<string> {
  return new Set(targets.map(roleOf));
}

/** Attack names by family, for listings. */
export function attackFamilies(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of attackDefinitions()) (out[d.family] ??= []).push(d.name);
  return out;
}
