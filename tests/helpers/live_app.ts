/**
 * A node assembled as `main.ts` assembles it (`node/assemble.ts`), served on a loopback socket
 * in real time (the system clock, an in-memory store): for tests that drive it from outside
 * the process, such as a headless browser.
 *
 * @module
 */
import { assemble, loadConfig } from "../../node/mod.ts";
import { createLogger, type EventBus } from "../../runtime/mod.ts";

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
  readonly events: EventBus;
  /** Sends JSON with the API token; returns the response (body not consumed). */
  send(method: string, path: string, body?: unknown): Promise<Response>;
  /** Sends JSON with the API token and returns the parsed body; throws unless 2xx. */
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Ends every open SSE stream (clients reconnect on their own). */
  endStreams(): void;
  close(): Promise<void>;
}

/** Starts a node's app (in-memory store, silent logger) on 127.0.0.1, on a free port. */
export async function liveApp(options: LiveAppOptions): Promise<LiveApp> {
  const node = await assemble(
    loadConfig({
      FLOTILLA_STORE: "memory",
      FLOTILLA_NODE_ID: "local",
      HOST: "127.0.0.1",
      PORT: "0",
      FLOTILLA_API_TOKEN: options.apiToken,
      FLOTILLA_READ_TOKEN: options.readToken,
      FLOTILLA_EVENT_RING: options.eventRing === undefined ? undefined : String(options.eventRing),
    }),
    {
      logger: createLogger({ level: "error", write: () => {} }),
      ...(options.sseQueueLimit === undefined
        ? {}
        : { http: { sseQueueLimit: options.sseQueueLimit } }),
    },
  );
  const url = await node.listen();

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
    events: node.events,
    send,
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await send(method, path, body);
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    },
    endStreams: node.closeStreams,
    async close() {
      await node.stop();
    },
  };
}
