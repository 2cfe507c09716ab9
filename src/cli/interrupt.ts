// Ctrl-C and SIGTERM for the CLI's batch loops: the first signal asks the loop to stop after the
// batch in hand (so every file it writes is whole), a second one leaves at once.

/** Exit codes after a signal, as shells report them: 128 + the signal's number. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Listens for SIGINT/SIGTERM until `release()`; `stopped` names the first signal received.
 * @example
 *   const stop = catchStop('camlight cam: SIGINT: finishing the current batch');
 *   for (…) { …; if (stop.stopped) break; }
 *   stop.release();
 */
export function catchStop(message: (sig: NodeJS.Signals) => string): { readonly stopped: NodeJS.Signals | null; release(): void } {
  let stopped: NodeJS.Signals | null = null;
  const on = (sig: NodeJS.Signals) => {
    if (stopped) process.exit(SIGNAL_EXIT[sig] ?? 130);
    stopped = sig;
    process.stderr.write(`\n${message(sig)} (again to quit at once)\n`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    get stopped() {
      return stopped;
    },
    release() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}
