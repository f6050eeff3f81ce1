/**
 * Alerts and analytics: `GET /api/alerts` across every source (from the alert
 * index), `GET /api/alerts/:id`, and the operator's `POST /api/alerts/:id/ack` and `/clear`,
 * which go to the alert's book (its id names it) and answer once the change is durable; and
 * `GET /api/rollups`, the per-minute transaction rollups.
 *
 * @module
 */
import { z } from "zod";
import {
  type Alert,
  ALERT_ID,
  ALERT_TYPE,
  alertBook,
  AlertClearedError,
  alertIndex,
  type AlertIndexView,
  type AlertQuery,
  type AlertStatus,
  parseAlertId,
  queryAlerts,
  SOURCE,
  STATUSES,
  txRollup,
} from "../actors/alerts/mod.ts";
import { ROLLUP_ID, SEVERITIES } from "../actors/contracts.ts";
import { ENTITY_ID } from "../actors/shared/mod.ts";
import { siteAlerts } from "../actors/sites/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { pageOf, queryInt } from "./params.ts";
import { ApiRoutes } from "./spec.ts";
import { ALERT, CLEARED_LONG_AGO, ROLLUPS } from "./responses/alerts.ts";
import { SENT_DOWN } from "./responses/sites.ts";
import { sentDown, siteOfAlert } from "./sites.ts";

const params = z.strictObject({
  id: z.string().regex(
    ALERT_ID,
    "alert ids look like <source type>.<source id>.<n>, e.g. device.robot-1.3",
  ).describe("<source type>.<source id>.<n>, e.g. device.robot-1.3"),
});

const severity = z.enum(SEVERITIES);

const alertQuery = z.strictObject({
  device: z.string().regex(ENTITY_ID, "one device id: 1-128 letters, digits, _ or -").optional()
    .describe("alerts about this entity: robot-1 matches device/robot-1 (and terminal/robot-1)"),
  source: z.array(
    z.string().regex(SOURCE, "sources look like <type>/<id>, e.g. device/robot-1"),
  ).optional().describe("exact sources, e.g. device/robot-1"),
  status: z.array(z.enum(["open", ...STATUSES])).optional().describe(
    "open is raised and acknowledged",
  ),
  severity: z.array(severity).optional(),
  minSeverity: severity.optional().describe("this severity or higher"),
  type: z.array(z.string().regex(ALERT_TYPE, "an alert type, e.g. device_offline")).optional(),
  limit: queryInt(1, 1000, 100, "page size, 1-1000"),
  after: z.string().regex(/^\d{1,15}$/, "the `next` of the previous page (digits)").optional()
    .describe("the `next` of the previous page"),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER, 0, "alerts to skip (`after` takes precedence)"),
});

/** `GET /api/alerts`: the list shape of every listing, plus the number of matches. */
const ALERT_PAGE = pageOf(ALERT).extend({
  total: z.number().int().min(0).describe("alerts matching the filters, on every page"),
  alerts: z.array(ALERT).meta({ deprecated: true }).describe(
    "the same as items; kept for one release, use items",
  ),
});

/**
 * The alert index; at a hub, with the alerts of every site it follows (each with `site` and
 * `syncedAt`), from their replicas.
 */
async function alertsView(deps: AppDeps): Promise<AlertIndexView> {
  const index = (await alertIndex(deps.system)).view;
  const sites = deps.sites?.();
  if (sites?.role !== "hub" || sites.sites.length === 0) return index;
  const byId = new Map(index.byId);
  const replicas = await Promise.all(
    sites.sites.map((site) => deps.system.ref(siteAlerts, site).ask("alerts")),
  );
  for (const alert of replicas.flat()) byId.set(String(alert.id), alert as unknown as Alert);
  return { byId, cleared: index.cleared };
}

/** Routes under `/api`. */
export function alertRoutes(deps: AppDeps): ApiRoutes {
  const { system } = deps;
  const routes = new ApiRoutes(
    "alerts",
    "Alerts across every source and their lifecycle (raised, acknowledged, cleared); rollups.",
  );

  routes.add({
    method: "get",
    path: "/alerts",
    summary: "Alerts across every source",
    description: "Newest raised first. List filters take repeated or comma-separated values.",
    query: alertQuery,
    responses: {
      200: {
        description: "`{items, next, total}`: pass `next` as `?after=` for the next page",
        schema: ALERT_PAGE,
      },
    },
  }, async (c, { query }) => {
    const statuses = query.status?.flatMap((s): AlertStatus[] =>
      s === "open" ? ["raised", "acknowledged"] : [s]
    );
    const filter: AlertQuery = {
      ...(query.device === undefined ? {} : { device: query.device }),
      ...(query.source === undefined ? {} : { source: query.source }),
      ...(statuses === undefined ? {} : { status: statuses }),
      ...(query.severity === undefined ? {} : { severity: query.severity }),
      ...(query.minSeverity === undefined ? {} : { minSeverity: query.minSeverity }),
      ...(query.type === undefined ? {} : { type: query.type }),
      limit: query.limit,
      offset: query.after === undefined ? query.offset : Number(query.after),
    };
    const { alerts, total, next } = queryAlerts(await alertsView(deps), filter);
    return c.json({ items: alerts, next: next === null ? null : String(next), total, alerts });
  });

  routes.add({
    method: "get",
    path: "/alerts/:id",
    summary: "An alert",
    params,
    responses: {
      200: { description: "the alert", schema: ALERT },
      404: { description: "no such alert" },
    },
  }, async (c, { params: { id } }) => {
    const alert = (await alertsView(deps)).byId.get(id);
    if (alert === undefined) throw new NotFoundError(`no alert ${id}`);
    return c.json(alert);
  });

  routes.add({
    method: "post",
    path: "/alerts/:id/ack",
    summary: "Acknowledge an alert",
    description: "Answers once the change is durable. No body.",
    params,
    responses: {
      200: { description: "the alert", schema: ALERT },
      202: { description: "the alert is a site's: sent down to it", schema: SENT_DOWN },
      404: { description: "no such alert" },
      409: { description: "`alert_cleared`: the alert is already cleared" },
    },
  }, async (c, { params: { id } }) => {
    const source = parseAlertId(id)!.source;
    const site = await siteOfAlert(deps, id);
    if (site !== null) return sentDown(c, deps, site, "alertAck", source, { id });
    const r = await system.ref(alertBook, source).ask("ack", { id });
    if (r.result === "not_found") throw new NotFoundError(`no alert ${id}`);
    if (r.result === "cleared") throw new AlertClearedError(id);
    return c.json(r.alert);
  });

  routes.add({
    method: "post",
    path: "/alerts/:id/clear",
    summary: "Clear an alert",
    description:
      "Answers once the change is durable; clearing a cleared alert is no error. No body.",
    params,
    responses: {
      200: {
        description: "the alert (only `{id, source, status}` for one cleared so long ago that " +
          "it is no longer kept)",
        schema: z.union([ALERT, CLEARED_LONG_AGO]),
      },
      202: { description: "the alert is a site's: sent down to it", schema: SENT_DOWN },
      404: { description: "no such alert" },
    },
  }, async (c, { params: { id } }) => {
    const source = parseAlertId(id)!.source;
    const site = await siteOfAlert(deps, id);
    if (site !== null) return sentDown(c, deps, site, "alertClear", source, { id });
    const r = await system.ref(alertBook, source).ask("clear", { id });
    if (r.result === "not_found") throw new NotFoundError(`no alert ${id}`);
    if (r.alert !== null) return c.json(r.alert);
    // Cleared long ago: the book no longer keeps it, the index may.
    const kept = (await alertIndex(system)).view.byId.get(id);
    return c.json(kept ?? { id, source, status: "cleared" as const });
  });

  routes.add({
    method: "get",
    path: "/rollups",
    summary: "Per-minute transaction rollups",
    description: "The latest closed minutes, the open ones (provisional), late and dropped counts.",
    responses: { 200: { description: "the rollups", schema: ROLLUPS } },
  }, async (c) => {
    return c.json(await system.ref(txRollup, ROLLUP_ID).ask("view"));
  });

  return routes;
}
