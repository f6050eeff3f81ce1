import { Temporal } from "@js-temporal/polyfill";
import { ConfigError } from "../runtime/errors.ts";
import { catchUp, firstDue, type Schedule, validateSchedule } from "../runtime/schedule.ts";

// Minimal local assertions: tests/helpers/assert.ts did not exist when this file was written.
function assertEquals(actual: unknown, expected: unknown, msg = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg}${msg ? ": " : ""}expected ${e}, got ${a}`);
}

function assertThrowsConfig(fn: () => unknown, message: string): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${e}`);
    assertEquals(e.message, message);
    return;
  }
  throw new Error(`expected a ConfigError with ${JSON.stringify(message)}, nothing was thrown`);
}

/** Epoch milliseconds of an ISO-8601 instant with an offset. */
const ms = (iso: string) => Temporal.Instant.from(iso).epochMilliseconds;
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Counts occurrences in [due, now] by stepping one occurrence at a time (the slow reference). */
function walk(s: Schedule, due: number, now: number): { occurrences: number; next: number } {
  let occurrences = 0;
  let t = due;
  while (t <= now) {
    occurrences++;
    t = firstDue(s, t + 1);
  }
  return { occurrences, next: t };
}

Deno.test("validateSchedule accepts each kind and returns a frozen copy", () => {
  const kinds: [unknown, Schedule][] = [
    [{ after: "PT30S" }, { after: "PT30S" }],
    [{ after: 0 }, { after: 0 }],
    [{ at: "2026-05-01T02:00:00+09:00" }, { at: "2026-05-01T02:00:00+09:00" }],
    [{ at: 1_777_568_400_000 }, { at: 1_777_568_400_000 }],
    [{ every: "PT5M" }, { every: "PT5M" }],
    [{ every: 300_000, start: "2026-01-01T00:00:00Z" }, {
      every: 300_000,
      start: "2026-01-01T00:00:00Z",
    }],
    [{ every: 1000, start: undefined }, { every: 1000 }],
    [{ daily: "02:00", timeZone: "Asia/Seoul" }, { daily: "02:00", timeZone: "Asia/Seoul" }],
    [{ daily: "23:59:59", timeZone: "europe/berlin" }, {
      daily: "23:59:59",
      timeZone: "Europe/Berlin",
    }],
  ];
  for (const [input, expected] of kinds) {
    const s = validateSchedule(input);
    assertEquals(s, expected, JSON.stringify(input));
    assertEquals(Object.isFrozen(s), true);
    assertEquals(s === input, false);
  }
});

Deno.test("validateSchedule names what is wrong", () => {
  const cases: [unknown, string][] = [
    [null, `schedule must be an object such as { every: "PT5M" }, got null`],
    ["PT5M", `schedule must be an object such as { every: "PT5M" }, got "PT5M"`],
    [[], `schedule must be an object such as { every: "PT5M" }, got an array`],
    [{}, `schedule needs one of "after", "at", "every" or "daily"`],
    [{ timeZone: "UTC" }, `schedule needs one of "after", "at", "every" or "daily"`],
    [
      { every: "PT5M", daily: "02:00", timeZone: "UTC" },
      `schedule sets several kinds at once (every, daily); use exactly one`,
    ],
    [{ at: 0, start: 0 }, `schedule key "start" is not allowed with "at"`],
    [{ every: 1000, timezone: "UTC" }, `schedule key "timezone" is not allowed with "every"`],
    [
      { after: "5 minutes" },
      `schedule.after "5 minutes" is not an ISO-8601 duration such as "PT30S" or "PT5M"`,
    ],
    [{ after: -1 }, `schedule.after must be a non-negative number of milliseconds, got -1`],
    [
      { after: { minutes: 5 } },
      `schedule.after must be milliseconds or an ISO-8601 duration, got an object`,
    ],
    [{ every: 0 }, `schedule.every must be a positive whole number of milliseconds, got 0`],
    [{ every: -5 }, `schedule.every must be a positive whole number of milliseconds, got -5`],
    [
      { every: "PT0S" },
      `schedule.every must be a positive whole number of milliseconds, got "PT0S"`,
    ],
    [{ every: 1.5 }, `schedule.every must be a positive whole number of milliseconds, got 1.5`],
    [
      { every: Infinity },
      `schedule.every must be a positive whole number of milliseconds, got Infinity`,
    ],
    [{ every: "-PT5M" }, `schedule.every "-PT5M" is negative`],
    [{ every: "P1M" }, `schedule.every "P1M" uses years or months, whose length varies; use days`],
    [{ every: true }, `schedule.every must be milliseconds or an ISO-8601 duration, got true`],
    [
      { at: "2026-05-01T02:00:00" },
      `schedule.at must be whole epoch milliseconds or an ISO-8601 instant with an offset such as "2026-05-01T02:00:00+09:00", got "2026-05-01T02:00:00"`,
    ],
    [
      { at: 1.5 },
      `schedule.at must be whole epoch milliseconds or an ISO-8601 instant with an offset such as "2026-05-01T02:00:00+09:00", got 1.5`,
    ],
    [
      { every: "PT5M", start: "yesterday" },
      `schedule.start must be whole epoch milliseconds or an ISO-8601 instant with an offset such as "2026-05-01T02:00:00+09:00", got "yesterday"`,
    ],
    [
      { daily: "24:00", timeZone: "UTC" },
      `schedule.daily must be a wall-clock time "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59), got "24:00"`,
    ],
    [
      { daily: "2:00", timeZone: "UTC" },
      `schedule.daily must be a wall-clock time "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59), got "2:00"`,
    ],
    [
      { daily: 200, timeZone: "UTC" },
      `schedule.daily must be a wall-clock time "HH:MM" or "HH:MM:SS" (00:00 to 23:59:59), got 200`,
    ],
    [
      { daily: "02:00", timeZone: "Mars/Olympus_Mons" },
      `schedule.timeZone must be a known IANA time zone such as "Asia/Seoul", got "Mars/Olympus_Mons"`,
    ],
    [
      { daily: "02:00" },
      `schedule.timeZone must be a known IANA time zone such as "Asia/Seoul", got undefined`,
    ],
  ];
  for (const [input, message] of cases) assertThrowsConfig(() => validateSchedule(input), message);
});

Deno.test("firstDue for after counts from the time the reminder is set", () => {
  assertEquals(firstDue({ after: "PT5M" }, 1_000), 1_000 + 5 * MINUTE);
  assertEquals(firstDue({ after: 250 }, 1_000), 1_250);
  assertEquals(firstDue({ after: "P1D" }, 0), DAY);
});

Deno.test("firstDue for at accepts an ISO string with offset and fires at once when past", () => {
  const setAt = ms("2026-04-30T00:00:00Z");
  const at = "2026-05-01T02:00:00+09:00";
  assertEquals(firstDue({ at }, setAt), ms("2026-04-30T17:00:00Z"));
  assertEquals(firstDue({ at: ms(at) }, setAt), ms("2026-04-30T17:00:00Z"));
  assertEquals(firstDue({ at }, ms("2026-06-01T00:00:00Z")), ms("2026-06-01T00:00:00Z"));
});

Deno.test("firstDue for every without start is one period after setAt, ISO or ms", () => {
  assertEquals(firstDue({ every: "PT5M" }, 1_000), 1_000 + 5 * MINUTE);
  assertEquals(firstDue({ every: 300_000 }, 1_000), 1_000 + 5 * MINUTE);
});

Deno.test("firstDue for every with start picks the first grid point at or after setAt", () => {
  assertEquals(firstDue({ every: 1000, start: 5_000 }, 2_000), 5_000, "future start");
  assertEquals(firstDue({ every: 1000, start: 500 }, 2_000), 2_500, "past start");
  assertEquals(firstDue({ every: 1000, start: 500 }, 2_500), 2_500, "setAt on the grid");
  assertEquals(firstDue({ every: 1000, start: 500 }, 2_501), 3_500, "just past the grid");
  const start = "2026-01-01T00:00:00+09:00";
  assertEquals(
    firstDue({ every: "PT5M", start }, ms("2026-03-01T10:07:00+09:00")),
    ms("2026-03-01T10:10:00+09:00"),
  );
});

Deno.test("firstDue for daily in Asia/Seoul is today's or tomorrow's wall time", () => {
  const s = { daily: "02:00", timeZone: "Asia/Seoul" };
  assertEquals(
    firstDue(s, ms("2026-05-01T01:00:00+09:00")),
    ms("2026-05-01T02:00:00+09:00"),
  );
  assertEquals(
    firstDue(s, ms("2026-05-01T02:00:00+09:00")),
    ms("2026-05-01T02:00:00+09:00"),
    "exactly at the wall time",
  );
  assertEquals(
    firstDue(s, ms("2026-05-01T02:00:00.001+09:00")),
    ms("2026-05-02T02:00:00+09:00"),
  );
  // 16:30 UTC is already 01:30 on the next local day in Seoul.
  assertEquals(
    firstDue({ daily: "02:00:30", timeZone: "Asia/Seoul" }, ms("2026-05-01T16:30:00Z")),
    ms("2026-05-02T02:00:30+09:00"),
  );
});

Deno.test("catchUp for one-shot schedules is one occurrence and no next", () => {
  assertEquals(catchUp({ after: "PT5M" }, 1_000, 9_000), { occurrences: 1, next: null });
  assertEquals(catchUp({ at: "2026-05-01T02:00:00+09:00" }, 5, 5), {
    occurrences: 1,
    next: null,
  });
});

Deno.test("catchUp before due reports nothing due yet", () => {
  assertEquals(catchUp({ every: 1000 }, 5_000, 4_999), { occurrences: 0, next: 5_000 });
  assertEquals(catchUp({ at: 5_000 }, 5_000, 4_999), { occurrences: 0, next: 5_000 });
});

Deno.test("catchUp on time is one occurrence and the next tick", () => {
  assertEquals(catchUp({ every: "PT5M" }, 0, 0), { occurrences: 1, next: 5 * MINUTE });
  assertEquals(catchUp({ every: 300_000 }, 0, 10), { occurrences: 1, next: 5 * MINUTE });
});

Deno.test("catchUp next is strictly after now when now lands on a tick", () => {
  assertEquals(catchUp({ every: 1000 }, 0, 3_000), { occurrences: 4, next: 4_000 });
});

Deno.test("catchUp coalesces a week of missed 5-minute ticks", () => {
  const due = ms("2026-03-01T00:00:00Z");
  const now = due + 7 * DAY + 1;
  const ticks = 7 * 24 * 12; // ticks after `due` in a week, plus `due` itself below
  for (const every of ["PT5M", 300_000]) {
    assertEquals(catchUp({ every }, due, now), {
      occurrences: ticks + 1,
      next: due + (ticks + 1) * 5 * MINUTE,
    });
  }
});

Deno.test("catchUp is O(1) after a year of downtime with a 1 ms period", () => {
  const due = ms("2026-01-01T00:00:00Z");
  const now = ms("2027-01-01T00:00:00Z");
  const started = performance.now();
  const result = catchUp({ every: 1 }, due, now);
  assertEquals(result, { occurrences: 365 * DAY + 1, next: now + 1 });
  if (performance.now() - started > 50) throw new Error("catchUp took too long");
});

Deno.test("catchUp for daily in Asia/Seoul counts the days missed", () => {
  const s = { daily: "02:00", timeZone: "Asia/Seoul" };
  assertEquals(catchUp(s, ms("2026-05-01T02:00:00+09:00"), ms("2026-05-03T12:00:00+09:00")), {
    occurrences: 3,
    next: ms("2026-05-04T02:00:00+09:00"),
  });
  assertEquals(catchUp(s, ms("2026-05-01T02:00:00+09:00"), ms("2026-05-01T02:00:00+09:00")), {
    occurrences: 1,
    next: ms("2026-05-02T02:00:00+09:00"),
  });
});

Deno.test("daily in America/New_York on spring-forward day moves 02:30 to 03:30", () => {
  const s = { daily: "02:30", timeZone: "America/New_York" };
  const onDay = firstDue(s, ms("2026-03-07T12:00:00-05:00") + 1);
  assertEquals(onDay, ms("2026-03-08T03:30:00-04:00"));
  assertEquals(catchUp(s, onDay, onDay), { occurrences: 1, next: ms("2026-03-09T02:30:00-04:00") });
  // From the day before, the gap day is counted once and the next day is back at 02:30.
  assertEquals(catchUp(s, ms("2026-03-07T02:30:00-05:00"), ms("2026-03-09T00:00:00-04:00")), {
    occurrences: 2,
    next: ms("2026-03-09T02:30:00-04:00"),
  });
});

Deno.test("daily in Europe/Berlin on spring-forward day fires at 03:00 for 02:00", () => {
  const s = { daily: "02:00", timeZone: "Europe/Berlin" };
  const before = ms("2026-03-28T02:00:00+01:00");
  const { next } = catchUp(s, before, before);
  assertEquals(next, ms("2026-03-29T03:00:00+02:00"));
  assertEquals(next! - before, 24 * 60 * MINUTE, "02:00 CET to 03:00 CEST is a full 24 h");
  assertEquals(catchUp(s, next!, next!).next, ms("2026-03-30T02:00:00+02:00"));
});

Deno.test("daily in America/New_York on fall-back day fires once at the earlier 01:30", () => {
  const s = { daily: "01:30", timeZone: "America/New_York" };
  const due = firstDue(s, ms("2026-11-01T00:00:00-04:00"));
  assertEquals(due, ms("2026-11-01T01:30:00-04:00"));
  // The repeated 01:30 EST an hour later is not a second occurrence.
  assertEquals(catchUp(s, due, ms("2026-11-01T01:45:00-05:00")), {
    occurrences: 1,
    next: ms("2026-11-02T01:30:00-05:00"),
  });
  assertEquals(firstDue(s, due + 1), ms("2026-11-02T01:30:00-05:00"));
});

Deno.test("daily in Europe/Berlin on fall-back day fires once at the earlier 02:30", () => {
  const s = { daily: "02:30", timeZone: "Europe/Berlin" };
  const due = firstDue(s, ms("2026-10-25T00:00:00+02:00"));
  assertEquals(due, ms("2026-10-25T02:30:00+02:00"));
  assertEquals(catchUp(s, due, ms("2026-10-25T02:30:00+01:00")), {
    occurrences: 1,
    next: ms("2026-10-26T02:30:00+01:00"),
  });
});

Deno.test("catchUp for daily across both 2026 DST changes in New York", () => {
  const s = { daily: "02:30", timeZone: "America/New_York" };
  assertEquals(catchUp(s, ms("2026-03-01T02:30:00-05:00"), ms("2026-03-15T00:00:00-04:00")), {
    occurrences: 14,
    next: ms("2026-03-15T02:30:00-04:00"),
  });
  assertEquals(catchUp(s, ms("2026-10-25T02:30:00-04:00"), ms("2026-11-08T00:00:00-05:00")), {
    occurrences: 14,
    next: ms("2026-11-08T02:30:00-05:00"),
  });
});

Deno.test("catchUp for daily counts the leap day", () => {
  const s = { daily: "12:00", timeZone: "UTC" };
  assertEquals(catchUp(s, ms("2028-02-28T12:00:00Z"), ms("2028-03-01T13:00:00Z")), {
    occurrences: 3,
    next: ms("2028-03-02T12:00:00Z"),
  });
  assertEquals(firstDue(s, ms("2028-02-28T13:00:00Z")), ms("2028-02-29T12:00:00Z"));
  assertEquals(firstDue({ at: "2028-02-29T00:00:00+09:00" }, 0), ms("2028-02-28T15:00:00Z"));
  assertEquals(
    catchUp({ every: "P1D" }, ms("2028-02-28T00:00:00Z"), ms("2028-03-01T00:00:00Z")),
    { occurrences: 3, next: ms("2028-03-02T00:00:00Z") },
  );
});

Deno.test("catchUp for daily after a year of downtime in Europe/Berlin", () => {
  const s = { daily: "02:00", timeZone: "Europe/Berlin" };
  assertEquals(catchUp(s, ms("2026-01-01T02:00:00+01:00"), ms("2027-01-01T01:00:00+01:00")), {
    occurrences: 365,
    next: ms("2027-01-01T02:00:00+01:00"),
  });
});

Deno.test("catchUp for daily after a century of downtime needs no walk over the days", () => {
  const s = { daily: "02:00", timeZone: "Asia/Seoul" };
  const started = performance.now();
  const result = catchUp(s, ms("2026-01-01T02:00:00+09:00"), ms("2126-01-01T01:00:00+09:00"));
  assertEquals(result, { occurrences: 36_524, next: ms("2126-01-01T02:00:00+09:00") });
  if (performance.now() - started > 200) throw new Error("catchUp took too long");
});

Deno.test("catchUp for daily agrees with a day-by-day walk through 2026", () => {
  const zones = ["Asia/Seoul", "America/New_York", "Europe/Berlin"];
  const times = ["00:00", "01:30", "02:00", "02:30", "03:00", "23:59:59"];
  for (const timeZone of zones) {
    for (const daily of times) {
      const s = validateSchedule({ daily, timeZone });
      const due = firstDue(s, ms("2026-01-01T00:00:00Z"));
      const now = ms("2026-12-31T00:00:00Z");
      assertEquals(catchUp(s, due, now), walk(s, due, now), `${daily} ${timeZone}`);
    }
  }
});
