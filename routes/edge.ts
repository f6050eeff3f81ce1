/**
 * Edge nodes and routing (SPEC §3.2): /api/edge-nodes, /api/route.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** Routes under `/api`. */
export function edgeRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  return routes;
}
