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
  /** Handles a message; must eventually ack it (or leave it for redelivery). */
  handle(msg: JsMsg, done: () => void): void;
}

/** Consumes one partition of one stream. */
export class PartitionConsumer {
  #o: PartitionConsumerOptions;
  #messages: ConsumerMessages | null = null;
  #inFlight = 0;
  #drained: (() => void) | null = null;
  #stopped = false;

  constructor(options: PartitionConsumerOptions) {
    this.#o = options;
  }

  /** Messages handed out and not finished. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** (Re)creates the durable consumer at the first unacknowledged message and starts consuming. */
  async start(): Promise<void> {
    const { jsm, js, stream, durable } = this.#o;
    let startSeq: number | undefined;
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
    this.#messages.closed().then((error) => {
      if (error && !this.#stopped) {
        this.#o.logger.error("partition consumer stopped", {
          stream,
          partition: this.#o.partition,
          error: describeError(error),
        });
      }
    });
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
    this.#inFlight++;
    this.#o.handle(msg, () => {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#drained !== null) this.#drained();
    });
  }
}
