/**
 * Data quality reports (SPEC §3.1): /api/quality. A stream is one device's telemetry; its id is
 * the device id.
 *
 * @module
 */
import { Hono } from "hono";
import { checkDeviceId, device } from "../actors/mod.ts";
import { NotFoundError, ValidationError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { afterParam, intParam, MAX_PAGE } from "./devices.ts";

/** Routes under `/api`. */
export function qualityRoutes(deps: AppDeps): Hono {
  const { system } = deps;
  const routes = new Hono();

  // ?stream=<device id>: that stream's report. Without: every stream's score, a page at a time.
  routes.get("/quality", async (c) => {
    const stream = c.req.query("stream");
    if (stream !== undefined) {
      let id: string;
      try {
        id = checkDeviceId(stream);
      } catch {
        throw new ValidationError("invalid stream", [{
          path: "stream",
          message: "a stream is a device id: 1-128 letters, digits, _ or -",
        }]);
      }
      const report = await system.ref(device, id).ask("quality");
      if (report === null) {
        throw new NotFoundError(`no quality data for stream ${id}: no such device`);
      }
      return c.json(report);
    }
    const limit = intParam(c, "limit", 50, 1, MAX_PAGE);
    const after = afterParam(c, checkDeviceId);
    const ids = await system.list(device.name, { after, limit });
    const reports = await Promise.all(ids.map((id) => system.ref(device, id).ask("quality")));
    return c.json({
      items: reports.filter((r) => r !== null).map((r) => ({
        stream: r.stream,
        score: r.score,
        records: r.records,
        rejected: r.rejected,
      })),
      next: ids.length === limit ? ids[ids.length - 1]! : null,
    });
  });

  return routes;
}
