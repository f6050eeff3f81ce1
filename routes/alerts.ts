/**
 * Alerts (SPEC §3.4): /api/alerts.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** Routes under `/api`. */
export function alertRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  return routes;
}
