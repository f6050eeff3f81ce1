/**
 * Loading: the read side of persistence, twin of the group committer (committer.ts). A new
 * activation's snapshot is read with the others of its turn in one `getMany` ({@link LOAD_BATCH}
 * keys a read); up to {@link LOADS_IN_FLIGHT} reads are in flight, and loads that arrive
 * meanwhile gather into the next read, as writes do in the committer. A journaled actor's
 * snapshot is read so too; then it replays its journal from there. A store failure retries with backoff; a journal whose
 * replay throws is the actor's crash.
 *
 * An actor dropped from memory while its last write was in flight (a partition given up in a
 * hurry) leaves a ghost: a new activation of the actor loads only once that write has landed.
 *
 * @module
 */
import {
  Activation,
  type ActorType,
  COMMITTING,
  type JournalRecord,
  LOADING,
  type SnapshotEnvelope,
  STOPPED,
  SUSPENDED,
} from "./activation.ts";
import type { Clock } from "./clock.ts";
import { describeError, StoreError } from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import type { JsonValue, StateStore, Versioned } from "./store.ts";

const LOAD_RETRY_MIN_MS = 100;
const LOAD_RETRY_MAX_MS = 5000;
/**
 * Snapshot reads (`getMany` calls) in flight before new loads wait for one to return: loads that
 * arrive meanwhile gather into one larger read, as writes do in the committer.
 */
const LOADS_IN_FLIGHT = 4;
/** Keys per snapshot read. */
const LOAD_BATCH = 500;

/** What the loader hands to the rest of the system once state is in place, or cannot be. */
export interface LoadHost {
  /** Publishes a system event (`actor.restarted`). */
  publish(topic: string, data: JsonValue, key: string | null): void;
  /** The actor failed while loading or in `onActivate`: hand it to its supervisor. */
  crashed(a: Activation, during: string, error: unknown): void;
  /** The actor can run again: schedule it if it has messages (see dispatcher.ts). */
  resume(a: Activation): void;
  /** Something `idle()` may wait for has finished. */
  checkIdle(): void;
}

/** What a {@link Loader} runs on. */
export interface LoaderOptions {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: RuntimeInstruments;
  /** This node's name, in `actor.restarted` events. */
  readonly nodeId: string;
  /** This system's writer id, looked up in the writers of a loaded envelope. */
  readonly writerId: string;
  readonly host: LoadHost;
}

/** Activates actors and (re)loads their state. */
export class Loader {
  readonly #o: LoaderOptions;
  /** Dropped activations whose last write is still in flight, by store key. */
  #ghosts = new Map<string, { of: Activation; promise: Promise<void>; resolve: () => void }>();
  /** Loads in flight. */
  #pending = 0;
  #loadQueue: Activation[] = [];
  #loadScheduled = false;
  #loadsInFlight = 0;
  #loadRetryMs = 0;

  constructor(options: LoaderOptions) {
    this.#o = options;
  }

  /** Whether a load is queued or in flight (a retry waiting for the clock is not). */
  get busy(): boolean {
    return this.#pending > 0 || this.#loadQueue.length > 0;
  }

  /**
   * `a` is being dropped from memory. With a write in flight it stays a ghost until the write
   * settles ({@link writeSettled}): a new activation of its actor waits for it.
   */
  dropped(a: Activation): void {
    if ((a.flags & COMMITTING) === 0) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#ghosts.set(a.t.key(a.id), { of: a, promise, resolve });
  }

  /** A write of `a` settled: if `a` is a ghost, loads of its actor may go on. */
  writeSettled(a: Activation): void {
    if ((a.flags & STOPPED) === 0) return;
    const key = a.t.key(a.id);
    const ghost = this.#ghosts.get(key);
    if (ghost?.of === a) {
      this.#ghosts.delete(key);
      ghost.resolve();
    }
  }

  /** Creates the activation of `t/id` and starts loading its state (messages wait for it). */
  activate(t: ActorType, id: string): Activation {
    const a = new Activation(t, id, undefined as unknown);
    a.lastActive = this.#o.clock.now();
    t.activations.set(id, a);
    t.active.value++;
    t.activated.value++;
    if (t.persistence === "none") {
      a.state = t.def.initialState(id);
      this.#ready(a);
    } else {
      this.load(a);
    }
    return a;
  }

  /** Loads (or reloads) an actor's state; snapshot loads of one turn share a `getMany`. */
  load(a: Activation): void {
    a.flags |= LOADING;
    if (a.t.persistence === "none") {
      a.state = a.t.def.initialState(a.id);
      a.flags &= ~(LOADING | SUSPENDED);
      this.#ready(a);
      return;
    }
    this.#pending++;
    const ghost = this.#ghosts.size === 0 ? undefined : this.#ghosts.get(a.t.key(a.id));
    if (ghost !== undefined) {
      // A dropped activation of this actor still has a write in flight: load after it lands,
      // so this one starts from it instead of racing it.
      ghost.promise.then(() => {
        this.#pending--;
        if ((a.flags & STOPPED) === 0) this.load(a);
      });
      return;
    }
    this.#loadQueue.push(a);
    this.#scheduleLoads();
  }

  #scheduleLoads(): void {
    if (!this.#loadScheduled && this.#loadsInFlight < LOADS_IN_FLIGHT) {
      this.#loadScheduled = true;
      queueMicrotask(this.#loadBatch);
    }
  }

  /**
   * Reads the state of every actor waiting to load: snapshots by {@link LOAD_BATCH} keys a
   * `getMany`, then journals (after their snapshots) one by one. Runs a microtask after the first load of a turn, or when an
   * earlier read returns (see {@link LOADS_IN_FLIGHT}).
   */
  #loadBatch = (): void => {
    this.#loadScheduled = false;
    const snapshots = this.#loadQueue;
    this.#loadQueue = [];
    for (let i = 0; i < snapshots.length; i += LOAD_BATCH) {
      const chunk = snapshots.slice(i, i + LOAD_BATCH);
      const keys = chunk.map((a) => a.t.key(a.id));
      const started = performance.now();
      this.#loadsInFlight++;
      this.#o.store.getMany(keys).then(
        (values) => {
          this.#loadsInFlight--;
          this.#o.instruments.storeSeconds.labels(this.#o.store.name, "load").observe(
            (performance.now() - started) / 1000,
          );
          this.#loadRetryMs = 0;
          for (let j = 0; j < chunk.length; j++) {
            const a = chunk[j]!;
            if (a.t.persistence === "journal") this.#replayJournal(a, values[j] ?? null);
            else this.#loaded(a, values[j] ?? null);
          }
          if (this.#loadQueue.length > 0) this.#scheduleLoads();
        },
        (error) => {
          this.#loadsInFlight--;
          for (const a of chunk) this.#loadFailed(a, error);
          if (this.#loadQueue.length > 0) this.#scheduleLoads();
        },
      );
    }
  };

  /**
   * A journaled actor's snapshot is read (with the others of its turn): its journal's events
   * after it are folded in.
   */
  async #replayJournal(a: Activation, snap: Versioned | null): Promise<void> {
    const t = a.t;
    const key = t.key(a.id);
    let envelope: SnapshotEnvelope;
    let version: number;
    try {
      const stored = snap?.value as SnapshotEnvelope | undefined;
      let state = stored === undefined ? t.def.initialState(a.id) : stored.s;
      let seq = stored?.n ?? 0;
      const writers: Record<string, number> = { ...stored?.w };
      const sources: Record<string, number> = { ...stored?.q };
      version = stored?.j ?? 0;
      for (;;) {
        const entries = await this.#o.store.readJournal(key, version, 1000);
        for (const entry of entries) {
          const record = entry.event as unknown as JournalRecord;
          const next = t.def.apply!(state, record.e, a.id);
          if (next !== undefined) state = next;
          version = entry.seq;
          seq = Math.max(seq, record.n);
          writers[record.w] = Math.max(writers[record.w] ?? 0, record.n);
          if (record.q !== undefined) sources[record.q[0]] = record.q[1];
        }
        if (entries.length < 1000) break;
      }
      envelope = { s: state as JsonValue, n: seq, w: writers, q: sources };
    } catch (error) {
      this.#loadFailed(a, error);
      return;
    }
    this.#loaded(a, { version, value: envelope as unknown as JsonValue });
  }

  /** State is loaded: `value` is a {@link SnapshotEnvelope} (or `null` for a new actor). */
  #loaded(a: Activation, value: Versioned | null): void {
    this.#pending--;
    if ((a.flags & STOPPED) !== 0) return this.#o.host.checkIdle();
    const envelope = value?.value as SnapshotEnvelope | undefined;
    a.state = envelope === undefined ? a.t.def.initialState(a.id) : envelope.s;
    a.version = value?.version ?? 0;
    a.seq = envelope?.n ?? 0;
    const sources = envelope?.q;
    a.sources = sources !== undefined && Object.keys(sources).length > 0 ? { ...sources } : null;
    let foreign: Record<string, number> | undefined;
    if (envelope !== undefined) {
      // Keep the last sequences of the other writers (the three most advanced) in our writes.
      const others = Object.entries(envelope.w).filter(([w]) => w !== this.#o.writerId);
      if (others.length > 0) {
        foreign = Object.fromEntries(others.sort((x, y) => y[1] - x[1]).slice(0, 3));
      }
    }
    if (foreign !== undefined || a.ext !== null) {
      const ext = a.ext ??= {};
      ext.writers = foreign;
      ext.durable = envelope?.w[this.#o.writerId] ?? 0;
    }
    a.flags &= ~(LOADING | SUSPENDED);
    this.#ready(a);
    this.#o.host.checkIdle();
  }

  #loadFailed(a: Activation, error: unknown): void {
    this.#pending--;
    if (!(error instanceof StoreError)) {
      // Not the store: replaying the journal threw, say. That is the actor's crash.
      a.flags &= ~LOADING;
      this.#o.host.crashed(a, "loading its state", error);
      this.#o.host.checkIdle();
      return;
    }
    this.#o.instruments.storeErrors.labels(this.#o.store.name, "load").inc();
    this.#loadRetryMs = Math.min(
      LOAD_RETRY_MAX_MS,
      Math.max(LOAD_RETRY_MIN_MS, this.#loadRetryMs * 2),
    );
    this.#o.logger.warn("loading actor state failed; retrying", {
      actor: a.childName,
      retryInMs: this.#loadRetryMs,
      error: describeError(error),
    });
    a.flags &= ~LOADING;
    a.flags |= SUSPENDED;
    this.#o.clock.setTimeout(() => this.load(a), this.#loadRetryMs);
    this.#o.host.checkIdle();
  }

  /** State is in place: run `onActivate`, report a restart, and process queued messages. */
  #ready(a: Activation): void {
    const t = a.t;
    const ext = a.ext;
    if (ext?.restarting) {
      ext.restarting = false;
      t.restarts.inc();
      this.#o.host.publish(
        "system",
        { type: "actor.restarted", actor: a.childName, node: this.#o.nodeId },
        a.id,
      );
    }
    if (t.def.onActivate !== undefined) {
      try {
        t.def.onActivate(a);
      } catch (error) {
        t.crashes.inc();
        this.#o.host.crashed(a, "onActivate", error);
        return;
      }
    }
    this.#o.host.resume(a);
  }
}
