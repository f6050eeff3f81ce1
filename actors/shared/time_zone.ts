/**
 * IANA time zones, by Temporal (daylight saving time included): checking a configured or sent
 * zone, and the wall-clock time of an instant there — what the night-time fraud rule of a
 * terminal and the unusual-hours rule of a customer read.
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";

/** Wall-clock time of an instant in a time zone. */
export interface LocalTime {
  readonly hour: number;
  readonly minute: number;
}

/**
 * The canonical spelling of a time zone (`asia/seoul` → `Asia/Seoul`), or `null` when Temporal
 * does not know it.
 */
export function canonicalTimeZone(timeZone: string): string | null {
  try {
    return Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(timeZone).timeZoneId;
  } catch {
    return null;
  }
}

/** Whether Temporal knows `timeZone` (an IANA name, or UTC), in any spelling. */
export function isTimeZone(timeZone: string): boolean {
  return canonicalTimeZone(timeZone) !== null;
}

/**
 * The local hour and minute of `ts` (epoch ms) in an IANA time zone.
 *
 * @example
 * ```ts
 * localTime(Date.UTC(2026, 10, 22, 20, 59), "Asia/Seoul"); // { hour: 5, minute: 59 }
 * ```
 */
export function localTime(ts: number, timeZone: string): LocalTime {
  const zoned = Temporal.Instant.fromEpochMilliseconds(ts).toZonedDateTimeISO(timeZone);
  return { hour: zoned.hour, minute: zoned.minute };
}
