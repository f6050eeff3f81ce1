/**
 * An in-memory {@link StateStore}: for tests and for actors that need no durability.
 * Values are kept as JSON text, so what comes back is exactly what Redis or Deno KV would
 * give back, and no caller can change a stored value by mutating an object it passed in.
 *
 * @module
 */
import { FencedError, StoreError, StoreRegressedError } from "../errors.ts";
import {
  assertDistinctKeys,
  type Fence,
  type FenceRecord,
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
import { behind, skipped, toJson } from "./support.ts";

interface Entry {
  version: number;
  json: string;
}

/** A journal: the events kept, and how many were trimmed before them. */
interface Journal {
  base: number;
  events: string[];
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Called before every commit with its operations; throwing from it makes the commit reject
   * as if the backend were down. Lets tests inject store failures without a mock backend.
   */
  readonly beforeCommit?: (ops: readonly StoreOp[]) => void;
}

/** What a {@link MemoryStore} held at one moment (see `MemoryStore.image`). */
export interface MemoryStoreImage {
  readonly snapshots: ReadonlyMap<string, { readonly version: number; readonly json: string }>;
  readonly journals: ReadonlyMap<string, { readonly base: number; readonly events: string[] }>;
  readonly fences: ReadonlyMap<string, FenceRecord>;
}

/** A {@link StateStore} held in this process's memory. */
export class MemoryStore implements StateStore {
  readonly name = "memory";
  readonly fencing = "atomic";
  #snapshots = new Map<string, Entry>();
  #journals = new Map<string, Journal>();
  #fences = new Map<string, FenceRecord>();
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
      // One synchronous pass: every check and write of the batch is one atomic step.
      const verdicts = new Map<Fence, OpResult | null>();
      const results: OpResult[] = [];
      ops.forEach((op, i) => {
        const fenced = op.fence === undefined ? null : this.#check(op.fence, verdicts);
        if (fenced !== null) return void (results[i] = fenced);
        if (op.onlyIf !== undefined && !results[op.onlyIf]?.ok) {
          return void (results[i] = skipped(op.key, op.onlyIf));
        }
        results[i] = this.#apply(op);
      });
      for (const [fence, verdict] of verdicts) if (verdict === null) this.#mark(fence);
      return results;
    });
  }

  fence(
    key: string,
    token: number,
    marks: Readonly<Record<string, number>> = {},
  ): Promise<FenceRecord> {
    return this.#run(() => {
      const record = this.#fences.get(key) ?? { token: 0, marks: {} };
      if (record.token > token) return record;
      this.#mark({ key, token, marks });
      return this.#fences.get(key)!;
    });
  }

  journalVersion(key: string): Promise<number> {
    return this.#run(() => {
      const journal = this.#journals.get(key);
      return journal === undefined ? 0 : journal.base + journal.events.length;
    });
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#run(() => {
      const journal = this.#journals.get(key);
      if (journal === undefined) return [];
      const out: JournalEntry[] = [];
      const { base, events } = journal;
      for (let i = Math.max(0, afterSeq - base); i < events.length && out.length < limit; i++) {
        out.push({ seq: base + i + 1, event: JSON.parse(events[i]!) as JsonValue });
      }
      return out;
    });
  }

  /**
   * A copy of everything the store holds, for {@link restore}: with it a test makes the store
   * go back in time, as a Redis that lost the tail of its log in a crash does.
   */
  image(): MemoryStoreImage {
    return {
      snapshots: new Map([...this.#snapshots].map(([k, e]) => [k, { ...e }])),
      journals: new Map([...this.#journals].map(([k, j]) => [k, { ...j, events: [...j.events] }])),
      fences: new Map(this.#fences),
    };
  }

  /** Puts back what {@link image} copied: writes since are lost. */
  restore(image: MemoryStoreImage): void {
    const { snapshots, journals, fences } = image;
    this.#snapshots = new Map([...snapshots].map(([k, e]) => [k, { ...e }]));
    this.#journals = new Map([...journals].map(([k, j]) => [k, { ...j, events: [...j.events] }]));
    this.#fences = new Map(fences);
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#run(() =>
      pageOf([...this.#snapshots.keys()].filter((k) => k.startsWith(prefix)).sort(), page)
    );
  }

  journalKeys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#run(() =>
      pageOf(
        [...this.#journals.entries()]
          .filter(([k, j]) => j.base + j.events.length > 0 && k.startsWith(prefix))
          .map(([k]) => k)
          .sort(),
        page,
      )
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

  /** A fence's verdict for this batch: `null` (the operations may apply) or their result. */
  #check(fence: Fence, verdicts: Map<Fence, OpResult | null>): OpResult | null {
    let verdict = verdicts.get(fence);
    if (verdict !== undefined) return verdict;
    const record = this.#fences.get(fence.key) ?? { token: 0, marks: {} };
    verdict = null;
    if (record.token > fence.token) {
      verdict = refused(new FencedError(fence.key, fence.token, record.token));
    } else if (behind(record.marks, fence.known)) {
      verdict = refused(new StoreRegressedError(fence.key, record.marks, fence.known!));
    }
    verdicts.set(fence, verdict);
    return verdict;
  }

  /** Raises a fence record to the writer's token and marks. */
  #mark(fence: Fence): void {
    const record = this.#fences.get(fence.key) ?? { token: 0, marks: {} };
    const marks: Record<string, number> = { ...record.marks };
    for (const [source, position] of Object.entries(fence.marks ?? {})) {
      marks[source] = Math.max(marks[source] ?? 0, position);
    }
    this.#fences.set(fence.key, { token: Math.max(record.token, fence.token), marks });
  }

  #apply(op: StoreOp): OpResult {
    if (op.op === "append" || op.op === "trim") {
      const journal = this.#journals.get(op.key) ?? { base: 0, events: [] };
      const version = journal.base + journal.events.length;
      if (op.op === "trim") {
        const drop = Math.min(journal.events.length, Math.max(0, op.through - journal.base));
        journal.events.splice(0, drop);
        journal.base += drop;
        return { ok: true, version };
      }
      if (version !== op.expectedVersion) {
        return { ok: false, conflict: true, actualVersion: version };
      }
      const encoded = op.events.map(toJson);
      if (encoded.includes(undefined)) return notJson(op.key);
      for (const e of encoded) journal.events.push(e!);
      this.#journals.set(op.key, journal);
      return { ok: true, version: version + encoded.length };
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

function refused(error: Error): OpResult {
  return { ok: false, conflict: false, error };
}

function notJson(key: string): OpResult {
  return {
    ok: false,
    conflict: false,
    error: new StoreError(`value for ${JSON.stringify(key)} is not JSON-serialisable`),
  };
}
