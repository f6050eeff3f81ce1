/**
 * Operations routes: liveness, readiness and Prometheus metrics.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** `GET /healthz`, `GET /readyz`, `GET /metrics`. */
export function healthRoutes(deps: AppDeps): Hono {
  const routes = new Hono();

  // The process is up and serving: nothing else is checked.
  routes.get("/healthz", (c) => c.json({ status: "ok" }));

  // Dependencies reachable: 503 with the failing checks otherwise.
  routes.get("/readyz", async (c) => {
    const { ready, checks } = await deps.readiness();
    return c.json({ status: ready ? "ready" : "not_ready", checks }, ready ? 200 : 503);
  });

  routes.get(
    "/metrics",
    (c) => c.body(deps.metrics.render(), 200, { "Content-Type": deps.metrics.contentType }),
  );

  return routes;
}
