/**
 * Event times as clients send them — epoch milliseconds or an RFC 3339 instant with an offset
 * (`2026-05-01T02:00:00Z`, `2026-05-01T11:00:00.250+09:00`) — shared by every area that
 * accepts one (telemetry, payments, customer events), and the error for a time too far from
 * the server's clock.
 *
 * The accepted strings are exactly what the documented schema says: the {@link INSTANT} pattern
 * (years 1970–2999, `T` and `Z` in capitals, an offset within ±23:59) and a real calendar date
 * (`format: date-time`: no 30 February).
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { z } from "zod";
import { FlotillaError } from "../../runtime/mod.ts";

/** An RFC 3339 instant with an offset, years 1970–2999. */
export const INSTANT =
  /^(?:19[7-9]\d|2\d{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Latest epoch milliseconds an event time may have (what JavaScript dates reach). */
export const MAX_EPOCH_MS = 8.64e15;

/** Epoch milliseconds of `ts`, or `null` for a string that is not an {@link INSTANT}. */
export function instantMillis(ts: number | string): number | null {
  if (typeof ts === "number") return ts;
  if (!INSTANT.test(ts)) return null;
  try {
    return Temporal.Instant.from(ts).epochMilliseconds;
  } catch {
    return null; // matches the pattern, but no such day (2026-02-30)
  }
}

/** What a bad instant is told. */
export function notAnInstant(ts: unknown): string {
  return `${JSON.stringify(ts)} is not an RFC 3339 instant with an offset, e.g. ` +
    `2026-05-01T02:00:00Z or 2026-05-01T11:00:00+09:00`;
}

/** An instant string in a request: checked and documented as the pattern and `date-time`. */
export const instantString = z.string().refine((ts) => instantMillis(ts) !== null, {
  error: (issue) => notAnInstant(issue.input),
}).meta({ format: "date-time", pattern: INSTANT.source });

/** An event time in a request body; its output is epoch milliseconds. */
export const eventTime = z.union([
  z.number().int("must be whole epoch milliseconds").min(0).max(MAX_EPOCH_MS),
  instantString,
], { error: "must be epoch milliseconds or an RFC 3339 instant such as 2026-05-01T02:00:00Z" })
  .transform((ts) => instantMillis(ts)!)
  .describe("epoch milliseconds, or an RFC 3339 instant with an offset");

/**
 * An event time the schema accepts but the server does not take now: too far in the future or
 * the past of its clock (a device or terminal whose clock is wrong). HTTP 422; nothing changed.
 */
export class TimeOutOfRangeError extends FlotillaError {
  constructor(message: string) {
    super("time_out_of_range", 422, message);
    this.name = "TimeOutOfRangeError";
  }
}
