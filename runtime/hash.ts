/**
 * Non-cryptographic 32-bit hashes the runtime places and spreads things with: FNV-1a of a
 * string's UTF-8 bytes (the hash nats-server's subject mappings use), and MurmurHash3's
 * finaliser (to spread similar integers apart).
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
 * MurmurHash3's 32-bit finaliser (`fmix32`): an invertible mix in which every input bit affects
 * every output bit, so similar inputs (node names, partitions, counters) land far apart. Also
 * the last step of MurmurHash3 itself. Returns an unsigned integer.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
