/**
 * Placement arithmetic: which partition an actor lives in, and which node should own a
 * partition.
 *
 * @module
 */
import { fmix32, fnv1a32 } from "../hash.ts";

export { fnv1a32 };

/**
 * Default partition count (FLOTILLA_PARTITIONS, nats-server's `partition(n, …)` mappings).
 * Sixteen partitions spread work over up to sixteen nodes; every partition costs two durable
 * JetStream consumers, and nats-server's CPU per message grows with their number (on the
 * ingest benchmark 64 partitions took about twice the server CPU of 16).
 */
export const DEFAULT_PARTITIONS = 16;

/**
 * The partition of an actor id: the same number nats-server computes for a device subject
 * `iot.<id>.telemetry` with the mapping `{{partition(partitions,1)}}`, so a device's telemetry
 * arrives at the node that owns the device actor.
 */
export function partitionOf(id: string, partitions: number): number {
  return fnv1a32(id) % partitions;
}

/**
 * Rendezvous (highest random weight) hashing: the node that should own `partition` among
 * `nodes`. Adding or removing a node moves only the partitions it wins or held.
 */
export function ownerOf(partition: number, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const weight = fmix32(fnv1a32(node) ^ Math.imul(partition + 1, 0x9e3779b1));
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}
