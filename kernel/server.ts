/**
 * The project's Jupyter kernel: the messaging protocol (5.3) over ZeroMQ, with tslab as the
 * TypeScript engine. tslab's converter compiles each cell against the declarations of the cells
 * before and its executor runs it; everything a front end sees is decided here:
 *
 * - the last expression's value is an `execute_result` (text/plain plus the display layer's rich
 *   MIME types: tables for danfo frames, figures, pictures, summaries of the SDK's results);
 * - a failed cell is an `error` message and an error `execute_reply` (ename, evalue, traceback;
 *   type errors with the cell line:column, thrown errors without the kernel's own frames);
 * - requests are handled one at a time in arrival order and every request gets its reply; after
 *   a failed cell the execute requests already queued with `stop_on_error` get an `aborted` reply
 *   (as IPython: Run All stops at the first error), later ones run;
 * - `interrupt_request` or SIGINT stops a cell that is blocked in synchronous code or waiting on
 *   an `await`; `history_request`, `comm_info_request`, `is_complete_request` (complete /
 *   incomplete / invalid), `inspect_request`, `complete_request`, `kernel_info_request` and
 *   `shutdown_request` are answered as the spec says.
 *
 * Started by `node kernel/jupyter-kernel.js --config-path <connection file> [--js]` (the
 * kernelspec kernel/install.js writes).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { History, HistoryRequest } from './history';
import { CellDiagnostic, compileError, ErrorContent, interruptedError, stripAnsi, thrownError } from './traceback';
import { ConnectionInfo, decode, encode, Header, Message, PROTOCOL_VERSION, Signer } from './wire';

// ---------------------------------------------------------------------------------------------
// tslab, the engine (its converter and executor; the shapes below are those of tslab 1.0's dist/)

interface Converter {
  convert(prevDecl: string, src: string): { diagnostics: CellDiagnostic[]; [k: string]: unknown };
  inspect(prevDecl: string, src: string, position: number): unknown;
  complete(prevDecl: string, src: string, position: number): { start: number; end: number; candidates: string[] };
  addModule(name: string, content: string, meta?: unknown): CellDiagnostic[];
  close(): void;
}
interface ConverterSet {
  node: Converter;
  browser: Converter;
  close(): void;
}
interface Executor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, position: number): unknown;
  complete(src: string, position: number): { start: number; end: number; candidates: string[] };
  interrupt(): void;
  close(): void;
}
interface Tslab {
  dir: string;
  version: string;
  createConverter(o: { isJS: boolean; isBrowser: boolean }): Converter;
  isCompleteCode(code: string): { completed: boolean; indent?: string };
  createExecutor(rootDir: string, convs: ConverterSet, console: { log(...a: unknown[]): void; error(...a: unknown[]): void }): Executor;
  printQuickInfo(info: unknown): string;
  /** tslab's `jupyter` module: its `lastWriteDisplayData` is what `require('tslab').display` writes to. */
  jupyter: { lastWriteDisplayData: unknown };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ts: any;
}

function loadTslab(): Tslab {
  const dir = path.dirname(require.resolve('tslab/package.json'));
  const dist = (m: string) => require(path.join(dir, 'dist', m)); // eslint-disable-line @typescript-eslint/no-var-requires
  const converter = dist('converter');
  return {
    dir,
    version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version,
    createConverter: converter.createConverter,
    isCompleteCode: converter.isCompleteCode,
    createExecutor: dist('executor').createExecutor,
    printQuickInfo: dist('inspect').printQuickInfo,
    jupyter: dist('jupyter'),
    ts: require(require.resolve('@tslab/typescript-for-tslab', { paths: [dir] })), // eslint-disable-line @typescript-eslint/no-var-requires
  };
}

// ---------------------------------------------------------------------------------------------
// ZeroMQ (zeromq 6, tslab's dependency)

interface ZSocket extends AsyncIterable<Buffer[]> {
  bind(addr: string): Promise<void>;
  send(frames: Buffer[] | Buffer): Promise<void>;
  close(): void;
  linger?: number;
}
interface Zmq {
  Publisher: new () => ZSocket;
  Router: new () => ZSocket;
  Reply: new () => ZSocket;
}

/** Sends on one socket one after another (zeromq allows one pending send per socket). */
class Outbox {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly socket: ZSocket, private readonly log: (s: string) => void) {}
  send(frames: Buffer[]): Promise<void> {
    this.chain = this.chain.then(
      () => this.socket.send(frames),
      () => this.socket.send(frames),
    );
    this.chain = this.chain.catch((e) => this.log(`send failed: ${e instanceof Error ? e.message : e}`));
    return this.chain;
  }
}

// ---------------------------------------------------------------------------------------------
// The display hook the project's display layer (kernel/display.ts) writes through

/** Where kernel/display.ts finds the running kernel (a global: the notebook may load its own copy). */
export const DISPLAY_HOOK = Symbol.for('eraserlab.kernel.display');

export interface DisplayHook {
  /** A display_data (update: update_display_data for `transient.display_id`). */
  display(msg: { data: Record<string, unknown>; metadata?: object; transient?: { display_id?: string } }, update: boolean): void;
  /** A clear_output (wait: clear when the next output arrives). */
  clearOutput(wait: boolean): void;
}

// ---------------------------------------------------------------------------------------------

/** The outcome of running one cell. */
type Outcome = { ok: true; value: unknown; hasValue: boolean } | { ok: false; error: ErrorContent };

/** What tslab's executor reports while a cell runs (it prints; we record). */
interface Capture {
  diagnostics: CellDiagnostic[];
  threw: boolean;
  thrown: unknown;
  value: unknown;
  hasValue: boolean;
}

/** tslab prints compile diagnostics with this format; they are taken from the converter instead. */
const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';
const INTERRUPTED_AWAIT = 'Interrupted asynchronously';

/** Code-point offset (Jupyter's cursor_pos) → UTF-16 index (JavaScript's), and back. */
export function codePointsToUtf16(s: string, cp: number): number {
  let i = 0;
  for (let n = 0; n < cp && i < s.length; n++) i += (s.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return i;
}
export function utf16ToCodePoints(s: string, u: number): number {
  return [...s.slice(0, u)].length;
}

/** `is_complete_request`: tslab's bracket check, then TypeScript's parser for invalid code. */
export function isComplete(tslab: Pick<Tslab, 'isCompleteCode' | 'ts'>, code: string): { status: 'complete' | 'incomplete' | 'invalid'; indent?: string } {
  const r = tslab.isCompleteCode(code);
  if (!r.completed) return { status: 'incomplete', indent: r.indent ?? '' };
  const ts = tslab.ts;
  const out = ts.transpileModule(code, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  const codes: number[] = (out.diagnostics ?? []).map((d: { code: number }) => d.code);
  // An open template literal or block comment continues on the next line.
  if (codes.some((c) => c === 1160 || c === 1010)) return { status: 'incomplete', indent: '' };
  return codes.length ? { status: 'invalid' } : { status: 'complete' };
}

/** The expression of a help cell (`Math.max?`, `?Math.max`), which is not valid TypeScript otherwise. */
export function helpTarget(code: string): string | undefined {
  const m = /^\s*\?\s*([\w$.]+)\s*$/.exec(code) ?? /^\s*([\w$.]+)\s*\?\s*$/.exec(code);
  return m ? m[1] : undefined;
}

export interface KernelOptions {
  connectionFile: string;
  /** The JavaScript kernel (jslab) instead of TypeScript. */
  js?: boolean;
}

export class Kernel {
  private readonly session = crypto.randomUUID();
  private readonly tslab = loadTslab();
  private readonly js: boolean;
  private signer!: Signer;
  private conn!: ConnectionInfo;
  private zmq!: Zmq;
  private iopub!: Outbox;
  private sockets: ZSocket[] = [];
  private executor!: Executor;
  private convs!: ConverterSet;
  private executionCount = 0;
  private readonly history = new History();
  /** Shell requests not yet handled (in arrival order). */
  private readonly queue: Array<{ msg: Message; out: Outbox; aborted?: boolean }> = [];
  private draining = false;
  /** The request outputs belong to (the cell running or last run). */
  private outputParent: Message | undefined;
  private capture: Capture | undefined;
  private interrupted = false;
  private closed = false;
  private readonly stdoutWrite = process.stdout.write.bind(process.stdout);
  private readonly stderrWrite = process.stderr.write.bind(process.stderr);

  constructor(private readonly opts: KernelOptions) {
    this.js = !!opts.js;
  }

  /** Kernel diagnostics (not cell output): the kernel process's own stderr. */
  private log(s: string): void {
    this.stderrWrite(`[eraserlab kernel] ${s}\n`);
  }

  async start(): Promise<void> {
    let conn: ConnectionInfo;
    try {
      conn = JSON.parse(fs.readFileSync(this.opts.connectionFile, 'utf8'));
    } catch (e) {
      throw new Error(`kernel: cannot read the connection file ${this.opts.connectionFile}: ${e instanceof Error ? e.message : e}`);
    }
    this.conn = conn;
    this.signer = new Signer(conn.key ?? '', conn.signature_scheme || 'hmac-sha256');
    this.zmq = require(require.resolve('zeromq', { paths: [this.tslab.dir] })) as Zmq; // eslint-disable-line @typescript-eslint/no-var-requires

    const node = this.tslab.createConverter({ isJS: this.js, isBrowser: false });
    let browser: Converter | undefined;
    const record = (diags: CellDiagnostic[]) => {
      if (this.capture && diags.length) this.capture.diagnostics.push(...diags);
      return diags;
    };
    // The converter as tslab's executor sees it, recording the diagnostics it returns.
    const watch = (c: Converter): Converter => ({
      convert: (prev, src) => {
        const r = c.convert(prev, src);
        record(r.diagnostics ?? []);
        return r;
      },
      inspect: (prev, src, pos) => c.inspect(prev, src, pos),
      complete: (prev, src, pos) => c.complete(prev, src, pos),
      addModule: (name, content, meta) => record(c.addModule(name, content, meta)),
      close: () => c.close(),
    });
    const watchedNode = watch(node);
    let watchedBrowser: Converter | undefined;
    this.convs = {
      node: watchedNode,
      get browser() {
        browser ??= loadTslabBrowser();
        watchedBrowser ??= watch(browser);
        return watchedBrowser;
      },
      close: () => {
        node.close();
        browser?.close();
      },
    };
    const tslab = this.tslab;
    const js = this.js;
    function loadTslabBrowser(): Converter {
      return tslab.createConverter({ isJS: js, isBrowser: true });
    }
    this.executor = this.tslab.createExecutor(process.cwd(), this.convs, {
      // The executor logs the last expression's value (when not null/undefined) ...
      log: (...a: unknown[]) => {
        if (this.capture) {
          this.capture.value = a[0];
          this.capture.hasValue = true;
        }
      },
      // ... and reports failures: compile diagnostics (recorded above) or the thrown value.
      error: (...a: unknown[]) => {
        if (a[0] === DIAGNOSTIC_FORMAT) return;
        if (this.capture && !this.capture.threw) {
          this.capture.threw = true;
          this.capture.thrown = a[0];
        }
      },
    });

    this.installOutputHooks();
    try {
      // The display layer, loaded now the hook is set: it routes the SDK's progress bars to
      // in-place notebook displays and shortens the SDK's errors, whether or not a cell imports it.
      require('./index'); // eslint-disable-line @typescript-eslint/no-var-requires
    } catch (e) {
      this.log(`the display layer did not load (values show as text): ${e instanceof Error ? e.message : e}`);
    }
    await this.bind();
    this.publish('status', { execution_state: 'starting' }, undefined);
  }

  private async bind(): Promise<void> {
    const { Publisher, Router, Reply } = this.zmq;
    const addr = (port: number) => (this.conn.transport === 'ipc' ? `ipc://${this.conn.ip}-${port}` : `${this.conn.transport}://${this.conn.ip}:${port}`);
    const iopub = new Publisher();
    const shell = new Router();
    const control = new Router();
    const stdin = new Router();
    const hb = new Reply();
    this.sockets = [iopub, shell, control, stdin, hb];
    for (const s of this.sockets) s.linger = 1000;
    await Promise.all([
      iopub.bind(addr(this.conn.iopub_port)),
      shell.bind(addr(this.conn.shell_port)),
      control.bind(addr(this.conn.control_port)),
      stdin.bind(addr(this.conn.stdin_port)),
      hb.bind(addr(this.conn.hb_port)),
    ]);
    this.iopub = new Outbox(iopub, (s) => this.log(s));
    const shellOut = new Outbox(shell, (s) => this.log(s));
    const controlOut = new Outbox(control, (s) => this.log(s));
    void this.receive(shell, (msg) => this.enqueue(msg, shellOut));
    void this.receive(control, (msg) => void this.handleControl(msg, controlOut));
    void (async () => {
      try {
        for await (const frames of hb) await hb.send(frames);
      } catch (e) {
        if (!this.closed) this.log(`heartbeat stopped: ${e instanceof Error ? e.message : e}`);
      }
    })();
  }

  private async receive(sock: ZSocket, handle: (msg: Message) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: Message;
        try {
          msg = decode(frames, this.signer);
        } catch (e) {
          this.log(`ignored a message: ${e instanceof Error ? e.message : e}`);
          continue;
        }
        handle(msg);
      }
    } catch (e) {
      if (!this.closed) this.log(`socket stopped: ${e instanceof Error ? e.message : e}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  private send(out: Outbox, msgType: string, content: object, parent: Message | undefined, metadata: object = {}): Promise<void> {
    let frames: Buffer[];
    try {
      frames = encode(this.signer, this.session, msgType, content, parent?.header, parent?.identities ?? [], metadata);
    } catch (e) {
      this.log(`cannot encode ${msgType}: ${e instanceof Error ? e.message : e}`);
      return Promise.resolve();
    }
    return out.send(frames);
  }

  private publish(msgType: string, content: object, parent: Message | undefined): Promise<void> {
    let frames: Buffer[];
    try {
      // Topics as ipykernel: `kernel.<id>.<type>`, `stream.<name>` for streams.
      frames = encode(this.signer, this.session, msgType, content, parent?.header, [], {});
    } catch (e) {
      this.log(`cannot encode ${msgType}: ${e instanceof Error ? e.message : e}`);
      return Promise.resolve();
    }
    const topic = msgType === 'stream' ? `stream.${(content as { name: string }).name}` : `kernel.${this.session}.${msgType}`;
    return this.iopub.send([Buffer.from(topic), ...frames]);
  }

  private reply(out: Outbox, req: Message, content: object, metadata: object = {}): Promise<void> {
    const type = req.header.msg_type.replace(/_request$/, '_reply');
    return this.send(out, type, content, req, metadata);
  }

  /** stdout/stderr of the kernel process → stream messages; the display hook for the display layer. */
  private installOutputHooks(): void {
    const stream = (name: 'stdout' | 'stderr', original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error) => void), cb?: (e?: Error) => void) => {
        const done = typeof encoding === 'function' ? encoding : cb;
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
        if (this.outputParent && !this.closed) void this.publish('stream', { name, text }, this.outputParent);
        else original(text);
        if (done) process.nextTick(done);
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = stream('stdout', this.stdoutWrite);
    process.stderr.write = stream('stderr', this.stderrWrite);

    const hook: DisplayHook = {
      display: (msg, update) => {
        if (!this.outputParent) return;
        const content = { data: msg.data, metadata: msg.metadata ?? {}, transient: msg.transient ?? {} };
        if (update && !content.transient.display_id) return;
        void this.publish(update ? 'update_display_data' : 'display_data', content, this.outputParent);
      },
      clearOutput: (wait) => {
        if (this.outputParent) void this.publish('clear_output', { wait: !!wait }, this.outputParent);
      },
    };
    (globalThis as Record<symbol, unknown>)[DISPLAY_HOOK] = hook;
    // `require('tslab').display` in a cell writes through tslab's own module variable.
    this.tslab.jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown>; metadata?: object; transient?: { display_id?: string } }, update: boolean) =>
      hook.display(msg, update);
  }

  // -------------------------------------------------------------------------------------------
  // Shell: one request at a time, in order

  private enqueue(msg: Message, out: Outbox): void {
    this.queue.push({ msg, out });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.closed) {
        const item = this.queue.shift()!;
        await this.handle(item.msg, item.out, item.aborted);
      }
    } finally {
      this.draining = false;
    }
  }

  private async handle(msg: Message, out: Outbox, aborted = false): Promise<void> {
    const type = msg.header.msg_type;
    await this.publish('status', { execution_state: 'busy' }, msg);
    try {
      if (aborted && type === 'execute_request') {
        await this.reply(out, msg, { status: 'aborted', execution_count: this.executionCount }, { status: 'aborted' });
      } else {
        await this.dispatch(msg, out);
      }
    } catch (e) {
      // A handler failed: the request still gets a reply, an error one.
      const err = thrownError(e);
      this.log(`${type} failed: ${stripAnsi(err.traceback.join('\n'))}`);
      if (/_request$/.test(type)) await this.reply(out, msg, { status: 'error', ...err, ...(type === 'execute_request' ? { execution_count: this.executionCount } : {}) });
    } finally {
      await this.publish('status', { execution_state: 'idle' }, msg);
    }
  }

  private async dispatch(msg: Message, out: Outbox): Promise<void> {
    const c = msg.content;
    switch (msg.header.msg_type) {
      case 'execute_request':
        return this.execute(msg, out);
      case 'kernel_info_request':
        return this.reply(out, msg, this.kernelInfo());
      case 'complete_request':
        return this.reply(out, msg, this.complete(String(c.code ?? ''), Number(c.cursor_pos ?? 0)));
      case 'inspect_request':
        return this.reply(out, msg, this.inspect(String(c.code ?? ''), Number(c.cursor_pos ?? 0)));
      case 'is_complete_request':
        return this.reply(out, msg, isComplete(this.tslab, String(c.code ?? '')));
      case 'history_request':
        return this.reply(out, msg, { status: 'ok', history: this.history.query(c as HistoryRequest) });
      case 'comm_info_request':
        return this.reply(out, msg, { status: 'ok', comms: {} });
      case 'connect_request':
        return this.reply(out, msg, {
          status: 'ok',
          shell_port: this.conn.shell_port,
          iopub_port: this.conn.iopub_port,
          stdin_port: this.conn.stdin_port,
          hb_port: this.conn.hb_port,
          control_port: this.conn.control_port,
        });
      case 'shutdown_request':
        return this.shutdown(msg, out);
      case 'interrupt_request':
        this.interrupt();
        return this.reply(out, msg, { status: 'ok' });
      case 'comm_open':
      case 'comm_msg':
      case 'comm_close':
        // No comm targets: nothing to open (the spec: a kernel without the target ignores it).
        return;
      default:
        if (/_request$/.test(msg.header.msg_type)) {
          await this.reply(out, msg, {
            status: 'error',
            ename: 'UnsupportedRequest',
            evalue: `this kernel does not handle ${msg.header.msg_type}`,
            traceback: [`UnsupportedRequest: this kernel does not handle ${msg.header.msg_type}`],
          });
        } else {
          this.log(`ignored a ${msg.header.msg_type} message`);
        }
    }
  }

  /** Control: interrupt and shutdown at once (even while a cell runs); the rest as on shell. */
  private async handleControl(msg: Message, out: Outbox): Promise<void> {
    const type = msg.header.msg_type;
    if (type === 'interrupt_request') {
      this.interrupt();
      await this.reply(out, msg, { status: 'ok' });
    } else if (type === 'shutdown_request') {
      await this.shutdown(msg, out);
    } else if (type === 'kernel_info_request') {
      await this.reply(out, msg, this.kernelInfo());
    } else {
      await this.handle(msg, out);
    }
  }

  private kernelInfo(): object {
    const ts = this.tslab.ts;
    const pkg = readPackageVersion();
    const language_info = this.js
      ? { name: 'javascript', version: process.versions.v8, mimetype: 'text/javascript', file_extension: '.js', codemirror_mode: 'javascript', pygments_lexer: 'javascript' }
      : {
          name: 'typescript',
          version: ts.version as string,
          mimetype: 'text/typescript',
          file_extension: '.ts',
          // Classic Notebook's CodeMirror 5 needs the JavaScript mode in TypeScript flavour; JupyterLab reads `mode`.
          codemirror_mode: { name: 'javascript', typescript: true, mode: 'typescript' },
          pygments_lexer: 'typescript',
        };
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'eraserlab',
      implementation_version: pkg,
      language_info,
      banner: `eraserlab ${pkg}: ${this.js ? 'JavaScript' : `TypeScript ${ts.version}`} on Node ${process.version} (tslab ${this.tslab.version})`,
      debugger: false,
    };
  }

  private complete(code: string, cursorPos: number): object {
    const pos = codePointsToUtf16(code, cursorPos);
    const info = this.executor.complete(code, pos);
    return {
      status: 'ok',
      matches: info.candidates ?? [],
      cursor_start: utf16ToCodePoints(code, info.start ?? pos),
      cursor_end: utf16ToCodePoints(code, info.end ?? pos),
      metadata: {},
    };
  }

  private inspect(code: string, cursorPos: number): object {
    const info = this.executor.inspect(code, codePointsToUtf16(code, cursorPos));
    if (!info) return { status: 'ok', found: false, data: {}, metadata: {} };
    return { status: 'ok', found: true, data: { 'text/plain': this.tslab.printQuickInfo(info) }, metadata: {} };
  }

  // -------------------------------------------------------------------------------------------
  // Execution

  private async execute(msg: Message, out: Outbox): Promise<void> {
    const c = msg.content;
    const code = String(c.code ?? '');
    const silent = !!c.silent;
    const storeHistory = !silent && c.store_history !== false;
    if (storeHistory) this.executionCount += 1;
    const count = this.executionCount;
    this.outputParent = msg;
    if (!silent) await this.publish('execute_input', { code, execution_count: count }, msg);
    if (storeHistory) this.history.add(count, code);

    const help = helpTarget(code);
    if (help !== undefined) {
      // `name?` / `?name`: the type and documentation of `name` in the pager (as IPython's `?`).
      const info = this.executor.inspect(help, help.length);
      const text = info ? this.tslab.printQuickInfo(info) : `no type information for ${help}`;
      const payload = [{ source: 'page', data: { 'text/plain': text }, start: 0 }];
      await this.reply(out, msg, { status: 'ok', execution_count: count, payload, user_expressions: {} }, { status: 'ok' });
      return;
    }

    const outcome = await this.run(code);
    if (outcome.ok) {
      if (outcome.hasValue && !silent) {
        const { data, metadata } = await this.resultBundle(outcome.value);
        if (storeHistory && typeof data['text/plain'] === 'string') this.history.setOutput(count, data['text/plain']);
        await this.publish('execute_result', { execution_count: count, data, metadata }, msg);
      }
      await this.reply(out, msg, { status: 'ok', execution_count: count, payload: [], user_expressions: {} }, { status: 'ok' });
      return;
    }
    if (!silent) await this.publish('error', outcome.error, msg);
    await this.reply(out, msg, { status: 'error', execution_count: count, ...outcome.error }, { status: 'error' });
    if (c.stop_on_error !== false) {
      // As IPython: the cells queued behind a failed one (Run All) are answered `aborted`.
      for (const item of this.queue) if (item.msg.header.msg_type === 'execute_request') item.aborted = true;
    }
  }

  /** Run one cell through tslab and say how it ended. */
  private async run(code: string): Promise<Outcome> {
    const cap: Capture = { diagnostics: [], threw: false, thrown: undefined, value: undefined, hasValue: false };
    this.capture = cap;
    this.interrupted = false;
    let ok: boolean;
    try {
      ok = await this.executor.execute(code);
    } catch (e) {
      ok = false;
      cap.threw = true;
      cap.thrown = e;
    } finally {
      this.capture = undefined;
    }
    if (cap.diagnostics.length) return { ok: false, error: compileError(code, cap.diagnostics) };
    if (ok) return { ok: true, value: cap.value, hasValue: cap.hasValue };
    if (cap.threw) {
      const e = cap.thrown as { message?: unknown; code?: unknown } | undefined;
      if (e instanceof Error && e.message === INTERRUPTED_AWAIT) return { ok: false, error: interruptedError('the cell was interrupted while awaiting (work it started may still run in the background)') };
      if (e && (e.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' || /Script execution was interrupted/.test(String(e.message)))) {
        return { ok: false, error: interruptedError('the cell was interrupted') };
      }
      return { ok: false, error: thrownError(cap.thrown, diagnosisErrors()) };
    }
    return { ok: false, error: { ename: 'Error', evalue: 'the cell failed without saying why', traceback: ['Error: the cell failed without saying why'] } };
  }

  /** The execute_result bundle of a value, through the project's display layer. */
  private async resultBundle(value: unknown): Promise<{ data: Record<string, unknown>; metadata: object }> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const layer = require('./index') as typeof import('./index');
      const data = await layer.resultBundle(value);
      return { data, metadata: {} };
    } catch (e) {
      this.log(`the display layer could not render a value: ${e instanceof Error ? e.stack : e}`);
      return { data: { 'text/plain': util.inspect(value, { depth: 3 }) }, metadata: {} };
    }
  }

  interrupt(): void {
    this.interrupted = true;
    this.executor?.interrupt();
  }

  private async shutdown(msg: Message, out: Outbox): Promise<void> {
    const restart = !!msg.content.restart;
    await this.reply(out, msg, { status: 'ok', restart });
    await this.publish('shutdown_reply', { status: 'ok', restart }, msg);
    this.close();
    setTimeout(() => process.exit(0), 50).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.executor?.close();
    } catch {
      /* closing anyway */
    }
    for (const s of this.sockets) s.close();
  }

  /** An error that escaped a cell (a callback, a rejection nobody awaited): stderr of the current cell. */
  reportStray(kind: 'UncaughtException' | 'UnhandledPromiseRejection', e: unknown): void {
    const err = thrownError(e, diagnosisErrors());
    process.stderr.write(`${kind}: ${stripAnsi(err.traceback.join('\n'))}\n`);
  }
}

function readPackageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The SDK's named errors (their message is the diagnosis), when the SDK is loaded. */
function diagnosisErrors(): Array<new (...a: never[]) => Error> {
  const file = path.resolve(__dirname, '..', 'sdk', 'runtime', 'errors.js');
  const mod = require.cache[file]?.exports as { EraserError?: new (...a: never[]) => Error } | undefined;
  return mod?.EraserError ? [mod.EraserError] : [];
}

/** Start the kernel for a connection file; SIGINT interrupts the running cell. */
export async function startKernel(opts: KernelOptions): Promise<Kernel> {
  const kernel = new Kernel(opts);
  process.on('SIGINT', () => kernel.interrupt());
  process.on('uncaughtException', (e) => kernel.reportStray('UncaughtException', e));
  process.on('unhandledRejection', (e) => kernel.reportStray('UnhandledPromiseRejection', e));
  await kernel.start();
  // As ipykernel: exit when the process that started the kernel (Jupyter) is gone.
  const parent = Number(process.env.JPY_PARENT_PID);
  if (Number.isInteger(parent) && parent > 1) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        kernel.close();
        process.exit(0);
      }
    }, 2000).unref();
  }
  return kernel;
}

/** `Header` re-exported for tests that build messages. */
export type { Header };
