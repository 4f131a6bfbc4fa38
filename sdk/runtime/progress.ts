/**
 * Progress for long loops. The SDK never imports tslab: the kernel layer
 * injects a notebook display with `setProgressFactory`; the CLI and scripts get a terminal bar.
 */
export interface ProgressBar {
  /** Set the absolute position (0..total) and an optional status text. */
  update(done: number, status?: string): void;
  /** Advance by `n` (default 1). */
  tick(n?: number, status?: string): void;
  done(status?: string): void;
}

export type ProgressFactory = (total: number, label: string) => ProgressBar;

let factory: ProgressFactory | undefined;

/** Replace how progress is shown (the kernel installs an in-place notebook display). */
export function setProgressFactory(f: ProgressFactory | undefined): void {
  factory = f;
}

const silent: ProgressBar = { update() {}, tick() {}, done() {} };

/** A terminal bar on a TTY (cli-progress), a few plain log lines otherwise, nothing if ERASERLAB_QUIET=1. */
function terminalBar(total: number, label: string): ProgressBar {
  if (process.env.ERASERLAB_QUIET === '1') return silent;
  const stream = process.stderr;
  let pos = 0;
  if (stream.isTTY) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {status}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { status: '' });
    return {
      update(done, status) {
        pos = done;
        bar.update(done, { status: status ?? '' });
      },
      tick(n = 1, status) {
        pos += n;
        bar.update(pos, { status: status ?? '' });
      },
      done(status) {
        bar.update(total, { status: status ?? '' });
        bar.stop();
      },
    };
  }
  // Not a TTY (CI, pipes): one line per ~10%.
  let lastDecile = -1;
  const report = (status?: string) => {
    const decile = total > 0 ? Math.floor((10 * pos) / total) : 10;
    if (decile !== lastDecile) {
      lastDecile = decile;
      stream.write(`${label}: ${pos}/${total}${status ? ' ' + status : ''}\n`);
    }
  };
  return {
    update(done, status) {
      pos = done;
      report(status);
    },
    tick(n = 1, status) {
      pos += n;
      report(status);
    },
    done(status) {
      pos = total;
      report(status);
    },
  };
}

/** A progress bar for `total` units of work. Prefer this over printing in loops. */
export function progress(total: number, label = 'progress'): ProgressBar {
  return (factory ?? terminalBar)(total, label);
}

/** Callback type accepted by long SDK operations. */
export type OnProgress = (done: number, total: number, status?: string) => void;

/**
 * Run `fn` with every progress bar it opens silenced (bars opened before, e.g. one overall bar
 * the caller drives, keep drawing). For one summary line over a loop of operations that would
 * each draw their own bar.
 */
export async function withoutProgress<T>(fn: () => Promise<T>): Promise<T> {
  const saved = factory;
  factory = () => silent;
  try {
    return await fn();
  } finally {
    factory = saved;
  }
}
