import { COMMANDS_TOPIC, device, DEVICE_HISTORY } from "../actors/devices/mod.ts";
import { applyDesired, deltaOf, parseRegistration } from "../actors/devices/twin.ts";
import { emptyHistory, type HistoryItem, merge, record } from "../actors/devices/history.ts";
import { type BusEvent, ConfigError, ValidationError } from "../runtime/mod.ts";
import { actors } from "../actors/devices/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./helpers/assert.ts";
import { deviceSystem, T0 } from "./helpers/devices.ts";

type Sys = Awaited<ReturnType<typeof deviceSystem>>;

async function send(t: Sys, id: string, readings: Record<string, number>, ts = t.clock.now()) {
  const reply = await t.system.ref(device, id).ask("telemetry", { ts, readings });
  await t.system.idle();
  return reply;
}

function events(t: Sys, topic: string): BusEvent[] {
  return t.events(topic);
}

// ---------------------------------------------------------------- registration, desired, delta

Deno.test("registration validates its body and names every problem", () => {
  assertEquals(parseRegistration({ type: "robot" }), { type: "robot" });
  assertEquals(
    parseRegistration({
      type: "env",
      location: { lat: 37.5, lon: 127 },
      sensors: ["temperature"],
      thresholds: { temperature: { max: 40 } },
      heartbeatTimeout: "PT90S",
    }).heartbeatTimeout,
    90_000,
  );
  const error = assertThrows(
    () =>
      parseRegistration({
        type: "bad type",
        location: { lat: 91, lon: 0 },
        sensors: ["a", "a"],
        thresholds: { u: {} },
        heartbeatTimeout: 10,
        extra: 1,
      }),
    ValidationError,
  );
  assertEquals(error.issues.map((i) => i.path).sort(), [
    "", // the unknown key
    "heartbeatTimeout",
    "location.lat",
    "sensors",
    "thresholds.u",
    "type",
  ]);
  assertThrows(() => parseRegistration({}), ValidationError);
  assertThrows(() => parseRegistration({ type: "x", heartbeatTimeout: "P1Y" }), ValidationError);
  // Durations in one unit, as the API document's pattern states; combined units are refused.
  assertThrows(
    () => parseRegistration({ type: "x", heartbeatTimeout: "PT1M30S" }),
    ValidationError,
  );
  assertEquals(
    parseRegistration({ type: "x", heartbeatTimeout: "PT36H" }).heartbeatTimeout,
    129_600_000,
  );
  // A range whose min lies above its max holds no value: every reading is outside it.
  assertEquals(
    parseRegistration({ type: "x", thresholds: { t: { min: 5, max: 1 } } }).thresholds,
    { t: { min: 5, max: 1 } },
  );
});

Deno.test("desired state: a merge patch, and the delta against what is reported", () => {
  const desired: Record<string, number | string | boolean> = {};
  applyDesired(desired, { fan: 1, mode: "eco", light: true });
  applyDesired(desired, { light: null, fan: 2 });
  assertEquals(desired, { fan: 2, mode: "eco" });
  assertEquals(deltaOf(desired, { fan: { value: 2, ts: 1 } }), { mode: "eco" });
  assertEquals(deltaOf(desired, { fan: { value: 3, ts: 1 } }), { fan: 2, mode: "eco" });
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
  assertThrows(() => applyDesired(desired, many), ValidationError);
  assertEquals(desired, { fan: 2, mode: "eco" }, "nothing changed");
});

Deno.test("the twin: registration, reported, desired, delta; desired changes are pushed", async () => {
  const t = await deviceSystem();
  const ref = t.system.ref(device, "hvac-1");
  await assertRejects(() => ref.ask("desired", { patch: { fan: 1 } }), Error, "not registered");
  const { created, twin } = await ref.ask("register", {
    type: "hvac",
    location: "floor 3",
    sensors: ["temperature", "fan"],
  });
  assertEquals(created, true);
  assertEquals(twin.status, "offline");
  assertEquals(twin.registered, true);
  assertEquals((await ref.ask("register", { type: "hvac" })).created, false);
  const patched = await ref.ask("desired", { patch: { fan: 2, temperature: 21 } });
  assertEquals(patched, {
    device: "hvac-1",
    desired: { fan: 2, temperature: 21 },
    delta: { fan: 2, temperature: 21 },
    version: 1,
  });
  await t.system.idle();
  assertEquals(events(t, COMMANDS_TOPIC), [], "an offline device gets nothing yet");
  // Its first telemetry: it is online, and gets the desired state it missed, with the delta.
  await send(t, "hvac-1", { temperature: 21, fan: 1 });
  const view = await ref.ask("twin");
  assertEquals(view?.delta, { fan: 2 });
  assertEquals(view?.desired, { fan: 2, temperature: 21 });
  assertEquals(view?.desiredVersion, 1);
  assertEquals(view?.desiredUpdatedAt, { fan: T0, temperature: T0 });
  assertEquals(view?.reportedVersion, 1);
  const pushed = events(t, COMMANDS_TOPIC);
  assertEquals(pushed.length, 1);
  assertEquals(pushed[0]!.key, "hvac-1");
  assertEquals(pushed[0]!.data, {
    kind: "desired",
    device: "hvac-1",
    desired: { fan: 2, temperature: 21 },
    delta: { fan: 2 },
    version: 1,
  });
  // Online: a change goes out at once.
  await t.advance(1000);
  await ref.ask("desired", { patch: { temperature: null } });
  await t.system.idle();
  assertEquals(events(t, COMMANDS_TOPIC).length, 2);
  assertEquals((await ref.ask("twin"))?.desiredUpdatedAt, { fan: T0 });
  // A stale version is refused, the current one accepted.
  await assertRejects(
    () => ref.ask("desired", { patch: { fan: 3 }, ifMatch: [1] }),
    Error,
    "version 2",
  );
  assertEquals((await ref.ask("desired", { patch: { fan: 3 }, ifMatch: [1, 2] })).version, 3);
  await t.system.shutdown();
});

// ---------------------------------------------------------------- analytics through the actor

Deno.test("threshold alerts: raised when a sensor leaves its range, cleared when all are back", async () => {
  const t = await deviceSystem();
  await send(t, "env-1", { temperature: 50, humidity: 40 });
  assertEquals(t.calls("threshold_violation"), [], "50 is within [-10, 50]");
  await send(t, "env-1", { temperature: 50.5, humidity: 40 });
  await send(t, "env-1", { temperature: 60, humidity: 101 });
  const raised = t.calls("threshold_violation", "raise");
  assertEquals(raised.length, 2, "once per sensor entering violation");
  assertEquals(raised.map((r) => r.op === "raise" && r.severity), ["high", "high"]);
  assertEquals(raised.map((r) => r.op === "raise" && (r.data as { sensor: string }).sensor), [
    "temperature",
    "humidity",
  ]);
  await send(t, "env-1", { temperature: 20, humidity: 101 });
  assertEquals(t.calls("threshold_violation", "resolve"), [], "humidity is still out");
  await send(t, "env-1", { temperature: 20, humidity: 50 });
  assertEquals(t.calls("threshold_violation", "resolve").length, 1);
  await t.system.shutdown();
});

Deno.test("thresholds come from the device, then its type, then the defaults", async () => {
  const t = await deviceSystem({
    deviceTypes: { freezer: { thresholds: { temperature: { min: -30, max: -10 } } } },
  });
  await t.system.ref(device, "f1").ask("register", { type: "freezer" });
  await t.system.ref(device, "f2").ask("register", {
    type: "freezer",
    thresholds: { temperature: { max: 0 } },
  });
  await send(t, "f1", { temperature: -20 });
  await send(t, "f2", { temperature: -5 });
  await send(t, "plain", { temperature: -5 });
  assertEquals(t.calls("threshold_violation"), []);
  await send(t, "f1", { temperature: -5 });
  await send(t, "f2", { temperature: -31 });
  assertEquals(t.calls("threshold_violation", "raise").map((c) => c.source), [
    "device/f1",
    "device/f2",
  ]);
  const twin = await t.system.ref(device, "f2").ask("twin");
  assertEquals(twin?.thresholds.temperature, { min: -30, max: 0 });
  await t.system.shutdown();
});

Deno.test("rapid_change (medium) and pattern_anomaly (high, critical) through the actor", async () => {
  const t = await deviceSystem();
  for (let i = 0; i < 10; i++) await send(t, "v1", { vibration: 100 + (i % 2) * 2 }, T0 + i * 1000);
  await send(t, "v1", { vibration: 103.5 }, T0 + 10_000); // z 2.5: score 0.83
  let anomalies = t.calls("pattern_anomaly", "raise");
  assertEquals(anomalies.map((a) => a.op === "raise" && a.severity), ["high"]);
  await send(t, "v1", { vibration: 150 }, T0 + 11_000); // far out: critical
  anomalies = t.calls("pattern_anomaly", "raise");
  assertEquals(anomalies.map((a) => a.op === "raise" && a.severity), ["high", "critical"]);
  // A steady climb of 5 per reading: rapidly increasing, raised once.
  for (let i = 0; i < 10; i++) await send(t, "r1", { temperature: 10 + i * 5 }, T0 + i * 1000);
  const rapid = t.calls("rapid_change", "raise").filter((c) => c.source === "device/r1");
  assertEquals(rapid.length, 1);
  assert(rapid[0]!.op === "raise" && rapid[0]!.severity === "medium");
  const twin = await t.system.ref(device, "r1").ask("twin");
  assertEquals(twin?.analytics.temperature?.trend, "rapidly_increasing");
  assertEquals(twin?.analytics.temperature?.window.count, 10);
  await t.system.shutdown();
});

Deno.test("a record failing the quality schema is rejected and counted, not applied", async () => {
  const t = await deviceSystem({
    deviceTypes: { robot: { quality: { schema: { required: ["coordX"] } } } },
  });
  await t.system.ref(device, "r1").ask("register", { type: "robot" });
  const reply = await send(t, "r1", { coordY: 1 });
  assert("rejected" in reply, "rejected");
  assertEquals(reply.messageCount, 0);
  const report = await t.system.ref(device, "r1").ask("quality");
  assertEquals(report?.rejected, 1);
  assertEquals(report?.failedByType.schema, 1);
  assertEquals((await t.system.ref(device, "r1").ask("twin"))?.reported, {});
  assertEquals(events(t, "telemetry"), [], "nothing published");
  const ok = await send(t, "r1", { coordX: 1 });
  assertEquals(ok, { device: "r1", messageCount: 1 });
  await t.system.shutdown();
});

Deno.test("status events: none on a device's first message, one per later transition", async () => {
  const t = await deviceSystem({ heartbeatTimeout: "PT10S" });
  await send(t, "d1", { n: 1 });
  assertEquals(
    events(t, "telemetry").map((e) => Object.keys(e.data as object).includes("status")),
    [false],
  );
  await t.advance(10_000);
  await send(t, "d1", { n: 2 });
  const statuses = events(t, "telemetry").flatMap((e) => {
    const d = e.data as { status?: string };
    return d.status === undefined ? [] : [d.status];
  });
  assertEquals(statuses, ["offline", "online"]);
  await t.system.shutdown();
});

// ---------------------------------------------------------------- history

Deno.test("history: the open chunk seals into a ring of chunks, bounded", () => {
  const h = emptyHistory();
  const config = { chunkSize: 4, chunks: 2 };
  const sealed = [];
  for (let i = 0; i < 13; i++) {
    const chunk = record(h, 1000 + i, i % 2 ? "a" : "b", i, config);
    if (chunk !== null) sealed.push(chunk.seq);
  }
  assertEquals(sealed, [0, 1, 2]);
  assertEquals(h.index.map((r) => r[0]), [1, 2], "the oldest index entry dropped");
  assertEquals(h.open.t.map((x) => x + h.open.b), [1012]);
  const items: HistoryItem[] = [
    { ts: 2, sensor: "b", value: 1 },
    { ts: 1, sensor: "z", value: 0 },
    { ts: 2, sensor: "a", value: 2 },
  ];
  assertEquals(merge(items, 2), {
    items: [{ ts: 1, sensor: "z", value: 0 }, { ts: 2, sensor: "a", value: 2 }],
    truncated: true,
  });
});

Deno.test("history through the actors: readings over a range, across sealed chunks", async () => {
  const t = await deviceSystem({ history: { chunkSize: 4, chunks: 3 } });
  for (let i = 0; i < 18; i++) await send(t, "h1", { a: i, b: -i }, T0 + i * 1000);
  // 36 readings: 9 chunks sealed, 3 kept (seq 6, 7, 8 → readings 24..35), the open one empty.
  const plan = await t.system.ref(device, "h1").ask("historyPlan", {
    sensor: "a",
    from: 0,
    to: 8.64e15,
  });
  assertEquals(plan?.seqs, [6, 7, 8]);
  const items: HistoryItem[] = [...plan!.items];
  for (const [i, id] of plan!.chunks.entries()) {
    items.push(
      ...(await t.system.ref(DEVICE_HISTORY, id).ask("read", {
        sensor: "a",
        from: 0,
        to: 8.64e15,
        seq: plan!.seqs[i]!,
      })) as HistoryItem[],
    );
  }
  assertEquals(merge(items, 100).items.map((x) => x.value), [12, 13, 14, 15, 16, 17]);
  await t.system.shutdown();
});

Deno.test("the area's configuration is checked at start", () => {
  assertThrows(() => actors({ heartbeatTimeout: "soon" }), ConfigError, "heartbeatTimeout");
  assertThrows(() => actors({ trend: { axis: "days" as never } }), ConfigError, "trend.axis");
  assertThrows(() => actors({ edge: { limits: { cpu: 120 } } }), ConfigError, "edge.limits.cpu");
  assertThrows(
    () => actors({ deviceTypes: { robot: { quality: { pattern: { sensor: "(" } } } } }),
    ConfigError,
    "deviceTypes.robot.quality.pattern.sensor",
  );
});
