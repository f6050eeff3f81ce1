/**
 * A node's configuration, read from environment variables in one place: nothing else in the
 * node reads the environment. Every value is checked here, so a wrong one stops the node at
 * start with a message naming the variable.
 *
 * @module
 */
import { hostname } from "node:os";
import { getHeapStatistics } from "node:v8";
import { CARD_KEY_ENV, MIN_CARD_KEY_LENGTH } from "../actors/payments/mod.ts";
import { ConfigError, type LogLevel, parseLogLevel, toMillis } from "../runtime/mod.ts";
import { DEFAULT_LINK_RETENTION, DEFAULT_PARTITIONS, SITE_NAME } from "../runtime/nats/mod.ts";

/** Stores a node can run on. */
export const STORES = ["denokv", "memory", "redis", "natskv"] as const;

/**
 * Heap budgeted per live actor for the default cap: a device twin with four sensors' full
 * analytics windows takes ~15 KB (bench/README.md, "Scale (issue 15)").
 */
export const ACTOR_HEAP_BUDGET = 16 * 1024;

/**
 * The default cap on live actors: half of V8's heap limit (which `--max-old-space-size` sets)
 * at {@link ACTOR_HEAP_BUDGET} each, at least 1,000 — ~134,000 with the 4 GiB limit of a
 * machine with 16 GiB or more. A node with more devices passivates the least recently used
 * idle ones instead of running out of memory.
 */
export function defaultMaxActiveActors(
  heapLimit: number = getHeapStatistics().heap_size_limit,
): number {
  return Math.max(1000, Math.floor(heapLimit / 2 / ACTOR_HEAP_BUDGET));
}

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
  /**
   * `FLOTILLA_MAX_ACTIVE_ACTORS`: most actors in memory before the least recently used idle ones
   * are passivated (`0`: no cap, `Infinity` here). @default {@link defaultMaxActiveActors}
   */
  readonly maxActiveActors: number;
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
  /**
   * The secret payment card tokens are hashed with, the same on every node; a development key
   * (with a warning) when not configured.
   */
  readonly cardKey: string | null;
  /**
   * Run on a store that keeps no log of writes (a Redis with `appendonly no`, a JetStream KV
   * bucket in memory), with a warning, instead of refusing to start
   * (`FLOTILLA_ALLOW_VOLATILE_STORE=1`; for tests and demos).
   */
  readonly allowVolatileStore: boolean;
  /**
   * Edge sites (`docs/edge-sites.md`): `site` names the site this node runs at (its
   * nats-server is a leaf node of the hub's, with JetStream domain `site`); `sites` names the
   * sites a hub node follows. At most one of the two is set.
   */
  readonly edge: EdgeConfig;
}

/** A node's part in edge sites. */
export interface EdgeConfig {
  /** `FLOTILLA_SITE`: the site this node runs at; `null` when it is not at a site. */
  readonly site: string | null;
  /** `FLOTILLA_SITES`: the sites this (hub) node follows. */
  readonly sites: readonly string[];
  /** `FLOTILLA_HUB_DOMAIN`: the hub's JetStream domain. @default "hub" */
  readonly hubDomain: string;
  /**
   * `FLOTILLA_UPLINK_TELEMETRY`: every Nth telemetry reading goes up as an event (`0`: none);
   * the twin itself (count, last values) always goes up. @default 10
   */
  readonly uplinkTelemetry: number;
  /** `FLOTILLA_LINK_MAX_AGE` (ISO-8601): how long uplink and downlink keep messages. @default P7D */
  readonly linkMaxAgeMs: number;
  /** `FLOTILLA_LINK_MAX_BYTES`: how much each of them keeps, bytes. @default 1 GiB */
  readonly linkMaxBytes: number;
}

/**
 * Reads the configuration from environment variables. `isTerminal` makes pretty logs the
 * default; `embedded` (the `--embedded` flag) ignores `NATS_URL`.
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
  const edge = edgeConfig(env);
  if (edge.site !== null && natsUrl === null) {
    throw new ConfigError(
      `FLOTILLA_SITE=${edge.site} needs NATS_URL: the site's nats-server (a leaf node of the hub)`,
    );
  }
  // A one-node site may keep its state in a local file (FLOTILLA_STORE=denokv): nothing shares it.
  const oneNodeSite = edge.site !== null && store === "denokv";
  if (mode === "cluster" && (store === "memory" || store === "denokv") && !oneNodeSite) {
    throw new ConfigError(
      `FLOTILLA_STORE=${store} keeps state on one node; in cluster mode (NATS_URL set) use redis or natskv` +
        " (or denokv for the one node of an edge site, FLOTILLA_SITE)",
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
    maxActiveActors: integer(
      env,
      "FLOTILLA_MAX_ACTIVE_ACTORS",
      defaultMaxActiveActors(),
      0,
      1_000_000_000,
    ) || Infinity,
    natsUrl,
    redisUrl,
    partitions: integer(env, "FLOTILLA_PARTITIONS", DEFAULT_PARTITIONS, 1, 4096),
    leaseMs: integer(env, "FLOTILLA_LEASE_MS", 2000, 200, 600_000),
    streamMaxAgeMs: toMillis(env.FLOTILLA_STREAM_MAX_AGE || "P1D", "FLOTILLA_STREAM_MAX_AGE"),
    streamReplicas: integer(env, "FLOTILLA_STREAM_REPLICAS", 1, 1, 5),
    apiToken: token(env, "FLOTILLA_API_TOKEN"),
    readToken: token(env, "FLOTILLA_READ_TOKEN"),
    corsOrigins: (env.FLOTILLA_CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean),
    cardKey: cardKey(env),
    allowVolatileStore: flag(env, "FLOTILLA_ALLOW_VOLATILE_STORE"),
    edge,
  };
}

function edgeConfig(env: Record<string, string | undefined>): EdgeConfig {
  const site = env.FLOTILLA_SITE || null;
  const sites = (env.FLOTILLA_SITES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const hubDomain = env.FLOTILLA_HUB_DOMAIN || "hub";
  for (const [name, value] of [["FLOTILLA_SITE", site], ["FLOTILLA_HUB_DOMAIN", hubDomain]]) {
    if (value !== null && !SITE_NAME.test(value!)) {
      throw new ConfigError(`${name}=${value}: use 1-32 letters, digits, _ or -`);
    }
  }
  for (const s of sites) {
    if (!SITE_NAME.test(s)) {
      throw new ConfigError(
        `FLOTILLA_SITES: ${s} is not a site name (1-32 letters, digits, _ or -)`,
      );
    }
  }
  if (site !== null && sites.length > 0) {
    throw new ConfigError(
      "FLOTILLA_SITE and FLOTILLA_SITES: a node is at a site or at the hub, not both",
    );
  }
  if (site === hubDomain || sites.includes(hubDomain)) {
    throw new ConfigError(
      `the site name ${hubDomain} is the hub's JetStream domain (FLOTILLA_HUB_DOMAIN)`,
    );
  }
  const telemetry = env.FLOTILLA_UPLINK_TELEMETRY;
  return {
    site,
    sites: [...new Set(sites)],
    hubDomain,
    uplinkTelemetry: telemetry === "none"
      ? 0
      : integer(env, "FLOTILLA_UPLINK_TELEMETRY", 10, 0, 1_000_000),
    linkMaxAgeMs: env.FLOTILLA_LINK_MAX_AGE
      ? toMillis(env.FLOTILLA_LINK_MAX_AGE, "FLOTILLA_LINK_MAX_AGE")
      : DEFAULT_LINK_RETENTION.maxAgeMs,
    linkMaxBytes: integer(
      env,
      "FLOTILLA_LINK_MAX_BYTES",
      DEFAULT_LINK_RETENTION.maxBytes,
      1024 * 1024,
      2 ** 50,
    ),
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

// The hasher checks its key too; checking it here as well makes a short key stop the node
// before anything is opened or connected.
function cardKey(env: Record<string, string | undefined>): string | null {
  const value = env[CARD_KEY_ENV];
  if (value === undefined || value === "") return null;
  if (value.length < MIN_CARD_KEY_LENGTH) {
    throw new ConfigError(
      `${CARD_KEY_ENV} must be at least ${MIN_CARD_KEY_LENGTH} characters (got ${value.length}); ` +
        `generate one with: openssl rand -base64 48`,
    );
  }
  return value;
}

function flag(env: Record<string, string | undefined>, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new ConfigError(
    `${name}=${raw}: use 1 (or true) to turn it on, 0 (or false) to leave it off`,
  );
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
