/**
 * `ingest`: end-to-end telemetry over NATS — core publish → JetStream → partition owner →
 * device actor → state durable in Redis → event out — against, in the same run, a raw
 * JetStream pull consumer with explicit acks and a raw Redis pipelined SET.
 *
 * One node process (cluster mode, Redis store) owns all partitions; this process publishes as
 * devices do and counts the telemetry events the node emits once each change is durable.
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { unpackEvents } from "../runtime/nats/mod.ts";
import { startCluster } from "../tests/helpers/cluster.ts";
import { startNatsServer, startRedisServer } from "../tests/helpers/servers.ts";
import { machine, report } from "./lib.ts";

const N = Number(Deno.env.get("BENCH_INGEST_N") ?? 100_000);
const DEVICES = 1000;
const HALF_LOAD_SECONDS = Number(Deno.env.get("BENCH_INGEST_SECONDS") ?? 5);

/** Raw JetStream: publish N, then consume them with a pull consumer acking each. */
async function rawJetStream(): Promise<number> {
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
      max_ack_pending: 1000,
    });
    const consumer = await jetstream(nc).consumers.get("RAW", "c");
    const done = Promise.withResolvers<void>();
    let got = 0;
    const started = performance.now();
    const messages = await consumer.consume({
      max_messages: 500,
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

/** Raw Redis: N SETs of a twin-sized value, pipelined 500 at a time. */
async function rawRedis(): Promise<number> {
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  try {
    const value = JSON.stringify({
      s: { reported: { temperature: { value: 21.5, ts: Date.now() } } },
      n: 1,
    });
    const started = performance.now();
    for (let i = 0; i < N; i += 500) {
      const pipe = redis.pipeline();
      for (let j = i; j < Math.min(N, i + 500); j++) pipe.set(`k${j % DEVICES}`, value);
      await pipe.exec();
    }
    return N / ((performance.now() - started) / 1000);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

/** CPU time (user + system) a process has used, in ms, from `/proc/<pid>/stat` (Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Flotilla: sustained rate, then latency at half of it. */
async function flotilla(): Promise<
  {
    rate: number;
    p50: number;
    p99: number;
    samples: number;
    eventMessagesPerMessage: number;
    cpuUsPerMessage: { node: number; nats: number };
  }
> {
  // Redis without an append-only file, like the raw baseline's (the node is allowed to run on it).
  const cluster = await startCluster({ nodes: 1, redis: { durable: false } });
  try {
    await cluster.settled();
    const nc = await cluster.client();
    const jsm = await jetstreamManager(nc);
    const eventsSeq = async () => (await jsm.streams.info("FLOTILLA_EVENTS")).state.last_seq;
    let events = 0;
    let latencies: number[] | null = null;
    let allIn: { n: number; resolve: () => void } | null = null;
    nc.subscribe("fl.ev.telemetry", {
      callback: (_error, msg) => {
        // A message carries the telemetry events of one commit batch.
        const batch = unpackEvents(msg.headers, msg.data) ?? [];
        events += batch.length;
        if (latencies !== null) {
          const now = Date.now();
          for (const { data } of batch) latencies.push(now - (data as { ts: number }).ts);
        }
        if (allIn !== null && events >= allIn.n) allIn.resolve();
      },
    });
    await nc.flush();

    // Sustained: as fast as devices can publish.
    const eventsBefore = await eventsSeq();
    const node = cluster.nodes[0]!.pid, nats = cluster.nats.pid;
    const cpuBefore = { node: cpuMs(node), nats: cpuMs(nats) };
    const { promise, resolve } = Promise.withResolvers<void>();
    allIn = { n: N, resolve };
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      nc.publish(
        `iot.b-${i % DEVICES}.telemetry`,
        JSON.stringify({ ts: Date.now(), readings: { temperature: 20 + (i % 10) } }),
      );
      if (i % 5000 === 4999) await nc.flush();
    }
    await nc.flush();
    await promise;
    const rate = N / ((performance.now() - started) / 1000);
    await cluster.drained();
    // Messages the events stream took for the N readings (their events, and any other).
    const eventMessagesPerMessage = (await eventsSeq() - eventsBefore) / N;
    const cpuUsPerMessage = {
      node: Math.round((cpuMs(node) - cpuBefore.node) * 1000 / N),
      nats: Math.round((cpuMs(nats) - cpuBefore.nats) * 1000 / N),
    };

    // Latency at half that rate, paced in 10 ms slices.
    latencies = [];
    const perSlice = Math.max(1, Math.round((rate / 2) / 100));
    const end = performance.now() + HALF_LOAD_SECONDS * 1000;
    let sent = 0;
    while (performance.now() < end) {
      const sliceStart = performance.now();
      for (let k = 0; k < perSlice; k++, sent++) {
        nc.publish(
          `iot.b-${sent % DEVICES}.telemetry`,
          JSON.stringify({ ts: Date.now(), readings: { temperature: 21 } }),
        );
      }
      await nc.flush();
      const wait = 10 - (performance.now() - sliceStart);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await cluster.drained();
    const sorted = latencies.sort((a, b) => a - b);
    return {
      rate,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      samples: sorted.length,
      eventMessagesPerMessage,
      cpuUsPerMessage,
    };
  } finally {
    await cluster.stop();
  }
}

if (import.meta.main) {
  const progress = (what: string) => console.error(`ingest: ${what}`);
  progress(`raw JetStream consume of ${N} messages`);
  const jetStream = await rawJetStream();
  progress(`raw Redis pipelined SET of ${N} keys`);
  const redis = await rawRedis();
  progress(`Flotilla end to end: ${N} messages, then ${HALF_LOAD_SECONDS} s at half that rate`);
  const result = await flotilla();
  const ratio = result.rate / jetStream;
  await report({
    name: "ingest",
    value: result.rate,
    unit: "msgs/s",
    baseline: "raw JetStream pull consume with explicit acks",
    baselineValue: jetStream,
    ratio,
    target: "≥ 50,000 msgs/s, ≥ 0.30 of JetStream, p99 ≤ 50 ms at half load",
    met: result.rate >= 50_000 && ratio >= 0.3 && result.p99 <= 50,
    machine: machine(),
    details: {
      messages: N,
      devices: DEVICES,
      nodes: 1,
      store: "redis",
      rawRedisPipelinedSetsPerSec: Math.round(redis),
      halfLoadMsgsPerSec: Math.round(result.rate / 2),
      p50Ms: result.p50,
      p99Ms: result.p99,
      latencySamples: result.samples,
      eventMessagesPerMessage: Number(result.eventMessagesPerMessage.toFixed(4)),
      nodeCpuUsPerMessage: result.cpuUsPerMessage.node,
      natsServerCpuUsPerMessage: result.cpuUsPerMessage.nats,
    },
  });
}
