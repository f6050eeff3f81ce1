/**
 * Group commit: the changes of many actors go to the store in one batch, so a node pays one
 * store round trip for hundreds of state changes instead of one each. While a batch is in
 * flight, newly changed actors gather for the next one; up to `maxInFlight` batches run at
 * once, but never two for the same actor (its version chain must stay in order).
 *
 * Nothing a command did leaves the actor — reply, event, outgoing message, reminder — before
 * the batch holding its state change is durable.
 *
 * @module
 */
import {
  type Activation,
  COMMITTING,
  DIRTY,
  IN_COMMIT_QUEUE,
  type JournalRecord,
  type SnapshotEnvelope,
  STOPPED,
  SUSPENDED,
} from "./activation.ts";
import { type CommandLog, type Effect, LOG_STRIDE, logEffects } from "./command_log.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { describeError, FencedError, StoreRegressedError } from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import { type ReminderRecord, ReminderService } from "./reminders.ts";
import type { Fence, JsonValue, OpResult, StateStore, StoreOp } from "./store.ts";
import type { PartitionFencing } from "./transport.ts";

/** The changes of one actor in one batch. */
export interface CommitEntry {
  readonly a: Activation;
  /** Log of the commands whose changes this entry holds. */
  readonly applied: CommandLog | null;
  /** Journal records appended by this entry. */
  readonly events: JournalRecord[] | null;
  /** Journal version (or snapshot version) the write expected. */
  readonly fromVersion: number;
  /** Index of the entry's state operation in the batch, -1 if it has none. */
  stateOp: number;
  /** Reminder changes, in the same batch, riding on the state operation: name, key, record. */
  readonly reminders: { name: string; key: string; record: ReminderRecord | null }[];
  /** Index of the entry's first reminder operation in the batch. */
  reminderOps: number;
  /** The partition and fence the entry's writes carry (cluster mode); -1 and `null` if none. */
  partition: number;
  fence: Fence | null;
  /**
   * Journaled actors crossing a snapshot boundary: index of the snapshot's write in the batch,
   * applied only with the append (-1 if none).
   */
  snapshotOp: number;
}

/** What the committer needs from the system. */
export interface CommitHost {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: RuntimeInstruments;
  /** What is stored for an actor's state now: its state, sequence and writers. */
  envelope(a: Activation): SnapshotEnvelope;
  /** The entry is durable at `version`: release replies and effects. */
  committed(entry: CommitEntry, version: number): void;
  /** Another writer won the compare-and-set: reload the actor and re-apply the entry. */
  lost(entry: CommitEntry, actualVersion: number): void;
  /** The store refused the actor's state (too large, say): the actor has crashed. */
  refused(entry: CommitEntry, error: Error): void;
  /** The store is unreachable: the entry's changes must be put back and retried. */
  putBack(entry: CommitEntry): void;
  /**
   * The store refused the entry for its partition: a newer owner holds the fence, or the store
   * went back in time (data loss). Its commands are not durable and must not be retried here.
   */
  partitionRefused(entry: CommitEntry, error: FencedError | StoreRegressedError): void;
  /**
   * Without fencing, the stored version is below the one this node wrote: the store lost
   * writes. The entry's state (the actor's whole state) must be written again over it.
   */
  regressed(entry: CommitEntry, actualVersion: number): void;
  /** The fencing of partitions' writes (cluster mode); absent: writes are not fenced. */
  readonly fencing?: PartitionFencing;
  /** The partition of an actor (cluster mode). */
  partitionOf(a: Activation): number;
  /** A commit involving `a` settled, successfully or not. */
  settled(a: Activation): void;
  /** Something finished that `idle()` may be waiting for. */
  idleCheck(): void;
}

/** Options of the committer. */
export interface CommitOptions {
  /** Most actors per batch. @default 500 */
  readonly maxBatch?: number;
  /** Most batches in flight at once. @default 4 */
  readonly maxInFlight?: number;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;

/** Batches actors' state changes into store commits. */
export class GroupCommitter {
  #host: CommitHost;
  #queue: Activation[] = [];
  #head = 0;
  #inFlight = 0;
  #scheduled = false;
  #maxBatch: number;
  #maxInFlight: number;
  #retryDelay = 0;
  #retryTimer: TimerHandle | null = null;
  #waiting: Activation[] = [];
  #storeLabel: string;

  constructor(host: CommitHost, options: CommitOptions = {}) {
    this.#host = host;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#storeLabel = host.store.name;
  }

  /**
   * Whether changes are queued or in flight. Changes parked until a retry after a store
   * failure do not count: only the clock moves them on.
   */
  get busy(): boolean {
    return this.#head < this.#queue.length || this.#inFlight > 0;
  }

  /** Whether changes wait for a retry after a store failure. */
  get waitingForRetry(): boolean {
    return this.#waiting.length > 0;
  }

  /** Queues an actor whose state changed. Cheap: called once per actor per batch. */
  mark(a: Activation): void {
    if ((a.flags & (IN_COMMIT_QUEUE | COMMITTING)) !== 0) return;
    a.flags |= IN_COMMIT_QUEUE;
    if (this.#retryTimer !== null) {
      // The store is failing: everything waits for the retry instead of hammering it.
      this.#waiting.push(a);
      return;
    }
    this.#queue.push(a);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Retries a failed batch now instead of after its backoff (used at shutdown). */
  retryNow(): void {
    if (this.#retryTimer === null) return;
    this.#host.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#requeueWaiting();
  }

  #flush = (): void => {
    this.#scheduled = false;
    while (this.#head < this.#queue.length && this.#inFlight < this.#maxInFlight) {
      const batch: CommitEntry[] = [];
      const ops: StoreOp[] = [];
      const fences = new Map<number, Fence | null>();
      while (batch.length < this.#maxBatch && this.#head < this.#queue.length) {
        const a = this.#queue[this.#head++]!;
        a.flags &= ~IN_COMMIT_QUEUE;
        if ((a.flags & DIRTY) === 0 || (a.flags & (SUSPENDED | STOPPED)) !== 0) {
          // Its changes were discarded (a restart): nothing to write, but someone may wait.
          this.#host.settled(a);
          continue;
        }
        batch.push(this.#prepare(a, ops, fences));
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      if (batch.length === 0) break;
      if (ops.length === 0) {
        // Commands that changed nothing durable (a journaled actor that recorded no event).
        this.#settle(batch, [], fences);
        continue;
      }
      this.#commit(batch, ops, fences);
    }
  };

  #prepare(a: Activation, ops: StoreOp[], fences: Map<number, Fence | null>): CommitEntry {
    const t = a.t;
    const fencing = this.#host.fencing;
    let partition = -1;
    let fence: Fence | null = null;
    if (fencing !== undefined) {
      partition = this.#host.partitionOf(a);
      if (fences.has(partition)) fence = fences.get(partition)!;
      else {
        // One fence per partition and batch: its marks are the positions durable before it.
        fence = fencing.fenceFor(partition) ?? NOT_HELD;
        fences.set(partition, fence);
      }
    }
    const entry: CommitEntry = {
      a,
      applied: a.applied,
      events: a.events,
      fromVersion: a.version,
      stateOp: -1,
      reminders: [],
      reminderOps: -1,
      partition,
      fence,
      snapshotOp: -1,
    };
    a.applied = null;
    a.events = null;
    a.flags = (a.flags & ~DIRTY) | COMMITTING;
    // Not held here (any more): nothing of it goes to the store.
    if (fence === NOT_HELD) return entry;
    const key = t.key(a.id);
    const fenced = fence === null ? {} : { fence };
    if (t.persistence === "snapshot") {
      entry.stateOp = ops.length;
      // The store serialises the value during commit(), before any later handler runs.
      const value = this.#host.envelope(a) as unknown as JsonValue;
      ops.push({ op: "put", key, value, expectedVersion: a.version, ...fenced });
    } else if (entry.events !== null) {
      entry.stateOp = ops.length;
      ops.push({
        op: "append",
        key,
        events: entry.events as unknown as JsonValue[],
        expectedVersion: a.version,
        ...fenced,
      });
      const to = a.version + entry.events.length;
      // The snapshot rides with the append, applied only if the append is: it never lands
      // without the events it covers, and an actor's snapshots land in order, with its appends.
      // (A store gone back in time asks for one at once: the state in memory holds events the
      // store lost.)
      if (
        Math.floor(to / t.snapshotEvery) > Math.floor(a.version / t.snapshotEvery) ||
        a.ext?.snapshotNext === true
      ) {
        entry.snapshotOp = ops.length;
        const value = { ...this.#host.envelope(a), j: to } as unknown as JsonValue;
        ops.push({
          op: "put",
          key,
          value,
          expectedVersion: null,
          onlyIf: entry.stateOp,
          ...fenced,
        });
      }
    }
    // Only the last change of each reminder counts. They ride on the state write, in the same
    // atomic step: a reminder never lands without the state that set it.
    const log = entry.applied;
    if (log !== null) {
      let last: Map<string, Effect & { kind: "reminder" }> | null = null;
      for (let at = 0; at < log.length; at += LOG_STRIDE) {
        const effects = logEffects(log, at);
        if (effects === null) continue;
        for (const e of effects) if (e.kind === "reminder") (last ??= new Map()).set(e.key, e);
      }
      if (last !== null) {
        entry.reminderOps = ops.length;
        const onlyIf = entry.stateOp < 0 ? {} : { onlyIf: entry.stateOp };
        for (const e of last.values()) {
          entry.reminders.push({ name: e.name, key: e.key, record: e.record });
          ops.push({ ...ReminderService.op(e.key, e.record), ...onlyIf, ...fenced });
        }
      }
    }
    return entry;
  }

  #commit(batch: CommitEntry[], ops: StoreOp[], fences: Map<number, Fence | null>): void {
    this.#inFlight++;
    const { instruments, store } = this.#host;
    instruments.storeBatchOps.labels(this.#storeLabel).observe(ops.length);
    const started = performance.now();
    store.commit(ops).then(
      (results) => {
        instruments.storeSeconds.labels(this.#storeLabel, "commit").observe(
          (performance.now() - started) / 1000,
        );
        this.#retryDelay = 0;
        this.#inFlight--;
        this.#settle(batch, results, fences);
      },
      (error) => {
        this.#inFlight--;
        this.#failed(batch, error);
      },
    ).finally(() => {
      if (this.#head < this.#queue.length && !this.#scheduled) {
        // A new task, not a microtask: preparing the next batch (serialising hundreds of
        // states) must not extend the task that just released this one's replies.
        this.#scheduled = true;
        setTimeout(this.#flush, 0);
      }
    });
  }

  #settle(
    batch: CommitEntry[],
    results: readonly OpResult[],
    fences: Map<number, Fence | null>,
  ): void {
    const host = this.#host;
    const refusedPartitions = new Set<number>();
    for (const entry of batch) {
      const a = entry.a;
      const state = entry.stateOp >= 0 ? results[entry.stateOp]! : null;
      const refusal = entry.fence === NOT_HELD
        ? new FencedError(`f/${entry.partition}`, 0, -1)
        : partitionRefusal(state) ?? this.#reminderRefusal(entry, results);
      if (refusal !== null) {
        a.flags &= ~COMMITTING;
        refusedPartitions.add(entry.partition);
        host.partitionRefused(entry, refusal);
        host.settled(a);
        continue;
      }
      if (state !== null && !state.ok) {
        a.flags &= ~COMMITTING;
        if (state.conflict && state.actualVersion < entry.fromVersion) {
          // The version went back: not another writer (that would be ahead), lost writes.
          host.regressed(entry, state.actualVersion);
        } else if (state.conflict) {
          host.instruments.storeConflicts.labels(this.#storeLabel).inc();
          host.lost(entry, state.actualVersion);
        } else {
          host.refused(entry, state.error);
        }
        host.settled(a);
        continue;
      }
      const version = state === null ? a.version : state.version;
      this.#checkReminders(entry, results);
      if (entry.snapshotOp >= 0) this.#snapshotted(entry, results[entry.snapshotOp]!, version);
      a.flags &= ~COMMITTING;
      host.committed(entry, version);
      host.settled(a);
    }
    const fencing = host.fencing;
    if (fencing !== undefined) {
      for (const [partition, fence] of fences) {
        if (fence !== null && fence !== NOT_HELD && !refusedPartitions.has(partition)) {
          fencing.confirmed(partition, fence);
        }
      }
    }
  }

  /** A reminder write refused for the partition, when the entry had no state write to refuse. */
  #reminderRefusal(
    entry: CommitEntry,
    results: readonly OpResult[],
  ): FencedError | StoreRegressedError | null {
    if (entry.stateOp >= 0 || entry.reminderOps < 0) return null;
    return partitionRefusal(results[entry.reminderOps] ?? null);
  }

  /** Reminder writes refused on their own merits while the state was written: logged. */
  #checkReminders(entry: CommitEntry, results: readonly OpResult[]): void {
    if (entry.reminderOps < 0) return;
    entry.reminders.forEach((r, i) => {
      const result = results[entry.reminderOps + i];
      if (result === undefined || result.ok) return;
      this.#host.logger.error("could not persist a reminder", {
        actor: entry.a.childName,
        reminder: r.name,
        error: result.conflict ? "conflict" : describeError(result.error),
      });
    });
  }

  #failed(batch: CommitEntry[], error: unknown): void {
    const host = this.#host;
    host.instruments.storeErrors.labels(this.#storeLabel, "commit").inc();
    this.#retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.#retryDelay * 2));
    host.logger.warn("state commit failed; retrying", {
      store: this.#storeLabel,
      actors: batch.length,
      retryInMs: this.#retryDelay,
      error: describeError(error),
    });
    if (this.#retryTimer === null) {
      this.#retryTimer = host.clock.setTimeout(() => {
        this.#retryTimer = null;
        this.#requeueWaiting();
      }, this.#retryDelay);
    }
    for (const entry of batch) {
      const a = entry.a;
      a.flags &= ~COMMITTING;
      host.putBack(entry);
      // With the retry pending, mark() parks the actor until the retry instead of queueing it.
      if ((a.flags & (DIRTY | SUSPENDED)) === DIRTY) this.mark(a);
      host.settled(a);
    }
  }

  #requeueWaiting(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const a of waiting) {
      a.flags &= ~IN_COMMIT_QUEUE;
      this.mark(a);
    }
  }

  /**
   * A journaled actor's snapshot at journal version `version` landed with its append: the
   * journal's events it covers are deleted (compaction), so storage stays proportional to the
   * events since the last snapshot. One compaction at a time per actor (the next snapshot's
   * covers what one skipped); a failure is harmless: replay starts from the snapshot anyway.
   * A snapshot refused (too large, say) is logged: replay starts from the previous one, whose
   * events are still there.
   */
  #snapshotted(entry: CommitEntry, put: OpResult, version: number): void {
    const a = entry.a;
    if (!put.ok) {
      this.#host.logger.warn("journal snapshot refused", {
        actor: a.childName,
        error: put.conflict ? "conflict" : describeError(put.error),
      });
      return;
    }
    const ext = a.ext ??= {};
    ext.snapshotNext = false;
    if (!a.t.compact || ext.snapshotting === true) return;
    const key = a.t.key(a.id);
    const fence = entry.fence === null ? {} : { fence: entry.fence };
    ext.snapshotting = true;
    const done = () => (ext.snapshotting = false);
    this.#host.store.commit([{ op: "trim", key, through: version, ...fence }]).then(
      done,
      (error) => {
        done();
        this.#host.logger.warn("journal compaction failed", {
          actor: a.childName,
          error: describeError(error),
        });
      },
    );
  }
}

/** The fence of a partition this node does not hold: its writes are refused without a try. */
const NOT_HELD: Fence = { key: "f/not-held", token: 0 };

/** The refusal of a write for its partition (fenced, or the store went back), if it was one. */
function partitionRefusal(result: OpResult | null): FencedError | StoreRegressedError | null {
  if (result === null || result.ok || result.conflict) return null;
  const e = result.error;
  return e instanceof FencedError || e instanceof StoreRegressedError ? e : null;
}
