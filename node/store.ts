/**
 * Opens the store a node is configured with.
 *
 * @module
 */
import { join } from "node:path";
import { DenoKvStore, MemoryStore, type StateStore } from "../runtime/mod.ts";
import type { NatsClients } from "../runtime/nats/mod.ts";
import { NatsKvStore } from "../runtime/stores/natskv.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import type { NodeConfig } from "./config.ts";

/** The Deno KV file of a node on the `denokv` store, else `null`. */
export function storePath(config: NodeConfig): string | null {
  return config.store === "denokv" ? join(config.dataDir, "flotilla.kv") : null;
}

/**
 * Opens (or connects to) `config.store`. `nats` is the cluster's connection, which the
 * `natskv` store needs (its configuration guarantees cluster mode).
 */
export async function openStore(
  config: NodeConfig,
  nats: NatsClients | null,
): Promise<StateStore> {
  switch (config.store) {
    case "denokv":
      return await DenoKvStore.open(storePath(config)!);
    case "memory":
      return new MemoryStore();
    case "redis":
      return await RedisStore.connect(config.redisUrl!);
    case "natskv":
      return await NatsKvStore.connect(nats!.nc, { replicas: config.streamReplicas });
  }
}
