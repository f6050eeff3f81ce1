/**
 * The same-work bare pipeline of the `ingest` benchmark, run on a Worker thread of its own (as
 * Flotilla's node runs in a process of its own, apart from the publishing devices): pull
 * consumers (one per partition, as Flotilla's) → `JSON.parse` → update a per-device object with
 * the same reported fields → Redis pipelined `SET` of a value the size Flotilla stores per device
 * → the batch's events, each the size of Flotilla's, in one message to the events stream (as
 * Flotilla publishes one per commit batch and topic), its PubAck awaited →
 * cumulative ack (`AckPolicy.All`, the last message of each partition in the batch).
 *
 * The main thread posts a {@link BareConfig}; the worker answers `"ready"` once its consumers
 * run, then `{ valueBytes, eventBytes }` once `n` messages are finished.
 *
 * @module
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { STREAMS, SUBJECTS } from "../runtime/nats/mod.ts";

/** What the worker is told: the servers, the sizes, the partitions, and how many messages. */
export interface BareConfig {
  readonly natsUrl: string;
  readonly redisUrl: string;
  readonly valueBytes: number;
  readonly eventBytes: number;
  readonly partitions: number;
  readonly pullBatch: number;
  readonly maxAckPending: number;
  readonly n: number;
}

/** What the worker reports once every message is finished: the mean sizes it wrote. */
export interface BareDone {
  readonly valueBytes: number;
  readonly eventBytes: number;
}

/** A device's twin in the bare pipeline: the reported fields, and filler up to Flotilla's size. */
interface BareDevice {
  reported: Record<string, { value: number; ts: number }>;
  messageCount: number;
  seq: number;
  pad: string;
}

/** Runs the pipeline; calls `ready` once consuming, resolves once `n` messages are finished. */
export async function runBarePipeline(config: BareConfig, ready: () => void): Promise<BareDone> {
  const { valueBytes, eventBytes, n } = config;
  const PULL_BATCH = config.pullBatch;
  const nc = await connect({ servers: config.natsUrl });
  const redis = new Redis(config.redisUrl);
  const consumers: { close(): Promise<void | Error> }[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const twins = new Map<string, BareDevice>();
    const empty = JSON.stringify({
      reported: { temperature: { value: 20, ts: 0 } },
      messageCount: 0,
      seq: 0,
      pad: "",
    }).length;
    const pad = "x".repeat(Math.max(0, valueBytes - empty - 12));
    const eventBase = JSON.stringify({ type: "telemetry", device: "b-000", seq: 100000, pad: "" });
    const eventPad = "y".repeat(Math.max(0, eventBytes - eventBase.length));

    // PubAcks come to one subscription, in publish order: each batch awaits its count (the
    // client's per-publish request machinery would cost the bare arm more than the work).
    const acks = `_BARE_ACKS.${crypto.randomUUID()}`;
    const awaiting: { left: number; resolve: () => void; reject: (e: Error) => void }[] = [];
    nc.subscribe(acks, {
      callback: (_error, msg) => {
        const w = awaiting[0]!;
        if (msg.data.length > 0 && msg.string().includes('"error"')) {
          w.reject(new Error(`event not stored: ${msg.string()}`));
        }
        if (--w.left === 0) {
          awaiting.shift();
          w.resolve();
        }
      },
    });
    const pubAcks = (count: number): Promise<void> => {
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      awaiting.push({ left: count, resolve, reject });
      return promise;
    };

    let processed = 0;
    let setBytes = 0;
    let sets = 0;
    let publishedBytes = 0;
    const finished = Promise.withResolvers<void>();
    let pending: JsMsg[] = [];
    let scheduled = false;
    let inFlight = 0;
    let chain: Promise<void> = Promise.resolve();

    /** One batch: parse, update, pipelined SETs, events with PubAcks, then cumulative acks. */
    const runBatch = async (batch: JsMsg[], previous: Promise<void>): Promise<void> => {
      const dirty = new Set<BareDevice>();
      const keys = new Map<BareDevice, string>();
      for (const m of batch) {
        const id = m.subject.split(".")[3]!;
        const body = JSON.parse(m.string()) as { ts: number; readings: Record<string, number> };
        let twin = twins.get(id);
        if (twin === undefined) {
          twin = { reported: {}, messageCount: 0, seq: 0, pad };
          twins.set(id, twin);
        }
        for (const [name, value] of Object.entries(body.readings)) {
          twin.reported[name] = { value, ts: body.ts };
        }
        twin.messageCount++;
        twin.seq = m.seq;
        dirty.add(twin);
        keys.set(twin, id);
      }
      const pipe = redis.pipeline();
      for (const twin of dirty) {
        const value = JSON.stringify(twin);
        setBytes += value.length;
        sets++;
        pipe.set(`s:${keys.get(twin)}`, value);
      }
      await pipe.exec();
      // The batch's events in one events-stream message, as Flotilla publishes a commit
      // batch's events of one topic; its PubAck awaited.
      const stored = pubAcks(1);
      const events = batch.map((m) => ({
        type: "telemetry",
        device: m.subject.split(".")[3]!,
        seq: m.seq,
        pad: eventPad,
      }));
      const body = JSON.stringify(events);
      publishedBytes += body.length;
      nc.publish(`${SUBJECTS.events}.telemetry`, body, { reply: acks });
      await stored;
      await previous; // acks in stream order: never ahead of an unfinished batch
      const last = new Map<string, JsMsg>();
      for (const m of batch) last.set(m.subject.split(".")[2]!, m);
      for (const m of last.values()) m.ack();
      processed += batch.length;
      if (processed >= n) finished.resolve();
    };

    const flush = (): void => {
      scheduled = false;
      while (pending.length > 0 && inFlight < 4) {
        const batch = pending.length <= PULL_BATCH ? pending : pending.slice(0, PULL_BATCH);
        pending = pending.length <= PULL_BATCH ? [] : pending.slice(PULL_BATCH);
        inFlight++;
        chain = runBatch(batch, chain).finally(() => {
          inFlight--;
          if (pending.length > 0 && !scheduled) {
            scheduled = true;
            setTimeout(flush, 0);
          }
        });
      }
    };

    for (let p = 0; p < config.partitions; p++) {
      await jsm.consumers.add(STREAMS.ingest, {
        durable_name: `bare-p${p}`,
        filter_subject: `${SUBJECTS.ingest}.${p}.>`,
        ack_policy: AckPolicy.All,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: config.maxAckPending,
      });
      const consumer = await js.consumers.get(STREAMS.ingest, `bare-p${p}`);
      consumers.push(
        await consumer.consume({
          max_messages: PULL_BATCH,
          callback: (m) => {
            pending.push(m);
            if (!scheduled) {
              scheduled = true;
              queueMicrotask(flush);
            }
          },
        }),
      );
    }
    ready();
    await finished.promise;
    await nc.flush();
    return {
      valueBytes: Math.round(setBytes / sets),
      eventBytes: Math.round(publishedBytes / n),
    };
  } finally {
    for (const c of consumers) await c.close();
    redis.disconnect();
    await nc.close();
  }
}
