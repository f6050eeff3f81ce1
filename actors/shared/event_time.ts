/**
 * Event times as clients send them — epoch milliseconds or an ISO-8601 instant with an offset —
 * shared by every area that accepts one (telemetry, payments, customer events).
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { z } from "zod";

/** Epoch milliseconds of `ts`, or `null` for a string that is not an instant with an offset. */
export function instantMillis(ts: number | string): number | null {
  if (typeof ts === "number") return ts;
  try {
    return Temporal.Instant.from(ts).epochMilliseconds;
  } catch {
    return null;
  }
}

/** What a bad instant is told. */
export function notAnInstant(ts: unknown): string {
  return `${
    JSON.stringify(ts)
  } is not an ISO-8601 instant with an offset, e.g. 2026-05-01T02:00:00Z`;
}

/** An event time in a request body; its output is epoch milliseconds. */
export const eventTime = z.union([
  z.number().int("must be whole epoch milliseconds").min(0).max(8.64e15),
  z.string().max(64),
], { error: "must be epoch milliseconds or an ISO-8601 instant" }).transform((ts, ctx) => {
  const ms = instantMillis(ts);
  if (ms !== null) return ms;
  ctx.addIssue({ code: "custom", message: notAnInstant(ts) });
  return z.NEVER;
}).describe("epoch milliseconds, or an ISO-8601 instant with an offset");
