/**
 * `sse`: events delivered per second to 1,000 SSE clients, and delivery latency, through the
 * real app (`GET /api/events`, event bus, per-client queues) against a bare Hono `streamSSE`
 * server broadcasting the same events to the same clients, in the same run.
 *
 * The clients are raw TCP connections in a Worker thread (`sse_clients.ts`), so parsing a
 * thousand streams does not run on the server's thread; each event carries its publish time,
 * so latency is measured per delivery. The latency phase paces events one by one at the same
 * rate for both servers: half the bare server's burst delivery rate.
 *
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { liveApp } from "../tests/helpers/live_app.ts";
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

/** Flotilla: the real app (reads need no token), events published on its bus. */
async function flotillaServer(): Promise<Server> {
  const app = await liveApp({
    apiToken: "bench-token-0123456789",
    eventRing: 100_000,
    sseQueueLimit: 100_000,
  });
  return {
    port: Number(new URL(app.url).port),
    publish(data) {
      app.events.publish("telemetry", data, "bench");
    },
    close: () => app.close(),
  };
}

/** The clients, in a Worker thread (see sse_clients.ts), driven one request at a time. */
class Clients {
  #worker = new Worker(new URL("./sse_clients.ts", import.meta.url), { type: "module" });

  // deno-lint-ignore no-explicit-any
  #ask(request: Record<string, unknown>): Promise<any> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#worker.onmessage = (e) => resolve(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`SSE client worker: ${e.message}`));
    };
    this.#worker.postMessage(request);
    return promise;
  }

  open(port: number, clients: number): Promise<void> {
    return this.#ask({ op: "open", port, clients });
  }

  /** Deliveries counted since the last reset, once they reach `target` (or at the timeout). */
  async until(target: number, timeoutMs: number): Promise<number> {
    return (await this.#ask({ op: "until", target, timeoutMs })).total;
  }

  /** Clients that have received at least one event. */
  async seen(): Promise<number> {
    return (await this.#ask({ op: "seen" })).seen;
  }

  async reset(latencies: boolean): Promise<void> {
    await this.#ask({ op: "reset", latencies });
  }

  async latencies(): Promise<number[]> {
    return (await this.#ask({ op: "latencies" })).sorted;
  }

  async close(): Promise<void> {
    await this.#ask({ op: "close" });
    this.#worker.terminate();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/**
 * Connects the clients, then measures a burst's throughput and a paced phase's latency: at
 * `perSecond` events a second, or by default at half the burst's delivery rate.
 */
async function measure(
  server: Server,
  perSecondGiven?: number,
): Promise<{ rate: number; p50: number; p99: number; pacedPerSecond: number }> {
  const clients = new Clients();
  try {
    await clients.open(server.port, CLIENTS);
    // Probes until every client has one: then every client is subscribed.
    const deadline = Date.now() + 30_000;
    for (;;) {
      server.publish({ ts: Date.now(), n: -1 });
      await new Promise((r) => setTimeout(r, 100));
      const seen = await clients.seen();
      if (seen === CLIENTS) break;
      if (Date.now() > deadline) throw new Error(`only ${seen} of ${CLIENTS} clients subscribed`);
    }
    await new Promise((r) => setTimeout(r, 200)); // the last probes arrive
    await clients.reset(false);
    const started = performance.now();
    for (let n = 0; n < BURST; n++) server.publish({ ts: Date.now(), n });
    const total = await clients.until(BURST * CLIENTS, 60_000);
    const rate = total / ((performance.now() - started) / 1000);

    // Latency below saturation (a saturated server only measures its queue).
    await clients.reset(true);
    const perSecond = perSecondGiven ?? Math.max(1, Math.floor(rate / 2 / CLIENTS));
    const paced = perSecond * PACED_SECONDS;
    const phase = performance.now();
    for (let n = 0; n < paced; n++) {
      server.publish({ ts: Date.now(), n });
      // Paced against the phase's start, so timer lateness does not lower the rate.
      const next = phase + (n + 1) * 1000 / perSecond;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await clients.until(paced * CLIENTS, 30_000);
    const all = await clients.latencies();
    return {
      rate,
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      pacedPerSecond: perSecond,
    };
  } finally {
    await clients.close();
  }
}

if (import.meta.main) {
  const bare = bareServer();
  const baseline = await measure(bare);
  await bare.close();
  // Latency at the same event rate as the baseline's paced phase (half the bare server's burst
  // rate): Flotilla's burst rate is higher — it writes the events queued for a client as one
  // chunk — but events paced one by one cannot be coalesced, so pacing Flotilla at half its own
  // burst rate would load it several times more than the baseline per event.
  const flotilla = await flotillaServer();
  const result = await measure(flotilla, baseline.pacedPerSecond);
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
