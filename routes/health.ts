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
    checks: z.record(z.string(), z.string()).describe('each dependency: "ok" or what is wrong'),
  });
  routes.add({
    method: "get",
    path: "/readyz",
    summary: "Readiness",
    description: "The store (and, in cluster mode, NATS and partition ownership) answers.",
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
