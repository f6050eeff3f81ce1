/**
 * Duplicate detection for the data quality check "duplicates" (a record whose key fields equal
 * those of one within the window, default 1 h), in a compact, bounded memory.
 *
 * A record's key fields are hashed (no JSON, no string building) to 36 bits; the memory keeps,
 * per key, 8 base64url characters — 6 for the hash, 2 for the minute of the record's event time
 * modulo 4096 — appended to one string in arrival order. A record is a duplicate when its hash
 * is in the memory with a minute within the window (so the window is kept to the minute). The
 * oldest keys go when they fall out of the window or beyond `maxKeys`, so a stream costs at
 * most `8 * maxKeys` characters of state. A false duplicate needs two keys of the memory to
 * share 36 bits: with 256 keys, about one record in 270 million.
 *
 * @module
 */
import type { TelemetryRecord } from "./telemetry.ts";

/** The memory of one stream (plain JSON). */
export interface DedupMemory {
  /** 8 characters per key, oldest first. */
  keys: string;
  /** Minute (mod 4096) of the newest record remembered; -1 before the first. */
  newest: number;
}

/** A field a duplicate key is made of. */
export type KeyField = "ts" | "readings" | "battery" | "rssi" | `readings.${string}`;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const TOKEN = 8;
const MINUTES = 4096;

/** An empty memory. */
export function emptyDedup(): DedupMemory {
  return { keys: "", newest: -1 };
}

// A streaming 64-bit (two 32-bit lanes) multiplicative hash in the manner of cyrb53.
let h1 = 0, h2 = 0;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function start(): void {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
}
function word(x: number): void {
  h1 = Math.imul(h1 ^ x, 2654435761);
  h2 = Math.imul(h2 ^ x, 1597334677);
}
function num(x: number): void {
  f64[0] = x === 0 ? 0 : x; // -0 and 0 are one value
  word(u32[0]!);
  word(u32[1]!);
}
function str(s: string): void {
  for (let i = 0; i < s.length; i++) word(s.charCodeAt(i));
  word(s.length | 0x10000);
}
function finish(): void {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
}

/**
 * The 6-character hash of a record's key fields. `"readings"` stands for every reading (name
 * and value, in any order: a retransmission with its readings reordered is the same key);
 * `"readings.<sensor>"` for one reading's value; an absent field hashes as absent.
 */
export function keyHash(record: TelemetryRecord, fields: readonly KeyField[]): string {
  start();
  for (const field of fields) {
    if (field === "ts") num(record.ts);
    else if (field === "battery" || field === "rssi") {
      const v = record[field];
      if (v === undefined) word(0x7ff80001);
      else num(v);
    } else if (field === "readings") {
      // Order-independent: the sum of each pair's own hash.
      let a = 0, b = 0, n = 0;
      const outer1 = h1, outer2 = h2;
      for (const name in record.readings) {
        start();
        str(name);
        num(record.readings[name]!);
        finish();
        a = (a + (h1 >>> 0)) >>> 0;
        b = (b + (h2 >>> 0)) >>> 0;
        n++;
      }
      h1 = outer1;
      h2 = outer2;
      word(a);
      word(b);
      word(n);
    } else {
      const v = record.readings[field.slice(9)];
      if (v === undefined) word(0x7ff80001);
      else num(v);
    }
    word(0x2c);
  }
  finish();
  // 36 bits: all of h1, 4 of h2.
  const lo = h1 >>> 0;
  const hi = h2 & 0xf;
  let out = "";
  out += ALPHABET[((hi << 2) | (lo >>> 30)) & 63]!;
  for (let shift = 24; shift >= 0; shift -= 6) out += ALPHABET[(lo >>> shift) & 63]!;
  return out;
}

/** The minute (mod 4096) of an event time, as the memory keeps it. */
export function minuteOf(ts: number): number {
  return ((Math.floor(ts / 60_000) % MINUTES) + MINUTES) % MINUTES;
}

/** Distance in minutes between two minutes mod 4096 (at most 2048). */
function apart(a: number, b: number): number {
  const d = (((a - b) % MINUTES) + MINUTES) % MINUTES;
  return d > MINUTES / 2 ? MINUTES - d : d;
}

function minuteAt(keys: string, i: number): number {
  return ALPHABET.indexOf(keys[i + 6]!) * 64 + ALPHABET.indexOf(keys[i + 7]!);
}

/**
 * Whether a key with this hash was remembered within `windowMinutes` of `minute`.
 */
export function seen(
  memory: DedupMemory,
  hash: string,
  minute: number,
  windowMinutes: number,
): boolean {
  const keys = memory.keys;
  let i = keys.indexOf(hash);
  while (i >= 0) {
    if (i % TOKEN === 0 && apart(minuteAt(keys, i), minute) <= windowMinutes) return true;
    i = keys.indexOf(hash, i + 1);
  }
  return false;
}

/**
 * Remembers a key, then forgets the oldest keys while they lie more than `windowMinutes`
 * before the newest record, or while more than `maxKeys` are kept.
 */
export function remember(
  memory: DedupMemory,
  hash: string,
  minute: number,
  windowMinutes: number,
  maxKeys: number,
): void {
  let keys = memory.keys + hash + ALPHABET[minute >> 6]! + ALPHABET[minute & 63]!;
  // The newest minute moves forward only (by less than half the cycle: out of order records
  // older than it do not move it back).
  const newest = memory.newest;
  if (newest < 0 || ((minute - newest + MINUTES) % MINUTES) < MINUTES / 2) memory.newest = minute;
  let drop = 0;
  const count = keys.length / TOKEN;
  while (drop < count) {
    const m = minuteAt(keys, drop * TOKEN);
    const behind = ((memory.newest - m) % MINUTES + MINUTES) % MINUTES;
    const tooOld = behind < MINUTES / 2 && behind > windowMinutes;
    if (!tooOld && count - drop <= maxKeys) break;
    drop++;
  }
  if (drop > 0) keys = keys.slice(drop * TOKEN);
  memory.keys = keys;
}

/** Number of keys remembered. */
export function dedupSize(memory: DedupMemory): number {
  return memory.keys.length / TOKEN;
}
