/**
 * Durable reminders: stored in the state store, scheduled on the system clock, delivered to
 * their actor as a message (which activates a passivated actor). After downtime, firings
 * missed in between are coalesced into one delivery that carries the missed count.
 *
 * Delivery is at least once: the next due time is persisted after the tick is handed to the
 * actor, so a crash in between repeats the tick.
 *
 * @module
 */
import type { ReminderTick } from "./actor.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { describeError, FencedError } from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import { catchUp, type Schedule } from "./schedule.ts";
import type { Fence, JsonValue, StateStore, StoreOp } from "./store.ts";

/** A durable reminder as stored. */
export interface ReminderRecord {
  /** The partition of its actor (embedded mode: 0). */
  readonly partition: number;
  readonly type: string;
  readonly id: string;
  readonly name: string;
  /** Message kind delivered. */
  readonly kind: string;
  readonly data: JsonValue;
  readonly schedule: Schedule;
  /** Next firing (epoch ms). */
  readonly due: number;
}

/** Prefix of reminder keys in the store. */
export const REMINDER_PREFIX = "r/";

/**
 * Store key of a reminder: grouped by partition, so the node that takes a partition over loads
 * exactly that partition's reminders.
 */
export function reminderKey(partition: number, type: string, id: string, name: string): string {
  return `${REMINDER_PREFIX}${partition}/${type}/${encodeURIComponent(id)}/${
    encodeURIComponent(name)
  }`;
}

/** The key of a stored reminder record. */
function keyOf(record: ReminderRecord): string {
  return reminderKey(record.partition, record.type, record.id, record.name);
}

/** What the reminder service needs from its system. */
export interface ReminderHost {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: RuntimeInstruments;
  /** Delivers a tick to its actor; a rejection retries the reminder later. */
  deliver(record: ReminderRecord, tick: ReminderTick): void | Promise<void>;
  /** The fence of a partition's writes (cluster mode): due times are written under it too. */
  fenceFor?(partition: number): Fence | null;
}

/** How long a reminder whose delivery failed waits before it is tried again. */
const RETRY_MS = 1000;

/** Schedules and fires durable reminders. */
export class ReminderService {
  #host: ReminderHost;
  /** Scheduled reminders by key, and the same sorted by due time (earliest first). */
  #byKey = new Map<string, ReminderRecord>();
  #queue: ReminderRecord[] = [];
  #timer: TimerHandle | null = null;
  #armedFor = Infinity;
  #running = false;
  /** Reminders whose last firing has not reached the actor yet, with what fell due since. */
  #outstanding = new Map<string, { missed: number; due: number }>();

  constructor(host: ReminderHost) {
    this.#host = host;
  }

  /** Number of scheduled reminders. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Starts firing the reminders of the partitions loaded. */
  start(): void {
    this.#running = true;
    this.#arm();
  }

  /** Loads (again) every stored reminder of a partition this node now hosts. */
  async load(partition: number): Promise<void> {
    const prefix = `${REMINDER_PREFIX}${partition}/`;
    let after: string | undefined;
    for (;;) {
      const keys = await this.#host.store.keys(
        prefix,
        after === undefined ? { limit: 500 } : { after, limit: 500 },
      );
      if (keys.length === 0) break;
      const values = await this.#host.store.getMany(keys);
      values.forEach((v, j) => {
        if (v === null) return;
        this.#remove(keys[j]!);
        this.#insert(keys[j]!, v.value as unknown as ReminderRecord);
      });
      after = keys.at(-1);
    }
    this.#arm();
  }

  /** Forgets the reminders of a partition this node no longer hosts (they stay stored). */
  unload(partition: number): void {
    for (const [key, record] of [...this.#byKey]) {
      if (record.partition === partition) this.#remove(key);
    }
    this.#arm();
  }

  /** Stops firing (stored reminders stay). */
  stop(): void {
    this.#running = false;
    this.#disarm();
  }

  /** The store operation that persists (or, for `null`, removes) a reminder. */
  static op(key: string, record: ReminderRecord | null): StoreOp {
    return record === null
      ? { op: "delete", key, expectedVersion: null }
      : { op: "put", key, value: record as unknown as JsonValue, expectedVersion: null };
  }

  /** Schedules (or, for `null`, unschedules) a reminder already persisted. */
  apply(key: string, record: ReminderRecord | null): void {
    this.#remove(key);
    if (record !== null) this.#insert(key, record);
    this.#arm();
  }

  #insert(key: string, record: ReminderRecord): void {
    this.#byKey.set(key, record);
    let lo = 0, hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#queue[mid]!.due <= record.due) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, record);
  }

  #remove(key: string): void {
    const old = this.#byKey.get(key);
    if (old === undefined) return;
    this.#byKey.delete(key);
    const i = this.#queue.indexOf(old);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
  }

  #arm(): void {
    if (!this.#running) return;
    const next = this.#queue[0];
    if (next === undefined) return this.#disarm();
    if (this.#timer !== null && this.#armedFor <= next.due) return;
    this.#disarm();
    this.#armedFor = next.due;
    this.#timer = this.#host.clock.setTimeout(() => {
      this.#timer = null;
      this.#armedFor = Infinity;
      this.#fire();
    }, next.due - this.#host.clock.now());
  }

  #fire(): void {
    const now = this.#host.clock.now();
    const ops: StoreOp[] = [];
    while (this.#queue.length > 0 && this.#queue[0]!.due <= now) {
      const record = this.#queue[0]!;
      const key = keyOf(record);
      this.#remove(key);
      const { occurrences, next } = catchUp(record.schedule, record.due, now);
      const after = next === null ? null : { ...record, due: next };
      if (after !== null) this.#insert(key, after);
      const op = ReminderService.op(key, after);
      if (this.#host.fenceFor === undefined) ops.push(op);
      else {
        // Cluster mode: written under the partition's fence, or not at all once it is gone.
        const fence = this.#host.fenceFor(record.partition);
        if (fence !== null) ops.push({ ...op, fence });
        else this.#host.instruments.storeFenced.inc();
      }
      this.#host.instruments.remindersFired.inc();
      const waiting = this.#outstanding.get(key);
      if (waiting !== undefined) {
        // The previous firing has not reached the actor yet (full mailbox, retry): this one
        // joins it as missed instead of piling up behind it.
        waiting.missed += occurrences;
        waiting.due = record.due;
        this.#host.instruments.remindersMissed.inc(occurrences);
        continue;
      }
      const tick: ReminderTick = {
        name: record.name,
        data: record.data,
        due: record.due,
        missed: Math.max(0, occurrences - 1),
      };
      this.#host.instruments.remindersMissed.inc(tick.missed);
      this.#deliver(key, record, tick);
    }
    if (ops.length > 0) this.#persist(ops);
    this.#arm();
  }

  #deliver(key: string, record: ReminderRecord, tick: ReminderTick): void {
    let pending: void | Promise<void>;
    try {
      pending = this.#host.deliver(record, tick);
    } catch (error) {
      this.#retry(key, record, tick, error);
      return;
    }
    if (pending === undefined) {
      this.#delivered(key, record, tick);
      return;
    }
    this.#wait(key, tick.due);
    pending.then(
      () => this.#delivered(key, record, tick),
      (error) => this.#retry(key, record, tick, error),
    );
  }

  /** A firing reached its actor: deliver, as one, whatever fell due while it waited. */
  #delivered(key: string, record: ReminderRecord, tick: ReminderTick): void {
    const waiting = this.#outstanding.get(key);
    this.#outstanding.delete(key);
    if (waiting !== undefined && waiting.missed > 0 && this.#running) {
      this.#deliver(key, record, { ...tick, due: waiting.due, missed: waiting.missed - 1 });
    }
  }

  #retry(key: string, record: ReminderRecord, tick: ReminderTick, error: unknown): void {
    this.#host.logger.warn("reminder delivery failed; retrying", {
      actor: `${record.type}/${record.id}`,
      reminder: record.name,
      error: describeError(error),
    });
    this.#wait(key, tick.due);
    // The same firing again (same due time and missed count), not a new one.
    this.#host.clock.setTimeout(() => {
      if (this.#running) this.#deliver(key, record, tick);
    }, RETRY_MS);
  }

  #wait(key: string, due: number): void {
    if (!this.#outstanding.has(key)) this.#outstanding.set(key, { missed: 0, due });
  }

  #persist(ops: StoreOp[]): void {
    this.#host.store.commit(ops).then((results) => {
      results.forEach((result, i) => {
        if (result.ok) return;
        if (!result.conflict && result.error instanceof FencedError) {
          // The partition has a newer owner, whose copy counts.
          this.#host.instruments.storeFenced.inc();
          return;
        }
        this.#host.logger.warn("could not persist a reminder's due time", {
          reminder: ops[i]!.key,
          error: result.conflict ? "conflict" : describeError(result.error),
        });
      });
    }, (error) => {
      this.#host.logger.error("could not persist reminder due times", {
        error: describeError(error),
      });
    });
  }
}
