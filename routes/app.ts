/**
 * The HTTP app (Hono): health and metrics, the device API and server-sent events. Every
 * error is rendered once, by `onError`, as `application/problem+json`.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppDeps } from "./deps.ts";
import { alertRoutes } from "./alerts.ts";
import { deviceRoutes } from "./devices.ts";
import { edgeRoutes } from "./edge.ts";
import { eventRoutes, type StreamRegistry } from "./events.ts";
import { healthRoutes } from "./health.ts";
import { paymentRoutes } from "./payments.ts";
import { problem, renderError } from "./problem.ts";
import { qualityRoutes } from "./quality.ts";
import { sessionRoutes } from "./sessions.ts";

export type { AppDeps, Readiness } from "./deps.ts";

/** The app and a way to end its long-lived streams (for a graceful shutdown). */
export interface FlotillaApp {
  readonly app: Hono;
  /** Ends every open SSE stream. */
  closeStreams(): void;
}

/** Builds the HTTP app. */
export function createApp(deps: AppDeps): FlotillaApp {
  const app = new Hono();
  const streams: StreamRegistry = new Set();
  const maxBody = deps.bodyLimit ?? 65_536;
  const requests = deps.metrics.counter({
    name: "flotilla_http_requests_total",
    help: "HTTP requests by method, route and status.",
    labels: ["method", "route", "status"],
  });
  const seconds = deps.metrics.histogram({
    name: "flotilla_http_request_duration_seconds",
    help: "HTTP request handling time by route (until the response starts).",
    labels: ["route"],
  });

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath || "unmatched";
    requests.labels(c.req.method, route, String(c.res.status)).inc();
    seconds.labels(route).observe((performance.now() - started) / 1000);
  });
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: maxBody,
      onError: (c) =>
        problem(c, 413, "payload_too_large", `request bodies are limited to ${maxBody} bytes`),
    }),
  );

  app.route("/", healthRoutes(deps));
  app.route("/api/devices", deviceRoutes(deps));
  app.route("/api/events", eventRoutes(deps, streams));
  app.route("/api", edgeRoutes(deps));
  app.route("/api", qualityRoutes(deps));
  app.route("/api", paymentRoutes(deps));
  app.route("/api", sessionRoutes(deps));
  app.route("/api", alertRoutes(deps));

  app.notFound((c) => problem(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => renderError(error, c, deps.logger));

  return {
    app,
    closeStreams() {
      for (const close of [...streams]) close();
    },
  };
}
