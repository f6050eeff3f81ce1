/**
 * Transports carry messages to the node that hosts an actor. The actor system asks the
 * transport whether an actor is local; local messages go straight to the mailbox (no
 * serialisation, no await), the rest go through the transport, which hands them to the
 * owning node's system via its {@link LocalDelivery}.
 *
 * Actor code never sees the transport: the in-process transport (embedded mode) and the
 * NATS JetStream transport (cluster mode) are interchangeable.
 *
 * @module
 */
import type { FencedError, StoreRegressedError } from "./errors.ts";
import type { Fence, FenceRecord, JsonValue } from "./store.ts";

/** A message in transit between nodes. */
export interface Envelope {
  /** Actor type. */
  readonly type: string;
  /** Actor id within the type. */
  readonly id: string;
  /** Message kind (the handler's name). */
  readonly kind: string;
  readonly payload: JsonValue;
  /** Identity of the message for deduplication (a JetStream sequence or `Nats-Msg-Id`). */
  readonly msgId?: string;
}

/** How a transport delivers one message. */
export interface DeliveryOptions {
  /** Deadline for the reply; none when absent (a durable transport redelivers on its own). */
  readonly timeoutMs?: number;
  /**
   * Where the message comes from (a stream and partition, say) and its position there.
   * Positions of one source must reach an actor in increasing order; the actor records the
   * last position it applied with its state, atomically, and acknowledges a message at or
   * below it without applying it again (effectively once).
   */
  readonly source?: string;
  readonly seq?: number;
}

/** What a node's actor system offers its transport. */
export interface LocalDelivery {
  /**
   * Delivers `envelope` to a local actor and resolves with the handler's reply once the state
   * change it caused is durable — the moment a durable transport may acknowledge the message.
   * A duplicate (see {@link DeliveryOptions.source}) resolves with `undefined` at once.
   * Rejects with the handler's error, a `TimeoutError`, or a `MailboxFullError`.
   */
  deliver(envelope: Envelope, options?: DeliveryOptions): Promise<unknown>;
  /**
   * This node now hosts partition `partition`: with `token` (its lease's fencing token), take
   * the partition's fence in the store first — from then on no older owner's write lands — then
   * load what it needs (its reminders). Resolves with the fence record as it then is (its token
   * above `token`: a newer owner holds it), or `null` without a token.
   */
  acquired(partition: number, token?: number): Promise<FenceRecord | null>;
  /**
   * This node is giving partition `partition` up: refuse new work for its actors, let the
   * work they have finish and become durable (waiting at most `timeoutMs`), then drop them
   * from memory. `handover`: a graceful hand-over, after which everything up to `marks` is
   * durable — recorded in the partition's fence, so the next owner starts exactly there.
   */
  released(
    partition: number,
    timeoutMs?: number,
    handover?: { readonly token: number; readonly marks: Readonly<Record<string, number>> },
  ): Promise<void>;
}

/**
 * How a cluster transport fences the writes of the partitions it hosts: each write carries the
 * partition's {@link Fence} (the owner's lease token, the positions made durable so far, the
 * positions known stored), and the store refuses it in the same atomic step when a newer owner
 * took the partition or the store went back in time.
 */
export interface PartitionFencing {
  /**
   * The fence writes of `partition` carry now; `null` when this node does not hold it, and then
   * nothing of it may be written.
   */
  fenceFor(partition: number): Fence | null;
  /**
   * Whether this node still holds `partition`'s lease (fresh on its clock). A node that lost it
   * — frozen past it, say — publishes nothing more of it: a late event would reach subscribers
   * after the new owner's.
   */
  holds(partition: number): boolean;
  /** A write carrying `fence` is durable: its marks are now known to be stored. */
  confirmed(partition: number, fence: Fence): void;
  /**
   * The store refused a write of `partition` carrying `fence`: fenced (a newer owner has it:
   * stop taking its messages) or regressed (data loss: repair it from the stream). A refusal of
   * a fence handed out before the partition was last (re)taken is old news and ignored.
   */
  refused(partition: number, error: FencedError | StoreRegressedError, fence: Fence | null): void;
}

/** Moves messages between actor systems. */
export interface Transport {
  /** Fencing of the hosted partitions' writes (cluster transports); absent: none. */
  readonly fencing?: PartitionFencing;
  /** `"in-process"` or `"nats"`. */
  readonly name: string;
  /** Starts receiving messages for the actors this node hosts. */
  start(local: LocalDelivery): Promise<void>;
  /** Whether this node hosts `type/id` now. Must be cheap: it is asked on every send. */
  isLocal(type: string, id: string): boolean;
  /** The partition of an actor (placement; 0 when there is one node). */
  partitionOf(type: string, id: string): number;
  /** Sends a message to a remote actor; resolves once the transport holds it durably. */
  send(envelope: Envelope): Promise<void>;
  /** Asks a remote actor; resolves with its reply. */
  request(envelope: Envelope, timeoutMs: number): Promise<unknown>;
  /** Stops receiving and releases connections. */
  stop(): Promise<void>;
}

/** The transport of embedded mode: one node, every actor local. */
export class InProcessTransport implements Transport {
  readonly name = "in-process";
  #local: LocalDelivery | null = null;

  async start(local: LocalDelivery): Promise<void> {
    this.#local = local;
    await local.acquired(0);
  }

  isLocal(): boolean {
    return true;
  }

  partitionOf(): number {
    return 0;
  }

  async send(envelope: Envelope): Promise<void> {
    await this.#delivery().deliver(envelope, { timeoutMs: 30_000 });
  }

  request(envelope: Envelope, timeoutMs: number): Promise<unknown> {
    return this.#delivery().deliver(envelope, { timeoutMs });
  }

  stop(): Promise<void> {
    this.#local = null;
    return Promise.resolve();
  }

  #delivery(): LocalDelivery {
    if (this.#local === null) throw new Error("the in-process transport is not started");
    return this.#local;
  }
}
