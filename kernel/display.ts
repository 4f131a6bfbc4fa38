/**
 * The bridge to tslab's display machinery. The SDK never imports tslab (DESIGN.md §1); this
 * layer does, at runtime only. `require('tslab')` from a compiled module resolves the project's
 * own tslab; when the running kernel is that tslab (kernel/install.js registers it), the module
 * instance is the one the kernel writes through. A copy already loaded by the kernel is
 * preferred, so a globally installed tslab works too.
 */
import * as path from 'path';

/** MIME type → representation: strings (base64 for images), JSON values for `+json` types. */
export type MimeBundle = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface TslabPublic {
  display: { html(s: string): void; text(s: string): void };
  newDisplay(): { html(s: string): void; text(s: string): void };
}
type WriteDisplayData = (msg: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

function loadedTslab(): { pub: TslabPublic; jupyter?: { lastWriteDisplayData: WriteDisplayData | null } } | undefined {
  const key = Object.keys(require.cache).find((k) => /[\\/]tslab[\\/]dist[\\/]public\.js$/.test(k));
  let pub: TslabPublic | undefined;
  let file: string | undefined;
  if (key) {
    pub = require.cache[key]?.exports as TslabPublic;
    file = key;
  } else {
    try {
      file = require.resolve('tslab');
      pub = require('tslab') as TslabPublic;
    } catch {
      return undefined;
    }
  }
  let jupyter: { lastWriteDisplayData: WriteDisplayData | null } | undefined;
  try {
    jupyter = require(path.join(path.dirname(file!), 'jupyter.js'));
  } catch {
    jupyter = undefined;
  }
  return { pub: pub!, jupyter };
}

/** True inside a running tslab kernel (a cell is executing or has executed). */
export function inNotebook(): boolean {
  const t = loadedTslab();
  return !!t?.jupyter?.lastWriteDisplayData;
}

let counter = 0;
/** A display id unique within this kernel process. */
export function newDisplayId(): string {
  counter += 1;
  return `eraserlab-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/**
 * Send one output (a MIME bundle: every representation at once, the front end picks) as a new
 * display, or replace the display `id` in place when `update` is true. Outside a notebook the
 * text/plain part goes to stdout.
 */
export function emit(bundle: MimeBundle, opts: { id?: string; update?: boolean } = {}): void {
  const t = loadedTslab();
  const write = t?.jupyter?.lastWriteDisplayData;
  if (write) {
    write({ data: bundle, metadata: {}, transient: opts.id ? { display_id: opts.id } : {} }, !!opts.update);
    return;
  }
  if (t && !t.jupyter) {
    // A tslab whose internals moved: fall back to its public, single-representation API.
    try {
      if (bundle['text/html']) t.pub.display.html(bundle['text/html']);
      else t.pub.display.text(bundle['text/plain'] ?? '');
      return;
    } catch {
      /* not in a kernel */
    }
  }
  const text = bundle['text/plain'];
  if (text !== undefined && !opts.update) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
