/**
 * Assembles a node — store, transport, event bus, actor system with the domain's actors,
 * readiness check and HTTP app — from its configuration. The one place a node is put
 * together: `main.ts` serves what it builds, and tests build theirs with it, replacing only
 * what they must (a manual clock, an in-memory store, a silent logger).
 *
 * @module
 */
import type { Hono } from "hono";
import { commandMetrics } from "../actors/devices/mod.ts";
import { registerActors } from "../actors/mod.ts";
import { createApp, type Readiness } from "../routes/app.ts";
import { type AuthTokens, generateToken } from "../routes/auth.ts";
import type { AppDeps } from "../routes/deps.ts";
import {
  ActorSystem,
  type Clock,
  createLogger,
  type EventBus,
  type Logger,
  MetricsRegistry,
  RingEventBus,
  type StateStore,
  SystemClock,
} from "../runtime/mod.ts";
import { closeNats } from "../runtime/nats/mod.ts";
import { type ClusterParts, connectCluster } from "./cluster.ts";
import type { NodeConfig } from "./config.ts";
import type { EdgeLinks } from "./sites/mod.ts";
import { tappedBus } from "./event_tap.ts";
import { readinessCheck } from "./readiness.ts";
import { openStore, storePath } from "./store.ts";

/** What a test (or a tool) may put in place of what the configuration would build. */
export interface AssembleOverrides {
  /** @default a SystemClock */
  readonly clock?: Clock;
  /**
   * Used instead of opening `config.store` (and not checked for durability); closed by
   * {@link FlotillaNode.stop} all the same.
   */
  readonly store?: StateStore;
  /** @default a logger at `config.logLevel` in `config.logFormat`, tagged with the node id */
  readonly logger?: Logger;
  /**
   * Options of the embedded event bus beyond its capacity (`config.eventRing`) and clock:
   * `epoch`, the prefix of its event ids (fixed in tests that write ids down).
   */
  readonly eventBus?: { readonly epoch?: string };
  /** @default checks the store (and, in cluster mode, NATS and partition ownership) */
  readonly readiness?: () => Promise<Readiness>;
  /**
   * Tokens the API requires instead of the configured ones; `null` turns authentication off
   * (tests of other concerns only).
   */
  readonly auth?: AuthTokens | null;
  /** Limits of the HTTP app. */
  readonly http?: Pick<AppDeps, "heartbeatMs" | "bodyLimit" | "sseQueueLimit">;
}

/** An assembled node: its actor system is started; its HTTP app is served once it listens. */
export interface FlotillaNode {
  readonly config: NodeConfig;
  readonly system: ActorSystem;
  readonly store: StateStore;
  readonly events: EventBus;
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The HTTP app: served by {@link listen}, or called directly with `app.request()`. */
  readonly app: Hono;
  /** The URL the HTTP server listens on; `null` until {@link listen} resolved. */
  readonly url: string | null;
  /** Ends every open SSE stream (clients reconnect on their own). */
  closeStreams(): void;
  /**
   * Serves the app on `config.host`:`config.port` and logs the URL; when no API token was
   * configured, prints the one made up for this run on the console. Resolves with the URL.
   */
  listen(): Promise<string>;
  /**
   * Graceful stop: end SSE streams, stop the server, hand the partitions over (cluster mode),
   * drain mailboxes and flush state, close the store and NATS. Resolves with whether every
   * state was flushed; calling it again returns the same promise.
   */
  stop(): Promise<boolean>;
}

/**
 * Builds and starts a node: logs its mode first, connects to NATS (cluster mode), opens its
 * store and checks that it is durable (node/durability.ts), starts its actor system with the
 * domain's actors and builds its HTTP app.
 * @throws when NATS or the store cannot be reached, or the store is volatile and
 *   `config.allowVolatileStore` is off
 */
export async function assemble(
  config: NodeConfig,
  overrides: AssembleOverrides = {},
): Promise<FlotillaNode> {
  const logger = overrides.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat }).child({
      node: config.nodeId,
    });
  logStart(logger, config);
  const clock = overrides.clock ?? new SystemClock();
  const metrics = new MetricsRegistry();

  const cluster: ClusterParts | null = config.mode === "cluster"
    ? await connectCluster(config, { logger, metrics })
    : null;
  const events: EventBus = cluster?.events ??
    new RingEventBus({ capacity: config.eventRing, now: () => clock.now(), ...overrides.eventBus });
  let store: StateStore;
  let durability: string | null = null;
  if (overrides.store !== undefined) {
    store = overrides.store;
  } else {
    try {
      ({ store, durability } = await openStore(config, cluster?.nats ?? null, logger));
    } catch (error) {
      // Refused (a volatile store) or unreachable: leave nothing open behind.
      await cluster?.events.stop();
      if (cluster !== null) await closeNats(cluster.nats.nc, logger);
      throw error;
    }
  }
  const edge = cluster?.edge ?? null;
  const countCommands = commandMetrics(metrics);
  const system = new ActorSystem({
    store,
    clock,
    metrics,
    // What the actors publish is counted here, once, on the node that published it.
    events: tappedBus(events, (topic, data, key) => {
      countCommands(topic, data);
      edge?.observe(topic, data, key);
    }),
    logger,
    nodeId: config.nodeId,
    maxActiveActors: config.maxActiveActors,
    ...(cluster === null ? {} : { transport: cluster.transport }),
  });
  registerActors(system);
  await system.start();
  if (edge !== null) {
    await edge.start({ system, transport: cluster!.transport, events, clock, metrics });
  }

  let generatedToken: string | null = null;
  let auth: AuthTokens | null;
  if (overrides.auth !== undefined) {
    auth = overrides.auth;
  } else {
    // Never an open API by accident: without a configured token, one is made up for this run.
    const apiToken = config.apiToken ?? (generatedToken = generateToken());
    auth = config.readToken === null ? { apiToken } : { apiToken, readToken: config.readToken };
  }
  const { app, closeStreams } = createApp({
    system,
    events,
    metrics,
    logger,
    clock,
    readiness: overrides.readiness ?? withEdge(
      edge,
      readinessCheck({ store, durability, cluster }),
    ),
    auth,
    corsOrigins: config.corsOrigins,
    cardKey: config.cardKey,
    sites: () => edge?.deps ?? null,
    ...overrides.http,
  });

  let server: Deno.HttpServer | null = null;
  let url: string | null = null;
  let listening: Promise<string> | null = null;
  let stopping: Promise<boolean> | null = null;
  return {
    config,
    system,
    store,
    events,
    metrics,
    clock,
    logger,
    app,
    get url() {
      return url;
    },
    closeStreams,
    listen() {
      listening ??= (async () => {
        const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
        server = Deno.serve({
          port: config.port,
          hostname: config.host,
          onListen: (addr) => resolve(addr as Deno.NetAddr),
        }, app.fetch);
        const addr = await promise;
        url = `http://${displayHost(addr.hostname)}:${addr.port}`;
        logger.info("listening", {
          url,
          dashboard: `${url}/`,
          auth: generatedToken !== null
            ? "API token generated for this run"
            : auth === null
            ? "off"
            : "API token configured",
        });
        if (generatedToken !== null) {
          // Shown once, on the console only (not in the structured log). The fragment is not
          // sent to servers or proxies.
          console.error(
            `\nflotilla: no FLOTILLA_API_TOKEN set; this run's API token is\n  ${generatedToken}\n` +
              `open the dashboard with it: ${url}/#token=${generatedToken}\n`,
          );
        }
        return url;
      })();
      return listening;
    },
    stop() {
      stopping ??= (async () => {
        logger.info("stopping: draining mailboxes and flushing state");
        closeStreams();
        await listening?.catch(() => {});
        await server?.shutdown();
        // What is pending goes up while the actors can still be read.
        await edge?.stop();
        // Hand the partitions over first, while the system still takes their last messages.
        await cluster?.transport.stop();
        const flushed = await system.shutdown();
        await cluster?.events.stop();
        await store.close();
        if (cluster !== null) await closeNats(cluster.nats.nc, logger);
        logger.info(
          flushed ? "stopped; all state flushed" : "stopped; some state was NOT flushed",
          { flushed },
        );
        return flushed;
      })();
      return stopping;
    },
  };
}

function withEdge(edge: EdgeLinks | null, check: () => Promise<Readiness>) {
  return edge === null ? check : edge.readiness(check);
}

/** The first line a node logs: how it runs, where its state is, where it will listen. */
function logStart(logger: Logger, config: NodeConfig): void {
  logger.info(`flotilla starting in ${config.mode} mode`, {
    mode: config.mode,
    transport: config.mode === "cluster" ? "nats" : "in-process",
    store: config.store,
    storePath: storePath(config),
    url: `http://${displayHost(config.host)}:${config.port}`,
    ...(config.mode === "cluster"
      ? { nats: redact(config.natsUrl!), partitions: config.partitions }
      : {}),
    ...(config.store === "redis" ? { redis: redact(config.redisUrl!) } : {}),
  });
}

function displayHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** A URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/g, "//$1:***@");
}
