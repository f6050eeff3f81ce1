/**
 * The persistence contract every Flotilla store implements: versioned snapshots with
 * compare-and-set, and append-only journals with an expected version.
 *
 * Every implementation (memory, Deno KV, Redis, NATS JetStream KV) passes one conformance
 * suite, `tests/store_conformance.ts`; a new backend is done when that suite passes.
 *
 * @module
 */
import type { StoreDurability } from "./durability.ts";

/**
 * A JSON value. Stores keep exactly what `JSON.stringify` would keep: state holding `Date`,
 * `Map`, `undefined` or class instances does not round-trip, so actor state must be plain data.
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** A snapshot as stored: its value and its version. */
export interface Versioned {
  /** 1 after the first write, +1 on every write; a key that does not exist has version 0. */
  readonly version: number;
  readonly value: JsonValue;
}

/**
 * A partition owner's fence: a record in the store (one per partition) holding the newest
 * owner's token — its lease revision — and, per message source, positions up to which every
 * message is durable. An operation that carries a fence is applied only if, in the same atomic
 * step, the record holds no newer token (else the result is a `FencedError`: a newer owner took
 * the partition over) and no older positions than `known` (else a `StoreRegressedError`: the
 * store lost writes it had acknowledged). Applied, the operation raises the record's positions
 * to `marks`.
 */
export interface Fence {
  /** The record's key, e.g. `f/7`. */
  readonly key: string;
  /** The owner's token. */
  readonly token: number;
  /** Positions this write makes durable, per source: merged into the record by maximum. */
  readonly marks?: Readonly<Record<string, number>>;
  /** Positions the owner saw stored: a record below them has gone back in time. */
  readonly known?: Readonly<Record<string, number>>;
}

/** A fence record as stored. */
export interface FenceRecord {
  /** The newest owner's token (0: never fenced). */
  readonly token: number;
  /** Per source, positions up to which every message is durable. */
  readonly marks: Readonly<Record<string, number>>;
}

/** What every operation may carry besides its own fields. */
export interface OpOptions {
  /** Apply only while this fence is the writer's (see {@link Fence}). */
  readonly fence?: Fence;
  /**
   * Apply only if the operation at this index of the batch (an earlier one) applied, in the
   * same atomic step: an actor's reminders ride with its state and never land without it.
   * Otherwise the result is an error naming the operation it depended on.
   */
  readonly onlyIf?: number;
}

/**
 * Writes `value` at `key` if the key's version is `expectedVersion` (0: the key must not
 * exist), or whatever it is when `expectedVersion` is `null`. The new version is the old + 1.
 */
export interface PutOp extends OpOptions {
  readonly op: "put";
  readonly key: string;
  readonly value: JsonValue;
  readonly expectedVersion: number | null;
}

/** Deletes `key` if its version is `expectedVersion`, or unconditionally when `null`. */
export interface DeleteOp extends OpOptions {
  readonly op: "delete";
  readonly key: string;
  readonly expectedVersion: number | null;
}

/**
 * Appends `events` to the journal `key` if the journal holds exactly `expectedVersion` events.
 * The events get sequence numbers `expectedVersion + 1 …`; the journal's new version is
 * `expectedVersion + events.length`. Journals and snapshots live in separate key spaces:
 * a journal and a snapshot may share a key.
 */
export interface AppendOp extends OpOptions {
  readonly op: "append";
  readonly key: string;
  readonly events: readonly JsonValue[];
  readonly expectedVersion: number;
}

/**
 * Deletes the events of journal `key` up to and including `through` (their snapshot covers
 * them): compaction. The journal's version does not change; reading from before `through`
 * starts at the first event kept.
 */
export interface TrimOp extends OpOptions {
  readonly op: "trim";
  readonly key: string;
  readonly through: number;
}

/** One operation of a {@link StateStore.commit} batch. */
export type StoreOp = PutOp | DeleteOp | AppendOp | TrimOp;

/** The outcome of one operation of a batch. */
export type OpResult =
  /** Applied; `version` is the key's (or journal's) new version (0 after a delete). */
  | { readonly ok: true; readonly version: number }
  /** Not applied: the key's version was `actualVersion`, not the expected one. */
  | { readonly ok: false; readonly conflict: true; readonly actualVersion: number }
  /**
   * Not applied for another reason: a value too large, a fence held by a newer owner
   * (`FencedError`), a store that went back in time (`StoreRegressedError`), an operation it
   * depended on that did not apply; `error` says which.
   */
  | { readonly ok: false; readonly conflict: false; readonly error: Error };

/** Which page of keys to list. */
export interface KeyPage {
  /** List keys greater than this one (the last key of the previous page). */
  readonly after?: string;
  /** List at most this many. */
  readonly limit?: number;
}

/** Applies a {@link KeyPage} to keys sorted ascending. */
export function pageOf(sorted: readonly string[], page: KeyPage = {}): string[] {
  const { after, limit = Infinity } = page;
  let start = 0;
  if (after !== undefined) {
    while (start < sorted.length && sorted[start]! <= after) start++;
  }
  return sorted.slice(start, start + Math.max(0, limit));
}

/** One event of a journal with its sequence number (1-based). */
export interface JournalEntry {
  readonly seq: number;
  readonly event: JsonValue;
}

/**
 * A state store.
 *
 * Concurrency contract: every operation of a batch is checked and applied atomically on its
 * own key — two writers that expect the same version of a key can never both succeed. A batch
 * as a whole need not be atomic across keys (some stores make it so; callers must not rely on
 * it). Two operations on the same key in one batch are not allowed (a `RangeError`). Results
 * come back in the order of the operations.
 *
 * `commit` captures (serialises) every value before it returns its promise: the caller may
 * change the objects it passed as soon as `commit` returns.
 *
 * Failures of the store itself (unreachable, closed) reject the returned promise with a
 * `StoreError`. Such a rejection is ambiguous: some operations of the batch may have been
 * applied (a connection lost after the server wrote, a batch split over several round
 * trips). Callers re-read before trusting their versions. An operation the store refuses on
 * its own merits (a value that cannot be encoded, a key too long) gets an error result.
 *
 * Versions restart at 1 when a key is deleted and written again.
 */
export interface StateStore {
  /** A short name for logs and metrics: `"memory"`, `"denokv"`, `"redis"`, `"natskv"`. */
  readonly name: string;
  /** Reads one snapshot; `null` when the key does not exist. */
  get(key: string): Promise<Versioned | null>;
  /** Reads many snapshots in one round trip where the backend allows; results in key order. */
  getMany(keys: readonly string[]): Promise<(Versioned | null)[]>;
  /** Applies a batch of compare-and-set operations (see the contract above). */
  commit(ops: readonly StoreOp[]): Promise<OpResult[]>;
  /**
   * Takes a fence for a new owner: raises the record's token to `token` unless it holds a newer
   * one, and — when the caller holds the newest token — its positions to `marks` (by maximum),
   * atomically; returns the record as it then is (its token above `token`: the caller is not
   * the newest owner and must not write). An owner handing a partition over records with it
   * exactly where everything is durable.
   */
  fence(key: string, token: number, marks?: Readonly<Record<string, number>>): Promise<FenceRecord>;
  /**
   * How the store applies fences and `onlyIf`: `"atomic"` checks them in the same atomic step as
   * the operations (memory, Redis, Deno KV); `"checked"` checks them just before writing
   * (JetStream KV on nats-server before 2.12, which has no multi-key atomic write): a write that
   * was in flight when the fence moved may land.
   */
  readonly fencing: "atomic" | "checked";
  /** The current version (event count) of a journal; 0 when it has no events. */
  journalVersion(key: string): Promise<number>;
  /** Reads journal events with `seq > afterSeq`, in order, at most `limit` of them. */
  readJournal(key: string, afterSeq: number, limit?: number): Promise<JournalEntry[]>;
  /**
   * Snapshot keys starting with `prefix`, in ascending (JavaScript string) order; with `after`,
   * only keys greater than it; with `limit`, at most that many — a page.
   */
  keys(prefix: string, page?: KeyPage): Promise<string[]>;
  /**
   * Journal keys starting with `prefix` (journals that have had events), in ascending order;
   * with `page`, a page of them as {@link keys} gives.
   */
  journalKeys(prefix: string, page?: KeyPage): Promise<string[]>;
  /** Releases connections and files. Further calls reject with a `StoreError`. */
  close(): Promise<void>;
  /**
   * Whether the store keeps acknowledged writes through a crash of its server, read from the
   * server's own settings (one round trip; a node asks once, at start). Stores that cannot
   * tell leave it out: they are taken as durable.
   */
  durability?(): Promise<StoreDurability>;
}

/** Throws when a batch names one key twice for the same key space (a caller bug). */
export function assertDistinctKeys(ops: readonly StoreOp[]): void {
  // One set per key space; the keys themselves are hashed already (no new strings to hash).
  const snapshots = new Set<string>();
  let journals: Set<string> | null = null;
  for (const op of ops) {
    const seen = op.op === "append" || op.op === "trim" ? (journals ??= new Set()) : snapshots;
    if (seen.has(op.key)) {
      throw new RangeError(`a commit batch names ${JSON.stringify(op.key)} twice`);
    }
    seen.add(op.key);
  }
}
