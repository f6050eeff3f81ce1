/**
 * What a store says of its own durability, checked once when a node starts: does an
 * acknowledged write survive a crash of the store's server?
 *
 * @module
 */

/** A store's answer to {@link StateStore.durability}. */
export interface StoreDurability {
  /**
   * Whether the store keeps a log of writes on disk, so that a write it acknowledged survives
   * a crash of its server — at most the last second or so lost to a crash of the machine,
   * which cluster mode applies again from the streams. `false` also when the store could not
   * tell (its server refused to say).
   */
  readonly durable: boolean;
  /**
   * What was found and what it means, one line for the log and `/readyz`: e.g.
   * `"appendonly yes, appendfsync everysec: …"`.
   */
  readonly detail: string;
}
