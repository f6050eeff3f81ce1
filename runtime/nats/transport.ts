/**
 * The NATS transport: cluster mode. Several nodes share one NATS; actors map to partitions
 * (`partitionOf`), each partition owned by one node at a time (see `placement.ts`).
 *
 * What the owner of a partition consumes:
 * - device telemetry from `FLOTILLA_INGEST` (`fl.in.<p>.…`, where nats-server's subject
 *   mapping puts `iot.<id>.telemetry` and `sensors.<id>.<sensor>`), decoded by the
 *   application's {@link IngestDecoder};
 * - durable messages between actors from `FLOTILLA_MSGS` (`fl.msg.<p>`);
 * - requests (`ask`) from other nodes on core subject `fl.rpc.<p>`.
 *
 * A message is acknowledged once the state change it caused is durable; an actor records the
 * stream sequence it applied with its state, so a redelivered message never changes state twice.
 * Messages whose payload is invalid are counted, reported and acknowledged: they never crash a
 * node and never stall a partition.
 *
 * @module
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import {
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import {
  describeError,
  FencedError,
  FlotillaError,
  ShutdownError,
  type StoreRegressedError,
  TimeoutError,
} from "../errors.ts";
import type { EventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { MetricsRegistry } from "../metrics.ts";
import type { JsonValue } from "../store.ts";
import type { Envelope, LocalDelivery, PartitionFencing, Transport } from "../transport.ts";
import type { Fence } from "../store.ts";
import { fenceKey } from "../handoff.ts";
import { DEFAULT_PARTITIONS, partitionOf } from "./hash.ts";
import { PartitionConsumer } from "./partition_consumer.ts";
import { LeaseKeeper } from "./lease_keeper.ts";
import { Placement } from "./placement.ts";
import { type PartitionsReadiness, partitionsReadiness } from "./readiness.ts";
import { STREAMS, SUBJECTS } from "./streams.ts";
import { jitteredSleep } from "../stores/support.ts";

/** A device payload refused, with why. */
export interface IngestRejection {
  readonly reject: string;
  /** The device it claims to come from, when known. */
  readonly device?: string;
}

/** Turns an ingest message into a message for an actor. Supplied by the application. */
export interface IngestDecoder {
  /**
   * @param tokens the subject after `fl.in.<partition>.`, e.g. `["robot1", "t"]` for
   *   `iot.robot1.telemetry` or `["robot1", "s", "coordX"]` for `sensors.robot1.coordX`
   * @param data the payload
   * @param receivedAt when the node received it (epoch ms)
   */
  decode(
    tokens: readonly string[],
    data: Uint8Array,
    receivedAt: number,
  ): Envelope | IngestRejection;
}

/**
 * A further partitioned stream the owner of each partition consumes, like ingest: one durable
 * consumer per partition (filter {@link filter}), handed over with the partition, acknowledged
 * once {@link handle} resolved. Edge sites use feeds for the uplink (at the hub) and the
 * downlink (at the site).
 */
export interface PartitionFeed {
  /** Names the feed in metrics and logs, e.g. `up-store1`. */
  readonly name: string;
  readonly stream: string;
  /** The subject filter of partition `partition`'s messages. */
  filter(partition: number): string;
  /**
   * Applies one message, delivering through `local` (with a `source` and `seq`, so a
   * redelivery is recognised); resolves once that is durable. A rejection with a
   * `ShutdownError` leaves the message for the partition's next owner; any other error
   * acknowledges it (the handler reports it).
   */
  handle(msg: JsMsg, local: LocalDelivery): Promise<unknown>;
}

/** Options of {@link NatsTransport}. */
export interface NatsTransportOptions {
  readonly nc: NatsConnection;
  /**
   * A connection of its own for leases and heartbeats, so they never queue behind message
   * traffic. @default nc
   */
  readonly controlNc?: NatsConnection;
  /**
   * Keep the leases on a worker thread with its own connection to these servers (NATS_URL
   * form, credentials inside), so a busy main thread never delays a renewal. Without it the
   * leases are kept on this thread over `controlNc`.
   */
  readonly leaseServers?: string[];
  /** With `leaseServers`: what to do if the lease thread dies (see {@link LeaseKeeper}). */
  readonly onLeaseFailure?: (error: Error) => void;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly nodeId: string;
  /** Must equal the partition count of nats-server's subject mapping. @default DEFAULT_PARTITIONS (16) */
  readonly partitions?: number;
  /** @default 2000 */
  readonly leaseMs?: number;
  /** Messages in flight per partition and stream. @default 1000 */
  readonly maxAckPending?: number;
  /** Copies of the lease buckets. @default 1 */
  readonly replicas?: number;
  readonly ingest?: IngestDecoder;
  /** Further partitioned streams to consume (see {@link PartitionFeed}). */
  readonly feeds?: readonly PartitionFeed[];
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Where rejected payloads are reported (topic `system`). */
  readonly events?: EventBus;
}

/** How long a message to an actor elsewhere is sent again while NATS does not answer. */
const SEND_PATIENCE_MS = 60_000;

/** Longest stretch spent handling inbound messages before yielding to timers and I/O. */
const INBOUND_SLICE_MS = 8;

/** Called once an inbound message is finished (`false`: leave it for redelivery). */
type Done = (finished?: boolean) => void;
/** Handles an inbound message of a partition. */
type Work = (p: number, msg: JsMsg, done: Done) => void;
/** An entry of the inbound queue: partition, message, done, work, flat. */
type Inbound = number | JsMsg | Done | Work | PartitionConsumer;

/** The error code of a reply from a node that does not (or not yet) own the partition. */
const MOVED = "partition_moved";

const HEADER = { type: "Fl-Type", id: "Fl-Id", kind: "Fl-Kind", timeout: "Fl-Timeout" } as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the transport needs of partition placement, on this thread or on a worker. */
export interface PartitionLeases {
  /** Whether this node hosts `partition` now. */
  owns(partition: number): boolean;
  /**
   * Whether this node holds `partition`'s lease and renewed it within the fencing limit —
   * while taking it over too: its messages may be handled and acknowledged here.
   */
  holds(partition: number): boolean;
  /** The partitions this node hosts now. */
  owned(): number[];
  /**
   * The partitions this node should host now (rendezvous hashing over the live nodes); `null`
   * while placement settles after start, once it leaves, and when it is not running.
   */
  wanted(): number[] | null;
  /** Why nothing keeps this node's leases any more (the lease thread died), else `null`. */
  failure(): string | null;
  start(): Promise<void>;
  /** Hands every partition over (drained). */
  stop(): Promise<void>;
  /** Stops at once without handing over. */
  abandon(): void;
}

/** Cluster transport over NATS JetStream. */
export class NatsTransport implements Transport {
  readonly name = "nats";
  readonly partitions: number;
  readonly placement: PartitionLeases;
  #o: NatsTransportOptions;
  #local: LocalDelivery | null = null;
  #consumers = new Map<number, PartitionConsumer[]>();
  #rpc = new Map<number, Subscription>();
  #sent = 0;
  #stopping: Promise<void> | null = null;
  #lifecycle = new Map<number, Promise<void>>();
  /**
   * Inbound messages waiting to be handled, as flat quintuples (partition, message, done, work,
   * the consumer that delivered it): no closure per message on the hot path.
   */
  #inbox: Inbound[] = [];
  #inboxHead = 0;
  /** Partitions whose messages are handled here now. */
  #hosting = new Set<number>();
  /** The fence of each hosted partition: its token, and the positions known stored. */
  #fences = new Map<number, { token: number; known: Record<string, number> }>();
  /**
   * Partitions being taken again from their first unfinished message (see #abandoned), with the
   * consumers being replaced: what they delivered is refused; their successors' is not.
   */
  #rewinding = new Map<number, readonly PartitionConsumer[]>();
  /** Partitions being repaired after the store went back in time, and since when. */
  #repairs = new Map<number, { since: number; reason: string }>();
  #pumping = false;
  /** Ready once: see readiness.ts. */
  #joined = false;
  #m;
  /** The ingest and message streams' consumed counters, resolved once (hot path). */
  #ingestedIngest;
  #ingestedMessages;

  /** How this node's writes of its partitions are fenced (see {@link PartitionFencing}). */
  readonly fencing: PartitionFencing = {
    fenceFor: (p) => this.#fenceFor(p),
    holds: (p) => this.placement.holds(p),
    confirmed: (p, fence) => {
      const f = this.#fences.get(p);
      if (f === undefined || this.#issued.get(fence) !== f) return;
      for (const [source, n] of Object.entries(fence.marks ?? {})) {
        if ((f.known[source] ?? 0) < n) f.known[source] = n;
      }
    },
    refused: (p, error, fence) => {
      // A batch prepared before the partition was (re)taken: its refusal is old news.
      if (fence !== null && this.#issued.get(fence) !== this.#fences.get(p)) return;
      this.#refused(p, error);
    },
  };
  /** Which hosting of its partition each fence handed out belongs to. */
  #issued = new WeakMap<Fence, { token: number; known: Record<string, number> }>();

  constructor(options: NatsTransportOptions) {
    this.#o = options;
    this.partitions = options.partitions ?? DEFAULT_PARTITIONS;
    const metrics = options.metrics;
    this.#m = {
      rejected: metrics.counter({
        name: "flotilla_ingest_rejected_total",
        help: "Device payloads refused (not JSON, not a number, too large, invalid), by reason.",
        labels: ["reason"],
      }),
      ingested: metrics.counter({
        name: "flotilla_ingest_messages_total",
        help: "Messages consumed from JetStream, by stream.",
        labels: ["stream"],
      }),
      redeliveries: metrics.counter({
        name: "flotilla_redeliveries_total",
        help: "Messages JetStream delivered more than once, by stream.",
        labels: ["stream"],
      }),
      unrepaired: metrics.counter({
        name: "flotilla_store_unrepaired_messages_total",
        help: "Messages whose effects the store lost and the stream no longer holds: data loss " +
          "the node could not repair (the ingest stream's retention is the repair window).",
      }),
      natsSeconds: metrics.histogram({
        name: "flotilla_nats_seconds",
        help: "NATS round trips: JetStream publish acks and requests to other nodes.",
        labels: ["op"],
      }),
    };
    this.#ingestedIngest = this.#m.ingested.labels("ingest");
    this.#ingestedMessages = this.#m.ingested.labels("messages");
    const leases = {
      nodeId: options.nodeId,
      partitions: this.partitions,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      logger: options.logger,
      metrics,
      acquire: (p: number, token: number) => this.#serially(p, () => this.#acquire(p, token)),
      release: (p: number, graceful: boolean) =>
        this.#serially(p, () => this.#release(p, graceful)),
    };
    this.placement = options.leaseServers === undefined
      ? new Placement({ ...leases, nc: options.controlNc ?? options.nc })
      : new LeaseKeeper({
        ...leases,
        servers: options.leaseServers,
        ...(options.onLeaseFailure === undefined ? {} : { onFailure: options.onLeaseFailure }),
      });
  }

  async start(local: LocalDelivery): Promise<void> {
    this.#local = local;
    await this.placement.start();
  }

  isLocal(_type: string, id: string): boolean {
    return this.placement.owns(partitionOf(id, this.partitions));
  }

  partitionOf(_type: string, id: string): number {
    return partitionOf(id, this.partitions);
  }

  async send(envelope: Envelope): Promise<void> {
    const p = partitionOf(envelope.id, this.partitions);
    const h = natsHeaders();
    h.set(HEADER.type, envelope.type);
    h.set(HEADER.id, envelope.id);
    h.set(HEADER.kind, envelope.kind);
    const started = performance.now();
    const data = encoder.encode(JSON.stringify(envelope.payload ?? null));
    // One id for every attempt: JetStream keeps the message once, however often it is sent.
    const msgID = envelope.msgId ?? `${this.#o.nodeId}:${Date.now().toString(36)}:${++this.#sent}`;
    for (let attempt = 0;; attempt++) {
      try {
        await this.#o.js.publish(`${SUBJECTS.messages}.${p}`, data, { headers: h, msgID });
        break;
      } catch (error) {
        // NATS away for a moment (a restart, a lost connection): send again until it is back,
        // up to SEND_PATIENCE_MS, instead of dead-lettering the message at the first try.
        if (performance.now() - started > SEND_PATIENCE_MS || this.#stopping !== null) throw error;
        await jitteredSleep(attempt, 2000);
      }
    }
    this.#m.natsSeconds.labels("publish").observe((performance.now() - started) / 1000);
  }

  async request(envelope: Envelope, timeoutMs: number): Promise<unknown> {
    const p = partitionOf(envelope.id, this.partitions);
    const deadline = performance.now() + timeoutMs;
    const h = natsHeaders();
    h.set(HEADER.type, envelope.type);
    h.set(HEADER.id, envelope.id);
    h.set(HEADER.kind, envelope.kind);
    h.set(HEADER.timeout, String(timeoutMs));
    const data = encoder.encode(JSON.stringify(envelope.payload ?? null));
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new TimeoutError(
          `no reply from ${envelope.type}/${envelope.id} within ${timeoutMs} ms`,
        );
      }
      const started = performance.now();
      try {
        const reply = await this.#o.nc.request(`${SUBJECTS.rpc}.${p}`, data, {
          timeout: left,
          headers: h,
        });
        this.#m.natsSeconds.labels("request").observe((performance.now() - started) / 1000);
        return decodeReply(decoder.decode(reply.data));
      } catch (error) {
        // No owner right now (a partition moving): ask again shortly.
        if (isNoResponders(error) || (error instanceof RemoteError && error.code === MOVED)) {
          await new Promise((r) =>
            setTimeout(r, Math.min(100, Math.max(0, deadline - performance.now())))
          );
          continue;
        }
        if (error instanceof FlotillaError) throw error;
        throw new TimeoutError(
          `no reply from ${envelope.type}/${envelope.id}: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
    }
  }

  /**
   * Whether this node owns its share of the partitions and has caught up their consumers (see
   * readiness.ts), for `/readyz`: read from memory, no NATS round trip.
   */
  readiness(): PartitionsReadiness {
    const wanted = this.placement.wanted();
    let missing = 0;
    let catchingUp = 0;
    for (const p of wanted ?? []) {
      if (!this.placement.owns(p)) missing++;
      else if (!(this.#consumers.get(p)?.every((c) => c.caughtUp) ?? false)) catchingUp++;
    }
    const readiness = partitionsReadiness({
      partitions: this.partitions,
      owned: this.placement.owned().length,
      wanted: wanted === null ? null : wanted.length,
      missing,
      catchingUp,
      failure: this.placement.failure(),
      stopping: this.#stopping !== null,
      joined: this.#joined,
      repairing: this.repairs(),
    });
    if (readiness.ready) this.#joined = true;
    return readiness;
  }

  /** Hands every partition over (drained) and stops consuming. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.placement.stop();
      await Promise.all([...this.#consumers.keys()].map((p) => this.#release(p, false)));
    })();
    return this.#stopping;
  }

  /** Stops at once without handing over, as a crash would (for tests of failover). */
  abandon(): void {
    this.placement.abandon();
  }

  // ------------------------------------------------------------------ partitions

  /** Runs acquisitions and releases of one partition one after the other, never interleaved. */
  #serially(p: number, step: () => Promise<void>): Promise<void> {
    const previous = this.#lifecycle.get(p) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(step);
    this.#lifecycle.set(p, next);
    next.finally(() => {
      if (this.#lifecycle.get(p) === next) this.#lifecycle.delete(p);
    }).catch(() => {});
    return next;
  }

  /**
   * Starts hosting partition `p` under fencing token `token`: takes its fence in the store (from
   * then on no older owner's write lands), loads its reminders, then starts its consumers where
   * the store's durable marks say (see PartitionConsumer.start). `repair`: the store went back
   * in time; the consumers start at its marks whatever their ack floors.
   */
  async #acquire(p: number, token: number, repair = false): Promise<void> {
    const local = this.#local!;
    const record = await local.acquired(p, token);
    if (record !== null && record.token > token) {
      this.#o.logger.warn("a newer owner holds this partition's fence; not taking it", {
        partition: p,
        token,
        fenceToken: record.token,
      });
      return;
    }
    const marks = record?.marks ?? {};
    this.#fences.set(p, { token, known: { ...marks } });
    this.#hosting.add(p);
    const { js, jsm, logger } = this.#o;
    const maxAckPending = this.#o.maxAckPending ?? 1000;
    // `source` names the consumer's position (acknowledged stream sequence) in the fence's
    // marks: one name per consumer, never shared.
    const consumer = (
      stream: string,
      source: string,
      filter: string,
      durable: string,
      work: Work,
    ) => {
      const c: PartitionConsumer = new PartitionConsumer({
        js,
        jsm,
        logger,
        maxAckPending,
        stream,
        partition: p,
        source,
        filter,
        durable,
        owned: () => this.#hosting.has(p) && this.placement.holds(p),
        unrepaired: (count) => this.#m.unrepaired.inc(count),
        handle: (msg, done) => this.#inbound(p, msg, done, work, c),
      });
      return c;
    };
    const consumers: PartitionConsumer[] = [];
    if (this.#o.ingest !== undefined) {
      consumers.push(
        consumer(
          STREAMS.ingest,
          `in/${p}`,
          `${SUBJECTS.ingest}.${p}.>`,
          `ingest-p${p}`,
          (_p, msg, done) => this.#ingest(p, msg, done),
        ),
      );
    }
    for (const feed of this.#o.feeds ?? []) {
      consumers.push(
        consumer(
          feed.stream,
          `${feed.name}/${p}`,
          feed.filter(p),
          `${feed.name}-p${p}`,
          (_p, msg, done) => this.#feed(p, feed, msg, done),
        ),
      );
    }
    consumers.push(
      consumer(
        STREAMS.messages,
        `msg/${p}`,
        `${SUBJECTS.messages}.${p}`,
        `msg-p${p}`,
        (_p, msg, done) => this.#message(p, msg, done),
      ),
    );
    this.#consumers.set(p, consumers);
    // A retake pending is done once its consumers exist: one of their deliveries left
    // unfinished from now on takes the partition again (see #abandoned), even before the
    // other consumers of the partition have started.
    this.#rewinding.delete(p);
    this.#rpc.set(
      p,
      this.#o.nc.subscribe(`${SUBJECTS.rpc}.${p}`, {
        callback: (error, msg) => {
          if (error === null) this.#answer(msg);
        },
      }),
    );
    await Promise.all(consumers.map((c) => {
      const mark = marks[c.source];
      return c.start(mark === undefined ? { repair } : { mark, repair });
    }));
  }

  /**
   * The fence writes of partition `p` carry now: token, marks durable, positions known; `null`
   * when this node does not hold it (it lost its lease, or never had it): nothing may be written.
   */
  #fenceFor(p: number): Fence | null {
    const f = this.#fences.get(p);
    // A lease that ran out (a node waking from a freeze) is not used, even before it is noticed.
    if (f === undefined || !this.placement.holds(p)) return null;
    const marks: Record<string, number> = {};
    for (const c of this.#consumers.get(p) ?? []) if (c.acked > 0) marks[c.source] = c.acked;
    const fence: Fence = { key: fenceKey(p), token: f.token, marks, known: { ...f.known } };
    this.#issued.set(fence, f);
    return fence;
  }

  /**
   * The store refused a write of partition `p`. Fenced: a newer owner holds it; stop handling
   * its messages (the lease, lost too, is given up by the placement). Gone back in time: stop,
   * drop its actors, and take it again from the store's marks, so the stream re-applies what the
   * store lost — exactly once, actors skipping what they hold. Repeated refusals of one
   * partition while it is being dropped or repaired are the same refusal.
   */
  #refused(p: number, error: FencedError | StoreRegressedError): void {
    const f = this.#fences.get(p);
    if (f === undefined || this.#repairs.has(p)) return;
    if (error instanceof FencedError) {
      this.#fences.delete(p);
      this.#o.logger.warn("a newer owner took this partition over; dropping it", {
        partition: p,
        token: f.token,
        fenceToken: error.heldToken,
      });
      this.#serially(p, () => this.#release(p, false)).catch(() => {});
      return;
    }
    this.#repairs.set(p, { since: Date.now(), reason: error.message });
    this.#o.logger.error("the store went back in time: repairing the partition from the stream", {
      partition: p,
      held: error.held,
      known: error.known,
      error: error.message,
    });
    this.#serially(p, async () => {
      try {
        await this.#release(p, false);
        if (this.placement.owns(p)) await this.#acquire(p, f.token, true);
        this.#o.logger.info("partition repaired from the stream", { partition: p });
      } finally {
        this.#repairs.delete(p);
      }
    }).catch((e) => {
      this.#o.logger.error("repairing a partition failed", {
        partition: p,
        error: describeError(e),
      });
    });
  }

  /**
   * A delivery left unfinished (its actor dropped, the lease not fresh). If the partition goes
   * on being consumed here, its later messages must not be applied before this one comes again —
   * an actor would then skip it as seen — so the partition is taken again from its first
   * unfinished message: consumers recreated there, actors dropped. (Its release, when it is
   * leaving, stops the consumers anyway.)
   */
  #abandoned(p: number, done: (finished?: boolean) => void): void {
    done(false);
    if (!this.#consumers.has(p) || this.#rewinding.has(p)) return;
    const f = this.#fences.get(p);
    const replaced = this.#consumers.get(p)!;
    this.#rewinding.set(p, replaced);
    this.#o.logger.warn("a delivery was left unfinished; taking the partition again from it", {
      partition: p,
    });
    this.#serially(p, async () => {
      await this.#release(p, false);
      if (f !== undefined && this.placement.holds(p)) await this.#acquire(p, f.token);
    }).catch((e) => {
      this.#o.logger.error("retaking a partition failed", {
        partition: p,
        error: describeError(e),
      });
    }).finally(() => {
      // Not a later retake's entry (of consumers created since).
      if (this.#rewinding.get(p) === replaced) this.#rewinding.delete(p);
    });
  }

  /** Partitions being repaired after the store went back in time, with why: not ready. */
  repairs(): { partition: number; since: number; reason: string }[] {
    return [...this.#repairs].map(([partition, r]) => ({ partition, ...r }));
  }

  async #release(p: number, graceful: boolean): Promise<void> {
    const fence = this.#fences.get(p);
    if (!graceful) {
      this.#hosting.delete(p);
      // The lease is lost: from now on no write of this partition leaves this node.
      if (!this.#repairs.has(p)) this.#fences.delete(p);
    }
    this.#rpc.get(p)?.unsubscribe();
    this.#rpc.delete(p);
    const consumers = this.#consumers.get(p) ?? [];
    this.#consumers.delete(p);
    await Promise.all(consumers.map((c) => c.stop(graceful)));
    this.#hosting.delete(p);
    // Acks are fire-and-forget publishes: make sure the server has them before the lease goes.
    if (graceful) await this.#o.nc.flush().catch(() => {});
    const marks: Record<string, number> = {};
    for (const c of consumers) if (c.acked > 0) marks[c.source] = c.acked;
    await this.#local?.released(
      p,
      graceful ? 10_000 : 0,
      graceful && fence !== undefined ? { token: fence.token, marks } : undefined,
    );
    // Drained: nothing of it is written here any more.
    if (!this.#repairs.has(p) && this.#fences.get(p) === fence) this.#fences.delete(p);
  }

  // ------------------------------------------------------------------ messages

  /**
   * Queues the handling of an inbound message. The NATS client hands messages over in bursts,
   * synchronously; decoding and delivering thousands in one go would block the event loop —
   * lease renewals included — for seconds. The queue is worked off in slices of a few
   * milliseconds, in arrival order.
   */
  #inbound(p: number, msg: JsMsg, done: Done, work: Work, from: PartitionConsumer): void {
    this.#inbox.push(p, msg, done, work, from);
    if (!this.#pumping) {
      this.#pumping = true;
      // The first slice right after the client's burst (no timer's delay on a quiet node);
      // the rest of a long queue in later tasks.
      queueMicrotask(this.#pump);
    }
  }

  #pump = (): void => {
    const inbox = this.#inbox;
    const deadline = performance.now() + INBOUND_SLICE_MS;
    let i = this.#inboxHead;
    let handled = 0;
    while (i < inbox.length) {
      const p = inbox[i] as number;
      const msg = inbox[i + 1] as JsMsg;
      const done = inbox[i + 2] as Done;
      const work = inbox[i + 3] as Work;
      const from = inbox[i + 4] as PartitionConsumer;
      i += 5;
      // Handled only while the partition is still hosted here; otherwise left unacknowledged
      // for its next owner, who starts from the ack floor. Not after the lease ran out, even
      // before anyone noticed (a node waking from a freeze): the messages go to the new owner.
      // Nor while it is being taken again from a message left unfinished (see #abandoned).
      // A consumer stopped since (the partition released, or taken again here): its deliveries
      // come again from the partition's next consumer, which starts at the first unfinished one.
      if (from.stopped) done(false);
      else if (
        this.#hosting.has(p) && this.placement.holds(p) && !this.#rewinding.get(p)?.includes(from)
      ) {
        work(p, msg, done);
      } else this.#abandoned(p, done);
      if ((++handled & 31) === 0 && performance.now() > deadline) break;
    }
    if (i < inbox.length) {
      // Drop the handled prefix now and then, not on every slice.
      if (i > 4096) {
        inbox.splice(0, i);
        i = 0;
      }
      this.#inboxHead = i;
      setTimeout(this.#pump, 0);
    } else {
      this.#inbox = [];
      this.#inboxHead = 0;
      this.#pumping = false;
    }
  };

  #ingest(p: number, msg: JsMsg, done: (finished?: boolean) => void): void {
    this.#ingestedIngest.inc();
    if (msg.redelivered) this.#m.redeliveries.labels("ingest").inc();
    const tokens = msg.subject.split(".").slice(3);
    let decoded: Envelope | IngestRejection;
    try {
      // The time the stream stored it: the same on every redelivery, so a replay is identical.
      decoded = this.#o.ingest!.decode(
        tokens,
        msg.data,
        Math.floor(msg.info.timestampNanos / 1_000_000),
      );
    } catch (error) {
      decoded = { reject: `decoder failed: ${describeError(error)}` };
    }
    if ("reject" in decoded) {
      this.#rejected(msg, decoded);
      done(); // finished: the consumer acknowledges it
      return;
    }
    this.#deliver(p, decoded, `in/${p}`, msg, done);
  }

  #message(p: number, msg: JsMsg, done: (finished?: boolean) => void): void {
    this.#ingestedMessages.inc();
    if (msg.redelivered) this.#m.redeliveries.labels("messages").inc();
    const h = msg.headers;
    let payload: JsonValue;
    try {
      payload = JSON.parse(decoder.decode(msg.data));
    } catch {
      payload = null;
    }
    const envelope: Envelope = {
      type: h?.get(HEADER.type) ?? "",
      id: h?.get(HEADER.id) ?? "",
      kind: h?.get(HEADER.kind) ?? "",
      payload,
    };
    this.#deliver(p, envelope, `msg/${p}`, msg, done);
  }

  #feed(
    p: number,
    feed: PartitionFeed,
    msg: JsMsg,
    done: (finished?: boolean) => void,
  ): void {
    this.#m.ingested.labels(feed.name).inc();
    if (msg.redelivered) this.#m.redeliveries.labels(feed.name).inc();
    feed.handle(msg, this.#local!).then(
      () => done(),
      (error) => {
        // Moving or stopping: left for the next owner (or taken again here, see #abandoned);
        // anything else was reported by the feed.
        if (error instanceof ShutdownError) this.#abandoned(p, done);
        else done();
      },
    );
  }

  /** Delivers to the local actor; finished once durable (or dead-lettered), never on a handover. */
  #deliver(
    p: number,
    envelope: Envelope,
    source: string,
    msg: JsMsg,
    done: (finished?: boolean) => void,
  ): void {
    this.#local!.deliver(envelope, { source, seq: msg.seq }).then(
      () => done(), // durable: the consumer acknowledges it
      (error) => {
        if (error instanceof ShutdownError) {
          // Moving or stopping: leave it for the next owner, which starts at the ack floor.
          // (A full mailbox makes a stream delivery wait, never fail.)
          this.#abandoned(p, done);
          return;
        }
        // The actor refused or crashed on it: reported and dead-lettered by the runtime.
        done();
      },
    );
  }

  #rejected(msg: JsMsg, rejection: IngestRejection): void {
    const reason = rejection.reject.split(":")[0]!.slice(0, 64);
    this.#m.rejected.labels(reason).inc();
    this.#o.events?.publish("system", {
      type: "ingest.rejected",
      subject: msg.subject,
      reason: rejection.reject,
      ...(rejection.device === undefined ? {} : { device: rejection.device }),
    }, rejection.device ?? null);
  }

  #answer(msg: Msg): void {
    const h = msg.headers;
    const reply = (value: unknown) => msg.respond(encoder.encode(JSON.stringify(value)));
    let envelope: Envelope;
    try {
      envelope = {
        type: h?.get(HEADER.type) ?? "",
        id: h?.get(HEADER.id) ?? "",
        kind: h?.get(HEADER.kind) ?? "",
        payload: JSON.parse(decoder.decode(msg.data)),
      };
    } catch (error) {
      reply({
        ok: false,
        error: { code: "invalid_input", status: 400, message: describeError(error) },
      });
      return;
    }
    // Only the owner answers. A node that lost the partition (its lease ran out while it was
    // frozen, say) or is still taking it over says so, and the asker asks again shortly,
    // instead of answering from state that may be stale.
    if (!this.placement.owns(partitionOf(envelope.id, this.partitions))) {
      reply({
        ok: false,
        error: { code: MOVED, status: 503, message: "the partition is moving; ask again" },
      });
      return;
    }
    const timeoutMs = Number(h?.get(HEADER.timeout) || 5000);
    this.#local!.deliver(envelope, { timeoutMs }).then(
      (value) => reply({ ok: true, value: value ?? null }),
      (error) => {
        const e = error instanceof FlotillaError
          ? { code: error.code, status: error.status, message: error.message }
          : { code: "internal", status: 500, message: describeError(error) };
        reply({ ok: false, error: e });
      },
    );
  }
}

/** An error from another node, with its code and status kept. */
export class RemoteError extends FlotillaError {
  constructor(code: string, status: number, message: string) {
    super(code, status, message);
    this.name = "RemoteError";
  }
}

function decodeReply(text: string): unknown {
  const reply = JSON.parse(text) as
    | { ok: true; value: unknown }
    | { ok: false; error: { code: string; status: number; message: string } };
  if (reply.ok) return reply.value;
  throw new RemoteError(reply.error.code, reply.error.status, reply.error.message);
}

function isNoResponders(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { isNoResponders?: () => boolean };
  return (typeof e.isNoResponders === "function" && e.isNoResponders()) ||
    /no responders/i.test(e.message) ||
    (e.cause instanceof Error && /no responders/i.test(e.cause.message));
}
