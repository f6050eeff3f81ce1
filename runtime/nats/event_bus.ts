/**
 * The event bus of cluster mode: every node publishes its events to the `FLOTILLA_EVENTS`
 * stream (`fl.ev.<topic>`), and every node follows the stream, so an SSE client on any node
 * sees the events of every node.
 *
 * Events are published in batches (see event_batch.ts): what one turn of the event loop
 * publishes — every event the group commits completed in it release — goes out from a
 * microtask the first of them queued, as one message per run of the same topic. An event's id
 * is `<stream seq>.<index in its message>`; a plain `<seq>` (the ids before batches) resumes
 * after the whole message. A client resumes after any id the stream still keeps — recent ones
 * from a ring in memory, older ones read back from the stream. An id the stream no longer
 * keeps, or one that is not of this stream (not an id, or past its newest message: the stream
 * was recreated), gets an explicit reset and then every event the stream still keeps, read
 * back from its first.
 *
 * @module
 */
import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { describeError } from "../errors.ts";
import {
  type BusEvent,
  type EventBus,
  type EventFilter,
  type EventSubscription,
  matches,
  type ResetNotice,
} from "../events.ts";
import type { Logger } from "../logger.ts";
import type { JsonValue } from "../store.ts";
import {
  BATCH_HEADER,
  batchBody,
  batchEntry,
  comparePositions,
  eventId,
  type EventPosition,
  parseEventId,
  unpackEvents,
} from "./event_batch.ts";
import { STREAMS, SUBJECTS } from "./streams.ts";

/** Options of {@link JetStreamEventBus}. */
export interface JetStreamEventBusOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  /**
   * Recent events kept in memory for resuming clients (whole messages, at least one).
   * @default 10000
   */
  readonly capacity?: number;
  /**
   * A batch message's body grows to about this many characters at most; an event larger
   * than that goes alone. @default a quarter of the server's maximum payload, at most 256 KiB
   */
  readonly maxBatchChars?: number;
  /**
   * Events in one batch message at most: a subscriber gets no more at once than one group
   * commit (500 entries) releases in embedded mode. @default 500
   */
  readonly maxBatchEvents?: number;
  /**
   * Topics also published on a plain subject of their own, e.g. `commands` →
   * `(e) => "cmd." + e.key` so devices receive commands on `cmd.<deviceId>`.
   */
  readonly forward?: Readonly<
    Record<string, (event: { key: string | null; data: JsonValue }) => string | null>
  >;
}

type Item = BusEvent | ResetNotice;
interface Listener {
  readonly filter: EventFilter;
  readonly fn: (item: Item) => void;
  /** Live events held back while older ones are read from the stream; `null`: not reading. */
  buffer: Held[] | null;
  /** The position up to which this listener has had every event: later arrivals at or before
   * it are repeats (an id resumed from can be ahead of what this node has seen live). */
  through: EventPosition;
}
/** A live event held back, with its position. */
interface Held {
  readonly seq: number;
  readonly index: number;
  readonly event: BusEvent;
}
/** One message of the stream as the ring keeps it. */
interface Entry {
  readonly seq: number;
  readonly events: readonly BusEvent[];
}
/** Events waiting for the end of the run that published them: one topic, in order. */
interface Run {
  readonly topic: string;
  readonly pairs: string[];
  chars: number;
}

const START: EventPosition = { seq: 0, index: Infinity };
const encoder = new TextEncoder();

/** An {@link EventBus} over JetStream. */
export class JetStreamEventBus implements EventBus {
  #o: JetStreamEventBusOptions;
  #capacity: number;
  #maxEvents: number;
  /** The kept messages, oldest first from `#head`. */
  #ring: Entry[] = [];
  #head = 0;
  /** Events in the kept messages. */
  #held = 0;
  /** Sequence of the newest message seen (0: none yet). */
  #last = 0;
  #listeners = new Set<Listener>();
  #stop: (() => Promise<unknown>) | null = null;
  /** What this run published so far, to go out when it ends. */
  #pending: Run[] = [];
  #scheduled = false;

  constructor(options: JetStreamEventBusOptions) {
    this.#o = options;
    this.#capacity = Math.max(1, options.capacity ?? 10_000);
    this.#maxEvents = Math.max(1, options.maxBatchEvents ?? 500);
  }

  /** Starts following the stream from its next message. */
  async start(): Promise<void> {
    const info = await this.#o.jsm.streams.info(STREAMS.events);
    this.#last = info.state.last_seq;
    const consumer = await this.#o.js.consumers.get(STREAMS.events, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#last + 1,
    });
    const messages = await consumer.consume({ callback: (msg) => this.#live(msg) });
    this.#stop = () => messages.close();
  }

  /** Publishes what is still waiting, then stops following the stream. */
  async stop(): Promise<void> {
    this.#publishPending();
    await this.#stop?.();
    this.#stop = null;
  }

  publish(topic: string, data: JsonValue, key: string | null = null): void {
    const json = JSON.stringify(data);
    const forward = this.#o.forward?.[topic];
    if (forward !== undefined) {
      const subject = forward({ key, data });
      if (subject !== null) this.#o.nc.publish(subject, encoder.encode(json));
    }
    const entry = batchEntry(key, json);
    const run = this.#pending.at(-1);
    if (
      run !== undefined && run.topic === topic && run.pairs.length < this.#maxEvents &&
      run.chars + entry.length <= this.#maxChars()
    ) {
      run.pairs.push(entry);
      run.chars += entry.length + 1;
    } else this.#pending.push({ topic, pairs: [entry], chars: entry.length + 2 });
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#publishPending);
    }
  }

  subscribe(filter: EventFilter, fn: (item: Item) => void, after?: string): EventSubscription {
    const listener: Listener = { filter, fn, buffer: null, through: START };
    this.#listeners.add(listener);
    if (after !== undefined) this.#resume(listener, after);
    return { close: () => this.#listeners.delete(listener) };
  }

  #maxChars(): number {
    return this.#o.maxBatchChars ??
      Math.min(256 * 1024, Math.floor((this.#o.nc.info?.max_payload ?? 1024 * 1024) / 4));
  }

  /** Publishes each waiting run as one message (publish order kept). */
  #publishPending = (): void => {
    this.#scheduled = false;
    const runs = this.#pending;
    if (runs.length === 0) return;
    this.#pending = [];
    for (const run of runs) {
      const h = natsHeaders();
      h.set(BATCH_HEADER, String(run.pairs.length));
      try {
        this.#o.nc.publish(
          `${SUBJECTS.events}.${run.topic}`,
          encoder.encode(batchBody(run.pairs)),
          { headers: h },
        );
      } catch (error) {
        // The connection is closed: these events go nowhere (as a lone event's publish did).
        this.#o.logger.warn("events could not be published", {
          topic: run.topic,
          events: run.pairs.length,
          error: describeError(error),
        });
      }
    }
  };

  #live(msg: JsMsg): void {
    const seq = msg.seq;
    const events = toEvents(msg);
    this.#last = seq;
    this.#keep({ seq, events });
    if (events.length === 0) return;
    const topic = events[0]!.topic;
    for (const l of this.#listeners) {
      if (seq < l.through.seq) continue;
      const topics = l.filter.topics;
      if (topics !== undefined && topics.length > 0 && !topics.includes(topic)) continue;
      const from = seq === l.through.seq ? l.through.index + 1 : 0;
      for (let i = from; i < events.length; i++) {
        const event = events[i]!;
        if (l.filter.key !== undefined && l.filter.key !== event.key) continue;
        if (l.buffer !== null) l.buffer.push({ seq, index: i, event });
        else l.fn(event);
      }
    }
  }

  /** Adds a message to the ring, dropping the oldest while more events than the capacity. */
  #keep(entry: Entry): void {
    this.#ring.push(entry);
    this.#held += entry.events.length;
    while (this.#held > this.#capacity && this.#ring.length - this.#head > 1) {
      this.#held -= this.#ring[this.#head]!.events.length;
      this.#ring[this.#head++] = undefined as unknown as Entry;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#ring.length) {
      this.#ring = this.#ring.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The oldest message sequence the ring holds (`#last + 1` when it holds none). */
  #oldest(): number {
    return this.#head < this.#ring.length ? this.#ring[this.#head]!.seq : this.#last + 1;
  }

  /** The ring's index of the first message at or after `seq`. */
  #indexOf(seq: number): number {
    let lo = this.#head, hi = this.#ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ring[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #resume(listener: Listener, after: string): void {
    const pos = parseEventId(after);
    // Every event after `pos` is in the ring: the rest of its message, and every later one.
    const inRing = pos !== null && pos.seq <= this.#last &&
      (pos.index === Infinity ? pos.seq + 1 : pos.seq) >= this.#oldest();
    if (inRing) {
      for (let at = this.#indexOf(pos.seq); at < this.#ring.length; at++) {
        const { seq, events } = this.#ring[at]!;
        const from = seq === pos.seq ? pos.index + 1 : 0;
        for (let i = from; i < events.length; i++) {
          if (matches(listener.filter, events[i]!)) listener.fn(events[i]!);
        }
      }
      return;
    }
    // Not in the ring: ask the stream, holding live events until it has answered.
    listener.buffer = [];
    const until = this.#last;
    this.#catchUp(listener, after, pos, until).catch((error) => {
      this.#o.logger.warn("resuming an event subscription failed", {
        error: describeError(error),
      });
      listener.fn({
        reset: true,
        reason: "the events after this id could not be read back",
        after: String(until),
      });
      this.#flush(listener, { seq: until, index: Infinity });
    });
  }

  /**
   * Reads the stream back for a listener resuming after `pos` (`null`: not an id) up to
   * message `until`, the newest this node had when it subscribed; what arrived live since is
   * in the listener's buffer and handed over after.
   */
  async #catchUp(listener: Listener, after: string, pos: EventPosition | null, until: number) {
    const info = await this.#o.jsm.streams.info(STREAMS.events);
    // An empty stream that never held anything says first_seq 0.
    const first = Math.max(1, info.state.first_seq);
    let delivered: EventPosition;
    if (pos === null || pos.seq > info.state.last_seq) {
      listener.fn(
        this.#reset(`event id ${JSON.stringify(after)} is not one of this stream's`, first),
      );
      delivered = { seq: first - 1, index: Infinity };
    } else if ((pos.index === Infinity ? pos.seq + 1 : pos.seq) < first) {
      // The message it is in, or the next one, is gone: events after it may be lost.
      listener.fn(this.#reset(`events after ${after} are no longer kept`, first));
      delivered = { seq: first - 1, index: Infinity };
    } else {
      // A real id, possibly newer than anything this node has seen live yet.
      delivered = pos;
    }
    const end: EventPosition = { seq: until, index: Infinity };
    if (comparePositions(delivered, end) < 0) {
      const from = delivered.index === Infinity ? delivered.seq + 1 : delivered.seq;
      const consumer = await this.#o.js.consumers.get(STREAMS.events, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      try {
        while (comparePositions(delivered, end) < 0 && this.#listeners.has(listener)) {
          const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
          let got = 0;
          for await (const msg of batch) {
            got++;
            if (msg.seq > until) break;
            const events = toEvents(msg);
            const skip = msg.seq === delivered.seq ? delivered.index + 1 : 0;
            for (let i = skip; i < events.length; i++) {
              if (matches(listener.filter, events[i]!)) listener.fn(events[i]!);
            }
            delivered = { seq: msg.seq, index: Infinity };
          }
          if (got === 0) break;
        }
      } finally {
        await consumer.delete().catch(() => {});
      }
    }
    this.#flush(listener, comparePositions(delivered, end) > 0 ? delivered : end);
  }

  /** Ends buffering: hands over what was held back after `delivered`, and skips repeats. */
  #flush(listener: Listener, delivered: EventPosition): void {
    const held = listener.buffer ?? [];
    listener.buffer = null;
    listener.through = delivered;
    for (const h of held) if (comparePositions(h, delivered) > 0) listener.fn(h.event);
  }

  /** A reset followed by the events from message `from` on. */
  #reset(reason: string, from: number): ResetNotice {
    return { reset: true, reason, after: String(from - 1) };
  }
}

/** The events of a message, with their ids; none when it is not readable. */
function toEvents(msg: JsMsg): BusEvent[] {
  const packed = unpackEvents(msg.headers, msg.data);
  if (packed === null) return [];
  const topic = msg.subject.slice(SUBJECTS.events.length + 1);
  const time = Math.floor(msg.info.timestampNanos / 1_000_000);
  return packed.map(({ key, data }, i) => ({ id: eventId(msg.seq, i), topic, key, time, data }));
}
