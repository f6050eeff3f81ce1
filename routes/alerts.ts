/**
 * Alerts and analytics (SPEC §3.4): `GET /api/alerts` across every source (from the alert
 * index), `GET /api/alerts/:id`, and the operator's `POST /api/alerts/:id/ack` and `/clear`,
 * which go to the alert's book (its id names it) and answer once the change is durable; and
 * `GET /api/rollups`, the per-minute transaction rollups.
 *
 * @module
 */
import { Hono } from "hono";
import {
  ALERT_TYPE,
  AlertClearedError,
  alertIndex,
  type AlertQuery,
  type AlertStatus,
  isSeverity,
  type OperatorResult,
  parseAlertId,
  queryAlerts,
  type RollupView,
  SOURCE,
  STATUSES,
} from "../actors/alerts/mod.ts";
import {
  ALERT_BOOK,
  ROLLUP_ID,
  SEVERITIES,
  type Severity,
  TRANSACTION_ROLLUP,
} from "../actors/contracts.ts";
import { ENTITY_ID } from "../actors/alerts/validation.ts";
import { type FieldIssue, NotFoundError, ValidationError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";

const PARAMS = ["device", "source", "status", "severity", "minSeverity", "type", "limit", "offset"];

/** Routes under `/api`. */
export function alertRoutes(deps: AppDeps): Hono {
  const { system } = deps;
  const routes = new Hono();

  routes.get("/alerts", async (c) => {
    const query = parseQuery(c.req.queries());
    const index = await alertIndex(system);
    return c.json(queryAlerts(index.view, query));
  });

  routes.get("/alerts/:id", async (c) => {
    const id = checkAlertId(c.req.param("id"));
    const alert = (await alertIndex(system)).view.byId.get(id.id);
    if (alert === undefined) throw new NotFoundError(`no alert ${id.id}`);
    return c.json(alert);
  });

  routes.post("/alerts/:id/ack", async (c) => {
    const { id, source } = checkAlertId(c.req.param("id"));
    const r = await system.ref(ALERT_BOOK, source).ask("ack", { id }) as OperatorResult;
    if (r.result === "not_found") throw new NotFoundError(`no alert ${id}`);
    if (r.result === "cleared") throw new AlertClearedError(id);
    return c.json(r.alert);
  });

  routes.post("/alerts/:id/clear", async (c) => {
    const { id, source } = checkAlertId(c.req.param("id"));
    const r = await system.ref(ALERT_BOOK, source).ask("clear", { id }) as OperatorResult;
    if (r.result === "not_found") throw new NotFoundError(`no alert ${id}`);
    if (r.alert !== null) return c.json(r.alert);
    // Cleared long ago: the book no longer keeps it, the index may.
    const kept = (await alertIndex(system)).view.byId.get(id);
    return c.json(kept ?? { id, source, status: "cleared" as AlertStatus });
  });

  // The latest closed minutes, the open ones (provisional), and late/dropped counts.
  routes.get("/rollups", async (c) => {
    return c.json(await system.ref(TRANSACTION_ROLLUP, ROLLUP_ID).ask("view") as RollupView);
  });

  return routes;
}

function checkAlertId(id: string): { id: string; source: string } {
  const parsed = parseAlertId(id);
  if (parsed === null) {
    throw new ValidationError("invalid alert id", [{
      path: "id",
      message: "alert ids look like <source type>.<source id>.<n>, e.g. device.robot-1.3",
    }]);
  }
  return { id, source: parsed.source };
}

/** Parses the list filters; comma-separated values and repeated parameters both work. */
function parseQuery(params: Record<string, string[]>): AlertQuery {
  const issues: FieldIssue[] = [];
  const values = (name: string): string[] | undefined => {
    const raw = params[name];
    if (raw === undefined) return undefined;
    return raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  };
  const check = (name: string, ok: (v: string) => boolean, message: string) => {
    const list = values(name);
    const bad = list?.find((v) => !ok(v));
    if (bad !== undefined) {
      issues.push({ path: name, message: `${JSON.stringify(bad)}: ${message}` });
    }
    return list;
  };
  for (const name of Object.keys(params)) {
    if (!PARAMS.includes(name)) {
      issues.push({ path: name, message: `unknown parameter; use ${PARAMS.join(", ")}` });
    }
  }
  const device = check("device", (v) => ENTITY_ID.test(v), "1-128 letters, digits, _ or -");
  const source = check("source", (v) => SOURCE.test(v), "sources look like <type>/<id>");
  const status = check(
    "status",
    (v) => v === "open" || (STATUSES as readonly string[]).includes(v),
    `one of open, ${STATUSES.join(", ")}`,
  );
  const severity = check("severity", isSeverity, `one of ${SEVERITIES.join(", ")}`);
  const minSeverity = check("minSeverity", isSeverity, `one of ${SEVERITIES.join(", ")}`);
  const type = check("type", (v) => ALERT_TYPE.test(v), "an alert type, e.g. device_offline");
  const integer = (name: string, min: number, max: number, fallback: number) => {
    const list = values(name);
    if (list === undefined || list.length === 0) return fallback;
    const n = Number(list[0]);
    if (list.length > 1 || !Number.isInteger(n) || n < min || n > max) {
      issues.push({ path: name, message: `a whole number ${min}-${max}` });
      return fallback;
    }
    return n;
  };
  const limit = integer("limit", 1, 1000, 100);
  const offset = integer("offset", 0, Number.MAX_SAFE_INTEGER, 0);
  if (device !== undefined && device.length > 1) {
    issues.push({ path: "device", message: "one device at a time" });
  }
  if (minSeverity !== undefined && minSeverity.length > 1) {
    issues.push({ path: "minSeverity", message: "one severity" });
  }
  if (issues.length > 0) throw new ValidationError("invalid alert query", issues);
  const statuses = status?.flatMap((s): AlertStatus[] =>
    s === "open" ? ["raised", "acknowledged"] : [s as AlertStatus]
  );
  return {
    ...(device?.[0] === undefined ? {} : { device: device[0] }),
    ...(source === undefined || source.length === 0 ? {} : { source }),
    ...(statuses === undefined || statuses.length === 0 ? {} : { status: statuses }),
    ...(severity === undefined || severity.length === 0
      ? {}
      : { severity: severity as Severity[] }),
    ...(minSeverity?.[0] === undefined ? {} : { minSeverity: minSeverity[0] as Severity }),
    ...(type === undefined || type.length === 0 ? {} : { type }),
    limit,
    offset,
  };
}
