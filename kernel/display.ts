/**
 * The bridge to tslab's display machinery. The SDK never imports tslab (docs/architecture.md); this
 * layer talks to the tslab that is running the kernel, found in Node's module cache: tslab's
 * `jupyter` module holds the function that sends display messages for the executing cell (it
 * is what `tslab.display` / `tslab.newDisplay()` call). Writing through it directly lets one
 * output carry several representations (HTML + Plotly JSON + text) and lets displays be
 * replaced in place by id. Outside a kernel nothing of tslab is loaded.
 */

/** MIME type → representation: strings (base64 for images), JSON values for `+json` types. */
export type MimeBundle = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type WriteDisplayData = (msg: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

function kernelWriter(): WriteDisplayData | undefined {
  for (const key of Object.keys(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const w = (require.cache[key]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined)?.lastWriteDisplayData;
    if (w) return w;
  }
  return undefined;
}

/** True inside a running tslab kernel (a cell is executing or has executed). */
export function inNotebook(): boolean {
  return kernelWriter() !== undefined;
}

interface Display {
  html(s: string): void;
  png(b: Uint8Array): void;
  text(s: string): void;
}
const displays = new Map<string, Display>();

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
  const write = kernelWriter();
  if (write) {
    write({ data: bundle, metadata: {}, transient: opts.id ? { display_id: opts.id } : {} }, !!opts.update);
    return;
  }
  if (Object.keys(require.cache).some((k) => /[\\/]tslab[\\/]dist[\\/]/.test(k))) {
    // Inside tslab but its internals moved: its public API (one representation per output).
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const tslab = require('tslab') as { display: Display; newDisplay(): Display };
      const d = opts.id ? (displays.get(opts.id) ?? displays.set(opts.id, tslab.newDisplay()).get(opts.id)!) : tslab.display;
      if (typeof bundle['text/html'] === 'string') d.html(bundle['text/html']);
      else if (typeof bundle['image/png'] === 'string') d.png(Buffer.from(bundle['image/png'], 'base64'));
      else d.text(String(bundle['text/plain'] ?? ''));
      return;
    } catch {
      /* not in a kernel after all: print */
    }
  }
  const text = bundle['text/plain'];
  if (typeof text === 'string' && !opts.update) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
