/**
 * Customer session events (`POST /api/sessions/:id/events`): the body, its validation, and the
 * compact form a customer actor keeps — only what the patterns and session windows read, so
 * state stays small whatever `properties` carry.
 *
 * @module
 */
import { z } from "zod";
import { eventTime, TimeOutOfRangeError } from "../shared/event_time.ts";
import { text } from "../shared/schemas.ts";
import { parseOrThrow } from "../shared/validation.ts";

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

const timestamp = eventTime.describe(
  "event time: epoch ms or ISO-8601; the receive time when absent",
);
const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

/** What the session rules read of `properties`; anything else there is accepted and ignored. */
const properties = z.looseObject({
  amount: z.number().min(0).max(1e15).optional().describe("transactions: the amount"),
  page: text(1, 512).optional().describe("page views: the page"),
  location: z.strictObject({ lat: latitude, lon: longitude }).optional().describe(
    "logins: where from",
  ),
  latitude: latitude.optional(),
  longitude: longitude.optional(),
}).meta({ dependentRequired: { latitude: ["longitude"], longitude: ["latitude"] } });

/**
 * A customer event body (`POST /api/sessions/:id/events`); `ts` comes out in epoch
 * milliseconds. A transaction needs `properties.amount`; latitude and longitude come together.
 */
export const EVENT_SCHEMA = z.strictObject({
  type: z.string().regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    "a letter, then letters, digits, _ . or - (1-64)",
  ).describe("login, page_view, api_call, transaction, logout, or any other name"),
  ts: timestamp.optional(),
  properties: properties.optional(),
}).meta({
  // The rule below, as JSON Schema states it: a transaction has an amount.
  anyOf: [
    {
      properties: {
        type: { const: "transaction" },
        properties: {
          properties: { amount: { type: "number", minimum: 0, maximum: 1e15 } },
          required: ["amount"],
        },
      },
      required: ["properties"],
    },
    { properties: { type: { not: { const: "transaction" } } } },
  ],
}).superRefine(({ type, properties: p = {} }, ctx) => {
  if (type === "transaction" && p.amount === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["properties", "amount"],
      message: "a transaction needs an amount (a number ≥ 0)",
    });
  }
  if ((p.latitude === undefined) !== (p.longitude === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["properties", p.latitude === undefined ? "latitude" : "longitude"],
      message: "latitude and longitude come together",
    });
  }
});

/**
 * Validates an event body and fills in its time.
 *
 * @param receivedAt the receive time, used when the body has no `ts`
 * @throws {ValidationError} listing every problem
 */
export function parseEvent(body: unknown, receivedAt: number): CustomerEvent {
  return customerEvent(
    parseOrThrow(EVENT_SCHEMA, body, `the body must look like ${EVENT_SHAPE}`),
    receivedAt,
  );
}

/** The event a customer actor keeps, from a body that passed {@link EVENT_SCHEMA}. */
export function customerEvent(
  body: z.output<typeof EVENT_SCHEMA>,
  receivedAt: number,
): CustomerEvent {
  const { type, ts, properties: p = {} } = body;
  const event: { -readonly [K in keyof CustomerEvent]: CustomerEvent[K] } = {
    type,
    ts: ts ?? receivedAt,
  };
  if (p.amount !== undefined) event.amount = p.amount;
  if (p.page !== undefined) event.page = p.page;
  const lat = p.location?.lat ?? p.latitude, lon = p.location?.lon ?? p.longitude;
  if (lat !== undefined && lon !== undefined) {
    event.lat = lat;
    event.lon = lon;
  }
  return event;
}

/**
 * Refuses an event stamped more than `maxSkewMs` ahead of processing time `now`: one such event
 * would move the watermark so far that every honest event after it is late.
 * @throws {TimeOutOfRangeError} (HTTP 422)
 */
export function checkSkew(ev: CustomerEvent, now: number, maxSkewMs: number): void {
  if (ev.ts > now + maxSkewMs) {
    throw new TimeOutOfRangeError(
      `the event's ts is more than ${maxSkewMs} ms ahead of the server's clock ` +
        `(${new Date(now).toISOString()}); check the sender's clock`,
    );
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
