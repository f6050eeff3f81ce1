/**
 * `sse`: events delivered per second to 1,000 SSE clients, and delivery latency, through the
 * real app (`GET /api/events`, event bus, per-client queues) against a bare Hono `streamSSE`
 * server broadcasting the same events to the same clients, in the same run.
 *
 * The clients are raw TCP connections in this process (cheaper than `fetch` streams); each
 * event carries its publish time, so latency is measured per delivery.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { registerActors } from "../actors/mod.ts";
import { createApp } from "../routes/app.ts";
import {
  ActorSystem,
  createLogger,
  MemoryStore,
  MetricsRegistry,
  RingEventBus,
  SystemClock,
} from "../runtime/mod.ts";
import { machine, report } from "./lib.ts";

const CLIENTS = Number(Deno.env.get("BENCH_SSE_CLIENTS") ?? 1000);
const BURST = Number(Deno.env.get("BENCH_SSE_EVENTS") ?? 200);
const PACED_SECONDS = 4;

/** Something that can broadcast an event to every connected client. */
interface Server {
  readonly port: number;
  publish(data: { ts: number; n: number }): void;
  close(): Promise<void>;
}

/** The baseline: Hono's streamSSE, every client fed from a plain array of writers. */
function bareServer(): Server {
  const writers = new Set<(frame: string) => void>();
  let id = 0;
  const app = new Hono();
  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let wake: (() => void) | null = null;
      const push = (frame: string) => {
        queue.push(frame);
        wake?.();
      };
      writers.add(push);
      stream.onAbort(() => {
        writers.delete(push);
        wake?.();
      });
      while (!stream.aborted) {
        if (queue.length === 0) {
          const { promise, resolve } = Promise.withResolvers<void>();
          wake = resolve;
          await promise;
          wake = null;
        }
        for (const frame of queue.splice(0)) await stream.write(frame);
      }
    }));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    port: server.addr.port,
    publish(data) {
      const frame = `id: ${++id}\nevent: telemetry\ndata: ${JSON.stringify(data)}\n\n`;
      for (const w of writers) w(frame);
    },
    close: () => server.shutdown(),
  };
}

/** Flotilla: the real app, events published on its bus. */
async function flotillaServer(): Promise<Server> {
  const events = new RingEventBus({ capacity: 100_000 });
  const metrics = new MetricsRegistry();
  const logger = createLogger({ level: "error" });
  const clock = new SystemClock();
  const system = new ActorSystem({ store: new MemoryStore(), events, metrics, logger, clock });
  registerActors(system);
  await system.start();
  const { app, closeStreams } = createApp({
    system,
    events,
    metrics,
    logger,
    clock,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    auth: null,
    sseQueueLimit: 100_000,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    port: server.addr.port,
    publish(data) {
      events.publish("telemetry", data, "bench");
    },
    async close() {
      closeStreams();
      await server.shutdown();
      await system.shutdown();
    },
  };
}

/** A raw-TCP SSE client counting deliveries and recording latencies. */
class Client {
  received = 0;
  latencies: number[] | null = null;
  #conn: Deno.TcpConn;
  #onData: () => void;

  private constructor(conn: Deno.TcpConn, onData: () => void) {
    this.#conn = conn;
    this.#onData = onData;
  }

  static async open(port: number, onData: () => void): Promise<Client> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new Client(conn, onData);
    await conn.write(
      new TextEncoder().encode(
        "GET /api/events?topics=telemetry HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
      ),
    );
    client.#read();
    return client;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) return;
        text += decoder.decode(buf.subarray(0, n), { stream: true });
        let at;
        while ((at = text.indexOf("data: ")) >= 0) {
          const end = text.indexOf("\n", at);
          if (end < 0) break;
          const data = JSON.parse(text.slice(at + 6, end)) as { ts: number };
          text = text.slice(end + 1);
          this.received++;
          this.latencies?.push(Date.now() - data.ts);
          this.#onData();
        }
        if (text.length > 4096 && text.indexOf("data: ") < 0) text = text.slice(-64);
      }
    } catch {
      // Closed.
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** Connects the clients, then measures a burst's throughput and a paced phase's latency. */
async function measure(
  server: Server,
): Promise<{ rate: number; p50: number; p99: number; pacedPerSecond: number }> {
  let total = 0;
  let waiting: { target: number; resolve: () => void } | null = null;
  const onData = () => {
    total++;
    if (waiting !== null && total >= waiting.target) waiting.resolve();
  };
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await Client.open(server.port, onData));
  const until = async (target: number, timeoutMs: number) => {
    if (total >= target) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    waiting = { target, resolve };
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
    waiting = null;
  };
  try {
    // Every client subscribed: a probe event reaches all of them.
    server.publish({ ts: Date.now(), n: -1 });
    await until(CLIENTS, 30_000);
    total = 0;
    const started = performance.now();
    for (let n = 0; n < BURST; n++) server.publish({ ts: Date.now(), n });
    await until(BURST * CLIENTS, 60_000);
    const rate = total / ((performance.now() - started) / 1000);

    // Latency at half the measured delivery rate (a saturated server only measures its queue).
    for (const c of clients) c.latencies = [];
    const base = total;
    const perSecond = Math.max(1, Math.floor(rate / 2 / CLIENTS));
    const paced = perSecond * PACED_SECONDS;
    for (let n = 0; n < paced; n++) {
      server.publish({ ts: Date.now(), n });
      await new Promise((r) => setTimeout(r, 1000 / perSecond));
    }
    await until(base + paced * CLIENTS, 30_000);
    const all = clients.flatMap((c) => c.latencies ?? []).sort((a, b) => a - b);
    return {
      rate,
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      pacedPerSecond: perSecond,
    };
  } finally {
    for (const c of clients) c.close();
  }
}

if (import.meta.main) {
  const bare = bareServer();
  const baseline = await measure(bare);
  await bare.close();
  const flotilla = await flotillaServer();
  const result = await measure(flotilla);
  await flotilla.close();
  const ratio = result.rate / baseline.rate;
  await report({
    name: "sse",
    value: result.rate,
    unit: "events/s delivered",
    baseline: "bare Hono streamSSE broadcast",
    baselineValue: baseline.rate,
    ratio,
    target: "≥ 0.50 of the bare server, p99 ≤ 100 ms",
    met: ratio >= 0.5 && result.p99 <= 100,
    machine: machine(),
    details: {
      clients: CLIENTS,
      burstEvents: BURST,
      latencyPhaseEventsPerSecond: result.pacedPerSecond,
      p50Ms: result.p50,
      p99Ms: result.p99,
      baselineP50Ms: baseline.p50,
      baselineP99Ms: baseline.p99,
    },
  });
}
