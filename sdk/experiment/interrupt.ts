/**
 * Ctrl-C for long jobs: the first SIGINT aborts the returned signal (the job stops after the
 * current step and keeps what is done), a second one exits the process with 130.
 */

export interface SigintHandle {
  /** Aborted on the first Ctrl-C. */
  signal: AbortSignal;
  /** Remove the SIGINT handler (call when the job is over). */
  dispose(): void;
}

/** Install the two-stage Ctrl-C handler; `name` prefixes the notice written to stderr. */
export function interruptOnSigint(name: string): SigintHandle {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\n${name}: interrupted; stopping after the current step (Ctrl-C again to quit now)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}
