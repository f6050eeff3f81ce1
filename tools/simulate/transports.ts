/**
 * How simulated messages reach the node: the HTTP API (telemetry with `--via http`, and always
 * registration and terminals), core NATS publishes and MQTT publishes. Each counts what it sent,
 * what was acknowledged and why anything failed, and turns the failures a person can fix
 * (nothing listening, a missing token) into a {@link FriendlyError} that says what to run.
 *
 * Only the URLs given are contacted: HTTP redirects are not followed, and the NATS client
 * ignores the other servers a cluster advertises.
 *
 * @module
 */
import type { Op } from "./fleet.ts";
import type { Via } from "./options.ts";
import type { Counter } from "./stats.ts";

/** A failure the user can fix; the message says how. Ends the run. */
export class FriendlyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FriendlyError";
  }
}

/** A URL for display: the password replaced by `***`. */
export function showUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.href.replace(/\/+$/, "");
  } catch {
    return url;
  }
}

const DEV_HINT = "Start a node with `deno task dev` (it listens on http://127.0.0.1:8080)";
const CLUSTER_HINT = "start nats-server with Flotilla's configuration, on ports of your choice " +
  "(`FLOTILLA_NATS_PORT=4222 FLOTILLA_MQTT_PORT=1883 FLOTILLA_NATS_MONITOR_PORT=8222 " +
  "nats-server -c deploy/nats/dev.conf`) and a node in cluster mode " +
  "(`NATS_URL=nats://127.0.0.1:4222 deno task start`), or simulate over HTTP against " +
  "`deno task dev` with --via http";

/** Nothing listens at the node's HTTP URL. */
export function refusedHttp(url: string, option: string): FriendlyError {
  return new FriendlyError(
    `cannot reach the Flotilla node at ${showUrl(url)}: connection refused. ${DEV_HINT}, ` +
      `or pass the URL of a running node with ${option}.`,
  );
}

/** The node wants a (different) token. */
export function unauthorized(url: string, status: number, hadToken: boolean): FriendlyError {
  const what = status === 403 ? `${status} Forbidden` : `${status} Unauthorized`;
  return new FriendlyError(
    hadToken
      ? `the node at ${showUrl(url)} refused the API token (${what}): pass the node's token ` +
        "with --token <token> or FLOTILLA_API_TOKEN (`deno task dev` prints the token it " +
        "generated when it starts)."
      : `the node at ${showUrl(url)} requires an API token (${what}): pass --token <token> or ` +
        "set FLOTILLA_API_TOKEN (`deno task dev` prints the token it generated when it starts, " +
        "or start it with FLOTILLA_API_TOKEN set).",
  );
}

/** Nothing listens at the NATS or MQTT URL. */
export function refusedBroker(via: "nats" | "mqtt", url: string, why: string): FriendlyError {
  return new FriendlyError(
    `cannot reach ${via === "nats" ? "NATS" : "MQTT"} at ${showUrl(url)}: ${why}. ` +
      `To run one on this machine, ${CLUSTER_HINT}.`,
  );
}

/**
 * `promise`, or `undefined` once `ms` passed — whichever comes first; the timer is cleared
 * either way, so nothing keeps the process up.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a request may take before it counts as a `timeout`, ms. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** How long a connection may fail without one success before the run stops, ms. */
export const GIVE_UP_AFTER_MS = 5_000;

/** The kind of a failed `fetch`, for the error counts. */
export function fetchErrorKind(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: unknown };
  if (e?.name === "TimeoutError") return "timeout";
  if (e?.name === "AbortError") return "aborted at stop";
  const text = `${e?.message ?? ""} ${String((e?.cause as Error | undefined)?.message ?? "")}`;
  if (/connection refused/i.test(text)) return "refused";
  if (/reset|broken pipe|closed/i.test(text)) return "connection reset";
  if (/dns|lookup|resolve/i.test(text)) return "dns";
  return "network";
}

/** The outcome of one API request: its status and parsed body, or `null` when it failed. */
export type ApiResult = { readonly status: number; readonly body: unknown } | null;

/**
 * The node's HTTP API. Requests carry the bearer token; a 401/403 ends the run with a
 * {@link FriendlyError}, and so does a connection that fails for {@link GIVE_UP_AFTER_MS}
 * without a single success.
 */
export class HttpApi {
  readonly #abort = new AbortController();
  #failingSince: number | null = null;

  /**
   * @param option the command-line option that sets `base`, for error messages
   * @param fatal called once per failure that should end the run
   */
  constructor(
    readonly base: string,
    readonly token: string | null,
    readonly option: string,
    readonly fatal: (error: FriendlyError) => void,
  ) {}

  /** `GET /healthz`: is a node there at all? @throws {FriendlyError} */
  async preflight(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/healthz`, {
        redirect: "manual",
        signal: AbortSignal.timeout(5000),
      });
      await res.body?.cancel();
    } catch (error) {
      const kind = fetchErrorKind(error);
      if (kind === "refused") throw refusedHttp(this.base, this.option);
      throw new FriendlyError(
        `cannot reach the Flotilla node at ${showUrl(this.base)} (${kind}: ${
          (error as Error).message
        }). ${DEV_HINT}, or pass the URL of a running node with ${this.option}.`,
        { cause: error },
      );
    }
    if (!res.ok) {
      throw new FriendlyError(
        `${showUrl(this.base)}/healthz answered ${res.status}: is this a Flotilla node? ` +
          `${DEV_HINT}, or pass the URL of a running node with ${this.option}.`,
      );
    }
  }

  /**
   * Sends one request and counts its outcome in `counter` (sent is counted by the caller):
   * a 2xx is acked with its latency; anything else is an error of kind `http <status> <code>`
   * or the network failure's kind.
   */
  async request(method: string, path: string, body: unknown, counter: Counter): Promise<ApiResult> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.token !== null) headers.Authorization = `Bearer ${this.token}`;
    const started = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: JSON.stringify(body),
        redirect: "manual",
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      text = await res.text();
    } catch (error) {
      const kind = fetchErrorKind(error);
      counter.error(kind);
      if (kind !== "aborted at stop" && kind !== "timeout") this.#failing(kind);
      return null;
    }
    this.#failingSince = null;
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (res.ok) {
      counter.acked++;
      counter.latency.record(performance.now() - started);
      return { status: res.status, body: parsed };
    }
    if (res.status === 401 || res.status === 403) {
      this.fatal(unauthorized(this.base, res.status, this.token !== null));
    }
    const code = (parsed as { code?: unknown } | null)?.code;
    counter.error(`http ${res.status}${typeof code === "string" ? ` ${code}` : ""}`);
    return { status: res.status, body: parsed };
  }

  #failing(kind: string): void {
    const now = performance.now();
    this.#failingSince ??= now;
    if (now - this.#failingSince >= GIVE_UP_AFTER_MS) {
      this.fatal(
        kind === "refused" ? refusedHttp(this.base, this.option) : new FriendlyError(
          `lost the node at ${showUrl(this.base)}: every request failed (${kind}) for ` +
            `${GIVE_UP_AFTER_MS / 1000} s`,
        ),
      );
    }
  }

  /** Aborts the requests still running (each counts as `aborted at stop`). */
  abort(): void {
    this.#abort.abort();
  }
}

/** A telemetry operation. */
export type TelemetryOp = Extract<Op, { type: "telemetry" }>;

/** How device telemetry travels. */
export interface Transport {
  readonly via: Via;
  /** Messages one telemetry op becomes: 1, or one per reading over MQTT. */
  cost(readings: number): number;
  /**
   * Sends one op, counting each message's acknowledgement or failure in the counter the
   * transport was made with. Resolves when the op needs no more attention from its device
   * (HTTP: answered; MQTT: every PUBACK in; NATS: at once — acks come with flushes).
   */
  send(op: TelemetryOp): Promise<void>;
  /** Messages sent and neither acknowledged nor failed yet. */
  readonly pending: number;
  /**
   * Waits up to `ms` for what is pending, counts the rest as errors (`unconfirmed at stop`)
   * and closes.
   */
  close(ms: number): Promise<void>;
}

/** Telemetry as `POST /api/devices/:id/telemetry` (202 once durable). */
export class HttpTransport implements Transport {
  readonly via = "http";
  pending = 0;

  constructor(readonly api: HttpApi, readonly counter: Counter) {}

  cost(): number {
    return 1;
  }

  async send(op: TelemetryOp): Promise<void> {
    this.pending++;
    try {
      await this.api.request(
        "POST",
        `/api/devices/${op.device}/telemetry`,
        op.body,
        this.counter,
      );
    } finally {
      this.pending--;
    }
  }

  async close(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.pending > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.api.abort();
    while (this.pending > 0) await new Promise((r) => setTimeout(r, 1));
  }
}

/** The NATS client's connection, as far as this file uses it. */
interface NatsLike {
  publish(subject: string, payload: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  status(): AsyncIterable<{ type: string; error?: unknown }>;
}

/**
 * Telemetry as core NATS publishes to `iot.<id>.telemetry`. Core NATS has no per-message
 * acknowledgement: a message counts as acked once a flush (a PING/PONG round trip) that
 * followed it came back, meaning the server has it. One connection for the fleet, as a
 * gateway would; reconnects go to the same URL only.
 */
export class NatsTransport implements Transport {
  readonly via = "nats";
  #unflushed = 0;
  #flushing = 0;
  #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #failingSince: number | null = null;

  private constructor(
    readonly nc: NatsLike,
    readonly url: string,
    readonly counter: Counter,
    readonly fatal: (error: FriendlyError) => void,
  ) {
    this.#timer = setInterval(() => this.#flush(), 50);
    this.#watch();
  }

  /** Connects. @throws {FriendlyError} when nothing answers at `url` */
  static async open(
    url: string,
    counter: Counter,
    fatal: (error: FriendlyError) => void,
  ): Promise<NatsTransport> {
    const { connect } = await import("@nats-io/transport-node");
    const u = new URL(url);
    const options: Record<string, unknown> = {
      servers: `${u.hostname}:${u.port || 4222}`,
      name: "flotilla-simulate",
      // Reconnect to this URL only, never to servers the cluster advertises.
      ignoreClusterUpdates: true,
      noRandomize: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
    };
    if (u.username !== "") options.user = decodeURIComponent(u.username);
    if (u.password !== "") options.pass = decodeURIComponent(u.password);
    try {
      const nc = await connect(options) as unknown as NatsLike;
      return new NatsTransport(nc, url, counter, fatal);
    } catch (error) {
      throw refusedBroker("nats", url, (error as Error).message || String(error));
    }
  }

  async #watch(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === "disconnect") this.#failingSince ??= performance.now();
      else if (status.type === "reconnect") this.#failingSince = null;
      else if (status.type === "error") {
        const message = (status.error as Error | undefined)?.message ?? "error";
        this.counter.error(/permission/i.test(message) ? "permission denied" : `nats ${message}`);
      }
    }
  }

  cost(): number {
    return 1;
  }

  send(op: TelemetryOp): Promise<void> {
    try {
      this.nc.publish(`iot.${op.device}.telemetry`, JSON.stringify(op.body));
      this.#unflushed++;
    } catch (error) {
      this.counter.error(`publish failed: ${(error as Error).message}`);
    }
    return Promise.resolve();
  }

  get pending(): number {
    return this.#unflushed + this.#flushing;
  }

  #flush(): void {
    const since = this.#failingSince;
    if (since !== null && performance.now() - since >= GIVE_UP_AFTER_MS) {
      this.fatal(refusedBroker("nats", this.url, "disconnected and not back within 5 s"));
    }
    if (this.#unflushed === 0 || this.#flushing > 0 || this.#closed) return;
    const n = this.#unflushed;
    this.#unflushed = 0;
    this.#flushing = n;
    this.nc.flush().then(
      () => (this.counter.acked += n),
      (error) => this.counter.error(`flush failed: ${(error as Error).message}`, n),
    ).finally(() => (this.#flushing = 0));
  }

  async close(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.pending > 0 && performance.now() < deadline) {
      this.#flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.pending > 0) this.counter.error("unconfirmed at stop", this.pending);
    this.#unflushed = 0;
    this.#flushing = 0;
    await within(this.nc.close(), 2000);
  }
}

/** The MQTT client, as far as this file uses it. */
interface MqttLike {
  publish(topic: string, payload: string, options: { qos: 1 }, done: (error?: Error) => void): void;
  on(event: "offline" | "connect" | "error", listener: (arg?: unknown) => void): void;
  end(force: boolean, options: Record<string, never>, done: () => void): void;
  options: { reconnectPeriod?: number };
}

/**
 * Telemetry as MQTT publishes (QoS 1) of bare numbers to `sensors/<id>/<sensor>` — how robots
 * talk to nats-server's MQTT listener; each reading is its own message, acknowledged by a
 * PUBACK. One connection for the fleet (MQTT.js), reconnecting to the same URL.
 */
export class MqttTransport implements Transport {
  readonly via = "mqtt";
  pending = 0;
  #failingSince: number | null = null;
  #timer: ReturnType<typeof setInterval>;
  #closed = false;
  /** Resolvers of the ops whose PUBACKs are not all in. */
  readonly #waiting = new Set<() => void>();

  private constructor(
    readonly client: MqttLike,
    readonly url: string,
    readonly counter: Counter,
    readonly fatal: (error: FriendlyError) => void,
  ) {
    client.on("offline", () => (this.#failingSince ??= performance.now()));
    client.on("connect", () => (this.#failingSince = null));
    client.on("error", () => {});
    this.#timer = setInterval(() => {
      const since = this.#failingSince;
      if (since !== null && performance.now() - since >= GIVE_UP_AFTER_MS) {
        this.fatal(refusedBroker("mqtt", this.url, "disconnected and not back within 5 s"));
      }
    }, 250);
  }

  /** Connects. @throws {FriendlyError} when nothing answers at `url` */
  static async open(
    url: string,
    counter: Counter,
    fatal: (error: FriendlyError) => void,
  ): Promise<MqttTransport> {
    const { default: mqtt } = await import("mqtt");
    const id = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16);
    try {
      const client = await mqtt.connectAsync(url, {
        clientId: `flotilla-simulate-${id}`,
        clean: true,
        protocolVersion: 4,
        connectTimeout: 5000,
        // Fail at once if nothing is there; reconnect (same URL) only once connected.
        reconnectPeriod: 0,
      });
      client.options.reconnectPeriod = 1000;
      return new MqttTransport(client as unknown as MqttLike, url, counter, fatal);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      throw refusedBroker(
        "mqtt",
        url,
        e.code === "ECONNREFUSED" ? "connection refused" : e.message ?? String(error),
      );
    }
  }

  cost(readings: number): number {
    return readings;
  }

  send(op: TelemetryOp): Promise<void> {
    const readings = Object.entries(op.body.readings);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting.add(resolve);
    promise.then(() => this.#waiting.delete(resolve));
    let left = readings.length;
    for (const [sensor, value] of readings) {
      this.pending++;
      const started = performance.now();
      this.client.publish(`sensors/${op.device}/${sensor}`, String(value), { qos: 1 }, (error) => {
        if (this.#closed) return; // counted as unconfirmed by close()
        this.pending--;
        if (error === undefined || error === null) {
          this.counter.acked++;
          this.counter.latency.record(performance.now() - started);
        } else this.counter.error(`mqtt ${error.message}`);
        if (--left === 0) resolve();
      });
    }
    return promise;
  }

  async close(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (this.pending > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    clearInterval(this.#timer);
    if (this.pending > 0) this.counter.error("unconfirmed at stop", this.pending);
    this.pending = 0;
    this.#closed = true;
    for (const resolve of this.#waiting) resolve();
    await within(new Promise<void>((resolve) => this.client.end(true, {}, resolve)), 2000);
  }
}
