/**
 * The attack registry: every attack (prompt, image, relearning, membership inference) is an
 * entry with a doc line and its parameters with defaults. Unknown names fail listing the valid
 * ones ("Unknown attack 'x'. Must be one of [...]"); parameters are checked before any work.
 */
import { ConfigError, type Issue } from '../runtime/errors';
import { Registry } from '../runtime/registry';
import type { AttackDefinition, AttackFamily, AttackParams, ParamSpec, ResolvedAttack } from './types';

const registry = new Registry<AttackDefinition>('attack');

export const FAMILIES: readonly AttackFamily[] = ['relearn', 'prompt', 'image', 'mia'];

function describe(s: ParamSpec): string {
  if (s.choices) return `one of [${s.choices.join(', ')}]`;
  const range: string[] = [];
  if (s.min !== undefined) range.push(`≥ ${s.min}`);
  if (s.max !== undefined) range.push(`≤ ${s.max}`);
  const t = s.type === 'integer' ? 'an integer' : s.type === 'number' ? 'a number' : s.type === 'integer[]' ? 'a list of integers' : `a ${s.type}`;
  return range.length ? `${t} ${range.join(' and ')}` : t;
}

/** Check one parameter value against its spec; undefined when valid. */
export function checkParam(v: unknown, s: ParamSpec, where: string): Issue | undefined {
  const want = describe(s);
  const got = v === null ? 'null' : Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'string' ? `'${v}'` : String(v);
  const inRange = (x: number) => (s.min === undefined || x >= s.min) && (s.max === undefined || x <= s.max);
  if (s.type === 'number' || s.type === 'integer') {
    if (typeof v !== 'number' || !Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v)) || !inRange(v)) return { path: where, message: `expected ${want}, got ${got}` };
    return undefined;
  }
  if (s.type === 'integer[]') {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || !inRange(x))) return { path: where, message: `expected ${want}${s.min !== undefined ? ` (each ${want.replace(/^a list of integers /, '')})` : ''}, got ${got}` };
    return undefined;
  }
  if (s.type === 'boolean') return typeof v === 'boolean' ? undefined : { path: where, message: `expected ${want}, got ${got}` };
  if (typeof v !== 'string' || (s.choices && !s.choices.includes(v))) return { path: where, message: `expected ${want}, got ${got}` };
  return undefined;
}

/** Add (or replace, with a warning) an attack; see docs/adding-an-attack.md. */
export function registerAttack(def: AttackDefinition, opts: { quiet?: boolean } = {}): void {
  const issues: Issue[] = [];
  if (typeof def?.name !== 'string' || !/^[a-z0-9][a-z0-9+_%-]*$/i.test(def.name)) issues.push({ path: 'name', message: 'must be a non-empty name of letters, digits, +, %, _ or -' });
  if (!FAMILIES.includes(def?.family)) issues.push({ path: 'family', message: `must be one of [${FAMILIES.join(', ')}]` });
  if (typeof def?.doc !== 'string' || def.doc.trim() === '') issues.push({ path: 'doc', message: 'must be a one-line description' });
  if (!def?.params || typeof def.params !== 'object') issues.push({ path: 'params', message: 'must be an object of parameter specs ({} for none)' });
  else for (const [k, s] of Object.entries(def.params)) {
    const bad = checkParam(s.default, s, `params.${k}.default`);
    if (bad) issues.push(bad);
  }
  const fn = def?.family === 'prompt' ? 'transform' : def?.family === 'image' ? 'apply' : def?.family === 'mia' ? 'score' : undefined;
  if (fn && typeof (def as unknown as Record<string, unknown>)[fn] !== 'function') issues.push({ path: fn, message: `a ${def.family} attack needs a ${fn}() function` });
  if (def?.family === 'relearn' && def.data !== 'forget' && def.data !== 'benign') issues.push({ path: 'data', message: "must be 'forget' or 'benign'" });
  if (issues.length) throw new ConfigError(`Invalid attack definition '${String(def?.name)}'`, issues);
  registry.register(def.name, def, opts);
}

export function getAttack(name: string): AttackDefinition {
  return registry.get(name);
}

/** Names of the registered attacks (of one family, or all), in registration order. */
export function attackNames(family?: AttackFamily): string[] {
  return registry.entries().filter(([, d]) => family === undefined || d.family === family).map(([n]) => n);
}

/** Every registered attack. */
export function attackDefinitions(): AttackDefinition[] {
  return registry.entries().map(([, d]) => d);
}

/**
 * Resolve an attack name and its parameters: defaults filled in, each given value checked;
 * unknown parameter names and bad values are reported together with their paths.
 */
export function resolveAttack(name: string, params: Record<string, unknown> = {}, where = `attacks.${name}`): ResolvedAttack {
  const def = registry.get(name);
  const out: AttackParams = {};
  const issues: Issue[] = [];
  for (const [k, s] of Object.entries(def.params)) {
    if (params[k] === undefined) out[k] = Array.isArray(s.default) ? [...s.default] : s.default;
    else {
      const bad = checkParam(params[k], s, `${where}.${k}`);
      if (bad) issues.push(bad);
      else out[k] = params[k] as AttackParams[string];
    }
  }
  for (const k of Object.keys(params)) {
    if (!(k in def.params) && params[k] !== undefined) issues.push({ path: `${where}.${k}`, message: `unknown parameter of attack '${def.name}'; valid: [${Object.keys(def.params).join(', ')}]` });
  }
  if (issues.length) throw new ConfigError(`Invalid parameters for attack '${def.name}'`, issues);
  return { def, params: out };
}

/** One line per attack with its family, parameters and defaults (the CLI's --help). */
export function describeAttacks(): string[] {
  return attackDefinitions().map((d) => {
    const ps = Object.entries(d.params).map(([k, s]) => `${k}=${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}`);
    return `  ${d.name.padEnd(20)} ${d.family.padEnd(8)} ${d.doc}${ps.length ? ` (${ps.join(', ')})` : ''}`;
  });
}
