/**
 * Data quality reports: /api/quality. A stream is one device's telemetry; its id is
 * the device id.
 *
 * @module
 */
import { z } from "zod";
import { device, DEVICE_ID } from "../actors/devices/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { deviceId, pageAfter, pageLimit } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { QUALITY_PAGE, QUALITY_REPORT } from "./responses/devices.ts";

const query = z.strictObject({
  stream: z.string().regex(
    DEVICE_ID,
    "a stream is a device id: 1-128 letters, digits, _ or -",
  ).optional().describe("a device id: that stream's full report"),
  limit: pageLimit(50),
  after: pageAfter(deviceId),
});

/** Routes under `/api`. */
export function qualityRoutes(deps: AppDeps): ApiRoutes {
  const { system } = deps;
  const routes = new ApiRoutes("quality", "Data quality of each device's telemetry stream.");

  routes.add({
    method: "get",
    path: "/quality",
    summary: "Data quality reports",
    description:
      "With `?stream=<device id>`: that stream's report (score, checks failed by type, recent " +
      "failures). Without: every stream's score, a page at a time (`limit`, `after`).",
    query,
    responses: {
      200: {
        description: "a report, or `{items: [{stream, score, records, rejected}], next}`",
        schema: z.union([QUALITY_REPORT, QUALITY_PAGE]),
      },
      404: { description: "no such stream" },
    },
  }, async (c, { query: { stream, limit, after } }) => {
    if (stream !== undefined) {
      const report = await system.ref(device, stream).ask("quality");
      if (report === null) {
        throw new NotFoundError(`no quality data for stream ${stream}: no such device`);
      }
      return c.json(report);
    }
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
