/**
 * Placement arithmetic: which partition an actor lives in, and which node should own a
 * partition.
 *
 * @module
 */

const encoder = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes of `text` — the hash nats-server's `partition()` mapping uses. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

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
    const weight = mix32(fnv1a32(node) ^ Math.imul(partition + 1, 0x9e3779b1));
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}

/** MurmurHash3's 32-bit finaliser: spreads similar inputs (node names, partitions) apart. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
