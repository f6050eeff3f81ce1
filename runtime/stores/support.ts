/**
 * What the store backends share and keep to themselves: JSON encoding that reports failure
 * instead of throwing, the error result of an operation a backend cannot hold, a bounded pool of
 * concurrent calls, a jittered retry delay, and the bounded cache of key heads (version plus the
 * backend's own proof of it) that saves a read per compare-and-set.
 *
 * Not part of the runtime's public surface: `runtime/mod.ts` exports none of it.
 *
 * @module
 */
import { describeError, StoreError } from "../errors.ts";
import type { OpResult } from "../store.ts";

/** JSON text of `value`; `undefined` when JSON cannot encode it (a cycle, a BigInt). */
export function toJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The error result of an operation `backend` refuses on its own merits (a key too long, a value
 * JSON cannot encode): `"<backend> cannot store <key>: <why>"`, the key cut at 80 characters.
 */
export function refusal(backend: string, key: string, why: string, cause?: unknown): OpResult {
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
  return {
    ok: false,
    conflict: false,
    error: new StoreError(`${backend} cannot store ${shown}: ${why}`, { cause }),
  };
}

/**
 * What a failed call of a networked store rejects with: `error` itself when it is a
 * `StoreError`, else a `StoreError` saying `"<where> failed a <what>: <error>"` — for a commit,
 * also that some of its operations may have been applied (the contract's ambiguous failure).
 */
export function callFailed(where: string, what: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const ambiguous = what === "commit" ? " (some of its operations may have been applied)" : "";
  return new StoreError(`${where} failed a ${what}${ambiguous}: ${describeError(error)}`, {
    cause: error,
  });
}

/**
 * Runs `run` over `items` with at most `limit` calls in flight; results in item order. The first
 * rejection rejects the whole (calls already started still finish).
 */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Sleeps a random time below `min(2^attempt, maxMs)` ms before a retry: writers that lost the
 * same race spread out instead of colliding again, and the spread grows with each attempt.
 */
export function jitteredSleep(attempt: number, maxMs: number): Promise<void> {
  const ms = Math.random() * Math.min(2 ** attempt, maxMs);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The heads of keys a store has seen, the most recently seen kept when it is full (least
 * recently learned dropped first). A remembered head lets a write check the backend's proof of
 * a version without reading it first; a stale one only costs the failed check and a read.
 */
export class HeadCache<H> {
  #heads = new Map<string, H>();
  #size: number;

  /** Remembers at most `size` heads. */
  constructor(size: number) {
    this.#size = size;
  }

  /** The head last learned for `id`, if still remembered. */
  get(id: string): H | undefined {
    return this.#heads.get(id);
  }

  /** Remembers `head` as the newest knowledge of `id`. */
  learn(id: string, head: H): void {
    this.#heads.delete(id);
    this.#heads.set(id, head);
    if (this.#heads.size > this.#size) {
      const oldest = this.#heads.keys().next();
      if (!oldest.done) this.#heads.delete(oldest.value);
    }
  }

  /** Forgets `id` (its next write reads the head). */
  forget(id: string): void {
    this.#heads.delete(id);
  }

  /** Forgets every head. */
  clear(): void {
    this.#heads.clear();
  }
}

/** Whether a fence record holds a position below what its writer knew was stored. */
export function behind(
  held: Readonly<Record<string, number>>,
  known: Readonly<Record<string, number>> | undefined,
): boolean {
  if (known === undefined) return false;
  for (const [source, position] of Object.entries(known)) {
    if ((held[source] ?? 0) < position) return true;
  }
  return false;
}

/** The result of an operation skipped because the one it depended on (`onlyIf`) did not apply. */
export function skipped(key: string, onlyIf: number): OpResult {
  return {
    ok: false,
    conflict: false,
    error: new StoreError(
      `${JSON.stringify(key)} was not written: the operation it goes with (#${onlyIf}) was not ` +
        `applied`,
    ),
  };
}
