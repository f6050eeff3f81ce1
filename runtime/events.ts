/**
 * The event bus: what actors `emit` and the runtime reports (crashes, restarts, dead
 * letters), for SSE clients and other subscribers. Every event has an id; a subscriber that
 * gives the id of the last event it saw gets exactly the events after it — or, when the bus
 * cannot tell what came after that id (it is older than what is kept, from an earlier run, or
 * not an id at all), an explicit reset followed by every event the bus still keeps: never a
 * silent gap, and nothing lost that the bus still holds.
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

/**
 * Sent to a subscriber whose resume id the bus cannot place: some events after it may be lost.
 * The notice is followed by every matching event the bus still keeps, oldest first.
 */
export interface ResetNotice {
  readonly reset: true;
  /** Why: the id is older than what is kept, belongs to an earlier run, or is not an id. */
  readonly reason: string;
  /**
   * The id just before the events that follow the notice: resuming after it gets them again,
   * so a subscriber that reconnects in the middle of the replay with this id (the last it saw)
   * misses none of them.
   */
  readonly after: string;
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
   * given, with every kept matching event after that id; or, when the bus cannot place that id
   * (the events after it are not all kept any more, or it is not one of this bus's ids), with
   * one {@link ResetNotice} and then every matching event still kept. Each event comes once, in
   * order. Listeners run synchronously inside `publish`: they must only enqueue, never block.
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
 * Ids are `<epoch>-<seq>`, the epoch distinguishing runs of the process: a client that resumes
 * with an id from an earlier run (a restart in between) gets a reset and then every event of
 * this run the ring still holds, from `<epoch>-0` on while nothing has been overwritten.
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

  /** The sequence number of the oldest event the ring holds (`lastSeq + 1` when empty). */
  #oldest(): number {
    return Math.max(1, this.#seq - this.#ring.length + 1);
  }

  #replay(filter: EventFilter, listener: (item: BusEvent | ResetNotice) => void, after: string) {
    const dash = after.lastIndexOf("-");
    const epoch = after.slice(0, dash);
    const seq = Number(after.slice(dash + 1));
    const oldest = this.#oldest();
    let from = seq + 1;
    if (dash < 0 || epoch !== this.epoch || !Number.isInteger(seq) || seq < 0 || seq > this.#seq) {
      from = oldest;
      listener(this.#reset(`event id ${JSON.stringify(after)} is not from this run`, from));
    } else if (from < oldest) {
      from = oldest;
      listener(this.#reset(`events after ${after} are no longer kept`, from));
    }
    for (let s = from; s <= this.#seq; s++) {
      const event = this.#ring[s % this.#ring.length]!;
      if (matches(filter, event)) listener(event);
    }
  }

  /** A reset followed by the events from sequence `from` on. */
  #reset(reason: string, from: number): ResetNotice {
    return { reset: true, reason, after: `${this.epoch}-${from - 1}` };
  }
}
