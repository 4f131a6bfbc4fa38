/**
 * The method registry (docs/methods.md). Weights default to the official ones
 * (yuu250/SafeEraser forget.py): gapd −NLL_f + 0.5·PD; gdpd −NLL_f + 0.5·NLL_r + 0.5·PD;
 * klpd −NLL_f + KL + PD; idkpd L_idk + PD. NPO is beyond the paper.
 */
import { tf } from '../runtime/tf';
import type { Scalar } from '../runtime/tf';
import { ConfigError, Issue } from '../runtime/errors';
import { Registry } from '../runtime/registry';
import { answerNll, klToReference, npoLoss, pooledNll, sequenceLogProbs } from './losses';
import type { LossResult, MethodBatches, MethodDefinition, MethodOptions, MethodSpec, OptionSpec, LossContext } from './types';

const weight = (def: number, doc: string): OptionSpec => ({ type: 'number', default: def, min: 0, doc });
const BETA: OptionSpec = { type: 'number', default: 0.1, min: 0, exclusiveMin: true, doc: 'NPO inverse temperature β' };

function need<T>(x: T | undefined, what: string, method: string): T {
  if (x === undefined) throw new Error(`method '${method}' needs a ${what} batch`);
  return x;
}

/** −NLL on the forget answers (gradient ascent). */
function forgetNll(b: MethodBatches, ctx: LossContext): Scalar {
  return answerNll(ctx.forward(b.forget), b.forget.labels);
}

function combine(terms: Record<string, Scalar>, parts: Array<[number, Scalar]>): LossResult {
  let loss = tf.scalar(0) as Scalar;
  for (const [w, t] of parts) if (w !== 0) loss = loss.add(t.mul(w));
  return { loss, terms };
}

const ga: MethodDefinition = {
  name: 'ga',
  summary: 'Gradient ascent on the forget answers: −NLL_f',
  official: 'ga',
  options: {},
  uses: {},
  loss(b, _o, ctx) {
    const f = forgetNll(b, ctx);
    return combine({ forget_nll: f }, [[-1, f]]);
  },
};

const gd: MethodDefinition = {
  name: 'gd',
  summary: 'Gradient difference: −NLL_f + w_r·NLL_r',
  official: 'gd',
  options: { retainWeight: weight(1.0, 'weight of the retain NLL') },
  uses: { retain: true },
  loss(b, o, ctx) {
    const f = forgetNll(b, ctx);
    const r = answerNll(ctx.forward(need(b.retain, 'retain', 'gd')), b.retain!.labels);
    return combine({ forget_nll: f, retain_nll: r }, [[-1, f], [o.retainWeight as number, r]]);
  },
};

const kl: MethodDefinition = {
  name: 'kl',
  summary: 'KL minimisation: −NLL_f + w_kl·KL(p_ref ‖ p_θ) on the retain input',
  official: 'kl',
  options: { klWeight: weight(1.0, 'weight of the KL term') },
  uses: { retain: true, reference: ['retain'] },
  loss(b, o, ctx) {
    const f = forgetNll(b, ctx);
    const r = need(b.retain, 'retain', 'kl');
    const k = klToReference(need(r.reference, 'reference logits for the retain', 'kl'), ctx.forward(r));
    return combine({ forget_nll: f, kl: k }, [[-1, f], [o.klWeight as number, k]]);
  },
};

/**
 * Preference optimisation (official `idk`): the forget answers are replaced by refusals from
 * prompt.json, and the loss is one NLL over the forget and retain batches concatenated.
 */
const po: MethodDefinition = {
  name: 'po',
  summary: 'Preference optimisation: NLL(forget input → refusal) pooled with NLL_r',
  aliases: ['idk'],
  official: 'idk',
  options: {},
  uses: { retain: true, forgetTarget: 'refusal' },
  loss(b, _o, ctx) {
    const r = need(b.retain, 'retain', 'po');
    const fl = ctx.forward(b.forget);
    const rl = ctx.forward(r);
    const pooled = pooledNll([
      { logits: fl, labels: b.forget.labels },
      { logits: rl, labels: r.labels },
    ]);
    const terms = { po: pooled, refusal_nll: answerNll(fl, b.forget.labels), retain_nll: answerNll(rl, r.labels) };
    return combine(terms, [[1, pooled]]);
  },
};

const npo: MethodDefinition = {
  name: 'npo',
  summary: 'Negative preference optimisation on the forget set + w_r·NLL_r (beyond the paper)',
  options: { beta: BETA, retainWeight: weight(1.0, 'weight of the retain NLL') },
  uses: { retain: true, reference: ['forget'] },
  loss(b, o, ctx) {
    const fl = ctx.forward(b.forget);
    const ref = need(b.forget.reference, 'reference logits for the forget', 'npo');
    const n = npoLoss(sequenceLogProbs(fl, b.forget.labels), sequenceLogProbs(ref, b.forget.labels), o.beta as number);
    const r = need(b.retain, 'retain', 'npo');
    const rn = answerNll(ctx.forward(r), r.labels);
    const f = answerNll(fl, b.forget.labels);
    return combine({ npo: n, forget_nll: f, retain_nll: rn }, [[1, n], [o.retainWeight as number, rn]]);
  },
};

/**
 * Add the Prompt Decouple term L_PD = NLL(benign SDImage + same harmful query → sd_response)
 * with weight `pdWeight` (default 1.0) to a base method: `withPromptDecouple(def)`. `official`
 * is the official pipeline's name of the combination, if it has one; `overrides` changes the
 * base's defaults (gd+pd uses 0.5 on the retain NLL).
 */
export function withPromptDecouple(
  base: MethodDefinition,
  pdWeight = 1.0,
  official?: string,
  overrides: Record<string, number> = {},
): MethodDefinition {
  const options: Record<string, OptionSpec> = {};
  for (const [k, spec] of Object.entries(base.options)) {
    options[k] = k in overrides ? { ...spec, default: overrides[k] } : spec;
  }
  options.pdWeight = weight(pdWeight, 'weight of the Prompt Decouple loss L_PD');
  return {
    name: `${base.name}+pd`,
    summary: `${base.summary} + w_pd·L_PD`,
    aliases: [...(base.aliases ?? []).map((a) => `${a}+pd`), ...(official && official !== `${base.name}+pd` ? [official] : [])],
    official,
    options,
    uses: { ...base.uses, pd: true },
    loss(b, o, ctx) {
      const r = base.loss(b, o, ctx);
      const pdB = need(b.pd, 'Prompt Decouple (pd)', `${base.name}+pd`);
      const pd = answerNll(ctx.forward(pdB), pdB.labels);
      const w = o.pdWeight as number;
      return { loss: w === 0 ? r.loss : r.loss.add(pd.mul(w)), terms: { ...r.terms, pd } };
    },
  };
}

export const BUILTIN_METHODS = {
  ga,
  gd,
  kl,
  po,
  npo,
  'ga+pd': withPromptDecouple(ga, 0.5, 'gapd'),
  'gd+pd': withPromptDecouple(gd, 0.5, 'gdpd', { retainWeight: 0.5 }),
  'kl+pd': withPromptDecouple(kl, 1.0, 'klpd'),
  'po+pd': withPromptDecouple(po, 1.0, 'idkpd'),
  'npo+pd': withPromptDecouple(npo),
} as const;

export type BuiltinMethodName = keyof typeof BUILTIN_METHODS;

const registry = new Registry<MethodDefinition>('method');
function add(def: MethodDefinition, quiet: boolean): void {
  registry.register(def.name, def, { quiet });
  for (const a of def.aliases ?? []) registry.alias(a, def.name);
}
for (const def of Object.values(BUILTIN_METHODS)) add(def, true);

/**
 * Add (or replace, with a warning) a method. A method is options with defaults plus one loss
 * function over the {forget, retain, pd} batches; see docs/adding-a-method.md.
 */
export function registerMethod(def: MethodDefinition): void {
  const issues: Issue[] = [];
  if (typeof def?.name !== 'string' || !/^[a-z0-9][a-z0-9+_-]*$/i.test(def.name)) {
    issues.push({ path: 'name', message: 'must be a non-empty name of letters, digits, +, _ or -' });
  }
  if (typeof def?.loss !== 'function') issues.push({ path: 'loss', message: 'must be a function (batches, options, ctx) => {loss, terms}' });
  if (!def?.options || typeof def.options !== 'object') issues.push({ path: 'options', message: 'must be an object of option specs ({} for none)' });
  else {
    for (const [k, s] of Object.entries(def.options)) {
      const bad = validateValue(s.default, s, `options.${k}.default`);
      if (bad) issues.push(bad);
    }
  }
  if (issues.length) throw new ConfigError(`Invalid method definition '${String(def?.name)}'`, issues);
  add({ ...def, uses: def.uses ?? {} }, false);
}

export function getMethod(name: string): MethodDefinition {
  return registry.get(name);
}

/** Canonical names of every registered method. */
export function methodNames(): string[] {
  return registry.names();
}

function describeType(s: OptionSpec): string {
  if (s.choices) return `one of [${s.choices.join(', ')}]`;
  const range: string[] = [];
  if (s.min !== undefined) range.push(`${s.exclusiveMin ? '>' : '≥'} ${s.min}`);
  if (s.max !== undefined) range.push(`≤ ${s.max}`);
  const t = s.type === 'integer' ? 'an integer' : s.type === 'number' ? 'a number' : `a ${s.type}`;
  return range.length ? `${t} ${range.join(' and ')}` : t;
}

function validateValue(v: unknown, s: OptionSpec, path: string): Issue | undefined {
  const want = describeType(s);
  const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  if (s.type === 'number' || s.type === 'integer') {
    if (typeof v !== 'number' || !Number.isFinite(v)) return { path, message: `expected ${want}, got ${typeof v === 'number' ? v : got}` };
    if (s.type === 'integer' && !Number.isInteger(v)) return { path, message: `expected ${want}, got ${v}` };
    if (s.min !== undefined && (s.exclusiveMin ? v <= s.min : v < s.min)) return { path, message: `expected ${want}, got ${v}` };
    if (s.max !== undefined && v > s.max) return { path, message: `expected ${want}, got ${v}` };
    return undefined;
  }
  if (s.type === 'boolean') return typeof v === 'boolean' ? undefined : { path, message: `expected ${want}, got ${got}` };
  if (typeof v !== 'string') return { path, message: `expected ${want}, got ${got}` };
  if (s.choices && !s.choices.includes(v)) return { path, message: `expected ${want}, got '${v}'` };
  return undefined;
}

/**
 * Resolve a method name (aliases allowed) and its options: defaults filled in, each given value
 * checked. Unknown option names and wrong types/ranges are reported together with their paths
 * (`method.<option>`). Unknown method names list the valid ones.
 */
export function resolveMethod(name: string, config: Record<string, unknown> = {}, pathPrefix = 'method'): { def: MethodDefinition; spec: MethodSpec } {
  return resolveDefinition(registry.get(name), config, pathPrefix);
}

/**
 * `resolveMethod` for a definition that is not registered (a trainer for another purpose, e.g.
 * the relearning attack's plain fine-tuning): its options checked the same way.
 */
export function resolveDefinition(def: MethodDefinition, config: Record<string, unknown> = {}, pathPrefix = 'method'): { def: MethodDefinition; spec: MethodSpec } {
  const issues: Issue[] = [];
  const out: MethodOptions = {};
  for (const [k, s] of Object.entries(def.options)) {
    if (config[k] === undefined) out[k] = s.default;
    else {
      const bad = validateValue(config[k], s, `${pathPrefix}.${k}`);
      if (bad) issues.push(bad);
      else out[k] = config[k] as number | boolean | string;
    }
  }
  for (const k of Object.keys(config)) {
    if (!(k in def.options) && config[k] !== undefined) {
      const valid = Object.keys(def.options);
      issues.push({ path: `${pathPrefix}.${k}`, message: `unknown option for method '${def.name}'; valid: [${valid.join(', ')}]` });
    }
  }
  if (issues.length) throw new ConfigError(`Invalid options for method '${def.name}'`, issues);
  return { def, spec: { name: def.name, config: out } };
}

/** The official pipeline's `forget_loss` name for a method, or undefined when it has none. */
export function officialName(name: string): string | undefined {
  return registry.get(name).official;
}
