/**
 * Opens the store a node is configured with, and checks it is durable (see durability.ts).
 *
 * @module
 */
import { join } from "node:path";
import { DenoKvStore, type Logger, MemoryStore, type StateStore } from "../runtime/mod.ts";
import type { NatsClients } from "../runtime/nats/mod.ts";
import { NatsKvStore } from "../runtime/stores/natskv.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import type { NodeConfig } from "./config.ts";
import { checkDurability } from "./durability.ts";

/** The Deno KV file of a node on the `denokv` store, else `null`. */
export function storePath(config: NodeConfig): string | null {
  return config.store === "denokv" ? join(config.dataDir, "flotilla.kv") : null;
}

/** A store a node opened, with what its durability check found. */
export interface OpenedStore {
  readonly store: StateStore;
  /** What the store said of its durability, as `/readyz` shows it. */
  readonly durability: string;
}

/**
 * Opens (or connects to) `config.store` and checks its durability. `nats` is the cluster's
 * connection, which the `natskv` store needs (its configuration guarantees cluster mode). A
 * Redis connection is named `flotilla-<nodeId>` (`CLIENT LIST`, `MONITOR`).
 * @throws {ConfigError} when the store is volatile and `FLOTILLA_ALLOW_VOLATILE_STORE` is not
 *   set (the store is closed again)
 */
export async function openStore(
  config: NodeConfig,
  nats: NatsClients | null,
  logger: Logger,
): Promise<OpenedStore> {
  const store = await open(config, nats);
  try {
    return { store, durability: await checkDurability(store, config, logger) };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

async function open(config: NodeConfig, nats: NatsClients | null): Promise<StateStore> {
  switch (config.store) {
    case "denokv":
      return await DenoKvStore.open(storePath(config)!);
    case "memory":
      return new MemoryStore();
    case "redis":
      return await RedisStore.connect(config.redisUrl!, {
        connectionName: `flotilla-${config.nodeId}`,
      });
    case "natskv":
      return await NatsKvStore.connect(nats!.nc, { replicas: config.streamReplicas });
  }
}
