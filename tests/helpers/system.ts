/**
 * Helpers for tests that run a real {@link ActorSystem} in-process: a system on a
 * {@link ManualClock} and a {@link MemoryStore} with its log lines captured ({@link setup}),
 * microtask flushing, promises observable or resolvable by the test, Prometheus sample
 * readers, and a store whose commits the test can hold ({@link GatedStore}).
 *
 * @example
 * ```ts
 * import { flushMicrotasks, GatedStore, setup, track } from "./helpers/system.ts";
 * const store = new GatedStore();
 * store.hold = true;
 * const { system } = setup([counter], { store });
 * await system.start();
 * const add = track(system.ref(counter, "a").ask("add", 1));
 * await store.waitForHeld();
 * await flushMicrotasks();
 * assert(!add.settled());
 * store.release();
 * ```
 *
 * @module
 */
import {
  type ActorDefinition,
  ActorSystem,
  type ActorSystemOptions,
  createLogger,
  type FenceRecord,
  type JournalEntry,
  type KeyPage,
  ManualClock,
  MemoryStore,
  type OpResult,
  type StateStore,
  type StoreOp,
  type Versioned,
} from "../../runtime/mod.ts";

// ---------------------------------------------------------------- systems

/** An actor definition of any state, message and event types, as {@link setup} registers. */
// deno-lint-ignore no-explicit-any
export type AnyDefinition = ActorDefinition<any, any, any, any>;

/** Options of {@link setup}: those of an {@link ActorSystem}, a few narrowed, and a few more. */
export interface SetupOptions<S extends StateStore = MemoryStore>
  extends Omit<ActorSystemOptions, "clock" | "store"> {
  /** The clock; a new {@link ManualClock} at {@link SetupOptions.now} when absent. */
  readonly clock?: ManualClock;
  /** The store; a new {@link MemoryStore} when absent. */
  readonly store?: S;
  /** Start time, in epoch ms, of the clock made when none is given. Default 0. */
  readonly now?: number;
  /**
   * What becomes of the system's log lines when no `logger` is given: `"capture"` (default)
   * keeps every line, from level info up, in the returned `logs`; `"discard"` drops them all
   * (a logger at level error that writes nothing), leaving `logs` empty.
   */
  readonly logs?: "capture" | "discard";
}

/** A system under test with what it runs on. */
export interface TestSystem<S extends StateStore = MemoryStore> {
  readonly system: ActorSystem;
  readonly clock: ManualClock;
  readonly store: S;
  /** Log lines of the system, kept instead of printed (empty with `logs: "discard"`). */
  readonly logs: string[];
}

/**
 * A system on a {@link ManualClock} (at 0 unless `now` or `clock` says otherwise) and a
 * {@link MemoryStore} (unless `store` is given), with its log lines captured, and with
 * `definitions` registered. It is not started. Every other option is passed to the system as
 * given, so a key set to `undefined` (e.g. `sweepInterval: undefined`) asks for the system's
 * default.
 */
export function setup<S extends StateStore = MemoryStore>(
  definitions: readonly AnyDefinition[],
  options: SetupOptions<S> = {},
): TestSystem<S> {
  const { clock: given, store: givenStore, now, logs: mode, ...rest } = options;
  const clock = given ?? new ManualClock(now ?? 0);
  // With no store given, S is its default, MemoryStore.
  const store = givenStore ?? (new MemoryStore() as StateStore as S);
  const logs: string[] = [];
  const logger = mode === "discard"
    ? createLogger({ level: "error", write: () => {} })
    : createLogger({ write: (line) => logs.push(line) });
  const system = new ActorSystem({ logger, ...rest, clock, store });
  for (const d of definitions) system.register(d);
  return { system, clock, store, logs };
}

// ---------------------------------------------------------------- promises

/** Lets queued microtasks (dispatch, loads, commits) run; waits for no timer. */
export async function flushMicrotasks(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** A promise with its settlement observable synchronously. */
export function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  return { promise, settled: () => settled };
}

/** A promise the test resolves. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, resolve: () => resolve() };
}

// ---------------------------------------------------------------- metrics

/**
 * The value of one sample line of the system's Prometheus text, e.g.
 * `flotilla_messages_total{type="counter"}`, or undefined when the series is absent.
 */
export function sample(system: ActorSystem, series: string): number | undefined {
  for (const line of system.metrics.render().split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Like {@link sample}, but 0 when the series is absent. */
export function metric(system: ActorSystem, series: string): number {
  return sample(system, series) ?? 0;
}

// ---------------------------------------------------------------- stores

/**
 * A real in-memory store whose commits the test can hold: while `hold` is set, a commit is
 * kept (its operations copied, as a store serialises them on the call) and becomes durable —
 * written to the inner MemoryStore and resolved — only when the test calls `release()`.
 * Reads go straight to the inner store.
 */
export class GatedStore implements StateStore {
  readonly name = "gated";
  readonly fencing = "atomic";
  /** Where commits become durable. */
  readonly inner = new MemoryStore();
  /** Hold commits until {@link GatedStore.release}. */
  hold = false;
  /** The operations of every commit call, held or not, in call order. */
  readonly batches: StoreOp[][] = [];
  #held: { ops: StoreOp[]; resolve: (r: OpResult[]) => void; reject: (e: unknown) => void }[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  /** Number of commits held now. */
  get held(): number {
    return this.#held.length;
  }

  /** Resolves once at least `count` commits are held. */
  waitForHeld(count = 1): Promise<void> {
    if (this.#held.length >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ count, resolve });
    return promise;
  }

  /** Makes every held commit durable, in order, and resolves it. */
  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const h of held) this.inner.commit(h.ops).then(h.resolve, h.reject);
  }

  /** Records the operations, then commits them at once or, while `hold` is set, holds them. */
  commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    const copy = structuredClone(ops) as StoreOp[];
    this.batches.push(copy);
    if (!this.hold) return this.inner.commit(copy);
    const { promise, resolve, reject } = Promise.withResolvers<OpResult[]>();
    this.#held.push({ ops: copy, resolve, reject });
    for (const w of this.#waiters.filter((w) => this.#held.length >= w.count)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
    return promise;
  }

  /** Takes a fence of the inner store. */
  fence(key: string, token: number, marks?: Record<string, number>): Promise<FenceRecord> {
    return this.inner.fence(key, token, marks);
  }
  /** Reads a value of the inner store. */
  get(key: string): Promise<Versioned | null> {
    return this.inner.get(key);
  }
  /** Reads values of the inner store. */
  getMany(keys: readonly string[]): Promise<(Versioned | null)[]> {
    return this.inner.getMany(keys);
  }
  /** Reads a journal version of the inner store. */
  journalVersion(key: string): Promise<number> {
    return this.inner.journalVersion(key);
  }
  /** Reads a journal of the inner store. */
  readJournal(key: string, afterSeq: number, limit?: number): Promise<JournalEntry[]> {
    return this.inner.readJournal(key, afterSeq, limit);
  }
  /** Lists keys of the inner store (every argument passed on, a page included). */
  keys(...args: Parameters<MemoryStore["keys"]>): Promise<string[]> {
    return this.inner.keys(...args);
  }
  /** Lists journal keys of the inner store. */
  journalKeys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.inner.journalKeys(prefix, page);
  }
  /** Closes the inner store. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
