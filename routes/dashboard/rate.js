// @ts-check
/**
 * Events counted by the second over a ring of the last seconds: what the throughput chart
 * draws. Pure (the time of each event is passed in).
 *
 * @module
 */

/** A count of events per second over the last `seconds` seconds; older seconds read as 0. */
export class PerSecond {
  #counts;
  /** The second (epoch s) each slot counts; -1 for none yet. */
  #second;

  /** @param {number} seconds */
  constructor(seconds) {
    this.#counts = new Uint32Array(seconds);
    this.#second = new Float64Array(seconds).fill(-1);
  }

  /**
   * Counts one event at `ms` (epoch ms).
   * @param {number} ms
   */
  add(ms) {
    const sec = Math.floor(ms / 1000);
    const i = this.#slot(sec);
    if (this.#second[i] !== sec) {
      this.#second[i] = sec;
      this.#counts[i] = 0;
    }
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
  }

  /**
   * The events counted in second `sec` (epoch s): 0 for one that has left the ring.
   * @param {number} sec
   */
  at(sec) {
    const i = this.#slot(sec);
    return this.#second[i] === sec ? this.#counts[i] ?? 0 : 0;
  }

  /**
   * The counts of the `n` complete seconds before the one `ms` falls in, oldest first.
   * @param {number} ms
   * @param {number} n
   */
  last(ms, n) {
    const now = Math.floor(ms / 1000);
    const values = [];
    for (let s = now - n; s < now; s++) values.push(this.at(s));
    return values;
  }

  /** @param {number} sec */
  #slot(sec) {
    const size = this.#counts.length;
    return ((sec % size) + size) % size;
  }
}
