/**
 * `ingest`: end-to-end telemetry over NATS — core publish → JetStream → partition owner →
 * device actor → state durable in Redis → event out — against, in the same run, a **bare
 * pipeline doing the same durable work**: core publish through the same subject mappings into
 * the same stream → pull consumers (one per partition, as Flotilla's) → `JSON.parse` → update
 * a per-device object with the same reported fields → Redis pipelined `SET` of a value the size
 * Flotilla stores per device → publish an event the size of Flotilla's to a second stream,
 * awaiting the PubAcks → cumulative ack (`AckPolicy.All`, the last message of the batch).
 *
 * Publishing is inside the timed window in both arms: this process publishes as devices do,
 * from the first publish until the last event (Flotilla) or the last PubAck and ack (bare).
 * A second reference, `consumeOnlyRatio`: a raw pull consumer acking messages that were
 * published before its clock started, doing no durable work.
 *
 * Latency (Flotilla): publish → event received, with readings paced at half of Flotilla's
 * sustained rate, then at 1,000 msgs/s (a typical fleet's steady load).
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { ensureStreams, SUBJECTS, unpackEvents } from "../runtime/nats/mod.ts";
import type { BareConfig, BareDone } from "./ingest_bare.ts";
import { mappingsConfig, PARTITIONS, startCluster } from "../tests/helpers/cluster.ts";
import { startNatsServer, startRedisServer } from "../tests/helpers/servers.ts";
import { machine, report } from "./lib.ts";

const N = Number(Deno.env.get("BENCH_INGEST_N") ?? 100_000);
const DEVICES = 1000;
const LATENCY_SECONDS = Number(Deno.env.get("BENCH_INGEST_SECONDS") ?? 5);
/** The paced "steady fleet" rate of the second latency phase. */
const STEADY_RATE = Number(Deno.env.get("BENCH_INGEST_STEADY_RATE") ?? 1000);
/** Flotilla's defaults: pull batches of 500, 1,000 messages unacknowledged per partition. */
const PULL_BATCH = 500;
const MAX_ACK_PENDING = 1000;

/** Publishes `n` readings as devices do (core publish, a flush every 5,000). */
async function publishReadings(nc: NatsConnection, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    nc.publish(
      `iot.b-${i % DEVICES}.telemetry`,
      JSON.stringify({ ts: Date.now(), readings: { temperature: 20 + (i % 10) } }),
    );
    if (i % 5000 === 4999) await nc.flush();
  }
  await nc.flush();
}

/** Consume-only reference: publish N, then consume them with a pull consumer acking each. */
async function consumeOnly(): Promise<number> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "RAW", subjects: ["raw.>"] });
    const body = JSON.stringify({ ts: Date.now(), readings: { temperature: 21.5 } });
    for (let i = 0; i < N; i++) {
      nc.publish(`raw.${i % DEVICES}`, body);
      if (i % 5000 === 4999) await nc.flush();
    }
    await nc.flush();
    await jsm.consumers.add("RAW", {
      durable_name: "c",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: MAX_ACK_PENDING,
    });
    const consumer = await jetstream(nc).consumers.get("RAW", "c");
    const done = Promise.withResolvers<void>();
    let got = 0;
    const started = performance.now();
    const messages = await consumer.consume({
      max_messages: PULL_BATCH,
      callback: (m) => {
        JSON.parse(m.string());
        m.ack();
        if (++got === N) done.resolve();
      },
    });
    await done.promise;
    const rate = N / ((performance.now() - started) / 1000);
    await messages.close();
    return rate;
  } finally {
    await nc.close();
    await server.stop();
  }
}

/**
 * The same-work bare pipeline, `N` messages: Flotilla's mappings and streams on a nats-server
 * of its own, a Redis of its own (no append-only file, as the node's in this benchmark); the
 * pipeline on a Worker thread (`ingest_bare.ts`), this thread publishing as devices do.
 * `valueBytes`, `eventBytes`: the sizes of the value SET per device and of each event.
 */
async function sameWork(
  valueBytes: number,
  eventBytes: number,
): Promise<{ rate: number; valueBytes: number; eventBytes: number }> {
  const nats = await startNatsServer({ config: mappingsConfig() });
  const redisServer = await startRedisServer({ durable: false });
  const devices = await connect({ servers: nats.url });
  const worker = new Worker(new URL("./ingest_bare_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    await ensureStreams(await jetstreamManager(devices));
    const ready = Promise.withResolvers<void>();
    const done = Promise.withResolvers<BareDone>();
    worker.onmessage = (e: MessageEvent<"ready" | BareDone | { error: string }>) => {
      if (e.data === "ready") ready.resolve();
      else if ("error" in e.data) {
        const error = new Error(`bare pipeline: ${e.data.error}`);
        ready.reject(error);
        done.reject(error);
      } else done.resolve(e.data);
    };
    worker.postMessage(
      {
        natsUrl: nats.url,
        redisUrl: redisServer.url,
        valueBytes,
        eventBytes,
        partitions: PARTITIONS,
        pullBatch: PULL_BATCH,
        maxAckPending: MAX_ACK_PENDING,
        n: N,
      } satisfies BareConfig,
    );
    await ready.promise;
    const started = performance.now();
    await publishReadings(devices, N);
    const sizes = await done.promise;
    return { rate: N / ((performance.now() - started) / 1000), ...sizes };
  } finally {
    worker.terminate();
    await devices.close();
    await redisServer.stop();
    await nats.stop();
  }
}

/** CPU time (user + system) a process has used so far, ms (Linux `/proc`; 0 elsewhere). */
async function cpuMs(pid: number): Promise<number> {
  try {
    const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Latency percentiles of one paced phase. */
interface Latency {
  rate: number;
  p50: number;
  p99: number;
  samples: number;
}

/** Flotilla's figures. */
interface FlotillaResult {
  rate: number;
  half: Latency;
  steady: Latency;
  storedBytesPerDevice: number;
  /** Bytes written per reading: a journal entry, or the snapshot when not journaled. */
  writeBytesPerReading: number;
  /** Mean bytes per event (an events-stream message's bytes over the events it carries). */
  eventBytes: number;
  eventMessagesPerMessage: number;
  /** CPU per message of the sustained phase, µs: the node process, and nats-server. */
  nodeCpuUs: number;
  natsCpuUs: number;
}

/** Flotilla: sustained rate, then latency at half of it and at the steady rate. */
async function flotilla(): Promise<FlotillaResult> {
  // Redis without an append-only file, like the bare pipeline's (the node is allowed to run
  // on it).
  const cluster = await startCluster({ nodes: 1, redis: { durable: false } });
  try {
    await cluster.settled();
    const nc = await cluster.client();
    let events = 0;
    let eventBytes = 0;
    let eventMessages = 0;
    let latencies: number[] | null = null;
    let allIn: { n: number; resolve: () => void } | null = null;
    nc.subscribe(`${SUBJECTS.events}.telemetry`, {
      callback: (_error, msg) => {
        // A message carries the telemetry events of one commit batch.
        const batch = unpackEvents(msg.headers, msg.data) ?? [];
        events += batch.length;
        eventMessages++;
        eventBytes += msg.data.length;
        if (latencies !== null) {
          const now = Date.now();
          for (const { data } of batch) latencies.push(now - (data as { ts: number }).ts);
        }
        if (allIn !== null && events >= allIn.n) allIn.resolve();
      },
    });
    await nc.flush();

    // Sustained: as fast as devices can publish.
    const { promise, resolve } = Promise.withResolvers<void>();
    allIn = { n: N, resolve };
    const node = cluster.nodes[0]!.pid;
    const [node0, nats0] = [await cpuMs(node), await cpuMs(cluster.nats.pid)];
    const started = performance.now();
    await publishReadings(nc, N);
    await promise;
    const rate = N / ((performance.now() - started) / 1000);
    const nodeCpuUs = ((await cpuMs(node)) - node0) * 1000 / N;
    const natsCpuUs = ((await cpuMs(cluster.nats.pid)) - nats0) * 1000 / N;
    const meanEventBytes = Math.round(eventBytes / events);
    const eventMessagesPerMessage = eventMessages / events;
    await cluster.drained();

    /** Readings paced at `perSecond` in 10 ms slices for LATENCY_SECONDS. */
    const paced = async (perSecond: number): Promise<Latency> => {
      latencies = [];
      const perSlice = Math.max(1, Math.round(perSecond / 100));
      const end = performance.now() + LATENCY_SECONDS * 1000;
      let sent = 0;
      const first = performance.now();
      while (performance.now() < end) {
        const due = first + (sent / perSlice) * 10;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        for (let k = 0; k < perSlice; k++, sent++) {
          nc.publish(
            `iot.b-${sent % DEVICES}.telemetry`,
            JSON.stringify({ ts: Date.now(), readings: { temperature: 21 } }),
          );
        }
        await nc.flush();
      }
      const seconds = (performance.now() - first) / 1000;
      await cluster.drained();
      const sorted = latencies.sort((a, b) => a - b);
      latencies = null;
      return {
        rate: Math.round(sent / seconds),
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        samples: sorted.length,
      };
    };
    const half = await paced(rate / 2);
    const steady = await paced(STEADY_RATE);

    // What the node stores per device (snapshot and journal), and what it writes per reading
    // (a journal entry when the device is journaled, else the whole snapshot).
    const redis = new Redis(cluster.redis!.url);
    let snapshotBytes = 0, snapshots = 0, journalBytes = 0, entries = 0;
    const devices = new Set<string>();
    try {
      let cursor = "0";
      do {
        const [next, found] = await redis.scan(cursor, "MATCH", "*b-*", "COUNT", 1000);
        cursor = next;
        for (const key of found) {
          const device = /:([sj]):.*(b-\d+)$/.exec(key);
          if (device === null) continue;
          devices.add(device[2]!);
          if (device[1] === "s") {
            snapshotBytes += await redis.strlen(key);
            snapshots++;
          } else {
            for (const entry of await redis.lrange(key, 0, -1)) {
              journalBytes += entry.length;
              entries++;
            }
          }
        }
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
    return {
      rate,
      half,
      steady,
      storedBytesPerDevice: Math.round((snapshotBytes + journalBytes) / Math.max(1, devices.size)),
      writeBytesPerReading: entries > 0
        ? Math.round(journalBytes / entries)
        : Math.round(snapshotBytes / Math.max(1, snapshots)),
      eventBytes: meanEventBytes,
      eventMessagesPerMessage,
      nodeCpuUs,
      natsCpuUs,
    };
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) {
  const progress = (what: string) => console.error(`ingest: ${what}`);
  progress(`consume-only raw JetStream of ${N} messages`);
  const consume = await consumeOnly();
  progress(
    `Flotilla end to end: ${N} messages, then ${LATENCY_SECONDS} s at half that rate and ` +
      `${LATENCY_SECONDS} s at ${STEADY_RATE} msgs/s`,
  );
  const f = await flotilla();
  const valueBytes = Math.max(64, f.writeBytesPerReading);
  progress(`same-work bare pipeline: ${N} messages, ${valueBytes}-byte values`);
  const bareRun = await sameWork(valueBytes, f.eventBytes);
  const bare = bareRun.rate;
  const ratio = f.rate / bare;
  const met = ratio >= 0.6 && f.half.p50 <= 10 && f.half.p99 <= 50 && f.steady.p99 <= 25;
  await report(
    {
      name: "ingest",
      value: f.rate,
      unit: "msgs/s",
      baseline: "same-work bare pipeline",
      baselineValue: bare,
      ratio,
      target: "≥ 0.6 of same-work; half load p50 ≤ 10, p99 ≤ 50 ms; p99 ≤ 25 ms at 1,000/s",
      met,
      machine: machine(),
      details: {
        messages: N,
        devices: DEVICES,
        partitions: PARTITIONS,
        nodes: 1,
        store: "redis",
        consumeOnlyMsgsPerSec: Math.round(consume),
        consumeOnlyRatio: f.rate / consume,
        storedBytesPerDevice: f.storedBytesPerDevice,
        writeBytesPerReading: f.writeBytesPerReading,
        bareValueBytes: bareRun.valueBytes,
        eventBytes: f.eventBytes,
        bareEventBytes: bareRun.eventBytes,
        eventMessagesPerMessage: Number(f.eventMessagesPerMessage.toFixed(4)),
        nodeCpuUsPerMsg: Math.round(f.nodeCpuUs * 10) / 10,
        natsCpuUsPerMsg: Math.round(f.natsCpuUs * 10) / 10,
        halfLoadMsgsPerSec: f.half.rate,
        p50Ms: f.half.p50,
        p99Ms: f.half.p99,
        latencySamples: f.half.samples,
        steadyMsgsPerSec: f.steady.rate,
        p50At1000Ms: f.steady.p50,
        p99At1000Ms: f.steady.p99,
        steadySamples: f.steady.samples,
      },
    },
    `half load p50 ${f.half.p50} p99 ${f.half.p99} ms; at ${f.steady.rate}/s p99 ` +
      `${f.steady.p99} ms; consume-only ratio ${(f.rate / consume).toFixed(3)}; ` +
      `${f.storedBytesPerDevice} B/device`,
  );
}
