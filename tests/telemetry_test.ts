import { applyTelemetry, checkDeviceId, emptyTwin, parseTelemetry } from "../actors/mod.ts";
import { ValidationError } from "../runtime/mod.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

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

Deno.test("checkDeviceId accepts 1-128 letters, digits, _ and -", () => {
  assertEquals(checkDeviceId("robot_1-A"), "robot_1-A");
  for (const bad of ["", "a/b", "a.b", "a b", "설비", "x".repeat(129), "..", "*", ">"]) {
    assertThrows(() => checkDeviceId(bad), ValidationError);
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
