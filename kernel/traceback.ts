/**
 * How a failed cell is reported: the `ename` / `evalue` / `traceback` of a Jupyter `error`
 * message. Type errors name the cell line:column and show the line with a caret; thrown errors
 * keep only the frames that help (the project's and the user's files), not the kernel's own
 * (`evalmachine.<anonymous>`, tslab's `dist/`, this protocol layer, `node:internal`). The SDK's
 * errors carry their diagnosis in the message and are shown as `Name: message` alone.
 */
import * as util from 'util';

/** A TypeScript diagnostic as tslab's converter reports it (0-based line and character). */
export interface CellDiagnostic {
  start: { offset: number; line: number; character: number };
  end?: { offset: number; line: number; character: number };
  messageText: string;
  code: number;
  category?: number;
  fileName?: string;
}

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = '\x1b[0;31m';
const GREEN = '\x1b[0;32m';
const BOLD_RED = '\x1b[1;31m';
const RESET = '\x1b[0m';

/** ANSI colours off (plain text for logs and tests). */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
}

/** The ename of a cell that does not compile. */
export const COMPILE_ERROR = 'TSError';

/**
 * A cell that did not compile: `evalue` is the first diagnostic as `LINE:COL - message (TSnnnn)`
 * (1-based, in the cell) plus how many more there are; the traceback shows each with its line.
 */
export function compileError(code: string, diagnostics: CellDiagnostic[]): ErrorContent {
  const lines = code.split(/\r?\n/);
  const where = (d: CellDiagnostic) => `${d.fileName ? `${d.fileName} ` : ''}${d.start.line + 1}:${d.start.character + 1}`;
  const first = diagnostics[0];
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '';
  const evalue = `${where(first)} - ${first.messageText} (TS${first.code})${more}`;
  const traceback: string[] = [`${RED}${COMPILE_ERROR}${RESET}: the cell does not compile (${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'})`];
  for (const d of diagnostics) {
    const block = [`${GREEN}${where(d)}${RESET} - ${BOLD_RED}error${RESET} TS${d.code}: ${d.messageText}`];
    const src = d.fileName ? undefined : lines[d.start.line];
    if (src !== undefined) {
      const width = d.end && d.end.line === d.start.line ? Math.max(1, d.end.character - d.start.character) : 1;
      const gutter = `${d.start.line + 1} | `;
      block.push(`${gutter}${src}`, `${' '.repeat(gutter.length + d.start.character)}${RED}${'~'.repeat(width)}${RESET}`);
    }
    traceback.push(block.join('\n'));
  }
  return { ename: COMPILE_ERROR, evalue, traceback };
}

/** Stack frames that belong to the kernel, not to the code the user runs. */
const INTERNAL_FRAME = [
  /evalmachine\.<anonymous>/,
  /[\\/]tslab[\\/]dist[\\/]/,
  /[\\/]typescript-for-tslab[\\/]/,
  /[\\/]kernel[\\/](server|wire|traceback|history)\.(js|ts)\b/,
  /\(node:[a-z_/]+:\d+:\d+\)$/,
  /at node:[a-z_/]+:\d+:\d+$/,
  /\(internal[\\/]/,
  /^\s*at (new )?Promise \(<anonymous>\)$/,
  /^\s*at <anonymous>$/,
  /^\s*at (async )?Promise\.(all|race|allSettled|any) \(index \d+\)$/,
];

/** The frames of an error's stack the user can act on. */
export function userFrames(stack: string | undefined): string[] {
  if (!stack) return [];
  return stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .filter((l) => !INTERNAL_FRAME.some((re) => re.test(l)))
    .map((l) => `    ${l.trim()}`);
}

/** The error names whose message is the whole diagnosis (the SDK's named errors). */
function isDiagnosisError(e: Error, diagnosisErrors: Array<new (...a: never[]) => Error>): boolean {
  return diagnosisErrors.some((C) => e instanceof C);
}

/**
 * A value thrown by a cell (or the rejection of its top-level await). Errors give their name and
 * message; SDK errors (`diagnosisErrors`) no stack; other errors the frames outside the kernel.
 * A thrown non-Error is `Uncaught` with its inspected value.
 */
export function thrownError(e: unknown, diagnosisErrors: Array<new (...a: never[]) => Error> = []): ErrorContent {
  if (e instanceof Error || (e && typeof e === 'object' && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string')) {
    const err = e as Error;
    const ename = err.name || err.constructor?.name || 'Error';
    const evalue = err.message;
    const head = `${RED}${ename}${RESET}: ${evalue}`;
    if (e instanceof Error && isDiagnosisError(e, diagnosisErrors)) return { ename, evalue, traceback: [head] };
    const frames = userFrames(err.stack);
    const cause = (err as { cause?: unknown }).cause;
    const tail = cause !== undefined ? [`  [cause]: ${util.inspect(cause, { depth: 2 }).split('\n').join('\n  ')}`] : [];
    return { ename, evalue, traceback: [head, ...frames, ...tail] };
  }
  const evalue = util.inspect(e, { depth: 3 });
  return { ename: 'Uncaught', evalue, traceback: [`${RED}Uncaught${RESET} ${evalue}`] };
}

/** ename/evalue of an interrupted cell (as IPython, so tools that look for it find it). */
export function interruptedError(what: string): ErrorContent {
  return { ename: 'KeyboardInterrupt', evalue: what, traceback: [`${RED}KeyboardInterrupt${RESET}: ${what}`] };
}
