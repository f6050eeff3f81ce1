/**
 * Flotilla's entry point: reads the configuration from the environment, assembles a node
 * (store, transport, actor system, HTTP app) and serves until SIGTERM or SIGINT, then hands
 * its partitions over (cluster mode), drains mailboxes, flushes state and exits 0.
 *
 * - Embedded mode (`deno task dev`, or no `NATS_URL`): in-process transport, a Deno KV file
 *   store, no external service.
 * - Cluster mode (`NATS_URL` set): NATS JetStream transport and event stream, partitions
 *   shared with the other nodes, state in Redis (`REDIS_URL`) or JetStream KV.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { hostname } from "node:os";
import { join } from "node:path";
import { COMMANDS_TOPIC, commandSubject } from "./actors/devices/commands.ts";
import { deviceIngest } from "./actors/devices/ingest.ts";
import { registerActors } from "./actors/mod.ts";
import { createApp, type Readiness } from "./routes/app.ts";
import { generateToken } from "./routes/auth.ts";
import {
  ActorSystem,
  ConfigError,
  createLogger,
  DenoKvStore,
  describeError,
  type EventBus,
  type Logger,
  type LogLevel,
  MemoryStore,
  MetricsRegistry,
  parseLogLevel,
  RingEventBus,
  type StateStore,
  SystemClock,
  toMillis,
  type Transport,
} from "./runtime/mod.ts";
import {
  checkPartitionMapping,
  closeNats,
  connectNats,
  DEFAULT_PARTITIONS,
  ensureStreams,
  JetStreamEventBus,
  type NatsClients,
  NatsTransport,
} from "./runtime/nats/mod.ts";
import { NatsKvStore } from "./runtime/stores/natskv.ts";
import { RedisStore } from "./runtime/stores/redis.ts";

/** Stores a node can run on. */
export const STORES = ["denokv", "memory", "redis", "natskv"] as const;

/** A node's configuration. */
export interface NodeConfig {
  /** `"embedded"`: in-process transport; `"cluster"`: NATS. */
  readonly mode: "embedded" | "cluster";
  readonly port: number;
  readonly host: string;
  readonly store: (typeof STORES)[number];
  /** Directory of the Deno KV file. */
  readonly dataDir: string;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
  readonly logFormat: "json" | "pretty";
  /** Events kept in memory for SSE clients to resume from. */
  readonly eventRing: number;
  /** NATS servers (cluster mode). */
  readonly natsUrl: string | null;
  readonly redisUrl: string | null;
  /** Partitions (must match nats-server's subject mapping). */
  readonly partitions: number;
  readonly leaseMs: number;
  /** How long the JetStream streams keep messages. */
  readonly streamMaxAgeMs: number;
  readonly streamReplicas: number;
  /** Bearer token for the whole API; generated (and printed once) when not configured. */
  readonly apiToken: string | null;
  /** Bearer token for reads only; reads are open when not configured. */
  readonly readToken: string | null;
  /** Origins allowed to call the API from a browser. */
  readonly corsOrigins: string[];
}

/**
 * Reads the configuration from environment variables.
 * @throws {ConfigError} naming the variable that is wrong
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  isTerminal = false,
  embedded = false,
): NodeConfig {
  const natsUrl = embedded ? null : env.NATS_URL || null;
  const redisUrl = env.REDIS_URL || null;
  const mode = natsUrl === null ? "embedded" : "cluster";
  const store = env.FLOTILLA_STORE ||
    (mode === "embedded" ? "denokv" : redisUrl !== null ? "redis" : "natskv");
  if (!(STORES as readonly string[]).includes(store)) {
    throw new ConfigError(`FLOTILLA_STORE=${store}: use one of ${STORES.join(", ")}`);
  }
  if (store === "redis" && redisUrl === null) {
    throw new ConfigError("FLOTILLA_STORE=redis needs REDIS_URL, e.g. redis://127.0.0.1:6379");
  }
  if (store === "natskv" && natsUrl === null) {
    throw new ConfigError("FLOTILLA_STORE=natskv needs NATS_URL (cluster mode)");
  }
  if (mode === "cluster" && (store === "memory" || store === "denokv")) {
    throw new ConfigError(
      `FLOTILLA_STORE=${store} keeps state on one node; in cluster mode (NATS_URL set) use redis or natskv`,
    );
  }
  const format = env.FLOTILLA_LOG_FORMAT ?? (isTerminal ? "pretty" : "json");
  if (format !== "json" && format !== "pretty") {
    throw new ConfigError(`FLOTILLA_LOG_FORMAT=${format}: use json or pretty`);
  }
  return {
    mode,
    port: integer(env, "PORT", 8080, 0, 65535),
    host: env.HOST ?? "0.0.0.0",
    store: store as NodeConfig["store"],
    dataDir: env.FLOTILLA_DATA_DIR ?? ".data",
    nodeId: env.FLOTILLA_NODE_ID ?? `${hostname()}-${Deno.pid}`,
    logLevel: parseLogLevel(env.FLOTILLA_LOG_LEVEL, "info"),
    logFormat: format,
    eventRing: integer(env, "FLOTILLA_EVENT_RING", 10_000, 1, 10_000_000),
    natsUrl,
    redisUrl,
    partitions: integer(env, "FLOTILLA_PARTITIONS", DEFAULT_PARTITIONS, 1, 4096),
    leaseMs: integer(env, "FLOTILLA_LEASE_MS", 2000, 200, 600_000),
    streamMaxAgeMs: toMillis(env.FLOTILLA_STREAM_MAX_AGE || "P1D", "FLOTILLA_STREAM_MAX_AGE"),
    streamReplicas: integer(env, "FLOTILLA_STREAM_REPLICAS", 1, 1, 5),
    apiToken: token(env, "FLOTILLA_API_TOKEN"),
    readToken: token(env, "FLOTILLA_READ_TOKEN"),
    corsOrigins: (env.FLOTILLA_CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean),
  };
}

function token(env: Record<string, string | undefined>, name: string): string | null {
  const value = env[name];
  if (value === undefined || value === "") return null;
  if (value.length < 16 || /\s/.test(value)) {
    throw new ConfigError(`${name} must be at least 16 characters without spaces`);
  }
  return value;
}

function integer(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${raw} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** A running node. */
export interface FlotillaNode {
  readonly config: NodeConfig;
  readonly system: ActorSystem;
  readonly store: StateStore;
  readonly logger: Logger;
  /** The URL the HTTP server listens on. */
  readonly url: string;
  /** Graceful stop: end SSE streams, stop the server, hand over, drain and flush, close. */
  stop(): Promise<boolean>;
}

/** Assembles and starts a node. */
export async function startNode(config: NodeConfig): Promise<FlotillaNode> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat }).child({
    node: config.nodeId,
  });
  const storePath = config.store === "denokv" ? join(config.dataDir, "flotilla.kv") : null;
  logger.info(`flotilla starting in ${config.mode} mode`, {
    mode: config.mode,
    transport: config.mode === "cluster" ? "nats" : "in-process",
    store: config.store,
    storePath,
    url: `http://${displayHost(config.host)}:${config.port}`,
    ...(config.mode === "cluster"
      ? { nats: redact(config.natsUrl!), partitions: config.partitions }
      : {}),
    ...(config.store === "redis" ? { redis: redact(config.redisUrl!) } : {}),
  });
  const clock = new SystemClock();
  const metrics = new MetricsRegistry();

  let nats: NatsClients | null = null;
  let transport: Transport | undefined;
  let events: EventBus;
  let natsEvents: JetStreamEventBus | null = null;
  if (config.mode === "cluster") {
    nats = await connectNats(config.natsUrl!.split(","), {
      name: `flotilla-${config.nodeId}`,
      logger,
    });
    await checkPartitionMapping(nats.nc, config.partitions);
    await ensureStreams(nats.jsm, {
      ingestMaxAgeMs: config.streamMaxAgeMs,
      messagesMaxAgeMs: config.streamMaxAgeMs,
      eventsMaxAgeMs: config.streamMaxAgeMs,
      replicas: config.streamReplicas,
    });
    natsEvents = new JetStreamEventBus({
      ...nats,
      logger,
      capacity: config.eventRing,
      // Commands for a device go out on its own subject, where it (and only it) may listen.
      forward: { [COMMANDS_TOPIC]: (e) => (e.key === null ? null : commandSubject(e.key)) },
    });
    await natsEvents.start();
    events = natsEvents;
    transport = new NatsTransport({
      ...nats,
      // Leases and heartbeats are kept on a thread (and a connection) of their own: a busy
      // event loop must never delay a renewal.
      leaseServers: config.natsUrl!.split(","),
      onLeaseFailure: (error) => {
        // Nothing renews this node's leases any more: it owns nothing and cannot take work.
        // Exit, so that a supervisor (systemd, Docker, Kubernetes) starts it afresh; what was
        // acknowledged is durable and the rest is redelivered to the nodes taking over.
        logger.error("lease keeper failed; exiting", { error: describeError(error) });
        Deno.exit(70);
      },
      nodeId: config.nodeId,
      partitions: config.partitions,
      leaseMs: config.leaseMs,
      replicas: config.streamReplicas,
      ingest: deviceIngest,
      logger,
      metrics,
      events,
    });
  } else {
    events = new RingEventBus({ capacity: config.eventRing });
  }
  const store = await openStore(config, storePath, nats);
  const system = new ActorSystem({
    store,
    clock,
    metrics,
    events,
    logger,
    nodeId: config.nodeId,
    ...(transport === undefined ? {} : { transport }),
  });
  registerActors(system);
  await system.start();

  const readiness = async (): Promise<Readiness> => {
    const checks: Record<string, string> = {};
    try {
      await withDeadline(store.get("health/probe"), 2000);
      checks.store = "ok";
    } catch (error) {
      checks.store = describeError(error);
    }
    if (nats !== null) {
      checks.nats = nats.nc.isClosed() ? "closed" : "ok";
      if (transport instanceof NatsTransport) {
        checks.partitions =
          `${transport.placement.owned().length} of ${config.partitions} owned here`;
      }
    }
    return {
      ready: Object.entries(checks).every(([k, v]) => k === "partitions" || v === "ok"),
      checks,
    };
  };
  const apiToken = config.apiToken ?? generateToken();
  const { app, closeStreams } = createApp({
    system,
    events,
    metrics,
    logger,
    clock,
    readiness,
    auth: config.readToken === null ? { apiToken } : { apiToken, readToken: config.readToken },
    corsOrigins: config.corsOrigins,
  });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listening;
  const url = `http://${displayHost(addr.hostname)}:${addr.port}`;
  logger.info("listening", {
    url,
    dashboard: `${url}/`,
    auth: config.apiToken === null ? "API token generated for this run" : "API token configured",
  });
  if (config.apiToken === null) {
    // Never an open API by accident: a token made up for this run, shown once, on the console
    // only (not in the structured log). The fragment is not sent to servers or proxies.
    console.error(
      `\nflotilla: no FLOTILLA_API_TOKEN set; this run's API token is\n  ${apiToken}\n` +
        `open the dashboard with it: ${url}/#token=${apiToken}\n`,
    );
  }

  let stopping: Promise<boolean> | null = null;
  return {
    config,
    system,
    store,
    logger,
    url,
    stop() {
      stopping ??= (async () => {
        logger.info("stopping: draining mailboxes and flushing state");
        closeStreams();
        await server.shutdown();
        // Hand the partitions over first, while the system still takes their last messages.
        await transport?.stop();
        const flushed = await system.shutdown();
        await natsEvents?.stop();
        await store.close();
        if (nats !== null) await closeNats(nats.nc, logger);
        logger.info(
          flushed ? "stopped; all state flushed" : "stopped; some state was NOT flushed",
          {
            flushed,
          },
        );
        return flushed;
      })();
      return stopping;
    },
  };
}

async function openStore(
  config: NodeConfig,
  storePath: string | null,
  nats: NatsClients | null,
): Promise<StateStore> {
  switch (config.store) {
    case "denokv":
      return await DenoKvStore.open(storePath!);
    case "memory":
      return new MemoryStore();
    case "redis":
      return await RedisStore.connect(config.redisUrl!);
    case "natskv":
      return await NatsKvStore.connect(nats!.nc, { replicas: config.streamReplicas });
  }
}

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** A URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/g, "//$1:***@");
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      Deno.unrefTimer(t);
    }),
  ]);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { embedded: { type: "boolean", default: false } },
  });
  const env = Deno.env.toObject();
  if (values.embedded) {
    // `deno task dev`: a laptop, no services; listen on loopback unless told otherwise.
    env.HOST ??= "127.0.0.1";
  }
  let node: FlotillaNode;
  try {
    node = await startNode(loadConfig(env, Deno.stdout.isTerminal(), values.embedded));
  } catch (error) {
    console.error(`flotilla: cannot start: ${describeError(error)}`);
    Deno.exit(1);
  }
  const onSignal = (signal: Deno.Signal) => {
    node.logger.info("signal received", { signal });
    node.stop().then((flushed) => Deno.exit(flushed ? 0 : 1));
  };
  Deno.addSignalListener("SIGTERM", () => onSignal("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => onSignal("SIGINT"));
}
