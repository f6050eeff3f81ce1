/**
 * Placement arithmetic: which partition an actor lives in, and which node should own a
 * partition.
 *
 * @module
 */

/**
 * 32-bit FNV-1a of the UTF-8 bytes of `text` — the hash nats-server's `partition()` mapping
 * uses. Encodes UTF-8 on the fly: it runs for every message, and an encoder call costs more than
 * the hash.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  const byte = (b: number) => {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate encodes as U+FFFD
    if (c < 0x800) {
      byte(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      byte(0xe0 | (c >> 12));
      byte(0x80 | ((c >> 6) & 0x3f));
    } else {
      byte(0xf0 | (c >> 18));
      byte(0x80 | ((c >> 12) & 0x3f));
      byte(0x80 | ((c >> 6) & 0x3f));
    }
    byte(0x80 | (c & 0x3f));
  }
  return hash >>> 0;
}

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
