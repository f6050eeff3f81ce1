/**
 * The memory the lease keeper's worker writes and the main thread reads (see lease_keeper.ts):
 * what `owns()`, `wanted()` and the readiness check answer from, without a message between the
 * threads.
 *
 * @module
 */

/**
 * The memory the worker writes and the main thread reads, per partition: the last renewal
 * (epoch µs), the state; then the share placement wants here — [0] a sequence, odd while the
 * worker writes it (a seqlock: a reader never takes half of one share and half of the next),
 * [1] 1 once placement knows its share, [2 + p] 1 if partition p is in it.
 */
export function sharedViews(shared: SharedArrayBuffer, partitions: number) {
  return {
    renewedAt: new BigInt64Array(shared, 0, partitions),
    state: new Int32Array(shared, partitions * 8, partitions),
    wanted: new Int32Array(shared, partitions * 12, partitions + 2),
  };
}

/** The size of the memory of {@link sharedViews}. */
export function sharedBytes(partitions: number): number {
  return partitions * 8 + partitions * 4 + (partitions + 2) * 4;
}
