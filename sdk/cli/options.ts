/**
 * The declarative option table of the `eraserlab` commands. Each command lists its options once
 * (name, type, default, documentation, bounds, choices); `parseOptions` turns argv into typed
 * values with one set of messages for every command, and `helpText` writes `--help` from the
 * same table, so the two cannot drift.
 *
 * Messages (every command, every option):
 *   unknown option; did you mean --methods?         (or: unknown option. Must be one of [...])
 *   must be an integer ≥ 1, got '0'
 *   must be a number > 0, got 'x'
 *   must be one of [train, val, both], got 'test'   (; did you mean 'tset'? when close)
 *   needs a value / takes no value / required (...)
 */
import { ConfigError, type Issue } from '../runtime/errors';

export type OptionType = 'string' | 'path' | 'int' | 'number' | 'flag' | 'enum' | 'list';

export interface OptionSpec {
  /** Without the dashes: `eval-every`. */
  name: string;
  type: OptionType;
  /** One or more sentences for --help. */
  doc: string;
  /** The value's placeholder in --help (default by type: DIR, N, X, NAME, LIST). */
  metavar?: string;
  /** The default as --help shows it (the value itself is applied by the command). */
  default?: string | number | boolean;
  /** int / number: the smallest valid value (inclusive), or with `exclusiveMin` exclusive. */
  min?: number;
  exclusiveMin?: boolean;
  /** int / number: the largest valid value (inclusive). */
  max?: number;
  /** enum: the valid values; list: the valid items (checked when given). */
  choices?: readonly string[] | (() => readonly string[]);
  /** Must be given (a `requiredUnless` flag lifts it). */
  required?: boolean;
  /** Extra check of a parsed value: returns a message or undefined. */
  check?: (value: unknown) => string | undefined;
  /** May be given several times: the values are collected into an array (in order). */
  repeat?: boolean;
  /** The value may be left out (`--attacks` alone): the option is then `true`. */
  optionalValue?: boolean;
}

export interface CommandSpec {
  /** `eraserlab <name>`. */
  name: string;
  /** Usage lines after `eraserlab <name>` (default: `[options]`). */
  synopsis?: readonly string[];
  /** What the command does (a paragraph for --help). */
  description: string;
  options: readonly OptionSpec[];
  /** Positional arguments accepted (default none). */
  positionals?: boolean;
}

export type OptionValue = string | number | boolean | string[];
export type ParsedOptions = Record<string, OptionValue | undefined> & { _: string[] };

const METAVAR: Record<OptionType, string> = { string: 'S', path: 'DIR', int: 'N', number: 'X', flag: '', enum: 'NAME', list: 'LIST' };

function choicesOf(o: OptionSpec): readonly string[] {
  return typeof o.choices === 'function' ? o.choices() : o.choices ?? [];
}

/** Edit distance with adjacent transpositions (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/** The closest of `candidates` to `word` (a prefix, or within a third of its length in edits). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) || word.startsWith(c) ? 0.5 : editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function rangeText(o: OptionSpec): string {
  const parts: string[] = [];
  if (o.min !== undefined) parts.push(`${o.exclusiveMin ? '>' : '≥'} ${o.min}`);
  if (o.max !== undefined) parts.push(`≤ ${o.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function parseValue(o: OptionSpec, raw: string, issues: Issue[]): OptionValue | undefined {
  const where = `--${o.name}`;
  const bad = (message: string) => {
    issues.push({ path: where, message });
    return undefined;
  };
  switch (o.type) {
    case 'string':
    case 'path':
      if (raw === '') return bad('needs a value');
      return raw;
    case 'int':
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      const kind = o.type === 'int' ? 'an integer' : 'a number';
      const ok = Number.isFinite(n) && (o.type === 'number' || Number.isInteger(n)) && (o.min === undefined || (o.exclusiveMin ? n > o.min : n >= o.min)) && (o.max === undefined || n <= o.max);
      if (!ok) return bad(`must be ${kind}${rangeText(o)}, got '${raw}'`);
      return n;
    }
    case 'enum': {
      const cs = choicesOf(o);
      if (!cs.includes(raw)) {
        const near = closest(raw, cs);
        return bad(`must be one of [${cs.join(', ')}], got '${raw}'${near ? `; did you mean '${near}'?` : ''}`);
      }
      return raw;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.length === 0) return bad('needs a comma-separated list');
      const cs = choicesOf(o);
      if (cs.length) {
        const unknown = items.filter((i) => !cs.includes(i));
        if (unknown.length) return bad(`unknown value${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}. Must be one of [${cs.join(', ')}]`);
      }
      return items;
    }
    case 'flag':
      return true;
  }
}

/**
 * Parse `argv` (`--key value`, `--key=value`, `--flag`) against `spec`. Every problem (unknown
 * option, missing or malformed value, out-of-range number, unknown choice) is collected and
 * thrown as one ConfigError `Invalid arguments for eraserlab <name>`; nothing runs before.
 * Values are typed (numbers as numbers, lists as arrays, flags as true); absent options are
 * undefined (the command applies its defaults).
 */
export function parseOptions(spec: CommandSpec, argv: readonly string[]): ParsedOptions {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const out: ParsedOptions = { _: [] };
  const issues: Issue[] = [];
  const names = spec.options.map((o) => `--${o.name}`);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') {
      if (spec.positionals) out._.push(a);
      else issues.push({ path: a, message: 'unexpected argument (options start with --)' });
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const o = byName.get(key);
    if (!o) {
      const near = closest(`--${key}`, names);
      issues.push({ path: `--${key}`, message: near ? `unknown option; did you mean ${near}?` : `unknown option. Must be one of [${names.join(', ')}]` });
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++; // skip its value
      continue;
    }
    if (o.type === 'flag') {
      if (eq > 0) issues.push({ path: `--${key}`, message: 'takes no value' });
      else out[o.name] = true;
      continue;
    }
    let raw: string;
    if (eq > 0) raw = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) raw = argv[++i];
    else if (o.optionalValue) {
      out[o.name] = true;
      continue;
    } else {
      issues.push({ path: `--${key}`, message: `needs a value (${o.metavar ?? METAVAR[o.type]})` });
      continue;
    }
    const v = parseValue(o, raw, issues);
    if (v === undefined) continue;
    const extra = o.check?.(v);
    if (extra) issues.push({ path: `--${key}`, message: extra });
    else if (o.repeat) out[o.name] = [...((out[o.name] as string[] | undefined) ?? []), ...(Array.isArray(v) ? v : [String(v)])];
    else out[o.name] = v;
  }
  for (const o of spec.options) {
    if (o.required && out[o.name] === undefined && !issues.some((x) => x.path === `--${o.name}`)) issues.push({ path: `--${o.name}`, message: `required: ${o.doc.split(/(?<=\.)\s/)[0]}` });
  }
  if (issues.length) throw new ConfigError(`Invalid arguments for eraserlab ${spec.name}`, issues);
  return out;
}

/** Throw the command's ConfigError for problems found after parsing (combinations of options). */
export function invalidArguments(spec: CommandSpec, issues: Issue[]): void {
  if (issues.length) throw new ConfigError(`Invalid arguments for eraserlab ${spec.name}`, issues);
}

function wrap(text: string, width: number, indent: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - indent) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** `--help` of a command, written from its table. */
export function helpText(spec: CommandSpec): string {
  const syn = spec.synopsis?.length ? spec.synopsis : ['[options]'];
  const lines = syn.map((s, i) => `${i === 0 ? 'Usage:' : '      '} eraserlab ${spec.name} ${s}`);
  lines.push('', ...wrap(spec.description, 96, 0), '', 'Options:');
  const heads = spec.options.map((o) => `  --${o.name}${o.type === 'flag' ? '' : o.optionalValue ? ` [${o.metavar ?? METAVAR[o.type]}]` : ` ${o.metavar ?? METAVAR[o.type]}`}`);
  const col = Math.min(28, Math.max(...heads.map((h) => h.length)) + 2);
  spec.options.forEach((o, i) => {
    let doc = o.doc;
    const cs = choicesOf(o);
    if (o.type === 'enum' && cs.length && !/one of|\bor\b/.test(doc)) doc += ` One of: ${cs.join(', ')}.`;
    if (o.default !== undefined) doc += ` (default: ${String(o.default)})`;
    if (o.repeat) doc += ' (repeatable)';
    if (o.required) doc += ' (required)';
    const body = wrap(doc, 100, col);
    const head = heads[i];
    if (head.length + 1 > col) {
      lines.push(head);
      for (const b of body) lines.push(' '.repeat(col) + b);
    } else {
      lines.push(head.padEnd(col) + (body[0] ?? ''));
      for (const b of body.slice(1)) lines.push(' '.repeat(col) + b);
    }
  });
  lines.push(`  --help`.padEnd(col) + 'show this help');
  return lines.join('\n');
}

/** What `defineCommand` builds: the shape `cli/main.ts` loads (kept here to avoid an import cycle). */
export interface DefinedCommand {
  name: string;
  summary: string;
  usage: string;
  spec: CommandSpec;
  run(argv: string[]): Promise<number | void>;
}

/**
 * A command from its option table: `--help` is written from `spec` (plus `extraHelp`, if any),
 * and `run` receives the parsed, validated options (and the raw argv, e.g. to record the
 * command line).
 */
export function defineCommand(
  spec: CommandSpec,
  summary: string,
  run: (a: ParsedOptions, argv: string[]) => Promise<number | void>,
  opts: { extraHelp?: () => string } = {},
): DefinedCommand {
  return {
    name: spec.name,
    summary,
    spec,
    get usage() {
      return opts.extraHelp ? `${helpText(spec)}\n\n${opts.extraHelp()}` : helpText(spec);
    },
    run: (argv: string[]) => run(parseOptions(spec, argv), argv),
  };
}
