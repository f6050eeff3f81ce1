/**
 * Seeded pseudo-random numbers: the same seed gives the same sequence on every run and every
 * machine. The simulator draws its fleets from it, the fraud model's training its synthetic
 * data (so the committed model is reproduced byte for byte), and property tests their cases (so
 * a failure replays from the seed in its message).
 *
 * @example
 * ```ts
 * const rnd = new Prng(42);
 * const n = rnd.int(0, 10); // 0 ≤ n < 10
 * const random = seededRandom(42); // like Math.random, but seeded
 * ```
 *
 * @module
 */

/** A seeded generator (mulberry32: 32 bits of state, fast, good enough for made-up data). */
export class Prng {
  #a: number;

  /** @param seed any 32-bit integer */
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A float in [min, max). */
  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(0, list.length)]!;
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(list: readonly T[]): T[] {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/**
 * A new {@link Prng}'s {@link Prng.next} as a plain function, for code that takes a
 * `() => number` the way it would take `Math.random`: the same sequence as `new Prng(seed)`.
 */
export function seededRandom(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}
