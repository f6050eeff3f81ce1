/**
 * When durable reminders fire: pure functions of a {@link Schedule} and epoch milliseconds, so
 * after any downtime the reminder service recomputes everything from what it persisted.
 *
 * @module
 */
import { Temporal } from "@js-temporal/polyfill";
import { type Duration, toMillis } from "./duration.ts";
import { ConfigError } from "./errors.ts";

/**
 * When a reminder fires. All times are epoch milliseconds; instants may also be ISO-8601
 * strings with an offset (`"2026-05-01T02:00:00+09:00"`).
 *
 * - `{ after }`: once, `after` from the time the reminder is set.
 * - `{ at }`: once, at an instant.
 * - `{ every, start? }`: periodically on the grid `start + k * every`; without `start`, the
 *   first firing is one period after the reminder is set.
 * - `{ daily, timeZone }`: every day at the wall-clock time `"HH:MM"` or `"HH:MM:SS"` in an
 *   IANA time zone.
 *
 * @example
 * ```ts
 * const s: Schedule = { daily: "02:00", timeZone: "Asia/Seoul" };
 * ```
 */
export type Schedule =
  | { readonly after: Duration }
  | { readonly at: number | string }
  | { readonly every: Duration; readonly start?: number | string }
  | { readonly daily: string; readonly timeZone: string };

type Daily = Extract<Schedule, { daily: string }>;
/** A daily occurrence: the instant, and the local date whose wall time it is. */
type Occurrence = { readonly date: Temporal.PlainDate; readonly at: number };

/** Which keys each kind allows; anything else is a typo we would rather report than ignore. */
const KEYS = {
  after: ["after"],
  at: ["at"],
  every: ["every", "start"],
  daily: ["daily", "timeZone"],
} as const;
const KINDS = Object.keys(KEYS) as (keyof typeof KEYS)[];
const WALL_TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

/**
 * Checks an untrusted value (e.g. parsed JSON) and returns a frozen {@link Schedule}, with
 * durations and instants as written (a persisted schedule reads as its author wrote it).
 *
 * @throws {ConfigError} naming what is wrong: no kind or several, an unexpected key, a bad
 * duration or instant, a period that is not positive, a bad wall time, an unknown zone.
 * @example
 * ```ts
 * validateSchedule({ every: "PT5M" });                       // { every: "PT5M" }
 * validateSchedule({ daily: "25:00", timeZone: "UTC" });     // throws ConfigError
 * ```
 */
export function validateSchedule(s: unknown): Schedule {
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw new ConfigError(`schedule must be an object such as { every: "PT5M" }, got ${show(s)}`);
  }
  const record = s as Record<string, unknown>;
  const kinds = KINDS.filter((kind) => record[kind] !== undefined);
  if (kinds.length !== 1) {
    throw new ConfigError(
      kinds.length === 0
        ? `schedule needs one of "after", "at", "every" or "daily"`
        : `schedule sets several kinds at once (${kinds.join(", ")}); use exactly one`,
    );
  }
  const kind = kinds[0]!;
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined && !(KEYS[kind] as readonly string[]).includes(key)) {
      throw new ConfigError(`schedule key "${key}" is not allowed with "${kind}"`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of KEYS[kind]) if (record[key] !== undefined) out[key] = record[key];
  if (kind === "after") toMillis(durationOf(out.after, "schedule.after"), "schedule.after");
  else if (kind === "at") epochMs(out.at, "schedule.at");
  else if (kind === "every") {
    periodOf(out.every);
    if (out.start !== undefined) epochMs(out.start, "schedule.start");
  } else {
    if (typeof out.daily !== "string" || !WALL_TIME.test(out.daily)) {
      throw new ConfigError(
        `schedule.daily must be a wall-clock time "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59), ` +
          `got ${show(out.daily)}`,
      );
    }
    out.timeZone = zoneOf(out.timeZone);
  }
  return Object.freeze(out) as Schedule;
}

/**
 * The first time a schedule is due at or after `setAt` (when the reminder is set). An `at` in
 * the past is due at `setAt`, i.e. at once; an `every` whose `start` is past is due at the
 * first point of its grid at or after `setAt`.
 *
 * @param s a schedule that passed {@link validateSchedule}.
 * @example
 * ```ts
 * firstDue({ every: "PT5M" }, 0);                  // 300000
 * firstDue({ every: 1000, start: 500 }, 2_000);    // 2500
 * firstDue({ at: 0 }, 10_000);                     // 10000
 * ```
 */
export function firstDue(s: Schedule, setAt: number): number {
  if ("after" in s) return setAt + toMillis(s.after, "schedule.after");
  if ("at" in s) return Math.max(epochMs(s.at, "schedule.at"), setAt);
  if ("every" in s) {
    const period = periodOf(s.every);
    if (s.start === undefined) return setAt + period;
    const start = epochMs(s.start, "schedule.start");
    return start >= setAt ? start : start + Math.ceil((setAt - start) / period) * period;
  }
  return nextDaily(s, setAt, true).at;
}

/**
 * Given a reminder due at `due` (≤ `now`), how many occurrences fell in `[due, now]` and when
 * the next one after `now` is. The caller fires once with `missed = occurrences - 1`, so
 * ticks missed during downtime are coalesced rather than replayed.
 *
 * One-shot schedules give `{ occurrences: 1, next: null }`; if `now < due` (a timer fired
 * early) nothing is due: `{ occurrences: 0, next: due }`. O(1) however long the downtime.
 *
 * @param s a schedule that passed {@link validateSchedule}.
 * @example
 * ```ts
 * catchUp({ every: 1000 }, 0, 2_500);   // { occurrences: 3, next: 3000 }
 * catchUp({ at: 0 }, 0, 2_500);         // { occurrences: 1, next: null }
 * ```
 */
export function catchUp(
  s: Schedule,
  due: number,
  now: number,
): { occurrences: number; next: number | null } {
  if (now < due) return { occurrences: 0, next: due };
  if ("after" in s || "at" in s) return { occurrences: 1, next: null };
  if ("every" in s) {
    // `due` lies on the grid, so the grid is re-anchored there; `start` no longer matters.
    const period = periodOf(s.every);
    const occurrences = Math.floor((now - due) / period) + 1;
    return { occurrences, next: due + occurrences * period };
  }
  // One occurrence per local date, so the count is a difference of dates: no walk over the
  // days of a long downtime, hence no cap. (A date a zone skipped outright, like Pacific/Apia's
  // 2011-12-30, is counted too; that can only inflate `missed`, never add a firing.)
  const first = nextDaily(s, due, false);
  const next = nextDaily(s, now, false);
  return { occurrences: 1 + first.date.until(next.date).days, next: next.at };
}

/**
 * The first daily occurrence after `t` (or at `t`, if `inclusive`). `toZonedDateTime` resolves
 * with "compatible": a wall time in a spring-forward gap moves forward by the gap (02:30
 * becomes 03:30) and a wall time repeated at fall-back takes the earlier instant, so every
 * local date yields exactly one instant, and the daily reminder fires once on either day.
 */
function nextDaily(s: Daily, t: number, inclusive: boolean): Occurrence {
  const plainTime = Temporal.PlainTime.from(s.daily);
  const timeZone = s.timeZone;
  // Start a day early: a wall time pushed across a gap can land on the next local date.
  let date = Temporal.Instant.fromEpochMilliseconds(Math.floor(t)).toZonedDateTimeISO(timeZone)
    .toPlainDate().subtract({ days: 1 });
  for (;;) {
    const at = date.toZonedDateTime({ plainTime, timeZone }).epochMilliseconds;
    if (at > t || (inclusive && at === t)) return { date, at };
    date = date.add({ days: 1 });
  }
}

function durationOf(value: unknown, what: string): Duration {
  // toMillis would hand an object to Temporal.Duration.from, which accepts `{ minutes: 5 }`.
  if (typeof value === "number" || typeof value === "string") return value;
  throw new ConfigError(`${what} must be milliseconds or an ISO-8601 duration, got ${show(value)}`);
}

function periodOf(value: unknown): number {
  const what = "schedule.every";
  const duration = durationOf(value, what);
  // Numbers are judged here so that zero and negatives get the same message. A zero period
  // would be due forever; fractions would drift epoch times off whole milliseconds.
  const ms = typeof duration === "number" ? duration : toMillis(duration, what);
  if (ms > 0 && Number.isInteger(ms)) return ms;
  throw new ConfigError(
    `${what} must be a positive whole number of milliseconds, got ${show(value)}`,
  );
}

function epochMs(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string") {
    try {
      return Temporal.Instant.from(value).epochMilliseconds;
    } catch {
      // Fall through: a local time without an offset is ambiguous, so it is refused too.
    }
  }
  throw new ConfigError(
    `${what} must be whole epoch milliseconds or an ISO-8601 instant with an offset such as ` +
      `"2026-05-01T02:00:00+09:00", got ${show(value)}`,
  );
}

function zoneOf(value: unknown): string {
  try {
    if (typeof value === "string") return new Temporal.ZonedDateTime(0n, value).timeZoneId;
  } catch {
    // Reported below, with the same message as a missing zone.
  }
  throw new ConfigError(
    `schedule.timeZone must be a known IANA time zone such as "Asia/Seoul", got ${show(value)}`,
  );
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}
