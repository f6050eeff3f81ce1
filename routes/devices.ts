/**
 * Device routes: registration, the twin, desired state (versioned: `ETag` and `If-Match`),
 * telemetry ingest and history, under `/api/devices`. Commands are `device_commands.ts`'s.
 *
 * @module
 */
import { z } from "zod";
import {
  DESIRED_PATCH_SCHEMA,
  device,
  deviceHistory,
  type DeviceView,
  mergeHistory,
  RecordRejectedError,
  REGISTRATION_SCHEMA,
  TELEMETRY_SCHEMA,
  telemetryRecord,
} from "../actors/devices/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import {
  deviceId,
  idParams,
  instant,
  pageAfter,
  pageLimit,
  queryInt,
  sensorName,
} from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { SENT_DOWN } from "./responses/sites.ts";
import {
  NO_SUCH_SITE,
  sentDown,
  siteDeviceIds,
  siteOfWrite,
  siteQuery,
  siteReplica,
  type SiteView,
} from "./sites.ts";
import {
  DESIRED_RESULT,
  DEVICE,
  DEVICE_PAGE,
  HISTORY,
  TELEMETRY_RECEIPT,
} from "./responses/devices.ts";

/** `If-Match`: `*`, or desired-state versions as `ETag`s (`"3"`, `"3", "4"`). */
const IF_MATCH = /^(\*|"\d{1,15}"(\s*,\s*"\d{1,15}")*)$/;

const desiredHeaders = z.strictObject({
  "If-Match": z.string().regex(IF_MATCH, 'must be * or ETags of the twin, e.g. "3"').optional()
    .describe(
      "apply only if the desired state is still at this version (the twin's ETag); 412 if not",
    ),
});

/** The versions an `If-Match` value allows; `undefined` for `*` or none. */
function ifMatchVersions(value: string | undefined): number[] | undefined {
  if (value === undefined || value.trim() === "*") return undefined;
  return [...value.matchAll(/"(\d+)"/g)].map((m) => Number(m[1]));
}

/** The `ETag` of a desired-state version. */
function etagOf(version: number): string {
  return `"${version}"`;
}

const ETAG = {
  ETag: { description: 'the desired state\'s version, quoted (e.g. "3"): send it as If-Match' },
};

/** Most history items in one answer. */
export const MAX_HISTORY = 10_000;

const params = idParams(deviceId);

const NOT_FOUND = { description: "the device was never registered and never sent telemetry" };

const historyQuery = z.strictObject({
  sensor: sensorName.optional().describe("one sensor; all when absent"),
  from: instant.optional().describe("from this instant, inclusive (epoch ms or ISO-8601)"),
  to: instant.optional().describe("until this instant, inclusive (epoch ms or ISO-8601)"),
  limit: queryInt(1, MAX_HISTORY, 1000, `most items, 1-${MAX_HISTORY}`),
});

/** A site device's entry in the device list: the summary's fields of its twin, and whose. */
function summaryOf(twin: SiteView<DeviceView>) {
  const { id, type, location, status, lastSeen, messageCount, battery, rssi, reported } = twin;
  return {
    id,
    type,
    location,
    status,
    lastSeen,
    messageCount,
    battery,
    rssi,
    reported,
    site: twin.site,
    syncedAt: twin.syncedAt,
  };
}

/** The device routes. */
export function deviceRoutes(deps: AppDeps): ApiRoutes {
  const { system, clock } = deps;
  const routes = new ApiRoutes(
    "devices",
    "Device twins: registration, reported and desired state, commands, telemetry, history.",
  );

  routes.add({
    method: "get",
    path: "/",
    summary: "A page of devices",
    description: "Ascending by id; pass `next` as `?after=` for the next page.",
    query: z.strictObject({ limit: pageLimit(50), after: pageAfter(deviceId) }),
    responses: { 200: { description: "`{items, next}`: device summaries", schema: DEVICE_PAGE } },
  }, async (c, { query: { limit, after } }) => {
    const own = await system.list(device.name, { after, limit });
    // At a hub, the sites' devices too (their replicas), in the same order by id.
    const atSites = await siteDeviceIds(deps, { after, limit });
    const ids = [...new Set([...own, ...atSites])].sort().slice(0, limit);
    const fromSite = new Set(atSites);
    const summaries = await Promise.all(ids.map(async (id) => {
      const replica = fromSite.has(id) ? await siteReplica<DeviceView>(deps, "device", id) : null;
      return replica === null ? system.ref(device, id).ask("summary") : summaryOf(replica);
    }));
    return c.json({
      items: summaries.filter((s) => s !== null),
      next: ids.length === limit ? ids[ids.length - 1]! : null,
    });
  });

  routes.add({
    method: "put",
    path: "/:id",
    summary: "Register or update a device",
    description: "`heartbeatTimeout` is milliseconds or an ISO-8601 duration (1 s to 30 days).",
    params,
    query: siteQuery,
    body: REGISTRATION_SCHEMA,
    example: {
      type: "robot",
      location: { lat: 37.5665, lon: 126.978 },
      sensors: ["coordX", "coordY", "motorRPM"],
      thresholds: { motorRPM: { max: 3000 } },
      heartbeatTimeout: "PT90S",
    },
    responses: {
      200: { description: "updated: the twin", schema: DEVICE },
      201: { description: "registered: the twin", schema: DEVICE },
      202: { description: "the device lives at a site: sent down to it", schema: SENT_DOWN },
      404: NO_SUCH_SITE,
    },
  }, async (c, { params: { id }, query, body }) => {
    const site = await siteOfWrite(deps, "device", id, query.site);
    if (site !== null) return sentDown(c, deps, site, "register", id, body);
    const { created, twin } = await system.ref(device, id).ask("register", body);
    return c.json(twin, created ? 201 : 200);
  });

  routes.add({
    method: "get",
    path: "/:id",
    summary: "A device's twin",
    description:
      "Reported and desired state, the delta, status, last seen, analytics per sensor and the " +
      "data quality score.",
    params,
    responses: { 200: { description: "the twin", schema: DEVICE, headers: ETAG }, 404: NOT_FOUND },
  }, async (c, { params: { id } }) => {
    const replica = await siteReplica<DeviceView>(deps, "device", id);
    if (replica !== null) {
      return c.json(replica, 200, { ETag: etagOf(replica.desiredVersion) });
    }
    const twin = await system.ref(device, id).ask("twin");
    if (twin === null) {
      throw new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
    }
    return c.json(twin, 200, { ETag: etagOf(twin.desiredVersion) });
  });

  routes.add({
    method: "patch",
    path: "/:id/desired",
    summary: "Change the desired state",
    description:
      "A JSON merge patch: `null` removes a key. The version goes up by one; with `If-Match` " +
      "the change applies only to that version (412 otherwise). An online device gets the new " +
      "state at once; an offline one gets the final state, once, when it is back.",
    params,
    headers: desiredHeaders,
    body: DESIRED_PATCH_SCHEMA,
    example: { motorRPM: 1200, mode: "eco", led: null },
    responses: {
      200: { description: "the new desired state", schema: DESIRED_RESULT, headers: ETAG },
      202: { description: "the device lives at a site: sent down to it", schema: SENT_DOWN },
      404: NOT_FOUND,
      412: { description: "`precondition_failed`: the desired state is not at that version" },
    },
  }, async (c, { params: { id }, headers, body }) => {
    const ifMatch = ifMatchVersions(headers["If-Match"]);
    const site = await siteOfWrite(deps, "device", id);
    if (site !== null) {
      const change = ifMatch === undefined ? { patch: body } : { patch: body, ifMatch };
      return sentDown(c, deps, site, "desired", id, change);
    }
    const reply = await system.ref(device, id).ask(
      "desired",
      ifMatch === undefined ? { patch: body } : { patch: body, ifMatch },
    );
    return c.json(reply, 200, { ETag: etagOf(reply.version) });
  });

  routes.add({
    method: "post",
    path: "/:id/telemetry",
    summary: "Ingest telemetry",
    description:
      "202 once the twin's new state is durable. A well-formed record that the device's data " +
      "quality schema rejects is a 422 (and counted in the quality report).",
    params,
    body: TELEMETRY_SCHEMA,
    example: { ts: "2026-05-01T02:00:00Z", readings: { temperature: 21.5, coordX: 3.2 } },
    responses: {
      202: {
        description: "applied",
        schema: TELEMETRY_RECEIPT,
      },
      422: { description: "`record_rejected`: the data quality schema rejected the record" },
    },
  }, async (c, { params: { id }, body }) => {
    const record = telemetryRecord(body, clock.now());
    const result = await system.ref(device, id).ask("telemetry", record);
    if ("rejected" in result) throw new RecordRejectedError(id, result.rejected);
    return c.json(result, 202);
  });

  routes.add({
    method: "get",
    path: "/:id/history",
    summary: "Readings over a time range",
    description: "Oldest first; `truncated` says the limit cut the answer short. A range whose " +
      "`from` is after its `to` holds nothing.",
    params,
    query: historyQuery,
    responses: {
      200: { description: "the readings, oldest first", schema: HISTORY },
      404: NOT_FOUND,
    },
  }, async (c, { params: { id }, query: q }) => {
    const from = q.from ?? 0;
    const to = q.to ?? 8.64e15;
    const query = q.sensor === undefined ? { from, to } : { sensor: q.sensor, from, to };
    const plan = await system.ref(device, id).ask("historyPlan", query);
    if (plan === null) {
      throw new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
    }
    const chunks = await Promise.all(
      plan.chunks.map((chunk, i) =>
        system.ref(deviceHistory, chunk).ask("read", { ...query, seq: plan.seqs[i]! })
      ),
    );
    const { items, truncated } = mergeHistory(plan.items.concat(...chunks), q.limit);
    return c.json({ device: id, sensor: q.sensor ?? null, from, to, items, truncated });
  });

  return routes;
}
