/**
 * The pull consumer of one partition of one stream, on the node that owns the partition.
 *
 * Taking a partition over deletes the partition's durable consumer and creates it again from
 * the first unacknowledged message (the old consumer's ack floor + 1), so the new owner gets
 * every message the old one had not made durable — at once and in stream order — instead of
 * waiting for the ack timeout and mixing redeliveries with new messages. Messages the old
 * owner had applied but not acknowledged come again; actors recognise them by their stream
 * sequence and acknowledge them without applying them twice.
 *
 * A consumer that disappears while its partition is still owned here (a nats-server that lost
 * it in a crash, an operator deleting it) is created again from the first message this node
 * has not finished — never left to wait silently for a consumer that does not exist.
 *
 * Acknowledgements are cumulative (`AckPolicy.All`): the consumer, not the handler, acks, once
 * per burst of finished messages, the last message of the delivered prefix that is finished.
 * A message finished out of order waits for the ones before it; one left for redelivery holds
 * the ack floor where it is. One ack per burst instead of one per message saves the client a
 * publish and nats-server an ack's processing per message.
 *
 * @module
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { isNotFound } from "./streams.ts";

/** Options of {@link PartitionConsumer}. */
export interface PartitionConsumerOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly partition: number;
  /** The source name actors record positions of this consumer's messages under, e.g. `in/7`. */
  readonly source: string;
  /** Subject filter, e.g. `fl.in.7.>`. */
  readonly filter: string;
  /** Durable consumer name, e.g. `ingest-p7`. */
  readonly durable: string;
  /** Messages delivered and not yet acknowledged, at most: backpressure up to the stream. */
  readonly maxAckPending: number;
  readonly logger: Logger;
  /**
   * Handles a message, then calls `done()` once it is finished (durable, or rejected for good:
   * the consumer acknowledges it), or `done(false)` to leave it for redelivery. The handler
   * never acks itself.
   */
  handle(msg: JsMsg, done: (finished?: boolean) => void): void;
  /** Whether the partition is still this node's: only then is a vanished consumer recreated. */
  owned(): boolean;
  /** Told how many messages the store lost that the stream no longer holds (not repaired). */
  unrepaired?(count: number): void;
}

/** Pause before recreating a vanished consumer, so a flapping server is not hammered. */
const RECREATE_DELAY_MS = 250;

/** Consumes one partition of one stream. */
export class PartitionConsumer {
  #o: PartitionConsumerOptions;
  #messages: ConsumerMessages | null = null;
  #inFlight = 0;
  #drained: (() => void) | null = null;
  #stopped = false;
  /** Stopped and its last acknowledgement sent: it acknowledges nothing more (see `#ack`). */
  #closed = false;
  /**
   * Which creation of the durable consumer is current. An acknowledgement goes to the consumer
   * of that name on the server whichever creation delivered the message, and carries that
   * creation's delivery count: one of an earlier creation would move the current one's floor
   * past deliveries it then ignores the acknowledgements of — the partition would never drain.
   */
  #generation = 0;
  /**
   * Messages handed out and not yet acknowledged, in stream order: finished (`true`) or not,
   * and by which creation of the consumer (`generation`).
   * `#order` is sorted; redeliveries can arrive out of order, so it is inserted into, rarely.
   */
  #open = new Map<number, { msg: JsMsg; finished: boolean; generation: number }>();
  #order: number[] = [];
  #orderHead = 0;
  /** Highest sequence acknowledged: a delivery at or below it is a late redelivery. */
  #acked = 0;
  #ackScheduled = false;
  /** Highest sequence handed out. */
  #delivered = 0;
  #recreating = false;
  #from: { mark?: number; repair?: boolean } = {};
  /**
   * The last message of the partition in the stream when this consumer was first created (0:
   * none left to deliver then), and whether the finished prefix has reached it: readiness.
   */
  #target: number | null = null;
  #caughtUp = false;

  constructor(options: PartitionConsumerOptions) {
    this.#o = options;
  }

  /** Whether it was stopped: it hands out nothing more, and acknowledges nothing more. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** The source name actors record this consumer's positions under (e.g. `in/7`). */
  get source(): string {
    return this.#o.source;
  }

  /** Messages handed out and not finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Whether everything the stream held for this partition when the consumer was first created
   * is finished and acknowledged: the owner has caught up. Once true it stays true (later
   * messages, redeliveries and rewinds do not make a node un-caught-up); read from memory.
   */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /**
   * (Re)creates the durable consumer and starts consuming: at the first unacknowledged message,
   * or earlier, at `from.mark + 1`, when the store says only the messages up to its mark are
   * durable (its partition's fence record). `from.repair`: the store lost writes; start at the
   * mark whatever the ack floor (the stream's first message when there is no mark). Actors
   * recognise what they applied already by its position, so starting early never applies twice.
   */
  start(from: { mark?: number; repair?: boolean } = {}): Promise<void> {
    this.#from = from;
    return this.#create(undefined);
  }

  /**
   * The highest position up to which every message handed out is finished (durable, or
   * rejected for good) and acknowledged: what a fence may mark as durable.
   */
  get acked(): number {
    return this.#acked;
  }

  /** Where this node would go on from: its first unfinished message, or the next one. */
  get resumeSeq(): number | undefined {
    if (this.#delivered === 0) return undefined;
    for (let i = this.#orderHead; i < this.#order.length; i++) {
      const seq = this.#order[i]!;
      if (!this.#open.get(seq)!.finished) return seq;
    }
    return this.#delivered + 1;
  }

  async #create(resumeAt: number | undefined): Promise<void> {
    const { jsm, js, stream, durable } = this.#o;
    let startSeq: number | undefined = resumeAt;
    let ackFloor = 0;
    try {
      const previous = await jsm.consumers.info(stream, durable);
      ackFloor = previous.ack_floor.stream_seq;
      startSeq = ackFloor + 1;
      await jsm.consumers.delete(stream, durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (resumeAt === undefined) startSeq = await this.#startFor(startSeq, ackFloor);
    const config = {
      durable_name: durable,
      filter_subject: this.#o.filter,
      ack_policy: AckPolicy.All,
      ack_wait: 30_000_000_000,
      max_ack_pending: this.#o.maxAckPending,
      ...(startSeq === undefined
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
    };
    let info;
    try {
      info = await jsm.consumers.add(stream, config);
    } catch (error) {
      // Created again meanwhile with another start (an earlier owner's attempt): replace it.
      this.#o.logger.warn("recreating a partition consumer", {
        durable,
        error: describeError(error),
      });
      await jsm.consumers.delete(stream, durable).catch(() => {});
      info = await jsm.consumers.add(stream, config);
    }
    if (this.#target === null) {
      // Caught up means: up to the partition's last message now (one round trip, at the first
      // creation only; nothing pending, nothing to wait for).
      this.#target = info.num_pending === 0
        ? 0
        : (await jsm.streams.getMessage(stream, { last_by_subj: this.#o.filter }))?.seq ?? 0;
      this.#reached();
    }
    if (this.#stopped) return;
    this.#generation++;
    if (startSeq !== undefined) this.#finishedBefore(startSeq);
    const consumer = js.consumers.getConsumerFromInfo(info);
    this.#messages = await consumer.consume({
      max_messages: Math.min(500, this.#o.maxAckPending),
      callback: (msg) => this.#receive(msg),
    });
    const messages = this.#messages;
    messages.closed().then((error) => {
      if (error && !this.#stopped) {
        this.#o.logger.error("partition consumer stopped", {
          stream,
          partition: this.#o.partition,
          error: describeError(error),
        });
      }
    });
    this.#watch(messages);
  }

  /**
   * Where a (re)acquired partition starts: the store's mark + 1 when it lies before the ack
   * floor (the last writes of an owner that died before its mark was stored, or acknowledged
   * messages the store no longer holds); after a regression, the mark whatever the floor (the
   * stream's first message kept when there is no mark). Without a mark, the ack floor.
   */
  async #startFor(startSeq: number | undefined, ackFloor: number): Promise<number | undefined> {
    const { mark, repair } = this.#from;
    if (mark === undefined && !repair) return startSeq;
    const from = (mark ?? 0) + 1;
    if (!repair && startSeq !== undefined && from >= startSeq) return startSeq;
    const info = await this.#o.jsm.streams.info(this.#o.stream);
    const first = info.state.first_seq;
    if (from < first) {
      this.#o.logger.error("messages the store lost are no longer in the stream", {
        stream: this.#o.stream,
        partition: this.#o.partition,
        from,
        firstKept: first,
        lost: first - from,
      });
      this.#o.unrepaired?.(first - from);
    }
    if (from < (startSeq ?? Infinity)) {
      this.#o.logger.warn("replaying a partition from the store's durable mark", {
        stream: this.#o.stream,
        partition: this.#o.partition,
        from: Math.max(from, first),
        ackFloor,
        reason: repair
          ? "the store went back in time"
          : mark === undefined
          ? "the store has no mark for this partition"
          : "the store's mark is behind the ack floor",
      });
    }
    return Math.max(1, Math.min(from, startSeq ?? from));
  }

  /** Recreates the consumer when the server says it is gone and the partition is still ours. */
  async #watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (this.#stopped || this.#messages !== messages) return;
      if (status.type !== "consumer_not_found" && status.type !== "consumer_deleted") continue;
      if (!this.#o.owned() || this.#recreating) continue;
      this.#recreating = true;
      try {
        await messages.close().catch(() => {});
        const resumeAt = this.resumeSeq;
        this.#o.logger.warn("a partition consumer vanished; creating it again", {
          stream: this.#o.stream,
          partition: this.#o.partition,
          from: resumeAt ?? "the start",
        });
        for (;;) {
          await new Promise((r) => setTimeout(r, RECREATE_DELAY_MS));
          if (this.#stopped || !this.#o.owned()) return;
          try {
            await this.#create(resumeAt);
            return;
          } catch (error) {
            this.#o.logger.warn("recreating a partition consumer failed; trying again", {
              stream: this.#o.stream,
              partition: this.#o.partition,
              error: describeError(error),
            });
          }
        }
      } finally {
        this.#recreating = false;
      }
    }
  }

  /**
   * Stops taking messages. `graceful`: also waits (at most `timeoutMs`) until every message
   * handed out is finished, so the ack floor is where the next owner should start.
   */
  async stop(graceful: boolean, timeoutMs = 10_000): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => {});
    this.#messages = null;
    if (graceful && this.#inFlight > 0) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#drained = resolve;
      const timer = setTimeout(resolve, timeoutMs);
      await promise;
      clearTimeout(timer);
    }
    this.#ack(); // what finished, now: the caller flushes the connection next
    // Whatever finishes later stays unacknowledged: the partition's next consumer (of the same
    // name, on this node or another) delivers it again and the actors skip it as applied.
    this.#closed = true;
  }

  #receive(msg: JsMsg): void {
    if (this.#stopped) return; // left for the next owner
    const seq = msg.seq;
    this.#inFlight++;
    if (seq > this.#delivered) this.#delivered = seq;
    // A redelivery at or below the ack floor needs no ack; one of a message still open
    // replaces the handle the ack goes through.
    const tracked = seq > this.#acked;
    if (tracked) {
      const entry = this.#open.get(seq);
      if (entry !== undefined) {
        const waiting = entry.finished && entry.generation !== this.#generation;
        entry.msg = msg;
        entry.generation = this.#generation;
        // Finished under an earlier creation, it waited for this delivery to be acknowledged.
        if (waiting) this.#scheduleAck();
      } else {
        this.#open.set(seq, { msg, finished: false, generation: this.#generation });
        this.#insert(seq);
      }
    }
    this.#o.handle(msg, (finished = true) => {
      this.#inFlight--;
      if (finished && tracked) {
        const entry = this.#open.get(seq);
        if (entry !== undefined && !entry.finished) {
          entry.finished = true;
          this.#scheduleAck();
        }
      }
      if (this.#inFlight === 0 && this.#drained !== null) this.#drained();
    });
  }

  #reached(): void {
    if (!this.#caughtUp && this.#target !== null && this.#acked >= this.#target) {
      this.#caughtUp = true;
    }
  }

  /** Adds `seq` to `#order`, keeping it sorted (at the end but for redeliveries). */
  #insert(seq: number): void {
    const order = this.#order;
    let i = order.length;
    while (i > this.#orderHead && order[i - 1]! > seq) i--;
    if (i === order.length) order.push(seq);
    else order.splice(i, 0, seq);
  }

  /**
   * A consumer created again at `start` delivers nothing before it: what finished there needs no
   * acknowledgement any more (the server's floor is below `start`), so it leaves the prefix.
   */
  #finishedBefore(start: number): void {
    const order = this.#order;
    let head = this.#orderHead;
    while (head < order.length && order[head]! < start) {
      const seq = order[head]!;
      if (!this.#open.get(seq)!.finished) break;
      this.#open.delete(seq);
      if (seq > this.#acked) this.#acked = seq;
      head++;
    }
    this.#order = order.slice(head);
    this.#orderHead = 0;
    this.#reached();
  }

  #scheduleAck(): void {
    if (!this.#ackScheduled) {
      this.#ackScheduled = true;
      queueMicrotask(this.#ack);
    }
  }

  /**
   * Acknowledges the finished prefix of what was handed out, with one cumulative ack. The
   * prefix stops at a message delivered by an earlier creation of the consumer: the current one
   * delivers it again (it starts at the first unfinished message), and is acknowledged then.
   */
  #ack = (): void => {
    this.#ackScheduled = false;
    // A node that lost the partition (frozen past its lease, say) acknowledges nothing: its
    // cumulative ack would reach the new owner's consumer of the same name and acknowledge
    // messages that were delivered to this node but never applied. Nor does a stopped consumer
    // once its last acknowledgement is out: the partition's next consumer has the same name.
    if (this.#closed || !this.#o.owned()) return;
    const order = this.#order;
    let head = this.#orderHead;
    let last: JsMsg | null = null;
    while (head < order.length) {
      const seq = order[head]!;
      const entry = this.#open.get(seq)!;
      if (!entry.finished || entry.generation !== this.#generation) break;
      last = entry.msg;
      this.#open.delete(seq);
      head++;
    }
    if (head === order.length) {
      this.#order = [];
      this.#orderHead = 0;
    } else if (head > 1024 && head * 2 > order.length) {
      this.#order = order.slice(head);
      this.#orderHead = 0;
    } else {
      this.#orderHead = head;
    }
    if (last === null) return;
    this.#acked = last.seq;
    this.#reached();
    // Fire and forget, as every ack: an ack lost with the connection means a redelivery,
    // which the actors recognise and skip.
    last.ack();
  };
}
