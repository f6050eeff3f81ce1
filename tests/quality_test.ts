import {
  assess,
  CHECKS,
  emptyQuality,
  type QualityRules,
  type RecordContext,
  reportOf,
} from "../actors/devices/quality.ts";
import { DEFAULT_QUALITY, mergeDeep, qualityRules } from "../actors/devices/config.ts";
import {
  dedupSize,
  emptyDedup,
  keyHash,
  minuteOf,
  remember,
  seen,
} from "../actors/devices/dedup.ts";
import type { QualitySettings } from "../actors/devices/mod.ts";
import type { DeepPartial } from "../actors/devices/config.ts";
import type { TelemetryRecord } from "../actors/devices/telemetry.ts";
import { ConfigError } from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { prng, T0 } from "./helpers/devices.ts";

const CTX: RecordContext = {
  deviceId: "robot-1",
  now: T0,
  registered: true,
  sensors: null,
  known: {},
};

function rules(overrides: DeepPartial<QualitySettings> = {}): QualityRules {
  return qualityRules(mergeDeep(DEFAULT_QUALITY, overrides));
}

function rec(readings: Record<string, number>, ts = T0, extra: Partial<TelemetryRecord> = {}) {
  return { ts, readings, ...extra };
}

/** The checks a single record fails on a fresh stream. */
function failedOf(
  record: TelemetryRecord,
  ctx: Partial<RecordContext> = {},
  overrides: DeepPartial<QualitySettings> = {},
) {
  const verdict = assess(emptyQuality(), record, { ...CTX, ...ctx }, rules(overrides));
  return verdict.rejected ? ["schema (rejected)"] : [...verdict.failed];
}

Deno.test("a clean record passes all eight checks and keeps the score at 1", () => {
  const q = emptyQuality();
  const v = assess(q, rec({ temperature: 21 }), CTX, rules());
  assertEquals(v, { rejected: false, failed: [], issues: [], score: 1 });
  assertEquals(q.score, 1);
  assertEquals(q.records, 1);
  assertEquals(CHECKS.length, 8);
});

Deno.test("schema: a missing required field rejects the record, counted with its reason", () => {
  const q = emptyQuality();
  const r = rules({ schema: { required: ["coordX", "battery"] } });
  const v = assess(q, rec({ coordY: 1 }), CTX, r);
  assertEquals(v.rejected, true);
  assertEquals(v.issues, [
    { path: "readings.coordX", message: "is required" },
    { path: "battery", message: "is required" },
  ]);
  assertEquals(q.rejected, 1);
  assertEquals(q.records, 0, "not applied");
  assertEquals(q.failed.schema, 1);
  assertEquals(q.score, 0.9, "a rejected record scores 0");
  assertEquals(q.recent.length, 1);
  assertEquals(q.recent[0]!.rejected, true);
  // With both present it passes.
  assertEquals(assess(q, rec({ coordX: 1 }, T0, { battery: 50 }), CTX, r).rejected, false);
});

Deno.test("schema: types, strict mode and the sensor cap", () => {
  const types = { schema: { types: { door_sensor: "integer" as const } } };
  assertEquals(failedOf(rec({ door_sensor: 1 }), {}, types), []);
  assertEquals(failedOf(rec({ door_sensor: 0.5 }), {}, types), ["schema (rejected)"]);
  const strict = { schema: { strict: true, required: ["coordX"] } };
  assertEquals(
    failedOf(rec({ coordX: 1, coordY: 2 }), { sensors: ["coordX", "coordY"] }, strict),
    [],
  );
  // Declared by the schema but not registered: strict mode accepts it, referential flags it.
  assertEquals(failedOf(rec({ coordX: 1, coordY: 2 }), { sensors: ["coordY"] }, strict), [
    "referential",
  ]);
  assertEquals(failedOf(rec({ coordX: 1, coordZ: 2 }), { sensors: ["coordY"] }, strict), [
    "schema (rejected)",
  ]);
  // 63 known sensors: one more is the 64th (fine), two more exceed the cap.
  const known = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`s${i}`, 1]));
  assertEquals(failedOf(rec({ s0: 1, extra1: 1 }), { known }), []);
  assertEquals(failedOf(rec({ extra1: 1, extra2: 1 }), { known }), ["schema (rejected)"]);
  assertEquals(failedOf(rec({ s1: 1, s2: 1 }), { known }), [], "known sensors add nothing");
});

Deno.test("schema can be turned off: nothing is rejected", () => {
  const off = { schema: { enabled: false, required: ["x"] } };
  assertEquals(failedOf(rec({ y: 1 }), {}, off), []);
});

Deno.test("completeness: the share of expected fields missing may reach, not exceed, 10%", () => {
  const sensors = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const all = Object.fromEntries(sensors.map((s) => [s, 1]));
  const without = (n: number) => {
    const r = { ...all };
    for (let i = 0; i < n; i++) delete r[`s${i}`];
    return r;
  };
  assertEquals(failedOf(rec(without(1)), { sensors }), [], "10% missing");
  assertEquals(failedOf(rec(without(2)), { sensors }), ["completeness"], "20% missing");
  // Explicit fields; battery counts as a field.
  const fields = { completeness: { fields: ["a", "battery"], maxNullRatio: 0.5 } };
  assertEquals(failedOf(rec({ a: 1 }), {}, fields), []);
  assertEquals(failedOf(rec({ b: 1 }), {}, fields), ["completeness"]);
  // No expected fields (unregistered, none configured): nothing to miss.
  assertEquals(failedOf(rec({ a: 1 }), { sensors: null }), []);
});

Deno.test("freshness: a record up to 300 s old is fresh, older is not, future is fine", () => {
  assertEquals(failedOf(rec({ t: 1 }, T0 - 300_000)), []);
  assertEquals(failedOf(rec({ t: 1 }, T0 - 300_001)), ["freshness"]);
  assertEquals(failedOf(rec({ t: 1 }, T0 + 3_600_000)), []);
  assertEquals(failedOf(rec({ t: 1 }, T0 - 60_001), {}, { freshness: { maxAge: "PT1M" } }), [
    "freshness",
  ]);
  assertEquals(failedOf(rec({ t: 1 }, T0 - 1e9), {}, { freshness: { enabled: false } }), []);
});

Deno.test("range: min, max and allowed values, bounds inclusive", () => {
  assertEquals(failedOf(rec({ humidity: 100 })), []);
  assertEquals(failedOf(rec({ humidity: 100.1 })), ["range"]);
  assertEquals(failedOf(rec({ humidity: -0.1 })), ["range"]);
  assertEquals(failedOf(rec({ door_sensor: 1 })), []);
  assertEquals(failedOf(rec({ door_sensor: 0.5 })), ["range"]);
  const battery = { range: { rules: { battery: { min: 5 } } } };
  assertEquals(failedOf(rec({ t: 1 }, T0, { battery: 5 }), {}, battery), []);
  assertEquals(failedOf(rec({ t: 1 }, T0, { battery: 4 }), {}, battery), ["range"]);
});

Deno.test("pattern: the device id and sensor names against regular expressions", () => {
  const p = { pattern: { deviceId: "^robot-\\d+$", sensor: "^[a-z_]+$" } };
  assertEquals(failedOf(rec({ temperature: 1 }), {}, p), []);
  assertEquals(failedOf(rec({ temperature: 1 }), { deviceId: "sensor-1" }, p), ["pattern"]);
  assertEquals(failedOf(rec({ coordX: 1 }), {}, p), ["pattern"]);
  assertThrows(() => rules({ pattern: { sensor: "([" } }), ConfigError, "pattern.sensor");
});

Deno.test("duplicates: the same key fields within the window, in any reading order", () => {
  const q = emptyQuality();
  const r = rules();
  const first = assess(q, rec({ a: 1, b: 2 }, T0 - 5000), CTX, r);
  assertEquals(first.failed, []);
  assertEquals(assess(q, rec({ b: 2, a: 1 }, T0 - 5000), CTX, r).failed, ["duplicates"]);
  assertEquals(assess(q, rec({ a: 1, b: 3 }, T0 - 5000), CTX, r).failed, [], "other values");
  assertEquals(assess(q, rec({ a: 1, b: 2 }, T0 - 4000), CTX, r).failed, [], "other ts");
  assertEquals(q.failed.duplicates, 1);
  assertEquals(q.records, 4, "a duplicate is flagged, not dropped");
});

Deno.test("duplicates: the window is 1 h of event time (to the minute)", () => {
  const byValue = { duplicates: { keyFields: ["readings" as const] } };
  const r = rules(byValue);
  const at = (minutes: number) => T0 + minutes * 60_000;
  let q = emptyQuality();
  assess(q, rec({ a: 1 }, at(0)), { ...CTX, now: at(0) }, r);
  assertEquals(assess(q, rec({ a: 1 }, at(60)), { ...CTX, now: at(60) }, r).failed, [
    "duplicates",
  ]);
  q = emptyQuality();
  assess(q, rec({ a: 1 }, at(0)), { ...CTX, now: at(0) }, r);
  assertEquals(assess(q, rec({ a: 1 }, at(61)), { ...CTX, now: at(61) }, r).failed, []);
});

Deno.test("duplicates: the memory is bounded by maxKeys and forgets keys older than the window", () => {
  const m = emptyDedup();
  for (let i = 0; i < 1000; i++) {
    const h = keyHash(rec({ i }), ["readings"]);
    remember(m, h, minuteOf(T0), 60, 256);
  }
  assertEquals(dedupSize(m), 256);
  assertEquals(m.keys.length, 256 * 8, "8 characters per key");
  assert(seen(m, keyHash(rec({ i: 999 }), ["readings"]), minuteOf(T0), 60));
  assert(!seen(m, keyHash(rec({ i: 0 }), ["readings"]), minuteOf(T0), 60), "evicted by the bound");
  // 61 minutes later every key is out of the window.
  remember(m, keyHash(rec({ x: 1 }), ["readings"]), minuteOf(T0 + 61 * 60_000), 60, 256);
  assertEquals(dedupSize(m), 1);
});

Deno.test("duplicate keys: order-independent, value-sensitive, absent fields distinct", () => {
  const k = (r: TelemetryRecord, f: Parameters<typeof keyHash>[1]) => keyHash(r, f);
  assertEquals(k(rec({ a: 1, b: 2 }), ["readings"]), k(rec({ b: 2, a: 1 }), ["readings"]));
  assert(k(rec({ a: 1, b: 2 }), ["readings"]) !== k(rec({ a: 2, b: 1 }), ["readings"]));
  assert(k(rec({ a: 1 }), ["readings"]) !== k(rec({ a: 1, b: 0 }), ["readings"]));
  assertEquals(k(rec({ a: 0 }), ["readings"]), k(rec({ a: -0 }), ["readings"]));
  assert(k(rec({ a: 1 }), ["battery"]) !== k(rec({ a: 1 }, T0, { battery: 0 }), ["battery"]));
  assertEquals(k(rec({ a: 1, b: 5 }), ["readings.a"]), k(rec({ a: 1, b: 6 }), ["readings.a"]));
  assertEquals(k(rec({ a: 1 }), ["ts"]).length, 6);
  // Minutes wrap around at 4096: the last and the first are one apart.
  const m = emptyDedup();
  remember(m, "AAAAAA", 4095, 60, 10);
  assert(seen(m, "AAAAAA", 0, 1));
  assert(!seen(m, "AAAAAA", 62, 60));
});

Deno.test("property: random keys are found exactly while remembered", () => {
  const random = prng(5);
  const m = emptyDedup();
  const remembered: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const h = keyHash(rec({ v: Math.floor(random() * 1e9) }, T0 + i), ["ts", "readings"]);
    const dup = seen(m, h, minuteOf(T0), 60);
    assertEquals(dup, remembered.slice(-100).includes(h), `key ${i}`);
    if (!dup) {
      remember(m, h, minuteOf(T0), 60, 100);
      remembered.push(h);
    }
  }
});

Deno.test("referential integrity: unregistered devices and unregistered sensors are flagged", () => {
  assertEquals(failedOf(rec({ t: 1 }), { registered: false }), ["referential"]);
  assertEquals(failedOf(rec({ t: 1 }), { registered: true, sensors: null }), []);
  assertEquals(failedOf(rec({ t: 1 }), { registered: true, sensors: ["t"] }), []);
  assertEquals(failedOf(rec({ t: 1, u: 2 }), { registered: true, sensors: ["t"] }), [
    "referential",
  ]);
  assertEquals(
    failedOf(rec({ t: 1 }), { registered: false }, { referential: { enabled: false } }),
    [],
  );
});

Deno.test("statistical anomaly: |z| above 3.5 against the previous values, from 10 on", () => {
  const r = rules();
  const probe = (history: number[], x: number) => {
    const q = emptyQuality();
    for (const v of history) assess(q, rec({ t: v }), CTX, r);
    return assess(q, rec({ t: x }, T0 + 1), CTX, r).failed;
  };
  const ten = Array.from({ length: 10 }, (_, i) => (i % 2 ? 12 : 10)); // mean 11, std 1
  assertEquals(probe(ten, 14.5), [], "|z| = 3.5: not above");
  assertEquals(probe(ten, 14.51), ["anomaly"]);
  assertEquals(probe(ten, 7.49), ["anomaly"]);
  assertEquals(probe(ten.slice(1), 1000), [], "9 values: no verdict yet");
  assertEquals(probe([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], 6), [], "no spread: no verdict");
});

Deno.test("the score is an EMA (alpha 0.1) of the share of checks passed", () => {
  const q = emptyQuality();
  const r = rules();
  const unregistered = { ...CTX, registered: false };
  assess(q, rec({ t: 1 }, T0), unregistered, r); // 7 of 8
  assertEquals(q.score, 1 + 0.1 * (7 / 8 - 1));
  assess(q, rec({ humidity: 120 }, T0 - 400_000), unregistered, r); // 5 of 8
  const expected = 0.9875 + 0.1 * (5 / 8 - 0.9875);
  assert(Math.abs(q.score - expected) < 1e-12, `${q.score} ≈ ${expected}`);
  assertEquals(q.failed.referential, 2);
  assertEquals(q.failed.freshness, 1);
  assertEquals(q.failed.range, 1);
  const report = reportOf("robot-1", q);
  assertEquals(report.failedByType.referential, 2);
  assertEquals(report.records, 2);
  assertEquals(report.recentFailures.length, 2);
  // A custom alpha.
  const q2 = emptyQuality();
  assess(q2, rec({ t: 1 }), unregistered, rules({ alpha: 0.5 }));
  assertEquals(q2.score, 1 - 0.5 / 8);
});

Deno.test("property: the score stays in [0, 1] and counts never go negative", () => {
  const random = prng(3);
  const q = emptyQuality();
  const r = rules({ schema: { required: ["a"] }, recentFailures: 5 });
  for (let i = 0; i < 3000; i++) {
    const readings: Record<string, number> = {};
    if (random() < 0.9) readings.a = random() * 100;
    if (random() < 0.5) readings.humidity = random() * 120;
    if (Object.keys(readings).length === 0) readings.b = 1;
    assess(q, rec(readings, T0 - Math.floor(random() * 400_000)), {
      ...CTX,
      registered: random() < 0.5,
    }, r);
    assert(q.score >= 0 && q.score <= 1, `score ${q.score}`);
    assert(q.recent.length <= 5, "bounded report");
  }
  assertEquals(q.records + q.rejected, 3000);
  for (const check of CHECKS) assert(q.failed[check] >= 0);
});

Deno.test("quality settings are checked when resolved", () => {
  assertThrows(() => rules({ alpha: 2 }), ConfigError, "alpha");
  assertThrows(
    () => rules({ duplicates: { keyFields: ["id" as never] } }),
    ConfigError,
    "keyFields",
  );
  assertThrows(() => rules({ freshness: { maxAge: "soon" } }), ConfigError, "maxAge");
  assertThrows(() => rules({ anomaly: { z: 0 } }), ConfigError, "anomaly.z");
});
