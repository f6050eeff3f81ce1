/**
 * Waiting, in tests against real servers and processes, for something they do on their own
 * timers: polls, with a deadline and a message that says what was last seen.
 *
 * @module
 */

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `get` every 50 ms until `done` holds for its value, at most `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  get: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await get();
    if (done(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
    }
    await delay(50);
  }
}
