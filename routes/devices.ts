/**
 * Device routes (SPEC §3.1, §4): registration, the twin, desired state, commands, telemetry
 * ingest and history, under `/api/devices`.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import {
  checkDeviceId,
  device,
  DEVICE_HISTORY,
  type HistoryItem,
  mergeHistory,
  parseCommand,
  parseDesiredPatch,
  parseRegistration,
  parseTelemetry,
  RecordRejectedError,
  SENSOR_NAME,
} from "../actors/mod.ts";
import { type FieldIssue, NotFoundError, ValidationError } from "../runtime/mod.ts";
import type { AppDeps } from "./deps.ts";
import { readJson } from "./body.ts";
import { Temporal } from "@js-temporal/polyfill";

/** Largest page of `GET /api/devices` (and of other listings). */
export const MAX_PAGE = 500;
/** Most history items in one answer. */
export const MAX_HISTORY = 10_000;

/**
 * Reads an optional integer query parameter within bounds.
 * @throws {ValidationError}
 */
export function intParam(
  c: Context,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return fallback;
  const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ValidationError(`invalid ${name}`, [{
      path: name,
      message: `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    }]);
  }
  return n;
}

/**
 * Reads an optional instant query parameter: epoch milliseconds or ISO-8601 with an offset.
 * @throws {ValidationError}
 */
export function instantParam(c: Context, name: string, fallback: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return fallback;
  if (/^\d{1,16}$/.test(raw)) return Number(raw);
  try {
    return Temporal.Instant.from(raw).epochMilliseconds;
  } catch {
    throw new ValidationError(`invalid ${name}`, [{
      path: name,
      message: `must be epoch milliseconds or an ISO-8601 instant with an offset, got ${
        JSON.stringify(raw)
      }`,
    }]);
  }
}

/** Reads the `after` cursor of a page: an id like the listed ones. @throws {ValidationError} */
export function afterParam(c: Context, check: (id: string) => string): string | undefined {
  const raw = c.req.query("after");
  if (raw === undefined || raw === "") return undefined;
  try {
    return check(raw);
  } catch {
    throw new ValidationError("invalid after", [{
      path: "after",
      message: "must be an id from a previous page (1-128 letters, digits, _ or -)",
    }]);
  }
}

/** The device routes. */
export function deviceRoutes(deps: AppDeps): Hono {
  const { system, clock } = deps;
  const routes = new Hono();

  // A page of devices, ascending by id: {items, next}; pass next as ?after= for the next page.
  routes.get("/", async (c) => {
    const limit = intParam(c, "limit", 50, 1, MAX_PAGE);
    const after = afterParam(c, checkDeviceId);
    const ids = await system.list(device.name, { after, limit });
    const summaries = await Promise.all(ids.map((id) => system.ref(device, id).ask("summary")));
    return c.json({
      items: summaries.filter((s) => s !== null),
      next: ids.length === limit ? ids[ids.length - 1]! : null,
    });
  });

  // Register or update: 201 with the twin when new, 200 when updated.
  routes.put("/:id", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const registration = parseRegistration(await readJson(c));
    const { created, twin } = await system.ref(device, id).ask("register", registration);
    return c.json(twin, created ? 201 : 200);
  });

  routes.get("/:id", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const twin = await system.ref(device, id).ask("twin");
    if (twin === null) {
      throw new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
    }
    return c.json(twin);
  });

  // Desired state as a JSON merge patch: null removes a key. 200 with desired, delta, version.
  routes.patch("/:id/desired", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const patch = parseDesiredPatch(await readJson(c));
    return c.json(await system.ref(device, id).ask("desired", patch));
  });

  // A command, pushed to the device: 202 with its id once durable.
  routes.post("/:id/commands", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const command = parseCommand(await readJson(c));
    return c.json(await system.ref(device, id).ask("command", command), 202);
  });

  // 202 once the twin's new state is durable; 400 (nothing changed) for invalid input; 422 when
  // the data quality schema rejects the record (counted in the quality report).
  routes.post("/:id/telemetry", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const record = parseTelemetry(await readJson(c), clock.now());
    const result = await system.ref(device, id).ask("telemetry", record);
    if ("rejected" in result) throw new RecordRejectedError(id, result.rejected as FieldIssue[]);
    return c.json(result, 202);
  });

  // Readings over a time range: ?sensor=&from=&to=&limit= (from and to inclusive).
  routes.get("/:id/history", async (c) => {
    const id = checkDeviceId(c.req.param("id"));
    const sensorParam = c.req.query("sensor");
    if (sensorParam !== undefined && !SENSOR_NAME.test(sensorParam)) {
      throw new ValidationError("invalid sensor", [{
        path: "sensor",
        message: "sensor names hold 1-64 letters, digits, _ or -",
      }]);
    }
    const from = instantParam(c, "from", 0);
    const to = instantParam(c, "to", 8.64e15);
    if (from > to) {
      throw new ValidationError("invalid time range", [{ path: "from", message: "is after to" }]);
    }
    const limit = intParam(c, "limit", 1000, 1, MAX_HISTORY);
    const query = sensorParam === undefined ? { from, to } : { sensor: sensorParam, from, to };
    const plan = await system.ref(device, id).ask("historyPlan", query);
    if (plan === null) {
      throw new NotFoundError(`device ${id} is not registered and has never sent telemetry`);
    }
    const chunks = await Promise.all(
      plan.chunks.map((chunk, i) =>
        system.ref(DEVICE_HISTORY, chunk).ask("read", { ...query, seq: plan.seqs[i]! }) as Promise<
          HistoryItem[]
        >
      ),
    );
    const { items, truncated } = mergeHistory(plan.items.concat(...chunks), limit);
    return c.json({ device: id, sensor: sensorParam ?? null, from, to, items, truncated });
  });

  return routes;
}
