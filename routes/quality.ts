/**
 * Data quality reports (SPEC §3.1): /api/quality.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** Routes under `/api`. */
export function qualityRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  return routes;
}
