/**
 * Seeded pseudo-random numbers for the simulator: the same seed gives the same fleet, the same
 * walks and the same anomalies on every run and every machine. The generator is the project's
 * one ({@link Prng}, `tools/prng.ts`); what is the simulator's own is how each device gets a
 * stream of its own ({@link deriveSeed}).
 *
 * @module
 */

export { Prng } from "../prng.ts";

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
