/**
 * The durability check a node runs once, when it has opened its store: a store that keeps no
 * log of writes (a Redis with `appendonly no`, a JetStream KV bucket in memory) would lose
 * acknowledged state when it restarts, so the node refuses to start on it unless
 * `FLOTILLA_ALLOW_VOLATILE_STORE=1`, and then warns in its log and in `/readyz`. The memory
 * store (`FLOTILLA_STORE=memory`) is volatile by choice: a warning, never a refusal.
 *
 * @module
 */
import { ConfigError, type Logger, type StateStore, type StoreDurability } from "../runtime/mod.ts";
import type { NodeConfig } from "./config.ts";

/** The variable that lets a node run on a volatile store. */
export const ALLOW_VOLATILE_ENV = "FLOTILLA_ALLOW_VOLATILE_STORE";

/** What a node does with what its store said of its durability. */
export type DurabilityVerdict =
  /** Durable (or not checkable): start; `detail` goes to the log (info) and `/readyz`. */
  | { readonly action: "accept"; readonly detail: string }
  /** Volatile, but chosen or allowed: start; `detail` goes to the log (warning) and `/readyz`. */
  | { readonly action: "warn"; readonly detail: string }
  /** Volatile: do not start; `message` says what is wrong and the two ways out. */
  | { readonly action: "refuse"; readonly message: string };

/**
 * Decides on a store's durability: durable is accepted; the memory store is warned about;
 * another volatile store (or one that cannot tell) is refused unless `allowVolatile`, then
 * warned about. `durability` is `null` for a store that cannot say (accepted, unchecked).
 */
export function judgeDurability(
  config: Pick<NodeConfig, "store" | "redisUrl" | "allowVolatileStore">,
  durability: StoreDurability | null,
): DurabilityVerdict {
  if (durability === null) {
    return { action: "accept", detail: "not checked: the store cannot say" };
  }
  if (durability.durable) return { action: "accept", detail: durability.detail };
  if (config.store === "memory") {
    return { action: "warn", detail: `volatile (FLOTILLA_STORE=memory): ${durability.detail}` };
  }
  if (config.allowVolatileStore) {
    return {
      action: "warn",
      detail: `volatile, allowed by ${ALLOW_VOLATILE_ENV}=1: ${durability.detail}`,
    };
  }
  return { action: "refuse", message: refusal(config, durability.detail) };
}

/**
 * Asks `store` for its durability, judges it ({@link judgeDurability}) and logs the verdict.
 * Resolves with the detail `/readyz` shows.
 * @throws {ConfigError} when the store is volatile and not allowed: the message names
 *   `FLOTILLA_ALLOW_VOLATILE_STORE` and how to make the store durable
 */
export async function checkDurability(
  store: StateStore,
  config: Pick<NodeConfig, "store" | "redisUrl" | "allowVolatileStore">,
  logger: Logger,
): Promise<string> {
  const verdict = judgeDurability(config, (await store.durability?.()) ?? null);
  switch (verdict.action) {
    case "refuse":
      throw new ConfigError(verdict.message);
    case "warn":
      logger.warn("the store is volatile: acknowledged state does not survive its restart", {
        store: config.store,
        durability: verdict.detail,
      });
      return verdict.detail;
    case "accept":
      logger.info("store durability checked", { store: config.store, durability: verdict.detail });
      return verdict.detail;
  }
}

function refusal(
  config: Pick<NodeConfig, "store" | "redisUrl">,
  detail: string,
): string {
  const override = `or set ${ALLOW_VOLATILE_ENV}=1 to run on it anyway (tests, demos: ` +
    "state acknowledged to clients is lost when the store restarts)";
  switch (config.store) {
    case "redis": {
      const where = config.redisUrl === null ? "Redis" : `the Redis at ${hostOf(config.redisUrl)}`;
      const unknown = detail.startsWith("cannot tell")
        ? " (if it is on already, let this node's Redis user run CONFIG GET or INFO)"
        : "";
      return `${where} is not durable — ${detail}. Either turn its ` +
        "append-only file on: appendonly yes with appendfsync everysec (or always), in " +
        `redis.conf, and at once with CONFIG SET appendonly yes${unknown}; ${override}.`;
    }
    case "natskv":
      return `the store is not durable — ${detail}. Either give the bucket ` +
        "file storage (delete the memory bucket: the node creates it in file storage); " +
        `${override}.`;
    default:
      return `the ${config.store} store is not durable — ${detail}; ${override}.`;
  }
}

/** `host:port` of a URL, without credentials. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "REDIS_URL";
  }
}
