/**
 * Output folders: eraserlab never deletes or replaces what it did not write.
 *
 * Every folder a command writes carries a small marker file, `.eraserlab` (JSON: the kind of
 * output and the command), so a later command can decide whether a folder is its own output of
 * the same kind (which it may replace or resume) or anything else (refused with a ConfigError
 * naming the folder). Folders written before markers existed are recognised by their own
 * files (a generated dataset's `generator.json`, a model's `pretrain_spec.json`, a results
 * folder's `run.json`, an unlearning folder's `results.json` / checkpoints).
 *
 * One writer per folder: `lockOutput` creates a lock file holding the PID and host; a second
 * writer fails at once naming the folder and that PID; a lock left by a process that no longer
 * runs on this host is stale and taken over.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from './errors';

/** The marker file of an eraserlab output folder. */
export const OUTPUT_MARKER = '.eraserlab';
/** The lock file of a folder being written (inside it, or beside it for whole-folder replacement). */
export const LOCK_FILE = '.eraserlab.lock';

/** What an eraserlab output folder holds. */
export type OutputKind = 'dataset' | 'model' | 'unlearn' | 'run' | 'evaluate' | 'babert';

const KIND_WORDS: Record<OutputKind, string> = {
  dataset: 'a generated dataset',
  model: 'a trained model',
  unlearn: 'unlearning checkpoints and results',
  run: 'main-job results',
  evaluate: 'evaluation tables',
  babert: 'BABERT results',
};

export interface OutputMarker {
  kind: `eraserlab.${OutputKind}`;
  version: 1;
  /** The command that wrote the folder (informative). */
  command?: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Recognise output written before markers existed, by the files each kind always writes. */
function legacyKind(dir: string, entries: string[]): OutputKind | undefined {
  const has = (f: string) => entries.includes(f);
  if (has('generator.json')) {
    const g = readJson(path.join(dir, 'generator.json'));
    if (isObj(g) && g.generator === 'eraserlab.generateSynthetic') return 'dataset';
  }
  if (has('pretrain_spec.json') && has('config.json')) return 'model';
  if (has('run.json')) {
    const r = readJson(path.join(dir, 'run.json'));
    if (isObj(r) && r.kind === 'eraserlab.run') return 'run';
  }
  if (has('results.json')) {
    const r = readJson(path.join(dir, 'results.json'));
    if (isObj(r) && Array.isArray(r.results)) return 'unlearn';
  }
  // an unlearning folder interrupted before results.json: method folders with checkpoints
  for (const e of entries) {
    const spec = readJson(path.join(dir, e, 'final', 'run.json')) ?? readJson(path.join(dir, e, 'run.json'));
    if (isObj(spec) && spec.kind === 'eraserlab.unlearn') return 'unlearn';
  }
  return undefined;
}

export interface OutputState {
  /** missing / empty folder; 'own': eraserlab output (see `kind`); 'foreign': anything else. */
  state: 'missing' | 'empty' | 'own' | 'foreign' | 'not-a-folder';
  kind?: OutputKind;
  /** The folder's entries (for messages). */
  entries: string[];
}

/** What `dir` holds, as far as output protection is concerned. */
export function outputState(dir: string): OutputState {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return { state: 'missing', entries: [] };
  }
  if (!st.isDirectory()) return { state: 'not-a-folder', entries: [] };
  const entries = fs.readdirSync(dir).filter((e) => e !== LOCK_FILE).sort();
  if (entries.length === 0) return { state: 'empty', entries };
  if (entries.includes(OUTPUT_MARKER)) {
    const m = readJson(path.join(dir, OUTPUT_MARKER));
    const k = isObj(m) && typeof m.kind === 'string' ? m.kind.replace(/^eraserlab\./, '') : '';
    if (k in KIND_WORDS) return { state: 'own', kind: k as OutputKind, entries };
    return { state: 'foreign', entries };
  }
  const legacy = legacyKind(dir, entries);
  return legacy ? { state: 'own', kind: legacy, entries } : { state: 'foreign', entries };
}

function listSome(entries: string[]): string {
  const shown = entries.slice(0, 5).join(', ');
  return entries.length > 5 ? `${shown}, … (${entries.length} entries)` : shown;
}

export interface AssertOutputOptions {
  /** The option that named the folder, for the message (default '--out'). */
  option?: string;
  /** The command, for the message (e.g. 'eraserlab generate'). */
  command?: string;
}

/**
 * Check that `dir` may be written as output of `kind`: it does not exist, is empty, or is
 * eraserlab's own output of the same kind. Anything else is refused with a ConfigError naming
 * the folder and some of what it holds; nothing is touched. Returns the state found.
 */
export function assertOutputDir(dir: string, kind: OutputKind, opts: AssertOutputOptions = {}): OutputState {
  const abs = path.resolve(dir);
  const s = outputState(abs);
  const option = opts.option ?? '--out';
  const who = opts.command ? `${opts.command}: ` : '';
  if (s.state === 'missing' || s.state === 'empty') return s;
  if (s.state === 'not-a-folder') {
    throw new ConfigError(`${who}cannot write ${KIND_WORDS[kind]} to ${abs}: it is a file, not a folder`, [
      { path: option, message: 'name a new or empty folder' },
    ]);
  }
  if (s.state === 'own' && s.kind === kind) return s;
  if (s.state === 'own') {
    throw new ConfigError(`${who}refusing to write ${KIND_WORDS[kind]} to ${abs}: it holds ${KIND_WORDS[s.kind as OutputKind]}`, [
      { path: option, message: `name a new or empty folder (eraserlab replaces only its own output of the same kind)` },
    ]);
  }
  throw new ConfigError(`${who}refusing to write ${KIND_WORDS[kind]} to ${abs}: it holds files eraserlab did not write (${listSome(s.entries)})`, [
    { path: option, message: `name a new or empty folder; eraserlab never deletes or replaces files it did not write (its own output folders carry a ${OUTPUT_MARKER} marker)` },
  ]);
}

/** Write the marker of an output folder of `kind` into `dir` (created if needed). */
export function markOutput(dir: string, kind: OutputKind, command?: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const marker: OutputMarker = { kind: `eraserlab.${kind}`, version: 1, ...(command ? { command } : {}) };
  const file = path.join(dir, OUTPUT_MARKER);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(marker) + '\n');
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------
// Locks

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command?: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Another process holds the folder's lock. */
export class OutputLockedError extends ConfigError {
  constructor(
    readonly folder: string,
    readonly lockFile: string,
    readonly pid: number | undefined,
    header: string,
    issues: Array<{ path: string; message: string }>,
  ) {
    super(header, issues);
  }
}

/** `lockOutput`, waiting (polling) up to `timeoutMs` while another process holds the lock. */
export async function lockOutputWait(dir: string, opts: { beside?: boolean; command?: string; option?: string } = {}, timeoutMs = 3_600_000): Promise<OutputLock> {
  const t0 = Date.now();
  for (;;) {
    try {
      return lockOutput(dir, opts);
    } catch (e) {
      if (!(e instanceof OutputLockedError) || Date.now() - t0 > timeoutMs) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const held = new Map<string, number>();
let exitHook = false;

export interface OutputLock {
  /** The lock file. */
  file: string;
  /** Remove the lock (idempotent). */
  release(): void;
}

/**
 * Take the one-writer lock of an output folder: `<dir>/.eraserlab.lock`, or with
 * `beside: true` (for folders replaced whole by a rename) `<parent>/.<name>.eraserlab.lock`.
 * A second writer gets a ConfigError at once naming the folder, the PID and the host; a lock
 * whose process no longer runs on this host is stale and taken over. Released by `release()`
 * and at process exit. Locks are re-entrant within one process.
 */
export function lockOutput(dir: string, opts: { beside?: boolean; command?: string; option?: string } = {}): OutputLock {
  const abs = path.resolve(dir);
  const file = opts.beside ? path.join(path.dirname(abs), `.${path.basename(abs)}${LOCK_FILE}`) : path.join(abs, LOCK_FILE);
  const mine = held.get(file);
  if (mine !== undefined) {
    held.set(file, mine + 1);
    return handle(file);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), ...(opts.command ? { command: opts.command } : {}) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info) + '\n', { flag: 'wx' });
      held.set(file, 1);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const f of held.keys()) removeIfMine(f);
        });
      }
      return handle(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const other = readJson(file) as Partial<LockInfo> | undefined;
    let stale: boolean;
    if (!isObj(other) || typeof other.pid !== 'number') {
      // written by a process killed between creating and filling it: stale after a few seconds
      let age = Infinity;
      try {
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // removed meanwhile: try again
      }
      stale = age > 5000;
    } else stale = other.host === os.hostname() && !pidAlive(other.pid);
    if (!stale) {
      const pid = isObj(other) && typeof other.pid === 'number' ? other.pid : undefined;
      const who = isObj(other) && typeof other.pid === 'number' ? `process ${other.pid} on ${other.host}${other.command ? ` (${other.command})` : ''}, since ${other.started}` : 'another process';
      throw new OutputLockedError(abs, file, pid, `${abs} is being written by ${who}`, [
        {
          path: opts.option ?? '--out',
          message: `one writer per output folder: wait for it to finish or choose another folder (if no such process runs, remove the stale lock ${file})`,
        },
      ]);
    }
    fs.rmSync(file, { force: true });
  }
  throw new ConfigError(`Cannot take the lock ${file} for ${abs}`, [{ path: opts.option ?? '--out', message: 'another process keeps taking it; try again' }]);
}

function handle(file: string): OutputLock {
  let done = false;
  return {
    file,
    release: () => {
      if (done) return;
      done = true;
      releaseOne(file);
    },
  };
}

function removeIfMine(file: string): void {
  const cur = readJson(file);
  if (isObj(cur) && cur.pid === process.pid && cur.host === os.hostname()) fs.rmSync(file, { force: true });
}

function releaseOne(file: string): void {
  const n = held.get(file);
  if (n === undefined) return;
  if (n > 1) {
    held.set(file, n - 1);
    return;
  }
  held.delete(file);
  removeIfMine(file);
}
