/**
 * A node's readiness check (`GET /readyz`): is its store answering, and in cluster mode, is
 * NATS connected, and how many partitions does this node own.
 *
 * @module
 */
import type { Readiness } from "../routes/app.ts";
import { describeError, type StateStore } from "../runtime/mod.ts";
import type { NatsClients, NatsTransport } from "../runtime/nats/mod.ts";

/** How long the store may take to answer the probe before the node reports it not ready. */
export const STORE_PROBE_MS = 2000;

/** What {@link readinessCheck} looks at. */
export interface ReadinessSources {
  readonly store: StateStore;
  /** What the store's durability check found at start; `null` when it was not checked. */
  readonly durability?: string | null;
  /** Cluster mode only. */
  readonly cluster: {
    readonly nats: NatsClients;
    readonly transport: NatsTransport;
    readonly partitions: number;
  } | null;
}

/**
 * The readiness check of a node: ready when the store answers within {@link STORE_PROBE_MS}
 * and (cluster mode) NATS is connected; the partitions this node owns are reported, not
 * counted.
 */
export function readinessCheck(
  { store, durability = null, cluster }: ReadinessSources,
): () => Promise<Readiness> {
  return async () => {
    const checks: Record<string, string> = {};
    try {
      await withDeadline(store.get("health/probe"), STORE_PROBE_MS);
      checks.store = "ok";
    } catch (error) {
      checks.store = describeError(error);
    }
    if (durability !== null) checks.durability = durability;
    if (cluster !== null) {
      checks.nats = cluster.nats.nc.isClosed() ? "closed" : "ok";
      checks.partitions =
        `${cluster.transport.placement.owned().length} of ${cluster.partitions} owned here`;
    }
    return {
      ready: Object.entries(checks).every(([k, v]) =>
        k === "partitions" || k === "durability" || v === "ok"
      ),
      checks,
    };
  };
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
