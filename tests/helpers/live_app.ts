/**
 * The HTTP app over a real actor system, served on a loopback socket in real time (a
 * {@link SystemClock}, an in-memory store): for tests that drive it from outside the process,
 * such as a headless browser.
 *
 * @module
 */
import { registerActors } from "../../actors/mod.ts";
import { createApp } from "../../routes/app.ts";
import {
  ActorSystem,
  createLogger,
  MemoryStore,
  MetricsRegistry,
  RingEventBus,
  SystemClock,
} from "../../runtime/mod.ts";

/** Options of {@link liveApp}. */
export interface LiveAppOptions {
  /** The API token writes need (reads stay open unless `readToken` is set). */
  readonly apiToken: string;
  readonly readToken?: string;
  /** Events kept for resuming clients. @default 10000 */
  readonly eventRing?: number;
  /** Events queued per SSE client before telemetry is coalesced (see routes/events.ts). */
  readonly sseQueueLimit?: number;
}

/** A served app: its URL, JSON helpers that send the API token, and `close()`. */
export interface LiveApp {
  readonly url: string;
  /** The app's event bus (what SSE clients are fed from). */
  readonly events: RingEventBus;
  /** Sends JSON with the API token; returns the response (body not consumed). */
  send(method: string, path: string, body?: unknown): Promise<Response>;
  /** Sends JSON with the API token and returns the parsed body; throws unless 2xx. */
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Ends every open SSE stream (clients reconnect on their own). */
  endStreams(): void;
  close(): Promise<void>;
}

/** Starts the app on 127.0.0.1, on a free port. */
export async function liveApp(options: LiveAppOptions): Promise<LiveApp> {
  const clock = new SystemClock();
  const store = new MemoryStore();
  const metrics = new MetricsRegistry();
  const events = new RingEventBus({ capacity: options.eventRing ?? 10_000 });
  const logger = createLogger({ level: "error", write: () => {} });
  const system = new ActorSystem({ store, clock, metrics, events, logger });
  registerActors(system);
  await system.start();
  const { app, closeStreams } = createApp({
    system,
    events,
    metrics,
    logger,
    clock,
    readiness: () => Promise.resolve({ ready: true, checks: { store: "ok" } }),
    heartbeatMs: 15_000,
    auth: options.readToken === undefined
      ? { apiToken: options.apiToken }
      : { apiToken: options.apiToken, readToken: options.readToken },
    ...(options.sseQueueLimit === undefined ? {} : { sseQueueLimit: options.sseQueueLimit }),
  });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listening;
  const url = `http://127.0.0.1:${addr.port}`;

  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${options.apiToken}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  return {
    url,
    events,
    send,
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await send(method, path, body);
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    endStreams: closeStreams,
    async close() {
      closeStreams();
      await server.shutdown();
      await system.shutdown();
      await store.close();
    },
  };
}
