/**
 * The bridge to the running kernel's display messages. In the project's kernel
 * (kernel/server.ts) the protocol layer publishes a display hook on a global symbol; under a
 * plain tslab kernel the function tslab's `jupyter` module holds (what `tslab.display` calls)
 * is found in Node's module cache. Writing through either lets one output carry several
 * representations (HTML + Plotly JSON + text) and lets displays be replaced in place by id.
 * The SDK never imports tslab; outside a kernel nothing of tslab is loaded.
 */

/** MIME type → representation: strings (base64 for images), JSON values for `+json` types. */
export type MimeBundle = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

type WriteDisplayData = (msg: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

interface KernelDisplayHook {
  display: WriteDisplayData;
  clearOutput(wait: boolean): void;
}

/** The project's kernel's display hook (kernel/server.ts sets it), if this process is that kernel. */
function kernelHook(): KernelDisplayHook | undefined {
  const hook = (globalThis as Record<symbol, unknown>)[Symbol.for('eraserlab.kernel.display')] as KernelDisplayHook | undefined;
  return hook && typeof hook.display === 'function' ? hook : undefined;
}

function kernelWriter(): WriteDisplayData | undefined {
  const hook = kernelHook();
  if (hook) return hook.display;
  for (const key of Object.keys(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const w = (require.cache[key]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined)?.lastWriteDisplayData;
    if (w) return w;
  }
  return undefined;
}

/** True inside a running kernel (the project's, or tslab's after a cell has executed). */
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

/**
 * Clear the cell's output (`wait`: when the next output arrives, so redraws do not flicker). In
 * the project's kernel only; elsewhere nothing happens.
 */
export function clearOutput(wait = false): void {
  kernelHook()?.clearOutput(wait);
}
