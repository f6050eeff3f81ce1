import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { StoreError } from "../runtime/mod.ts";

const PROBLEM = "application/problem+json; charset=utf-8";

async function problemOf(res: Response, status: number, code: string) {
  assertEquals(res.status, status, `status for ${code}`);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  const body = await res.json();
  assertEquals(body.code, code);
  assertEquals(body.type, `urn:flotilla:problem:${code}`);
  assertEquals(body.status, status);
  assert(typeof body.title === "string" && body.title.length > 0, "problem has a title");
  assert(typeof body.detail === "string" && body.detail.length > 0, "problem has a detail");
  assert(!JSON.stringify(body).includes("    at "), "no stack trace in a problem");
  return body;
}

Deno.test("GET /healthz answers 200 {status: ok}", async () => {
  const t = await testApp();
  const res = await t.app.request("/healthz");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { status: "ok" });
  await t.close();
});

Deno.test("GET /readyz reports its checks and 503 when not ready", async () => {
  let ready = true;
  const t = await testApp({
    readiness: () => Promise.resolve({ ready, checks: { store: ready ? "ok" : "unreachable" } }),
  });
  let res = await t.app.request("/readyz");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { status: "ready", checks: { store: "ok" } });
  ready = false;
  res = await t.app.request("/readyz");
  assertEquals(res.status, 503);
  assertEquals(await res.json(), { status: "not_ready", checks: { store: "unreachable" } });
  await t.close();
});

Deno.test("POST telemetry answers 202 and the twin shows it", async () => {
  const t = await testApp();
  const now = t.clock.now();
  let res = await t.post("robot-1", { readings: { temperature: 21.5, coordX: 3 } });
  assertEquals(res.status, 202);
  assertEquals(await res.json(), { device: "robot-1", messageCount: 1 });
  res = await t.post("robot-1", {
    ts: "2026-11-23T12:00:01Z",
    readings: { temperature: 22 },
    battery: 80,
  });
  assertEquals(res.status, 202);
  assertEquals(await res.json(), { device: "robot-1", messageCount: 2 });

  res = await t.app.request("/api/devices/robot-1");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    id: "robot-1",
    registered: false,
    type: null,
    location: null,
    sensors: null,
    heartbeatTimeout: 60_000,
    status: "online",
    statusSince: now,
    reported: {
      temperature: { value: 22, ts: Date.UTC(2026, 10, 23, 12, 0, 1) },
      coordX: { value: 3, ts: now },
    },
    desired: {},
    delta: {},
    desiredVersion: 0,
    desiredUpdatedAt: {},
    reportedVersion: 2,
    lastSeen: now,
    messageCount: 2,
    battery: 80,
    rssi: null,
    thresholds: { temperature: { min: -10, max: 50 } },
    analytics: {
      temperature: {
        trend: "stable",
        anomalyScore: 0,
        window: { count: 2, mean: 21.75, std: 0.25, min: 21.5, max: 22 },
      },
      coordX: {
        trend: "stable",
        anomalyScore: 0,
        window: { count: 1, mean: 3, std: 0, min: 3, max: 3 },
      },
    },
    // Both records come from an unregistered device: referential integrity flags them (7 of 8
    // checks passed), and the score moves from 1 towards 0.875 by alpha 0.1 twice.
    quality: {
      score: 1 + 0.1 * (0.875 - 1) + 0.1 * (0.875 - (1 + 0.1 * (0.875 - 1))),
      failedByType: {
        schema: 0,
        completeness: 0,
        freshness: 0,
        range: 0,
        pattern: 0,
        duplicates: 0,
        referential: 2,
        anomaly: 0,
      },
    },
  });
  await t.close();
});

Deno.test("POST telemetry: a late record counts but does not overwrite newer values", async () => {
  const t = await testApp();
  assertEquals((await t.post("s1", { ts: 2000, readings: { temperature: 30 } })).status, 202);
  assertEquals(
    (await t.post("s1", { ts: 1000, readings: { temperature: 10, humidity: 40 } })).status,
    202,
  );
  const twin = await (await t.app.request("/api/devices/s1")).json();
  assertEquals(twin.reported, {
    temperature: { value: 30, ts: 2000 },
    humidity: { value: 40, ts: 1000 },
  });
  assertEquals(twin.messageCount, 2);
  await t.close();
});

Deno.test("POST telemetry answers only once the change is durable", async () => {
  let failing = true;
  const t = await testApp({
    store: {
      beforeCommit: () => {
        if (failing) throw new StoreError("store down (test)");
      },
    },
  });
  let settled = false;
  const pending = t.post("d1", { readings: { temperature: 1 } }).then((r) => {
    settled = true;
    return r;
  });
  await t.system.idle();
  assertEquals(settled, false, "no answer while the store refuses the write");
  // Past the ask deadline (5 s) the client gets a 504, never a 202.
  t.clock.advance(5_001);
  const res = await pending;
  await problemOf(res, 504, "timeout");
  // The twin is journaled: a reading is one event of its journal.
  assertEquals(await t.store.journalVersion("a/device/d1"), 0);
  // The change was kept and lands once the store is back.
  failing = false;
  t.clock.advance(10_000);
  await t.system.idle();
  assertEquals(await t.store.journalVersion("a/device/d1"), 1);
  await t.close();
});

Deno.test("GET an unknown device is a 404 problem", async () => {
  const t = await testApp();
  const body = await problemOf(await t.app.request("/api/devices/nobody"), 404, "not_found");
  assertMatch(body.detail, /nobody/);
  await t.close();
});

Deno.test("unknown routes are 404 problems, unknown methods of a known path 405 with Allow", async () => {
  const t = await testApp();
  await problemOf(await t.app.request("/api/nothing"), 404, "not_found");
  const res = await t.app.request("/api/devices/x/telemetry", { method: "DELETE" });
  assertEquals(res.headers.get("allow"), "POST");
  await problemOf(res, 405, "method_not_allowed");
  await t.close();
});

const BAD_BODIES: [string, string, string][] = [
  ["malformed JSON", '{"readings":', "malformed_json"],
  ["an empty body", "", "malformed_json"],
  ["a JSON array", "[]", "invalid_input"],
  ["JSON null", "null", "invalid_input"],
  ["a number", "42", "invalid_input"],
  ["no readings", "{}", "invalid_input"],
  ["empty readings", '{"readings":{}}', "invalid_input"],
  ["readings as an array", '{"readings":[1,2]}', "invalid_input"],
  ["a string reading", '{"readings":{"temperature":"hot"}}', "invalid_input"],
  ["a boolean reading", '{"readings":{"door":true}}', "invalid_input"],
  ["a null reading", '{"readings":{"temperature":null}}', "invalid_input"],
  ["an object reading", '{"readings":{"temperature":{"v":1}}}', "invalid_input"],
  ["a sensor name with a space", '{"readings":{"a b":1}}', "invalid_input"],
  ["an empty sensor name", '{"readings":{"":1}}', "invalid_input"],
  ["a sensor name of 65 characters", `{"readings":{"${"s".repeat(65)}":1}}`, "invalid_input"],
  ["a timestamp that is no date", '{"ts":"yesterday","readings":{"t":1}}', "invalid_input"],
  [
    "a timestamp without offset",
    '{"ts":"2026-01-01T00:00:00","readings":{"t":1}}',
    "invalid_input",
  ],
  ["a negative timestamp", '{"ts":-5,"readings":{"t":1}}', "invalid_input"],
  ["a fractional timestamp", '{"ts":1.5,"readings":{"t":1}}', "invalid_input"],
  ["a boolean timestamp", '{"ts":true,"readings":{"t":1}}', "invalid_input"],
  ["battery over 100", '{"readings":{"t":1},"battery":101}', "invalid_input"],
  ["an unknown field", '{"readings":{"t":1},"reading":{"t":2}}', "invalid_input"],
];

Deno.test("POST telemetry rejects bad bodies with a 400 problem and changes nothing", async () => {
  const t = await testApp();
  assertEquals((await t.post("d1", { readings: { t: 1 } })).status, 202);
  for (const [what, body, code] of BAD_BODIES) {
    const res = await t.post("d1", body);
    const problem = await problemOf(res, 400, code);
    if (code === "invalid_input") {
      assert(
        Array.isArray(problem.errors) && problem.errors.length > 0,
        `${what}: lists its errors`,
      );
    }
  }
  await t.system.idle();
  const twin = await (await t.app.request("/api/devices/d1")).json();
  assertEquals(twin.messageCount, 1, "no bad body was applied");
  assertEquals(twin.reported, { t: { value: 1, ts: t.clock.now() } });
  assertEquals(await t.store.journalVersion("a/device/d1"), 1, "no bad body was written");
  await t.close();
});

Deno.test("POST telemetry names the field that is wrong", async () => {
  const t = await testApp();
  const body = await problemOf(
    await t.post("d1", '{"readings":{"temperature":"hot","ok":1}}'),
    400,
    "invalid_input",
  );
  assertEquals(body.errors, [{ path: "readings.temperature", message: "must be a number" }]);
  await t.close();
});

Deno.test("POST telemetry without a JSON content type is a 415 problem", async () => {
  const t = await testApp();
  const res = await t.app.request("/api/devices/d1/telemetry", {
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: '{"readings":{"t":1}}',
  });
  await problemOf(res, 415, "unsupported_media_type");
  await problemOf(await t.app.request("/api/devices/d1"), 404, "not_found");
  await t.close();
});

Deno.test("POST telemetry over the body limit is a 413 problem", async () => {
  const t = await testApp({ bodyLimit: 1024 });
  const readings: Record<string, number> = {};
  for (let i = 0; i < 200; i++) readings[`sensor_${i}`] = i;
  await problemOf(await t.post("d1", { readings }), 413, "payload_too_large");
  await problemOf(await t.app.request("/api/devices/d1"), 404, "not_found");
  await t.close();
});

Deno.test("device ids that are empty, too long, unicode or paths are refused", async () => {
  const t = await testApp();
  for (
    const id of [
      encodeURIComponent("../etc"),
      "a".repeat(129),
      encodeURIComponent("설비-1"),
      "a.b",
      "%20",
    ]
  ) {
    await problemOf(await t.post(id, { readings: { t: 1 } }), 400, "invalid_input");
    await problemOf(await t.app.request(`/api/devices/${id}`), 400, "invalid_input");
  }
  await problemOf(await t.post("", { readings: { t: 1 } }), 404, "not_found");
  assertEquals(await t.store.keys("a/"), []);
  // The longest valid id works.
  assertEquals((await t.post("a".repeat(128), { readings: { t: 1 } })).status, 202);
  await t.close();
});

Deno.test("GET /metrics exposes runtime and HTTP metrics", async () => {
  const t = await testApp();
  await t.post("m1", { readings: { t: 1 } });
  await t.post("m1", { readings: { t: 2 } });
  const res = await t.app.request("/metrics");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  for (
    const line of [
      'flotilla_messages_total{type="device"} 2',
      'flotilla_active_actors{type="device"} 1',
      'flotilla_activations_total{type="device"} 1',
      'flotilla_http_requests_total{method="POST",route="/api/devices/:id/telemetry",status="202"} 2',
      "# TYPE flotilla_handler_duration_seconds histogram",
      "# TYPE flotilla_store_duration_seconds histogram",
      "# TYPE flotilla_mailbox_depth gauge",
      "# TYPE flotilla_passivations_total counter",
      "# TYPE flotilla_actor_restarts_total counter",
    ]
  ) {
    assert(text.split("\n").includes(line), `metrics include ${line}`);
  }
  await t.close();
});
