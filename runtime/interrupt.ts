/**
 * One Ctrl-C, however many times it arrives: the first signal starts a graceful stop, repeats
 * within {@link SAME_SIGNAL_MS} are the same signal, and a later one quits at once. The node
 * (`main.ts`) and the simulator (`tools/simulate.ts`) both handle SIGINT and SIGTERM with it.
 *
 * In a terminal, one Ctrl-C can arrive twice: the terminal sends SIGINT to the whole foreground
 * process group, so to `deno task` and to the program it runs, and `deno task` forwards the
 * signal it got to its child as well. Without this, a program would see a second Ctrl-C the
 * user never pressed and give up its graceful stop.
 *
 * @module
 */

/** Signals that arrive within this many ms of the first are the same signal. */
export const SAME_SIGNAL_MS = 500;

/**
 * A signal handler: the first call runs `stop`; later calls within {@link SAME_SIGNAL_MS} ms
 * of it do nothing; a call after that runs `quit` (every time: the caller decides what a third
 * one means). The arguments of each call are passed on, e.g. the signal's name.
 *
 * @param now the clock, in ms (performance.now by default)
 */
export function interruptHandler<A extends unknown[]>(
  stop: (...args: A) => void,
  quit: (...args: A) => void,
  now: () => number = () => performance.now(),
): (...args: A) => void {
  let first: number | null = null;
  return (...args) => {
    const at = now();
    if (first === null) {
      first = at;
      stop(...args);
    } else if (at - first >= SAME_SIGNAL_MS) {
      quit(...args);
    }
  };
}
