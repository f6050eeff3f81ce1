/**
 * Numbers at the edges: every reading the schema accepts is applied without crashing the
 * device actor (thresholds, trend, z-score, quality statistics and the alert messages included),
 * and every one it does not accept is refused with a reason — over HTTP a 400, over NATS a
 * rejection the transport counts. Bare-number payloads accept JSON number syntax only.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { decodeDeviceMessage, MAX_READING } from "../actors/devices/mod.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("extreme readings within ±1e15 are applied, analysed and alerted on, never a crash", async () => {
  const t = await testApp();
  try {
    const extremes = [
      MAX_READING,
      -MAX_READING,
      5e-324,
      -5e-324,
      0,
      -0,
      1e-300,
      MAX_READING - 1,
      123456789.123456789,
    ];
    let sent = 0;
    // Enough readings per sensor for trends (10) and z-scores (10) to run on extremes.
    for (let round = 0; round < 3; round++) {
      for (const v of extremes) {
        const res = await t.post("edge-1", {
          readings: { temperature: v, humidity: -v, vibration: v, door_sensor: v },
          battery: 100,
          rssi: -200,
        });
        assertEquals(res.status, 202, `reading ${v}: ${await res.text()}`);
        sent++;
      }
    }
    const twin = await (await t.app.request("/api/devices/edge-1")).json();
    assertEquals(twin.messageCount, sent);
    for (
      const [sensor, a] of Object.entries(twin.analytics) as [string, { anomalyScore: number }][]
    ) {
      assert(Number.isFinite(a.anomalyScore), `${sensor}: a finite anomaly score`);
    }
    const alerts = await (await t.app.request("/api/alerts?device=edge-1")).json();
    assert(alerts.items.length > 0, "the out-of-range extremes raised alerts");
    for (const alert of alerts.items) {
      assert(!/NaN|Infinity/.test(alert.message), `a readable message: ${alert.message}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("readings beyond ±1e15 are a 400 naming the field, and change nothing", async () => {
  const t = await testApp();
  try {
    for (const v of [1e308, -1e308, 1.7976931348623157e308, MAX_READING * 10]) {
      const res = await t.post("edge-2", { readings: { temperature: v } });
      assertEquals(res.status, 400);
      const problem = await res.json();
      assertEquals(problem.errors[0].path, "readings.temperature");
      assert(problem.errors[0].message.includes("1e15"), problem.errors[0].message);
    }
    assertEquals((await t.app.request("/api/devices/edge-2")).status, 404, "nothing was applied");
  } finally {
    await t.close();
  }
});

Deno.test("bare-number payloads take JSON number syntax only, within ±1e15", () => {
  const accepted: [string, number][] = [
    ["8", 8],
    ["-0.5", -0.5],
    ["1e3", 1000],
    ["2.5E-3", 0.0025],
    ["1000000000000000", 1e15],
  ];
  for (const [text, value] of accepted) {
    const decoded = decodeDeviceMessage(["robot-1", "s", "coordX"], encode(text), 1);
    assert("payload" in decoded, `${JSON.stringify(text)} is accepted`);
    assertEquals((decoded.payload as { readings: Record<string, number> }).readings.coordX, value);
  }
  const refused: [string, string][] = [
    ["0x10", "not_a_number"],
    [" 8 ", "not_a_number"],
    ["8\n", "not_a_number"],
    ["+8", "not_a_number"],
    ["08", "not_a_number"],
    [".5", "not_a_number"],
    ["Infinity", "not_a_number"],
    ["NaN", "not_a_number"],
    ["", "not_a_number"],
    ["1_000", "not_a_number"],
    ["1e308", "out_of_range"],
    ["-2e15", "out_of_range"],
  ];
  for (const [text, reason] of refused) {
    const decoded = decodeDeviceMessage(["robot-1", "s", "coordX"], encode(text), 1);
    assert("reject" in decoded, `${JSON.stringify(text)} is refused`);
    assert(decoded.reject.startsWith(`${reason}:`), `${JSON.stringify(text)}: ${decoded.reject}`);
  }
});

Deno.test("a JSON telemetry body with a reading beyond ±1e15 over NATS is a rejection, not a crash", () => {
  const decoded = decodeDeviceMessage(
    ["robot-1", "t"],
    encode('{"readings":{"temperature":1e308}}'),
    1,
  );
  assert("reject" in decoded);
  assert(decoded.reject.startsWith("invalid_telemetry:"), decoded.reject);
  assert(decoded.reject.includes("readings.temperature"), decoded.reject);
});
