/**
 * The event bus: what actors `emit` and the runtime reports (crashes, restarts, dead
 * letters), for SSE clients and other subscribers. Every event has an id; a subscriber that
 * gives the id of the last event it saw gets exactly the events after it, or an explicit
 * reset when they are no longer kept — never a silent gap.
 *
 * @module
 */
import type { JsonValue } from "./store.ts";

/** An event as delivered to subscribers. */
export interface BusEvent {
  /** Unique, increasing id; pass it back as `after` to resume. */
  readonly id: string;
  /** Topic, e.g. `"telemetry"`, `"alerts"`, `"system"`. */
  readonly topic: string;
  /** The entity the event is about (a device id, say), for filtering; `null` if none. */
  readonly key: string | null;
  /** When it was published (epoch ms). */
  readonly time: number;
  readonly data: JsonValue;
}

/** Which events a subscriber wants. Empty or absent filters match everything. */
export interface EventFilter {
  readonly topics?: readonly string[];
  readonly key?: string;
}

/** Sent to a subscriber instead of events it can no longer get. */
export interface ResetNotice {
  readonly reset: true;
  /** Why: the id is older than what is kept, or belongs to an earlier run of the process. */
  readonly reason: string;
  /** Id of the newest event at the time of the reset (resume after it); `null` if none yet. */
  readonly lastId: string | null;
}

/** A live subscription; `close()` stops delivery. */
export interface EventSubscription {
  close(): void;
}

/** Publishes and delivers events. */
export interface EventBus {
  /** Publishes an event (its id is assigned on the way: by the ring, or by the stream). */
  publish(topic: string, data: JsonValue, key?: string | null): void;
  /**
   * Calls `listener` with every matching event published from now on — first, when `after` is
   * given, with every kept matching event after that id (or one {@link ResetNotice} when the
   * events after it are not all kept any more). Listeners run synchronously inside `publish`:
   * they must only enqueue, never block.
   */
  subscribe(
    filter: EventFilter,
    listener: (item: BusEvent | ResetNotice) => void,
    after?: string,
  ): EventSubscription;
}

/** Options of {@link RingEventBus}. */
export interface RingEventBusOptions {
  /** Events kept for resuming subscribers. @default 10000 */
  readonly capacity?: number;
  /** Clock for event times. @default Date.now */
  readonly now?: () => number;
  /** Distinguishes this run's ids from an earlier run's. @default the start time in base 36 */
  readonly epoch?: string;
}

interface Listener {
  readonly filter: EventFilter;
  readonly fn: (item: BusEvent | ResetNotice) => void;
}

/** Does `event` pass `filter`? */
export function matches(filter: EventFilter, event: BusEvent): boolean {
  if (
    filter.topics !== undefined && filter.topics.length > 0 && !filter.topics.includes(event.topic)
  ) {
    return false;
  }
  return filter.key === undefined || filter.key === event.key;
}

/**
 * An in-process event bus keeping the last `capacity` events in a ring, for embedded mode.
 * Ids are `<epoch>-<seq>`: an id from another run of the process resumes with a reset.
 */
export class RingEventBus implements EventBus {
  readonly epoch: string;
  #ring: (BusEvent | undefined)[];
  #seq = 0;
  #listeners = new Set<Listener>();
  #now: () => number;

  constructor(options: RingEventBusOptions = {}) {
    const capacity = options.capacity ?? 10_000;
    this.#ring = new Array(capacity);
    this.#now = options.now ?? Date.now;
    this.epoch = options.epoch ?? Date.now().toString(36);
  }

  /** The sequence number of the newest event (0 before the first). */
  get lastSeq(): number {
    return this.#seq;
  }

  publish(topic: string, data: JsonValue, key: string | null = null): BusEvent {
    const seq = ++this.#seq;
    const event: BusEvent = { id: `${this.epoch}-${seq}`, topic, key, time: this.#now(), data };
    this.#ring[seq % this.#ring.length] = event;
    for (const l of this.#listeners) {
      if (matches(l.filter, event)) l.fn(event);
    }
    return event;
  }

  subscribe(
    filter: EventFilter,
    listener: (item: BusEvent | ResetNotice) => void,
    after?: string,
  ): EventSubscription {
    if (after !== undefined) this.#replay(filter, listener, after);
    const entry: Listener = { filter, fn: listener };
    this.#listeners.add(entry);
    return { close: () => this.#listeners.delete(entry) };
  }

  #lastId(): string | null {
    return this.#seq === 0 ? null : `${this.epoch}-${this.#seq}`;
  }

  #replay(filter: EventFilter, listener: (item: BusEvent | ResetNotice) => void, after: string) {
    const dash = after.lastIndexOf("-");
    const epoch = after.slice(0, dash);
    const seq = Number(after.slice(dash + 1));
    if (dash < 0 || epoch !== this.epoch || !Number.isInteger(seq) || seq < 0 || seq > this.#seq) {
      listener({
        reset: true,
        reason: `event id ${JSON.stringify(after)} is not from this run`,
        lastId: this.#lastId(),
      });
      return;
    }
    const oldest = Math.max(1, this.#seq - this.#ring.length + 1);
    if (seq + 1 < oldest) {
      listener({
        reset: true,
        reason: `events after ${after} are no longer kept`,
        lastId: this.#lastId(),
      });
      return;
    }
    for (let s = seq + 1; s <= this.#seq; s++) {
      const event = this.#ring[s % this.#ring.length]!;
      if (matches(filter, event)) listener(event);
    }
  }
}
