/**
 * Ctrl-C for the simulator: the first one stops the run (the summary still comes, after up to
 * 5 s for the last acknowledgements: `DRAIN_MS` in run.ts); a second, later one quits at once.
 *
 * In a terminal, one Ctrl-C can arrive twice: the terminal sends SIGINT to the whole foreground
 * process group, so to `deno task` and to the simulator it runs, and `deno task` forwards the
 * signal it got to its child as well. Signals closer together than {@link SAME_CTRL_C_MS} are
 * therefore one Ctrl-C.
 *
 * @module
 */
/** Signals that arrive within this many ms of the first are the same Ctrl-C. */
export const SAME_CTRL_C_MS = 500;

/**
 * A signal handler: the first call runs `stop`; later calls within {@link SAME_CTRL_C_MS} ms
 * of it do nothing; a call after that runs `quit`.
 *
 * @param now the clock, in ms (performance.now by default)
 */
export function interruptHandler(
  stop: () => void,
  quit: () => void,
  now: () => number = () => performance.now(),
): () => void {
  let first: number | null = null;
  return () => {
    const at = now();
    if (first === null) {
      first = at;
      stop();
    } else if (at - first >= SAME_CTRL_C_MS) {
      quit();
    }
  };
}
