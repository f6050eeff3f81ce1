/**
 * The HTTP app (Hono): health and metrics, the API, server-sent events, the dashboard, and the
 * API's OpenAPI document and reference page. Every route of the API is declared in the route
 * registry (`spec.ts`), which validates its input and documents it. Every error is rendered
 * once, by `onError` (or `notFound`: 404, or 405 with `Allow` for a known path), as
 * `application/problem+json`.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { requireToken } from "./auth.ts";
import { bodyLimit } from "./body_limit.ts";
import type { AppDeps } from "./deps.ts";
import { alertRoutes } from "./alerts.ts";
import { dashboardRoutes } from "./dashboard.ts";
import { deviceCommandRoutes } from "./device_commands.ts";
import { deviceRoutes } from "./devices.ts";
import { docsRoutes } from "./docs.ts";
import { edgeRoutes } from "./edge.ts";
import { eventRoutes, type StreamRegistry } from "./events.ts";
import { EVENTS_ROUTE } from "./events_doc.ts";
import { healthRoutes } from "./health.ts";
import { paymentRoutes } from "./payments.ts";
import { problem, renderError } from "./problem.ts";
import { qualityRoutes } from "./quality.ts";
import { sessionRoutes } from "./sessions.ts";
import { siteRoutes } from "./sites.ts";
import { ApiRegistry } from "./spec.ts";

export type { AppDeps, Readiness } from "./deps.ts";

/** The app and a way to end its long-lived streams (for a graceful shutdown). */
export interface FlotillaApp {
  readonly app: Hono;
  /** Every route of the API with its schemas: what `/openapi.json` is built from. */
  readonly api: ApiRegistry;
  /** Ends every open SSE stream. */
  closeStreams(): void;
}

/** Builds the HTTP app. */
export function createApp(deps: AppDeps): FlotillaApp {
  const app = new Hono();
  const api = new ApiRegistry();
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
  if (deps.corsOrigins !== undefined && deps.corsOrigins.length > 0) {
    app.use(
      "/api/*",
      cors({
        origin: [...deps.corsOrigins],
        allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID", "If-Match"],
        exposeHeaders: ["ETag"],
      }),
    );
  }
  if (deps.auth !== null) app.use("/api/*", requireToken(deps.auth));
  app.use(
    "/api/*",
    bodyLimit(
      maxBody,
      (c) => problem(c, 413, "payload_too_large", `request bodies are limited to ${maxBody} bytes`),
    ),
  );

  api.mount(app, "/", healthRoutes(deps));
  app.route("/", dashboardRoutes(deps));
  api.mount(app, "/", docsRoutes(deps, api));
  api.mount(app, "/api/devices", deviceRoutes(deps));
  api.mount(app, "/api/devices", deviceCommandRoutes(deps));
  app.route("/api/events", eventRoutes(deps, streams));
  api.describe("events", "Live events over server-sent events, resumable by id.", EVENTS_ROUTE);
  api.mount(app, "/api", edgeRoutes(deps));
  api.mount(app, "/api", qualityRoutes(deps));
  api.mount(app, "/api", paymentRoutes(deps));
  api.mount(app, "/api", sessionRoutes(deps));
  api.mount(app, "/api", alertRoutes(deps));
  api.mount(app, "/api", siteRoutes(deps));

  app.notFound((c) => {
    const allowed = api.allowedMethods(c.req.path);
    if (allowed.length === 0) {
      return problem(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`);
    }
    c.header("Allow", allowed.join(", "));
    return problem(
      c,
      405,
      "method_not_allowed",
      `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}`,
    );
  });
  app.onError((error, c) => renderError(error, c, deps.logger));

  return {
    app,
    api,
    closeStreams() {
      for (const close of [...streams]) close();
    },
  };
}
