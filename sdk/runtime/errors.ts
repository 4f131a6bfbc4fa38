/**
 * The SDK's named errors. In a notebook the printed message is the whole
 * error UI, so every message says what was wrong, where, and what would be valid.
 */

export interface Issue {
  /** Where: a dotted/indexed path such as `all_train.json[3].unsafe_pairs[0].question`. */
  path: string;
  message: string;
}

export class EraserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /** Printed (console.log, a notebook's error output) as `Name: message`: the diagnosis is the UI. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.name}: ${this.message}`;
  }
}

function formatIssues(header: string, issues: Issue[]): string {
  if (issues.length === 0) return header;
  const lines = issues.map((i) => `  - ${i.path ? i.path + ': ' : ''}${i.message}`);
  return `${header} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** An invalid option, config file or run spec. `issues` lists every problem with its path. */
export class ConfigError extends EraserError {
  readonly issues: Issue[];
  constructor(header: string, issues: Issue[] = []) {
    super(formatIssues(header, issues));
    this.issues = issues;
  }
}

export interface DatasetIssue extends Issue {
  /** The file the problem is in (relative to the dataset folder where possible). */
  file?: string;
  /** Index of the record in that file, when the problem is inside a record. */
  record?: number;
  /** The field inside the record, e.g. `unsafe_pairs[0].question`. */
  field?: string;
}

/** A SafeEraser dataset that cannot be read: names file, record index and field of every problem. */
export class DatasetError extends EraserError {
  readonly issues: DatasetIssue[];
  constructor(header: string, issues: DatasetIssue[] = []) {
    super(formatIssues(header, issues));
    this.issues = issues;
  }
}

/** A checkpoint that cannot be loaded: names the tensor key and the expected / found shape. */
export class CheckpointError extends EraserError {
  readonly key?: string;
  readonly file?: string;
  constructor(message: string, opts: { key?: string; file?: string } = {}) {
    super(message);
    this.key = opts.key;
    this.file = opts.file;
  }
}

/** A name looked up in a registry (method, metric, judge, backend, figure) that is not there. */
export class UnknownComponentError extends EraserError {
  readonly kind: string;
  readonly nameAsked: string;
  readonly valid: string[];
  constructor(kind: string, name: string, valid: readonly string[]) {
    super(`Unknown ${kind} '${name}'. Must be one of [${valid.join(', ')}]`);
    this.kind = kind;
    this.nameAsked = name;
    this.valid = [...valid];
  }
}

/** Training diverged (non-finite or exploding loss). */
export class DivergenceError extends EraserError {}

/** Convert a zod-like issue list ({path: (string|number)[], message}) into our Issue list. */
export function issuesFromZod(
  zodIssues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  prefix = '',
): Issue[] {
  return zodIssues.map((i) => ({ path: joinPath(prefix, i.path), message: i.message }));
}

/** `joinPath('a', ['b', 0, 'c'])` → `a.b[0].c` */
export function joinPath(prefix: string, parts: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
