/**
 * Builds the HTTP app over a real actor system (in-memory store, manual clock) for route
 * tests, which call it with `app.request()` — no sockets.
 *
 * @module
 */
import { registerActors } from "../../actors/mod.ts";
import { createApp, type Readiness } from "../../routes/app.ts";
import type { AuthTokens } from "../../routes/auth.ts";
import {
  ActorSystem,
  createLogger,
  ManualClock,
  MemoryStore,
  type MemoryStoreOptions,
  MetricsRegistry,
  RingEventBus,
} from "../../runtime/mod.ts";

/** Options of {@link testApp}. */
export interface TestAppOptions {
  /** Tokens to require; none (authentication off) by default. */
  readonly auth?: AuthTokens | null;
  readonly store?: MemoryStoreOptions;
  readonly readiness?: () => Promise<Readiness>;
  readonly sseQueueLimit?: number;
  readonly eventRing?: number;
  readonly bodyLimit?: number;
}

/** An app with everything it runs on, for assertions. */
export async function testApp(options: TestAppOptions = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
  const store = new MemoryStore(options.store);
  const metrics = new MetricsRegistry();
  const events = new RingEventBus({
    capacity: options.eventRing ?? 100,
    now: () => clock.now(),
    epoch: "t",
  });
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
    readiness: options.readiness ??
      (() => Promise.resolve({ ready: true, checks: { store: "ok" } })),
    heartbeatMs: 15_000,
    auth: options.auth ?? null,
    ...(options.sseQueueLimit === undefined ? {} : { sseQueueLimit: options.sseQueueLimit }),
    ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
  });
  return {
    app,
    clock,
    store,
    system,
    events,
    metrics,
    /** POSTs JSON (or raw text) as telemetry. */
    async post(id: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
      return await app.request(`/api/devices/${id}/telemetry`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    },
    async close() {
      closeStreams();
      await system.shutdown();
      await store.close();
    },
  };
}
