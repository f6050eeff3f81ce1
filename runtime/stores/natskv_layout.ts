/**
 * How the JetStream KV store (natskv.ts) lays out its bucket, and encodes operations for it.
 *
 * Layout of the bucket (`<k>` is the store key, encoded as below):
 * - `s.<k>` — a snapshot's head: `"<version>\n<json>"`, or `"<version>\n*<id>:<pieces>"` when the
 *   JSON is too large for one KV value and lies in pieces at `c.<k>.<id>.0 … <pieces-1>`.
 * - `c.<k>.<id>.<i>` — a piece of a large snapshot (UTF-8 bytes). `<id>` is random per write, so
 *   two writers never write the same piece; the pieces are written before the head that names
 *   them, and the old version's pieces are purged (no tombstones left) once a new head is in.
 * - `h.<k>` — a journal's head: its event count (= its version); absent while empty.
 * - `j.<k>.<seq>` — a journal event: `"<base>\n<json>"`, `<base>` being the revision of the head
 *   the append that wrote it expected.
 *
 * Keys: NATS KV keys allow only `[-/_=.a-zA-Z0-9]`, so a store key becomes one token of its
 * UTF-8 bytes where `A-Z a-z 0-9 - _ /` stay as they are and every other byte is `=` and two
 * upper-case hex digits (`a.b` → `a=2Eb`, `é` → `=C3=A9`); the empty key is a lone `=`. The
 * encoding is reversible; listings decode and sort in JavaScript's order.
 *
 * @module
 */
import type { KvEntry } from "@nats-io/kv";
import type { OpResult, StoreOp } from "../store.ts";
import { refusal, toJson } from "./support.ts";

/** The longest encoded key: well inside NATS's 4 KiB control line with the subject prefix. */
export const MAX_ENCODED_KEY = 2000;

/** The most events one append may carry; a larger append gets an error result. */
export const MAX_APPEND_EVENTS = 10_000;

/** A head as last seen: its version, its KV revision (0: never written), its pieces. */
export interface Head {
  readonly version: number;
  readonly revision: number;
  readonly pieces?: { readonly id: string; readonly count: number };
}

export const ABSENT: Head = { version: 0, revision: 0 };

/** An operation with its key encoded and its JSON serialised. */
export interface Plan {
  readonly op: StoreOp;
  /** The encoded key. */
  readonly k: string;
  /** A put's JSON, or an append's events' JSON; none for a delete. */
  readonly texts: readonly string[];
}

/**
 * Encodes an operation, or refuses it (an error result) when it cannot be stored; an event must
 * fit in one KV value of `maxEventBytes`.
 */
export function prepare(op: StoreOp, maxEventBytes: number): Plan | OpResult {
  const k = encodeKey(op.key);
  if (k === undefined) {
    return refuse(
      op.key,
      op.key.isWellFormed()
        ? `the key is longer than ${MAX_ENCODED_KEY} characters once encoded`
        : "the key holds a lone surrogate",
    );
  }
  if (op.op === "delete" || op.op === "trim") return { op, k, texts: [] };
  if (op.op === "append") {
    if (op.events.length > MAX_APPEND_EVENTS) {
      return refuse(op.key, `an append carries at most ${MAX_APPEND_EVENTS} events`);
    }
    const texts = op.events.map(toJson);
    if (texts.includes(undefined)) return refuse(op.key, "an event is not JSON-serialisable");
    // UTF-8 takes at most 3 bytes per UTF-16 unit: measure only what might be too large.
    const large = (texts as string[]).find((t) =>
      t.length * 3 > maxEventBytes && utf8.encode(t).length > maxEventBytes
    );
    if (large !== undefined) {
      return refuse(op.key, `an event's JSON is larger than ${maxEventBytes} bytes`);
    }
    return { op, k, texts: texts as string[] };
  }
  const json = toJson(op.value);
  if (json === undefined) return refuse(op.key, "the value is not JSON-serialisable");
  return { op, k, texts: [json] };
}

const utf8 = new TextEncoder();
const PLAIN = /^[A-Za-z0-9_/-]$/;
const HEX = "0123456789ABCDEF";

/**
 * Encodes a store key as one KV key token (see the module doc); `undefined` when it cannot be
 * stored (a lone surrogate, or too long).
 */
export function encodeKey(key: string): string | undefined {
  if (!key.isWellFormed()) return undefined;
  if (key === "") return "=";
  let out = "";
  for (const byte of utf8.encode(key)) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && PLAIN.test(char) ? char : `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
    if (out.length > MAX_ENCODED_KEY) return undefined;
  }
  return out;
}

/** Decodes a token written by {@link encodeKey}. */
export function decodeKey(token: string): string {
  if (token === "=") return "";
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "=") {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** What a head key's entry says: its version, its revision, and where its pieces are. */
export function headOf(entry: KvEntry | null): Head {
  if (entry === null) return ABSENT;
  if (entry.operation !== "PUT") return { version: 0, revision: entry.revision };
  const text = entry.string();
  const nl = text.indexOf("\n");
  const version = Number(nl < 0 ? text : text.slice(0, nl));
  if (nl >= 0 && text[nl + 1] === "*") {
    const [id, count] = text.slice(nl + 2).split(":");
    return { version, revision: entry.revision, pieces: { id: id!, count: Number(count) } };
  }
  return { version, revision: entry.revision };
}

/** The error result of an operation the bucket cannot hold. */
export function refuse(key: string, why: string, cause?: unknown): OpResult {
  return refusal("NATS KV", key, why, cause);
}
