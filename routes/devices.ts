/**
 * Device routes: telemetry ingest and the twin.
 *
 * @module
 */
import { Hono } from "hono";
import { checkDeviceId, device, parseTelemetry } from "../actors/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { readJson } from "./body.ts";

/** `POST /api/devices/:id/telemetry`, `GET /api/devices/:id`. */
export function deviceRoutes(deps: AppDeps): Hono {
  const { system, clock } = deps;
  const routes = new Hono();

  // 202 once the twin's new state is durable; 400 (nothing changed) for invalid input.
  routes.post("/:id/telemetry", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const record = parseTelemetry(await readJson(c), clock.now());
    const result = await system.ref(device, id).ask("telemetry", record);
    return c.json(result, 202);
  });

  routes.get("/:id", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const twin = await system.ref(device, id).ask("twin");
    if (twin === null) throw new NotFoundError(`device ${id} has never sent telemetry`);
    return c.json(twin);
  });

  return routes;
}
