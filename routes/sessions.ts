/**
 * Customer sessions, checkout, inventory and customer profiles (SPEC §3.3): /api/sessions, /api/inventory, /api/customers.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppDeps } from "./deps.ts";

/** Routes under `/api`. */
export function sessionRoutes(_deps: AppDeps): Hono {
  const routes = new Hono();
  return routes;
}
