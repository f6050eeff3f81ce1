/**
 * What a terminal remembers of the transaction ids it has decided, so that a retried request
 * gets the first result and changes nothing. The memory is bounded: an id is remembered for a
 * time window (by the terminal's clock when it decided) and at most a number of ids are kept,
 * the oldest forgotten first. Plain JSON: a record by id and the ids in decision order.
 *
 * Ids come from clients, so the record is read and written as own properties only: an id
 * such as `__proto__` or `constructor` is an ordinary key here.
 *
 * @module
 */

/** A remembered decision. */
export interface Remembered<R> {
  /** The reply the first request got. */
  readonly r: R;
  /** What identifies the request besides its id (to tell a retry from a reuse of the id). */
  readonly h: string;
  /** When it was decided (terminal clock, epoch ms). */
  readonly at: number;
}

/** Remembered decisions by transaction id. */
export interface IdempotencyMemory<R> {
  readonly byId: Record<string, Remembered<R>>;
  /** Ids in the order they were decided. */
  readonly order: string[];
}

/** How long and how many ids are remembered. */
export interface IdempotencyLimits {
  readonly windowMs: number;
  readonly maxEntries: number;
}

/** An empty memory. */
export function emptyMemory<R>(): IdempotencyMemory<R> {
  return { byId: {}, order: [] };
}

/** The decision remembered for `id`, if any. */
export function recall<R>(memory: IdempotencyMemory<R>, id: string): Remembered<R> | undefined {
  return Object.hasOwn(memory.byId, id) ? memory.byId[id] : undefined;
}

/**
 * Remembers a decision, then forgets ids older than the window (relative to this one) and
 * the oldest beyond the bound.
 */
export function remember<R>(
  memory: IdempotencyMemory<R>,
  id: string,
  entry: Remembered<R>,
  limits: IdempotencyLimits,
): void {
  if (!Object.hasOwn(memory.byId, id)) memory.order.push(id);
  Object.defineProperty(memory.byId, id, {
    value: entry,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  let drop = 0;
  const order = memory.order;
  while (drop < order.length - 1) {
    const oldest = recall(memory, order[drop]!);
    const expired = oldest === undefined || entry.at - oldest.at > limits.windowMs;
    if (!expired && order.length - drop <= limits.maxEntries) break;
    delete memory.byId[order[drop]!];
    drop++;
  }
  if (drop > 0) order.splice(0, drop);
}
