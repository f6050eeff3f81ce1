/**
 * IANA time zones, by Temporal (daylight saving time included): checking a configured or sent
 * zone, and the wall-clock time of an instant there — what the night-time fraud rule of a
 * terminal and the unusual-hours rule of a customer read.
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { z } from "zod";

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
 * Current IANA names that this runtime's ICU lists under an older spelling (it lists
 * `Asia/Calcutta`, not `Asia/Kolkata`): accepted as well, as clients use them.
 */
const MODERN_NAMES = [
  "Africa/Asmara",
  "America/Argentina/Buenos_Aires",
  "America/Argentina/Catamarca",
  "America/Argentina/Cordoba",
  "America/Argentina/Jujuy",
  "America/Argentina/Mendoza",
  "America/Atikokan",
  "America/Indiana/Indianapolis",
  "America/Kentucky/Louisville",
  "America/Nuuk",
  "Asia/Ho_Chi_Minh",
  "Asia/Kathmandu",
  "Asia/Kolkata",
  "Asia/Yangon",
  "Atlantic/Faroe",
  "Europe/Kyiv",
  "Pacific/Chuuk",
  "Pacific/Kanton",
  "Pacific/Pohnpei",
  "UTC",
];

/**
 * Every time zone a client may name: the IANA names this runtime knows (its `Intl` list, the
 * current spellings of renamed zones, and `UTC`), sorted. Exactly what {@link timeZoneName}
 * accepts, and what the API document lists.
 */
export const TIME_ZONES: readonly string[] = [
  ...new Set([...Intl.supportedValuesOf("timeZone"), ...MODERN_NAMES]),
].filter(isTimeZone).sort();

/** A time zone in a request: one of {@link TIME_ZONES}, as spelled there. */
export const timeZoneName = z.enum(TIME_ZONES as [string, ...string[]], {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is not a time zone; use an IANA name such as Asia/Seoul`,
}).describe("IANA time zone, e.g. Asia/Seoul");

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
