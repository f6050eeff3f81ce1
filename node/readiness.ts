/**
 * A node's readiness check (`GET /readyz`): is its store answering, and in cluster mode, is
 * NATS connected and does the node own its share of the partitions, caught up. It also says
 * what the store's durability check found (informational: a volatile store allowed by
 * `FLOTILLA_ALLOW_VOLATILE_STORE=1` is reported there, not failed).
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
    readonly transport: Pick<NatsTransport, "readiness">;
  } | null;
}

/**
 * The readiness check of a node: ready when the store answers within {@link STORE_PROBE_MS}
 * and, in cluster mode, NATS is connected and the node owns its share of the partitions with
 * their consumers caught up (`runtime/nats/readiness.ts`; `checks.partitions` says how far it
 * is, e.g. `"4 of 16 owned here, 6 wanted; 2 to take"`). Embedded mode: ready when the store
 * answers. `checks.durability` reports the store's durability and never fails the check.
 */
export function readinessCheck(
  { store, durability = null, cluster }: ReadinessSources,
): () => Promise<Readiness> {
  return async () => {
    const checks: Record<string, string> = {};
    let ready = true;
    try {
      await withDeadline(store.get("health/probe"), STORE_PROBE_MS);
      checks.store = "ok";
    } catch (error) {
      checks.store = describeError(error);
      ready = false;
    }
    if (durability !== null) checks.durability = durability;
    if (cluster !== null) {
      const closed = cluster.nats.nc.isClosed();
      checks.nats = closed ? "closed" : "ok";
      const partitions = cluster.transport.readiness();
      checks.partitions = partitions.detail;
      ready &&= !closed && partitions.ready;
    }
    return { ready, checks };
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
