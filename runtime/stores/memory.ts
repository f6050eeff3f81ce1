/**
 * An in-memory {@link StateStore}: for tests and for actors that need no durability.
 * Values are kept as JSON text, so what comes back is exactly what Redis or Deno KV would
 * give back, and no caller can change a stored value by mutating an object it passed in.
 *
 * @module
 */
import { StoreError } from "../errors.ts";
import {
  assertDistinctKeys,
  type JournalEntry,
  type JsonValue,
  type KeyPage,
  type OpResult,
  pageOf,
  type StateStore,
  type StoreOp,
  type Versioned,
} from "../store.ts";
import type { StoreDurability } from "../durability.ts";
import { toJson } from "./support.ts";

interface Entry {
  version: number;
  json: string;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Called before every commit with its operations; throwing from it makes the commit reject
   * as if the backend were down. Lets tests inject store failures without a mock backend.
   */
  readonly beforeCommit?: (ops: readonly StoreOp[]) => void;
}

/** A {@link StateStore} held in this process's memory. */
export class MemoryStore implements StateStore {
  readonly name = "memory";
  #snapshots = new Map<string, Entry>();
  #journals = new Map<string, string[]>();
  #closed = false;
  #options: MemoryStoreOptions;

  constructor(options: MemoryStoreOptions = {}) {
    this.#options = options;
  }

  get(key: string): Promise<Versioned | null> {
    return this.#run(() => this.#read(key));
  }

  getMany(keys: readonly string[]): Promise<(Versioned | null)[]> {
    return this.#run(() => keys.map((k) => this.#read(k)));
  }

  commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    return this.#run(() => {
      assertDistinctKeys(ops);
      this.#options.beforeCommit?.(ops);
      return ops.map((op) => this.#apply(op));
    });
  }

  journalVersion(key: string): Promise<number> {
    return this.#run(() => this.#journals.get(key)?.length ?? 0);
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#run(() => {
      const events = this.#journals.get(key) ?? [];
      const out: JournalEntry[] = [];
      for (let i = Math.max(0, afterSeq); i < events.length && out.length < limit; i++) {
        out.push({ seq: i + 1, event: JSON.parse(events[i]!) as JsonValue });
      }
      return out;
    });
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#run(() =>
      pageOf([...this.#snapshots.keys()].filter((k) => k.startsWith(prefix)).sort(), page)
    );
  }

  journalKeys(prefix: string): Promise<string[]> {
    return this.#run(() =>
      [...this.#journals.entries()]
        .filter(([k, events]) => events.length > 0 && k.startsWith(prefix))
        .map(([k]) => k)
        .sort()
    );
  }

  /** Not durable: the state lives in this process only, and a restart loses it. */
  durability(): Promise<StoreDurability> {
    return Promise.resolve({
      durable: false,
      detail: "the memory store keeps state in this process only: a restart loses it",
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Runs `fn` on the open store; a closed store, or a throw, rejects instead of throwing. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new StoreError("the memory store is closed");
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #read(key: string): Versioned | null {
    const entry = this.#snapshots.get(key);
    if (entry === undefined) return null;
    return { version: entry.version, value: JSON.parse(entry.json) as JsonValue };
  }

  #apply(op: StoreOp): OpResult {
    if (op.op === "append") {
      const events = this.#journals.get(op.key) ?? [];
      if (events.length !== op.expectedVersion) {
        return { ok: false, conflict: true, actualVersion: events.length };
      }
      const encoded = op.events.map(toJson);
      if (encoded.includes(undefined)) return notJson(op.key);
      for (const e of encoded) events.push(e!);
      this.#journals.set(op.key, events);
      return { ok: true, version: events.length };
    }
    const current = this.#snapshots.get(op.key);
    const actual = current?.version ?? 0;
    if (op.expectedVersion !== null && op.expectedVersion !== actual) {
      return { ok: false, conflict: true, actualVersion: actual };
    }
    if (op.op === "delete") {
      this.#snapshots.delete(op.key);
      return { ok: true, version: 0 };
    }
    const json = toJson(op.value);
    if (json === undefined) return notJson(op.key);
    this.#snapshots.set(op.key, { version: actual + 1, json });
    return { ok: true, version: actual + 1 };
  }
}

function notJson(key: string): OpResult {
  return {
    ok: false,
    conflict: false,
    error: new StoreError(`value for ${JSON.stringify(key)} is not JSON-serialisable`),
  };
}
