import { applyTelemetry, emptyTwin, parseTelemetry } from "../actors/devices/telemetry.ts";
import { checkId } from "../actors/shared/ids.ts";
import { TELEMETRY_SCHEMA, telemetryRecord } from "../actors/devices/telemetry.ts";
import { ValidationError } from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

Deno.test("parseTelemetry fills in the receive time when ts is absent", () => {
  assertEquals(parseTelemetry({ readings: { temperature: 21.5 } }, NOW), {
    ts: NOW,
    readings: { temperature: 21.5 },
  });
});

Deno.test("parseTelemetry accepts epoch ms and ISO-8601 instants with an offset", () => {
  assertEquals(parseTelemetry({ ts: 1000, readings: { t: 1 } }, NOW).ts, 1000);
  assertEquals(
    parseTelemetry({ ts: "2026-05-01T02:00:00+09:00", readings: { t: 1 } }, NOW).ts,
    Date.UTC(2026, 3, 30, 17, 0, 0),
  );
  assertEquals(
    parseTelemetry({ ts: "2026-05-01T00:00:00.250Z", readings: { t: 1 } }, NOW).ts,
    Date.UTC(2026, 4, 1, 0, 0, 0, 250),
  );
});

Deno.test("parseTelemetry keeps battery and rssi", () => {
  assertEquals(parseTelemetry({ readings: { t: 1 }, battery: 55, rssi: -70 }, NOW), {
    ts: NOW,
    readings: { t: 1 },
    battery: 55,
    rssi: -70,
  });
});

Deno.test("parseTelemetry lists every problem with its path", () => {
  const error = assertThrows(
    () =>
      parseTelemetry(
        { ts: "soon", readings: { "bad name": 1, temperature: "hot" }, battery: -1 },
        NOW,
      ),
    ValidationError,
  );
  assertEquals(
    error.issues.map((i) => i.path).sort(),
    ["battery", "readings.bad name", "readings.temperature", "ts"],
  );
});

Deno.test("parseTelemetry rejects an ISO timestamp without an offset", () => {
  const error = assertThrows(
    () => parseTelemetry({ ts: "2026-05-01T02:00:00", readings: { t: 1 } }, NOW),
    ValidationError,
  );
  assertEquals(error.issues[0]?.path, "ts");
});

Deno.test("parseTelemetry rejects more than 256 readings", () => {
  const readings: Record<string, number> = {};
  for (let i = 0; i < 257; i++) readings[`s${i}`] = i;
  assertThrows(() => parseTelemetry({ readings }, NOW), ValidationError);
  delete readings.s256;
  assertEquals(Object.keys(parseTelemetry({ readings }, NOW).readings).length, 256);
});

Deno.test("parseTelemetry decides every body exactly as the schema does (fast path included)", () => {
  const bodies: unknown[] = [
    { readings: { t: 1 } },
    { ts: 5, readings: { t: 1, h: -2.5 }, battery: 0, rssi: 50 },
    { ts: 0, readings: { a_b: 1e300 }, battery: 100, rssi: -200 },
    { ts: "2026-11-23T12:00:00Z", readings: { t: 1 } },
    { ts: 1.5, readings: { t: 1 } },
    { ts: -1, readings: { t: 1 } },
    { ts: 8.64e15 + 1, readings: { t: 1 } },
    { ts: null, readings: { t: 1 } },
    { readings: {} },
    { readings: { t: "1" } },
    { readings: { t: null } },
    { readings: [] },
    { readings: null },
    { readings: { "bad name": 1 } },
    { readings: { constructor: 1 } },
    JSON.parse('{"readings": {"__proto__": 1}}'),
    JSON.parse('{"readings": {"t": 1}, "__proto__": {"x": 1}}'),
    { readings: { t: 1 }, extra: true },
    { readings: { t: 1 }, battery: 101 },
    { readings: { t: 1 }, battery: -0.1 },
    { readings: { t: 1 }, rssi: 51 },
    { readings: { t: 1 }, rssi: "x" },
    { readings: Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`s${i}`, i])) },
    { readings: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`s${i}`, i])) },
    { readings: { ["x".repeat(64)]: 1 } },
    { readings: { ["x".repeat(65)]: 1 } },
    { readings: Object.create({ inherited: 1 }) },
    null,
    [],
    "text",
    42,
  ];
  for (const body of bodies) {
    const parsed = TELEMETRY_SCHEMA.safeParse(body);
    const shown = JSON.stringify(body)?.slice(0, 80);
    if (parsed.success) {
      assertEquals(parseTelemetry(body, NOW), telemetryRecord(parsed.data, NOW), shown);
    } else {
      let refused: unknown = null;
      try {
        parseTelemetry(body, NOW);
      } catch (error) {
        refused = error;
      }
      assert(refused instanceof ValidationError, `refused as invalid: ${shown}`);
    }
  }
});

Deno.test("checkId accepts 1-128 letters, digits, _ and -", () => {
  assertEquals(checkId("robot_1-A", "device id"), "robot_1-A");
  for (const bad of ["", "a/b", "a.b", "a b", "설비", "x".repeat(129), "..", "*", ">"]) {
    assertThrows(() => checkId(bad, "device id"), ValidationError, "invalid device id");
  }
});

Deno.test("applyTelemetry keeps the newest value per sensor and counts every record", () => {
  const twin = emptyTwin();
  applyTelemetry(twin, { ts: 2000, readings: { t: 20, h: 50 } }, NOW);
  applyTelemetry(twin, { ts: 1000, readings: { t: 10, v: 3 } }, NOW + 5);
  applyTelemetry(twin, { ts: 2000, readings: { h: 55 }, battery: 90 }, NOW + 1);
  assertEquals(twin, {
    reported: { t: { value: 20, ts: 2000 }, h: { value: 55, ts: 2000 }, v: { value: 3, ts: 1000 } },
    lastSeen: NOW + 5,
    messageCount: 3,
    battery: 90,
    rssi: null,
  });
});
