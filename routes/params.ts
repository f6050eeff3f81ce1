/**
 * Schemas of path and query parameters shared by the routes: ids, pages, instants. Query values
 * arrive as strings; these schemas check and convert them (and document them as what they mean,
 * e.g. an integer with bounds).
 *
 * @module
 */
import { z } from "zod";
import { DEVICE_ID, SENSOR_NAME } from "../actors/devices/mod.ts";
import { ENTITY_ID, INSTANT, instantMillis } from "../actors/shared/mod.ts";

/** Largest page of a listing. */
export const MAX_PAGE = 500;

/** An id of `what`s: 1–128 letters, digits, `_` or `-`. */
export function idOf(what: string, pattern: RegExp = ENTITY_ID): z.ZodString {
  return z.string().regex(pattern, `${what} ids hold 1-128 letters, digits, _ or -`).describe(
    `${what} id: 1-128 letters, digits, _ or -`,
  );
}

/** A device id. */
export const deviceId: z.ZodString = idOf("device", DEVICE_ID);

/** A sensor name: 1–64 letters, digits, `_` or `-`. */
export const sensorName: z.ZodString = z.string().regex(
  SENSOR_NAME,
  "sensor names hold 1-64 letters, digits, _ or - and are no reserved name (constructor, …)",
).describe("sensor name: 1-64 letters, digits, _ or -");

/** Path parameters `{id}` of one kind of id. */
export function idParams(id: z.ZodString) {
  return z.strictObject({ id });
}

/**
 * A whole number in `[min, max]` from a query string (digits only: no `1e3`, no `0x10`), or
 * `fallback` when absent.
 */
export function queryInt(min: number, max: number, fallback: number, description: string) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(
    (v) => typeof v === "string" && /^-?\d{1,16}$/.test(v) ? Number(v) : v,
    z.number({ error: message }).int(message).min(min, message).max(max, message),
  ).default(fallback).meta({ description, default: fallback });
}

/** `?limit=`: a page's size. */
export function pageLimit(fallback: number, max = MAX_PAGE) {
  return queryInt(1, max, fallback, `page size, 1-${max}`);
}

/** `?after=`: the `next` of the previous page (an id like the listed ones). */
export function pageAfter(id: z.ZodString) {
  return id.optional().describe("the `next` of the previous page: items after this id");
}

/** Epoch milliseconds in a query: digits only. */
const EPOCH_DIGITS = /^\d{1,16}$/;

/**
 * Epoch milliseconds (digits) or an RFC 3339 instant with an offset, as epoch milliseconds.
 * The document states both forms: the digits' pattern, or the instant's pattern and
 * `format: date-time`.
 */
export const instant = z.string().transform((raw, ctx) => {
  const ms = EPOCH_DIGITS.test(raw) ? Number(raw) : instantMillis(raw);
  if (ms !== null) return ms;
  ctx.addIssue({
    code: "custom",
    message: `must be epoch milliseconds or an RFC 3339 instant with an offset ` +
      `(2026-05-01T02:00:00Z), got ${JSON.stringify(raw)}`,
  });
  return z.NEVER;
}).meta({
  anyOf: [{ pattern: EPOCH_DIGITS.source }, { pattern: INSTANT.source, format: "date-time" }],
}).describe("epoch milliseconds, or an RFC 3339 instant with an offset (2026-05-01T02:00:00Z)");

/** A page of a listing: `{items, next}`. */
export function pageOf(item: z.ZodType) {
  return z.object({
    items: z.array(item),
    next: z.string().nullable().describe("pass as ?after= for the next page; null on the last"),
  });
}
