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
  /** Subject filter, e.g. `fl.in.7.>`. */
  readonly filter: string;
  /** Durable consumer name, e.g. `ingest-p7`. */
  readonly durable: string;
  /** Messages delivered and not yet acknowledged, at most: backpressure up to the stream. */
  readonly maxAckPending: number;
  readonly logger: Logger;
  /**
   * Handles a message; must eventually ack it and call `done()`, or leave it for redelivery
   * and call `done(false)`.
   */
  handle(msg: JsMsg, done: (acked?: boolean) => void): void;
  /** Whether the partition is still this node's: only then is a vanished consumer recreated. */
  owned(): boolean;
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
  /** Sequences handed out and not acknowledged (finished or not). */
  #open = new Set<number>();
  /** Highest sequence handed out. */
  #delivered = 0;
  #recreating = false;

  constructor(options: PartitionConsumerOptions) {
    this.#o = options;
  }

  /** Messages handed out and not finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** (Re)creates the durable consumer at the first unacknowledged message and starts consuming. */
  start(): Promise<void> {
    return this.#create(undefined);
  }

  /** Where this node would go on from: its first unacknowledged message, or the next one. */
  get resumeSeq(): number | undefined {
    if (this.#delivered === 0) return undefined;
    let first = this.#delivered + 1;
    for (const seq of this.#open) if (seq < first) first = seq;
    return first;
  }

  async #create(resumeAt: number | undefined): Promise<void> {
    const { jsm, js, stream, durable } = this.#o;
    let startSeq: number | undefined = resumeAt;
    try {
      const previous = await jsm.consumers.info(stream, durable);
      startSeq = previous.ack_floor.stream_seq + 1;
      await jsm.consumers.delete(stream, durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const config = {
      durable_name: durable,
      filter_subject: this.#o.filter,
      ack_policy: AckPolicy.Explicit,
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
    if (this.#stopped) return;
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
    if (!graceful || this.#inFlight === 0) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drained = resolve;
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
  }

  #receive(msg: JsMsg): void {
    if (this.#stopped) return; // left for the next owner
    const seq = msg.seq;
    this.#inFlight++;
    this.#open.add(seq);
    if (seq > this.#delivered) this.#delivered = seq;
    this.#o.handle(msg, (acked = true) => {
      if (acked) this.#open.delete(seq);
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#drained !== null) this.#drained();
    });
  }
}
