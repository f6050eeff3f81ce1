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
import type { ReminderRecord } from "./activation.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { describeError } from "./errors.ts";
import type { RuntimeInstruments } from "./instruments.ts";
import type { Logger } from "./logger.ts";
import { catchUp } from "./schedule.ts";
import type { JsonValue, StateStore, StoreOp } from "./store.ts";

/** Prefix of reminder keys in the store. */
export const REMINDER_PREFIX = "r/";

/** Store key of a reminder. */
export function reminderKey(type: string, id: string, name: string): string {
  return `${REMINDER_PREFIX}${type}/${encodeURIComponent(id)}/${encodeURIComponent(name)}`;
}

/** What the reminder service needs from its system. */
export interface ReminderHost {
  readonly store: StateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly instruments: RuntimeInstruments;
  /** Delivers a tick to its actor; a rejection retries the reminder later. */
  deliver(record: ReminderRecord, tick: ReminderTick): void | Promise<void>;
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

  constructor(host: ReminderHost) {
    this.#host = host;
  }

  /** Number of scheduled reminders. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Loads every stored reminder and starts firing. */
  async start(): Promise<void> {
    const keys = await this.#host.store.keys(REMINDER_PREFIX);
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const values = await this.#host.store.getMany(chunk);
      values.forEach((v, j) => {
        if (v !== null) this.#insert(chunk[j]!, v.value as unknown as ReminderRecord);
      });
    }
    this.#running = true;
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
      const key = reminderKey(record.type, record.id, record.name);
      this.#remove(key);
      const { occurrences, next } = catchUp(record.schedule, record.due, now);
      const tick: ReminderTick = {
        name: record.name,
        data: record.data,
        due: record.due,
        missed: Math.max(0, occurrences - 1),
      };
      const after = next === null ? null : { ...record, due: next };
      if (after !== null) this.#insert(key, after);
      ops.push(ReminderService.op(key, after));
      this.#host.instruments.remindersFired.inc();
      this.#host.instruments.remindersMissed.inc(tick.missed);
      this.#deliver(record, tick);
    }
    if (ops.length > 0) this.#persist(ops);
    this.#arm();
  }

  #deliver(record: ReminderRecord, tick: ReminderTick): void {
    const retry = (error: unknown) => {
      this.#host.logger.warn("reminder delivery failed; retrying", {
        actor: `${record.type}/${record.id}`,
        reminder: record.name,
        error: describeError(error),
      });
      // The same firing again (same due time and missed count), not a new one.
      this.#host.clock.setTimeout(() => {
        if (this.#running) this.#deliver(record, tick);
      }, RETRY_MS);
    };
    try {
      const pending = this.#host.deliver(record, tick);
      if (pending !== undefined) pending.catch(retry);
    } catch (error) {
      retry(error);
    }
  }

  #persist(ops: StoreOp[]): void {
    this.#host.store.commit(ops).catch((error) => {
      this.#host.logger.error("could not persist reminder due times", {
        error: describeError(error),
      });
    });
  }
}
