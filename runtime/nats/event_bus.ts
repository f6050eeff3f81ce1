/**
 * The event bus of cluster mode: every node publishes its events to the `FLOTILLA_EVENTS`
 * stream (`fl.ev.<topic>`), and every node follows the stream, so an SSE client on any node
 * sees the events of every node. Event ids are stream sequence numbers: a client resumes after
 * any id the stream still keeps — recent ones from a ring in memory, older ones read back from
 * the stream. An id the stream no longer keeps, or one that is not of this stream (not a
 * number, or past its newest event: the stream was recreated), gets an explicit reset and then
 * every event the stream still keeps, read back from its first.
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
import { STREAMS, SUBJECTS } from "./streams.ts";

/** Options of {@link JetStreamEventBus}. */
export interface JetStreamEventBusOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
  /** Recent events kept in memory for resuming clients. @default 10000 */
  readonly capacity?: number;
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
  buffer: BusEvent[] | null;
  /** The sequence up to which this listener has had every event: later arrivals at or below
   * it are repeats (an id resumed from can be ahead of what this node has seen live). */
  through: number;
}

const KEY_HEADER = "Fl-Key";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An {@link EventBus} over JetStream. */
export class JetStreamEventBus implements EventBus {
  #o: JetStreamEventBusOptions;
  #ring: (BusEvent | undefined)[];
  /** Sequence of the newest event in the ring (0: none yet). */
  #last = 0;
  /** Sequence of the first event this node followed live. */
  #first = 0;
  #listeners = new Set<Listener>();
  #stop: (() => Promise<unknown>) | null = null;

  constructor(options: JetStreamEventBusOptions) {
    this.#o = options;
    this.#ring = new Array(options.capacity ?? 10_000);
  }

  /** Starts following the stream from its next event. */
  async start(): Promise<void> {
    const info = await this.#o.jsm.streams.info(STREAMS.events);
    this.#first = info.state.last_seq + 1;
    this.#last = info.state.last_seq;
    const consumer = await this.#o.js.consumers.get(STREAMS.events, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#first,
    });
    const messages = await consumer.consume({ callback: (msg) => this.#live(msg) });
    this.#stop = () => messages.close();
  }

  async stop(): Promise<void> {
    await this.#stop?.();
    this.#stop = null;
  }

  publish(topic: string, data: JsonValue, key: string | null = null): void {
    const h = natsHeaders();
    if (key !== null) h.set(KEY_HEADER, key);
    const body = encoder.encode(JSON.stringify(data));
    this.#o.nc.publish(`${SUBJECTS.events}.${topic}`, body, { headers: h });
    const forward = this.#o.forward?.[topic];
    if (forward !== undefined) {
      const subject = forward({ key, data });
      if (subject !== null) this.#o.nc.publish(subject, body);
    }
  }

  subscribe(filter: EventFilter, fn: (item: Item) => void, after?: string): EventSubscription {
    const listener: Listener = { filter, fn, buffer: null, through: 0 };
    this.#listeners.add(listener);
    if (after !== undefined) this.#resume(listener, after);
    return { close: () => this.#listeners.delete(listener) };
  }

  #live(msg: JsMsg): void {
    const event = toEvent(msg);
    if (event === null) return;
    this.#last = msg.seq;
    this.#ring[msg.seq % this.#ring.length] = event;
    for (const l of this.#listeners) {
      if (msg.seq <= l.through || !matches(l.filter, event)) continue;
      if (l.buffer !== null) l.buffer.push(event);
      else l.fn(event);
    }
  }

  /** The oldest sequence the ring still holds. */
  #oldest(): number {
    return Math.max(this.#first, this.#last - this.#ring.length + 1);
  }

  #resume(listener: Listener, after: string): void {
    const seq = /^\d+$/.test(after) ? Number(after) : NaN;
    if (Number.isSafeInteger(seq) && seq <= this.#last && seq + 1 >= this.#oldest()) {
      for (let s = seq + 1; s <= this.#last; s++) {
        const event = this.#ring[s % this.#ring.length];
        if (event !== undefined && matches(listener.filter, event)) listener.fn(event);
      }
      return;
    }
    // Not in the ring: ask the stream, holding live events until it has answered.
    listener.buffer = [];
    const until = this.#last;
    this.#catchUp(listener, after, Number.isSafeInteger(seq) ? seq : null, until).catch(
      (error) => {
        this.#o.logger.warn("resuming an event subscription failed", {
          error: describeError(error),
        });
        listener.fn({
          reset: true,
          reason: "the events after this id could not be read back",
          after: String(until),
        });
        this.#flush(listener, until);
      },
    );
  }

  /**
   * Reads the stream back for a listener resuming after `seq` (`null`: not a sequence number)
   * up to `until`, the newest event this node had when it subscribed; what arrived live since
   * is in the listener's buffer and handed over after.
   */
  async #catchUp(listener: Listener, after: string, seq: number | null, until: number) {
    const info = await this.#o.jsm.streams.info(STREAMS.events);
    // An empty stream that never held anything says first_seq 0.
    const first = Math.max(1, info.state.first_seq);
    let from: number;
    if (seq === null || seq > info.state.last_seq) {
      from = first;
      listener.fn(
        this.#reset(`event id ${JSON.stringify(after)} is not one of this stream's`, from),
      );
    } else if (seq + 1 < first) {
      from = first;
      listener.fn(this.#reset(`events after ${after} are no longer kept`, from));
    } else {
      // A real id, possibly newer than anything this node has seen live yet.
      from = seq + 1;
    }
    let delivered = from - 1;
    if (delivered < until) {
      const consumer = await this.#o.js.consumers.get(STREAMS.events, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      try {
        while (delivered < until && this.#listeners.has(listener)) {
          const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
          let got = 0;
          for await (const msg of batch) {
            got++;
            if (msg.seq > until) break;
            delivered = msg.seq;
            const event = toEvent(msg);
            if (event !== null && matches(listener.filter, event)) listener.fn(event);
          }
          if (got === 0) break;
        }
      } finally {
        await consumer.delete().catch(() => {});
      }
    }
    this.#flush(listener, Math.max(delivered, until));
  }

  /** Ends buffering: hands over what was held back after `delivered`, and skips repeats. */
  #flush(listener: Listener, delivered: number): void {
    const held = listener.buffer ?? [];
    listener.buffer = null;
    listener.through = delivered;
    for (const event of held) if (Number(event.id) > delivered) listener.fn(event);
  }

  /** A reset followed by the events from sequence `from` on. */
  #reset(reason: string, from: number): ResetNotice {
    return { reset: true, reason, after: String(from - 1) };
  }
}

function toEvent(msg: JsMsg): BusEvent | null {
  try {
    return {
      id: String(msg.seq),
      topic: msg.subject.slice(SUBJECTS.events.length + 1),
      key: msg.headers?.get(KEY_HEADER) || null,
      time: Math.floor(msg.info.timestampNanos / 1_000_000),
      data: JSON.parse(decoder.decode(msg.data)) as JsonValue,
    };
  } catch {
    return null;
  }
}
