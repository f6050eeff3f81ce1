/**
 * Operations routes: liveness, readiness and Prometheus metrics.
 *
 * @module
 */
import { z } from "zod";
import type { AppDeps } from "./deps.ts";
import { ApiRoutes } from "./spec.ts";

/** `GET /healthz`, `GET /readyz`, `GET /metrics`. */
export function healthRoutes(deps: AppDeps): ApiRoutes {
  const routes = new ApiRoutes("operations", "Liveness, readiness and Prometheus metrics.");

  // The process is up and serving: nothing else is checked.
  routes.add({
    method: "get",
    path: "/healthz",
    summary: "Liveness",
    description: "200 while the process serves; nothing else is checked.",
    responses: { 200: { description: "up", schema: z.object({ status: z.literal("ok") }) } },
  }, (c) => c.json({ status: "ok" }));

  // Dependencies reachable: 503 with the failing checks otherwise.
  const readiness = z.object({
    status: z.enum(["ready", "not_ready"]),
    checks: z.record(z.string(), z.string()).describe(
      'each dependency: "ok" or what is wrong; "durability" (what the store keeps through a ' +
        'crash) and "partitions" ("6 of 16 owned here, 6 wanted; 2 catching up") describe',
    ),
  });
  routes.add({
    method: "get",
    path: "/readyz",
    summary: "Readiness",
    description: "The store answers; in cluster mode, NATS is connected and the node owns its " +
      "share of the partitions (rendezvous hashing over the live nodes) with their consumers " +
      "caught up. 503 until then, e.g. while a node joins.",
    responses: {
      200: { description: "ready", schema: readiness },
      503: { description: "not ready: the failing checks", schema: readiness },
    },
  }, async (c) => {
    const { ready, checks } = await deps.readiness();
    return c.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });

  routes.add({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    responses: {
      200: {
        description: "the Prometheus text exposition format, version 0.0.4",
        contentType: "text/plain",
      },
    },
  }, (c) => c.body(deps.metrics.render(), 200, { "Content-Type": deps.metrics.contentType }));

  return routes;
}
