/**
 * Payment terminals (SPEC §3.3): /api/terminals.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** Routes under `/api`. */
export function paymentRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  return routes;
}
