import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";

const PROBLEM = "application/problem+json; charset=utf-8";
type App = Awaited<ReturnType<typeof testApp>>;

async function call(
  t: App,
  method: string,
  path: string,
  body?: unknown,
  type = "application/json",
) {
  return await t.app.request(path, {
    method,
    headers: { "Content-Type": type },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function problemOf(res: Response, status: number, code?: string) {
  assertEquals(res.status, status, `status (${code})`);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  const body = await res.json();
  if (code !== undefined) assertEquals(body.code, code);
  assert(typeof body.detail === "string" && body.detail.length > 0, "a detail");
  return body;
}

Deno.test("PUT /api/devices/:id registers (201) and updates (200); GET shows the twin", async () => {
  const t = await testApp();
  let res = await call(t, "PUT", "/api/devices/env-1", {
    type: "environment",
    location: { lat: 37.5665, lon: 126.978 },
    sensors: ["temperature", "humidity"],
    thresholds: { temperature: { max: 35 } },
    heartbeatTimeout: "PT2M",
  });
  assertEquals(res.status, 201);
  let twin = await res.json();
  assertEquals(twin.id, "env-1");
  assertEquals(twin.status, "offline");
  assertEquals(twin.lastSeen, null);
  assertEquals(twin.heartbeatTimeout, 120_000);
  assertEquals(twin.thresholds, {
    temperature: { min: -10, max: 35 },
    humidity: { min: 0, max: 100 },
  });
  res = await call(t, "PUT", "/api/devices/env-1", { type: "environment", location: "lab" });
  assertEquals(res.status, 200);
  twin = await res.json();
  assertEquals(twin.location, "lab");
  assertEquals(twin.sensors, null, "a PUT replaces the whole registration");
  res = await t.app.request("/api/devices/env-1");
  assertEquals(res.status, 200);
  assertEquals((await res.json()).registered, true);
  await t.close();
});

Deno.test("GET /api/devices pages through devices: {items, next}", async () => {
  const t = await testApp();
  for (const id of ["d5", "d1", "d3", "d2", "d4"]) {
    assertEquals((await call(t, "PUT", `/api/devices/${id}`, { type: "x" })).status, 201);
  }
  await t.post("d9", { readings: { t: 1 } });
  let res = await t.app.request("/api/devices?limit=2");
  let page = await res.json();
  assertEquals(page.items.map((d: { id: string }) => d.id), ["d1", "d2"]);
  assertEquals(page.next, "d2");
  res = await t.app.request(`/api/devices?limit=2&after=${page.next}`);
  page = await res.json();
  assertEquals(page.items.map((d: { id: string }) => d.id), ["d3", "d4"]);
  res = await t.app.request("/api/devices?after=d4");
  page = await res.json();
  assertEquals(page.items.map((d: { id: string }) => d.id), ["d5", "d9"]);
  assertEquals(page.next, null);
  assertEquals(page.items[1].status, "online");
  assertEquals(page.items[1].reported.t.value, 1);
  for (
    const q of [
      "limit=0",
      "limit=501",
      "limit=1.5",
      "limit=x",
      "after=a.b",
      `after=${"a".repeat(129)}`,
    ]
  ) {
    await problemOf(await t.app.request(`/api/devices?${q}`), 400, "invalid_input");
  }
  await t.close();
});

Deno.test("PUT /api/devices/:id refuses bad bodies and ids, writing nothing", async () => {
  const t = await testApp();
  const bodies: unknown[] = [
    {},
    { type: "" },
    { type: "a b" },
    { type: "x", extra: 1 },
    { type: "x", location: { lat: 0 } },
    { type: "x", location: "" },
    { type: "x", sensors: "temperature" },
    { type: "x", sensors: ["t", "t"] },
    { type: "x", thresholds: { t: {} } },
    { type: "x", thresholds: { t: { max: "hot" } } },
    { type: "x", heartbeatTimeout: 0 },
    { type: "x", heartbeatTimeout: "soon" },
    { type: "x", heartbeatTimeout: "P1Y" },
    { type: "x", heartbeatTimeout: 31 * 86_400_000 },
    [],
    null,
    "{",
  ];
  for (const body of bodies) {
    const res = await call(t, "PUT", "/api/devices/d1", body);
    const problem = await problemOf(res, 400);
    assert(["invalid_input", "malformed_json"].includes(problem.code), JSON.stringify(body));
  }
  await problemOf(await call(t, "PUT", "/api/devices/d1", { type: "x" }, "text/plain"), 415);
  for (
    const id of [
      encodeURIComponent("../x"),
      "a.b",
      "a".repeat(129),
      encodeURIComponent("센서"),
      "%20",
    ]
  ) {
    await problemOf(
      await call(t, "PUT", `/api/devices/${id}`, { type: "x" }),
      400,
      "invalid_input",
    );
    await problemOf(await t.app.request(`/api/devices/${id}/history`), 400, "invalid_input");
    await problemOf(
      await call(t, "PATCH", `/api/devices/${id}/desired`, { a: 1 }),
      400,
      "invalid_input",
    );
  }
  await t.system.idle();
  assertEquals(await t.store.keys("a/device/"), []);
  assertEquals(await t.store.journalKeys("a/device/"), [], "no event journaled");
  await t.close();
});

Deno.test("PATCH /api/devices/:id/desired merges (null removes), answers the delta, pushes it", async () => {
  const t = await testApp();
  await problemOf(
    await call(t, "PATCH", "/api/devices/hvac/desired", { fan: 1 }),
    404,
    "not_found",
  );
  await call(t, "PUT", "/api/devices/hvac", { type: "hvac" });
  await t.post("hvac", { readings: { fan: 1, setpoint: 22 } });
  let res = await call(t, "PATCH", "/api/devices/hvac/desired", {
    fan: 2,
    setpoint: 22,
    mode: "eco",
  });
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    device: "hvac",
    desired: { fan: 2, setpoint: 22, mode: "eco" },
    delta: { fan: 2, mode: "eco" },
    version: 1,
  });
  res = await call(
    t,
    "PATCH",
    "/api/devices/hvac/desired",
    { mode: null },
    "application/merge-patch+json",
  );
  assertEquals((await res.json()).desired, { fan: 2, setpoint: 22 });
  const twin = await (await t.app.request("/api/devices/hvac")).json();
  assertEquals(twin.delta, { fan: 2 });
  const pushed: unknown[] = [];
  t.events.subscribe({ topics: ["commands"] }, (e) => pushed.push(e), "t-0");
  assertEquals(pushed.length, 2, "each change pushed on the commands topic");
  for (
    const bad of [{}, [], { "a b": 1 }, { k: { nested: 1 } }, { k: [1] }, { k: "x".repeat(257) }]
  ) {
    await problemOf(await call(t, "PATCH", "/api/devices/hvac/desired", bad), 400, "invalid_input");
  }
  const many = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i]));
  await problemOf(await call(t, "PATCH", "/api/devices/hvac/desired", many), 400, "invalid_input");
  assertEquals((await (await t.app.request("/api/devices/hvac")).json()).desired, {
    fan: 2,
    setpoint: 22,
  });
  await t.close();
});

Deno.test("POST /api/devices/:id/commands answers 202 with a command id once durable", async () => {
  const t = await testApp();
  await problemOf(
    await call(t, "POST", "/api/devices/r1/commands", { name: "stop" }),
    404,
    "not_found",
  );
  await t.post("r1", { readings: { coordX: 1 } });
  let res = await call(t, "POST", "/api/devices/r1/commands", { name: "move", params: { x: 3 } });
  assertEquals(res.status, 202);
  const first = await res.json();
  assertEquals(Object.keys(first).sort(), ["commandId", "expiresAt", "status"]);
  assertEquals(first.status, "pending");
  assertEquals(first.expiresAt, t.clock.now() + 3_600_000, "an hour by default");
  res = await call(t, "POST", "/api/devices/r1/commands", { name: "stop" });
  assert((await res.json()).commandId !== first.commandId, "each command its own id");
  for (
    const bad of [
      {},
      { name: "" },
      { name: "a b" },
      { name: "x", params: 1 },
      { name: "x", y: 1 },
      { name: "x", ttl: 0 },
      { name: "x", ttl: 604_801 },
      { name: "x", ttl: 1.5 },
      { name: "x", ttl: "P8D" },
      { name: "x", ttl: "P1M" },
      { name: "x", ttl: "PT0S" },
      { name: "x", ttl: "soon" },
      { name: "x", commandId: "a.b" },
      { name: "x", commandId: "x".repeat(129) },
    ]
  ) {
    await problemOf(await call(t, "POST", "/api/devices/r1/commands", bad), 400, "invalid_input");
  }
  await t.close();
});

Deno.test("POST telemetry rejected by the quality schema is a 422 problem, counted", async () => {
  const t = await testApp();
  const readings = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`s${i}`, i]));
  assertEquals((await t.post("wide", { readings })).status, 202);
  const body = await problemOf(
    await t.post("wide", { readings: { s64: 1 } }),
    422,
    "record_rejected",
  );
  assertEquals(body.errors[0].path, "readings");
  assertMatch(body.detail, /at most 64/);
  const report = await (await t.app.request("/api/quality?stream=wide")).json();
  assertEquals(report.rejected, 1);
  assertEquals(report.records, 1);
  assertEquals(report.failedByType.schema, 1);
  // The first record was flagged (unregistered device), the second rejected.
  assertEquals(report.recentFailures.map((f: { rejected: boolean }) => f.rejected), [false, true]);
  const twin = await (await t.app.request("/api/devices/wide")).json();
  assertEquals(twin.messageCount, 1);
  assertEquals(twin.reported.s64, undefined);
  await t.close();
});

Deno.test("GET /api/quality: one stream's report, or every stream's score", async () => {
  const t = await testApp();
  await call(t, "PUT", "/api/devices/reg", { type: "x", sensors: ["t"] });
  await t.post("reg", { readings: { t: 1 } });
  await t.post("anon", { readings: { t: 1 } });
  let res = await t.app.request("/api/quality?stream=reg");
  assertEquals(res.status, 200);
  const report = await res.json();
  assertEquals(report.stream, "reg");
  assertEquals(report.score, 1);
  assertEquals(Object.keys(report.failedByType).length, 8);
  res = await t.app.request("/api/quality");
  const list = await res.json();
  assertEquals(list.items.map((i: { stream: string }) => i.stream), ["anon", "reg"]);
  assertEquals(list.items[0].score, 0.9875, "unregistered: referential integrity fails");
  await problemOf(await t.app.request("/api/quality?stream=nobody"), 404, "not_found");
  await problemOf(await t.app.request("/api/quality?stream=a%2Fb"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/quality?limit=-1"), 400, "invalid_input");
  await t.close();
});

Deno.test("GET /api/devices/:id/history returns readings over a time range", async () => {
  const t = await testApp();
  const base = Date.UTC(2026, 10, 23, 11, 0, 0);
  for (let i = 0; i < 100; i++) {
    assertEquals(
      (await t.post("h1", { ts: base + i * 1000, readings: { t: i, h: 50 } })).status,
      202,
    );
  }
  // 200 readings: three chunks of 64 sealed, 8 in the open chunk.
  let res = await t.app.request(
    `/api/devices/h1/history?sensor=t&from=${base + 10_000}&to=${base + 79_000}`,
  );
  assertEquals(res.status, 200);
  let body = await res.json();
  assertEquals(body.items.length, 70);
  assertEquals(body.items[0], { ts: base + 10_000, sensor: "t", value: 10 });
  assertEquals(body.items.at(-1), { ts: base + 79_000, sensor: "t", value: 79 });
  assertEquals(body.truncated, false);
  assertEquals(body.sensor, "t");
  // ISO instants, both sensors, a limit.
  res = await t.app.request(
    `/api/devices/h1/history?from=2026-11-23T11:01:39Z&to=2026-11-23T13:00:00%2B01:00&limit=1`,
  );
  body = await res.json();
  assertEquals(body.items, [{ ts: base + 99_000, sensor: "h", value: 50 }]);
  assertEquals(body.truncated, true);
  res = await t.app.request(`/api/devices/h1/history`);
  assertEquals((await res.json()).items.length, 200);
  for (
    const q of [
      "sensor=a%20b",
      "from=yesterday",
      "limit=0",
      "limit=10001",
      "to=2026-01-01T00:00:00",
    ]
  ) {
    await problemOf(await t.app.request(`/api/devices/h1/history?${q}`), 400, "invalid_input");
  }
  await problemOf(await t.app.request("/api/devices/nobody/history"), 404, "not_found");
  await t.close();
});

Deno.test("a device goes offline over HTTP too: heartbeat timeout with the app's clock", async () => {
  const t = await testApp();
  await call(t, "PUT", "/api/devices/hb", { type: "x", heartbeatTimeout: 5000 });
  await t.post("hb", { readings: { t: 1 } });
  t.clock.advance(4999);
  await t.system.idle();
  assertEquals((await (await t.app.request("/api/devices/hb")).json()).status, "online");
  t.clock.advance(1);
  await t.system.idle();
  const twin = await (await t.app.request("/api/devices/hb")).json();
  assertEquals(twin.status, "offline");
  assertEquals(twin.statusSince, t.clock.now());
  await t.close();
});
