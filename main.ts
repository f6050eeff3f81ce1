/**
 * Flotilla's entry point: reads the configuration from the environment, assembles a node
 * (store, actor system, HTTP app) and serves until SIGTERM or SIGINT, then drains mailboxes,
 * flushes state and exits 0.
 *
 * `deno task dev` passes `--embedded`: in-process transport and a Deno KV file store, no
 * external service. `deno task start` reads the same settings from the environment.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { hostname } from "node:os";
import { join } from "node:path";
import { registerActors } from "./actors/mod.ts";
import { createApp, type Readiness } from "./routes/app.ts";
import {
  ActorSystem,
  ConfigError,
  createLogger,
  DenoKvStore,
  describeError,
  type Logger,
  type LogLevel,
  MemoryStore,
  MetricsRegistry,
  parseLogLevel,
  RingEventBus,
  type StateStore,
  SystemClock,
} from "./runtime/mod.ts";

/** Stores this build can run on. */
export const STORES = ["denokv", "memory"] as const;

/** A node's configuration. */
export interface NodeConfig {
  /** `"embedded"`: in-process transport. */
  readonly mode: "embedded";
  readonly port: number;
  readonly host: string;
  readonly store: (typeof STORES)[number];
  /** Directory of the Deno KV file. */
  readonly dataDir: string;
  readonly nodeId: string;
  readonly logLevel: LogLevel;
  readonly logFormat: "json" | "pretty";
  /** Events kept for SSE clients to resume from. */
  readonly eventRing: number;
}

/**
 * Reads the configuration from environment variables.
 * @throws {ConfigError} naming the variable that is wrong
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  isTerminal = false,
): NodeConfig {
  const store = env.FLOTILLA_STORE ?? "denokv";
  if (!(STORES as readonly string[]).includes(store)) {
    throw new ConfigError(
      `FLOTILLA_STORE=${store} is not available in this build; use one of ${STORES.join(", ")}`,
    );
  }
  const format = env.FLOTILLA_LOG_FORMAT ?? (isTerminal ? "pretty" : "json");
  if (format !== "json" && format !== "pretty") {
    throw new ConfigError(`FLOTILLA_LOG_FORMAT=${format}: use json or pretty`);
  }
  return {
    mode: "embedded",
    port: integer(env, "PORT", 8080, 0, 65535),
    host: env.HOST ?? "0.0.0.0",
    store: store as NodeConfig["store"],
    dataDir: env.FLOTILLA_DATA_DIR ?? ".data",
    nodeId: env.FLOTILLA_NODE_ID ?? `${hostname()}-${Deno.pid}`,
    logLevel: parseLogLevel(env.FLOTILLA_LOG_LEVEL, "info"),
    logFormat: format,
    eventRing: integer(env, "FLOTILLA_EVENT_RING", 10_000, 1, 10_000_000),
  };
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
  /** Graceful stop: end SSE streams, stop the server, drain and flush, close the store. */
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
    transport: "in-process",
    store: config.store,
    storePath,
    url: `http://${displayHost(config.host)}:${config.port}`,
  });
  const store: StateStore = storePath === null
    ? new MemoryStore()
    : await DenoKvStore.open(storePath);
  const clock = new SystemClock();
  const metrics = new MetricsRegistry();
  const events = new RingEventBus({ capacity: config.eventRing });
  const system = new ActorSystem({ store, clock, metrics, events, logger, nodeId: config.nodeId });
  registerActors(system);
  await system.start();

  const readiness = async (): Promise<Readiness> => {
    try {
      await withDeadline(store.get("health/probe"), 2000);
      return { ready: true, checks: { store: "ok" } };
    } catch (error) {
      return { ready: false, checks: { store: describeError(error) } };
    }
  };
  const { app, closeStreams } = createApp({ system, events, metrics, logger, clock, readiness });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, app.fetch);
  const addr = await listening;
  const url = `http://${displayHost(addr.hostname)}:${addr.port}`;
  logger.info("listening", { url });

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
        const flushed = await system.shutdown();
        await store.close();
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

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
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
    node = await startNode(loadConfig(env, Deno.stdout.isTerminal()));
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
