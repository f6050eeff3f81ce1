/**
 * Customer session events (`POST /api/sessions/:id/events`): the body, its validation, and the
 * compact form a customer actor keeps — only what the patterns and session windows read, so
 * state stays small whatever `properties` carry.
 *
 * @module
 */
import { z } from "zod";
import { ValidationError } from "../../runtime/mod.ts";
import { parseWith, toEpochMillis } from "../alerts/validation.ts";

/** An event as a customer actor keeps it. */
export interface CustomerEvent {
  /** `login`, `page_view`, `api_call`, `transaction`, `logout`, or any other name. */
  readonly type: string;
  /** Event time (epoch ms). */
  readonly ts: number;
  /** Transactions: the amount. */
  readonly amount?: number;
  /** The page (`properties.page`), counted for unique pages. */
  readonly page?: string;
  /** Logins: where from (`properties.location {lat, lon}`, or `latitude`/`longitude`). */
  readonly lat?: number;
  readonly lon?: number;
}

/** The body's shape, for error messages. */
export const EVENT_SHAPE =
  '{"type": "login" | "page_view" | "api_call" | "transaction" | "logout" | ..., "ts"?: epoch-ms | ISO-8601, "properties"?: {...}}';

const timestamp = z.union([
  z.number().int("must be whole epoch milliseconds").min(0).max(8.64e15),
  z.string().max(64),
]);
const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

const schema = z.strictObject({
  type: z.string().regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    "a letter, then letters, digits, _ . or - (1-64)",
  ),
  ts: timestamp.optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});

const props = z.object({
  amount: z.number().min(0).max(1e15).optional(),
  page: z.string().min(1).max(512).optional(),
  location: z.strictObject({ lat: latitude, lon: longitude }).optional(),
  latitude: latitude.optional(),
  longitude: longitude.optional(),
});

/**
 * Validates an event body and fills in its time.
 *
 * @param receivedAt the receive time, used when the body has no `ts`
 * @throws {ValidationError} listing every problem
 */
export function parseEvent(body: unknown, receivedAt: number): CustomerEvent {
  const { type, ts, properties = {} } = parseWith(schema, body, EVENT_SHAPE);
  const p = props.safeParse(properties);
  if (!p.success) {
    throw new ValidationError(
      `the body must look like ${EVENT_SHAPE}`,
      p.error.issues.map((i) => ({
        path: ["properties", ...i.path.map(String)].join("."),
        message: i.message,
      })),
    );
  }
  const { amount, page, location, latitude, longitude } = p.data;
  const time = ts === undefined ? receivedAt : toEpochMillis(ts);
  if (type === "transaction" && amount === undefined) {
    throw new ValidationError(`the body must look like ${EVENT_SHAPE}`, [{
      path: "properties.amount",
      message: "a transaction needs an amount (a number ≥ 0)",
    }]);
  }
  if ((latitude === undefined) !== (longitude === undefined)) {
    throw new ValidationError(`the body must look like ${EVENT_SHAPE}`, [{
      path: latitude === undefined ? "properties.latitude" : "properties.longitude",
      message: "latitude and longitude come together",
    }]);
  }
  const event: { -readonly [K in keyof CustomerEvent]: CustomerEvent[K] } = { type, ts: time };
  if (amount !== undefined) event.amount = amount;
  if (page !== undefined) event.page = page;
  const lat = location?.lat ?? latitude, lon = location?.lon ?? longitude;
  if (lat !== undefined && lon !== undefined) {
    event.lat = lat;
    event.lon = lon;
  }
  return event;
}

/**
 * Refuses an event stamped more than `maxSkewMs` ahead of processing time `now`: one such event
 * would move the watermark so far that every honest event after it is late.
 * @throws {ValidationError}
 */
export function checkSkew(ev: CustomerEvent, now: number, maxSkewMs: number): void {
  if (ev.ts > now + maxSkewMs) {
    throw new ValidationError("event from the future", [{
      path: "ts",
      message: `more than ${maxSkewMs} ms ahead of the server's clock (sessions.maxClockSkew)`,
    }]);
  }
}

/**
 * A total order of events: by time, then by content, so that events with equal times are
 * processed in the same order whatever order they arrived in.
 */
export function compareEvents(a: CustomerEvent, b: CustomerEvent): number {
  return a.ts - b.ts || cmp(a.type, b.type) || (a.amount ?? -1) - (b.amount ?? -1) ||
    cmp(a.page ?? "", b.page ?? "") || (a.lat ?? 999) - (b.lat ?? 999) ||
    (a.lon ?? 999) - (b.lon ?? 999);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
