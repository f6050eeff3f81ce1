/**
 * The seeded pseudo-random generator of property tests (the project's one, `tools/prng.ts`):
 * the same seed gives the same sequence on every run, so a failure can be replayed from the
 * seed in its message.
 *
 * @example
 * ```ts
 * const rnd = prng(42);
 * const n = rnd.int(0, 10); // 0 ≤ n < 10
 * ```
 *
 * @module
 */
import { Prng } from "../../tools/prng.ts";

export { Prng };

/** A generator seeded with `seed` (any 32-bit integer). */
export function prng(seed: number): Prng {
  return new Prng(seed);
}
