/**
 * Input validation for the alerts and sessions areas: a zod schema's problems become one
 * {@link ValidationError} listing every field, and ids, timestamps and durations are checked the
 * same way everywhere.
 *
 * @module
 */
import type { z } from "zod";
import {
  ConfigError,
  type Duration,
  type FieldIssue,
  toMillis,
  ValidationError,
} from "../../runtime/mod.ts";
import { instantMillis, notAnInstant } from "../event_time.ts";

/** Entity ids (customers, skus, webhooks): as device ids, 1–128 letters, digits, `_` or `-`. */
export const ENTITY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Parses `input` with `schema`, or throws a {@link ValidationError} saying what the input must
 * look like (`shape`) and listing each problem with its path.
 */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, shape: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues: FieldIssue[] = parsed.error.issues.map((i) => ({
    path: i.path.map(String).join("."),
    message: i.message,
  }));
  throw new ValidationError(`the body must look like ${shape}`, issues);
}

/** Checks an id taken from a URL. @throws {ValidationError} naming `what` */
export function checkId(id: string, what: string): string {
  if (!ENTITY_ID.test(id)) {
    throw new ValidationError(`invalid ${what}`, [{
      path: "id",
      message: `${what}s hold 1-128 letters, digits, _ or -`,
    }]);
  }
  return id;
}

/**
 * An event time: epoch milliseconds, or an ISO-8601 instant with an offset.
 * @throws {ValidationError} at `path` for a string that is not such an instant
 */
export function toEpochMillis(ts: number | string, path = "ts"): number {
  const ms = instantMillis(ts);
  if (ms !== null) return ms;
  throw new ValidationError("invalid timestamp", [{ path, message: notAnInstant(ts) }]);
}

/** A configured duration in milliseconds. @throws {ConfigError} naming the setting */
export function millis(value: Duration, what: string): number {
  return toMillis(value, what);
}

/** Checks that a configured number lies in `[min, max]`. @throws {ConfigError} */
export function checkRange(value: number, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${what} must be a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Checks that a configured count is a whole number ≥ `min`. @throws {ConfigError} */
export function checkCount(value: number, min: number, what: string): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${what} must be a whole number ≥ ${min}, got ${value}`);
  }
  return value;
}
