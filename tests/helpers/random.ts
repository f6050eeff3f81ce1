/**
 * A small seeded pseudo-random generator for property tests: the same seed gives the same
 * sequence on every run, so a failure can be replayed from the seed in its message.
 *
 * @example
 * ```ts
 * const rnd = prng(42);
 * const n = rnd.int(0, 10); // 0 ≤ n < 10
 * ```
 *
 * @module
 */

/** A seeded generator (mulberry32). */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(list: readonly T[]): T[];
}

/** A generator seeded with `seed` (any 32-bit integer). */
export function prng(seed: number): Prng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min));
  return {
    next,
    int,
    pick: (list) => list[int(0, list.length)]!,
    shuffle(list) {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}
