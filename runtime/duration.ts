/**
 * Durations as configuration spells them: milliseconds as a number, or an ISO-8601 duration
 * string such as `"PT5M"` or `"P1DT2H"` parsed by Temporal.
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { ConfigError } from "./errors.ts";

/** Milliseconds, or an ISO-8601 duration (`"PT30S"`, `"PT5M"`, `"P1D"`; a day is 24 h). */
export type Duration = number | string;

/**
 * Converts a {@link Duration} to milliseconds.
 *
 * @throws {ConfigError} when the value is negative, not finite, not ISO-8601, or uses years
 * or months (whose length depends on a calendar date).
 * @example
 * ```ts
 * toMillis("PT5M"); // 300000
 * toMillis(250);    // 250
 * ```
 */
export function toMillis(value: Duration, what = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new ConfigError(`${what} must be a non-negative number of milliseconds, got ${value}`);
    }
    return value;
  }
  let duration: Temporal.Duration;
  try {
    duration = Temporal.Duration.from(value);
  } catch (cause) {
    throw new ConfigError(
      `${what} ${JSON.stringify(value)} is not an ISO-8601 duration such as "PT30S" or "PT5M"`,
      { cause },
    );
  }
  if (duration.sign < 0) throw new ConfigError(`${what} ${JSON.stringify(value)} is negative`);
  if (duration.years !== 0 || duration.months !== 0) {
    throw new ConfigError(
      `${what} ${JSON.stringify(value)} uses years or months, whose length varies; use days`,
    );
  }
  return duration.total({ unit: "millisecond", relativeTo: "2000-01-01T00:00:00+00:00[UTC]" });
}
