/**
 * A node assembled as `main.ts` assembles it (`node/assemble.ts`), on an in-memory store, a
 * manual clock and a silent logger, for route tests, which call its app with `app.request()`
 * — no sockets.
 *
 * @module
 */
import { assemble, loadConfig } from "../../node/mod.ts";
import type { Readiness } from "../../routes/app.ts";
import type { AuthTokens } from "../../routes/auth.ts";
import {
  createLogger,
  ManualClock,
  MemoryStore,
  type MemoryStoreOptions,
} from "../../runtime/mod.ts";

/** Options of {@link testApp}. */
export interface TestAppOptions {
  /** Tokens to require; none (authentication off) by default. */
  readonly auth?: AuthTokens | null;
  readonly store?: MemoryStoreOptions;
  /** @default the node's own check (of the in-memory store) */
  readonly readiness?: () => Promise<Readiness>;
  readonly sseQueueLimit?: number;
  /** @default 100 */
  readonly eventRing?: number;
  readonly bodyLimit?: number;
}

/** An app with everything it runs on, for assertions. */
export async function testApp(options: TestAppOptions = {}) {
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
  const store = new MemoryStore(options.store);
  const node = await assemble(
    loadConfig({
      FLOTILLA_STORE: "memory",
      FLOTILLA_NODE_ID: "local",
      FLOTILLA_EVENT_RING: String(options.eventRing ?? 100),
    }),
    {
      clock,
      store,
      logger: createLogger({ level: "error", write: () => {} }),
      // Event ids "t-1", "t-2", … whatever the run.
      eventBus: { epoch: "t" },
      auth: options.auth ?? null,
      ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
      http: {
        ...(options.sseQueueLimit === undefined ? {} : { sseQueueLimit: options.sseQueueLimit }),
        ...(options.bodyLimit === undefined ? {} : { bodyLimit: options.bodyLimit }),
      },
    },
  );
  const { app, system, events, metrics } = node;
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
    /** Ends the SSE streams, drains and flushes the system, closes the store. */
    async close() {
      await node.stop();
    },
  };
}
