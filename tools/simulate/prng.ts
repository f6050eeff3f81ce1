/**
 * Seeded pseudo-random numbers for the simulator: the same seed gives the same fleet, the same
 * walks and the same anomalies on every run and every machine.
 *
 * @module
 */

/** A seeded generator (mulberry32: 32 bits of state, fast, good enough for simulated data). */
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
}

/**
 * A seed for one stream of a run, derived from the run's seed and a name (a device id): each
 * device draws from its own generator, so what it sends does not depend on how its turns
 * interleave with other devices'. FNV-1a over the name, mixed with the seed by splitmix32's
 * finalizer.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let z = (h ^ Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
