import { device, PRESENCE_SHARD } from "../actors/devices/mod.ts";
import {
  alive,
  due,
  emptyRoster,
  join,
  leave,
  resume,
  shardOf,
  watch,
} from "../actors/devices/presence.ts";
import { ManualClock, MemoryStore } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { deviceSystem, T0 } from "./helpers/devices.ts";
import { GatedStore, metric } from "./helpers/system.ts";

const TIMEOUT = 30_000;
const CONFIG = { heartbeatTimeout: "PT30S" };

async function status(t: Awaited<ReturnType<typeof deviceSystem>>, id: string) {
  return (await t.system.ref(device, id).ask("twin"))?.status;
}

async function send(t: Awaited<ReturnType<typeof deviceSystem>>, id: string, readings = { n: 1 }) {
  const reply = await t.system.ref(device, id).ask("telemetry", { ts: t.clock.now(), readings });
  await t.system.idle();
  return reply;
}

// ---------------------------------------------------------------- the roster (pure)

Deno.test("roster: join, watch, alive, leave keep the earliest check time", () => {
  const r = emptyRoster();
  join(r, "device/a", 1000);
  join(r, "device/b", 2000);
  assertEquals(r.next, null);
  assertEquals(due(r, 1e12), [], "members that time themselves are not due");
  watch(r, "device/a", 500);
  watch(r, "device/b", 300);
  assertEquals(r.next, 300);
  watch(r, "device/b", 200);
  assertEquals(r.members["device/b"]!.w, 300, "a check time never moves earlier");
  assertEquals(due(r, 299), []);
  assertEquals(due(r, 300), ["device/b"]);
  alive(r, "device/b");
  assertEquals(r.next, 500);
  leave(r, "device/a");
  assertEquals(r.next, null);
  watch(r, "device/nobody", 5);
  assertEquals(r.members["device/nobody"], undefined, "only members are watched");
});

Deno.test("roster: resume gives every member a full timeout, except those already heard from", () => {
  const r = emptyRoster();
  join(r, "device/a", 1000);
  join(r, "device/b", 5000);
  join(r, "device/c", 1000);
  watch(r, "device/b", 100_000);
  resume(r, 10_000, new Set(["device/c"]));
  assertEquals(r.members["device/a"]!.w, 11_000);
  assertEquals(r.members["device/b"]!.w, 100_000, "a later check time stands");
  assertEquals(r.members["device/c"]!.w, undefined);
  assertEquals(r.next, 11_000);
});

Deno.test("shardOf is stable and spreads addresses", () => {
  assertEquals(shardOf("device/robot-1", 16), shardOf("device/robot-1", 16));
  const counts = new Array(16).fill(0);
  for (let i = 0; i < 1600; i++) counts[shardOf(`device/d${i}`, 16)]++;
  assert(counts.every((c) => c > 60 && c < 140), `spread ${counts}`);
});

// ---------------------------------------------------------------- heartbeats in a system

Deno.test("a silent device goes offline exactly at lastSeen + timeout, then back online", async () => {
  const t = await deviceSystem(CONFIG);
  await send(t, "d1");
  assertEquals(await status(t, "d1"), "online");
  await t.advance(TIMEOUT - 1);
  assertEquals(await status(t, "d1"), "online");
  assertEquals(t.calls("device_offline"), []);
  await t.advance(1);
  assertEquals(await status(t, "d1"), "offline");
  const [raised] = t.calls("device_offline", "raise");
  assertEquals(raised?.op === "raise" && raised.source, "device/d1");
  assertEquals(raised?.op === "raise" && raised.severity, "high");
  assertEquals(raised?.op === "raise" && raised.at, T0 + TIMEOUT);
  // Coming back clears it.
  await send(t, "d1");
  assertEquals(await status(t, "d1"), "online");
  assertEquals(t.calls("device_offline", "resolve").map((c) => c.source), ["device/d1"]);
  // Nothing more while it stays silent less than the timeout.
  await t.advance(TIMEOUT - 1);
  assertEquals(t.calls("device_offline", "raise").length, 1);
  await t.system.shutdown();
});

Deno.test("each message moves the deadline; the timer re-arms itself, not per message", async () => {
  const t = await deviceSystem(CONFIG);
  await send(t, "d1");
  for (let i = 0; i < 200; i++) {
    await t.advance(1000);
    await send(t, "d1");
  }
  // 200 s of telemetry every second: the timer fires about once per 30 s, not once per message
  // (the device handled 201 telemetry messages; the rest are heartbeat checks).
  const checks = metric(t.system, 'flotilla_messages_total{type="device"}') - 201;
  assert(checks >= 6 && checks <= 7, `${checks} heartbeat checks`);
  assertEquals(await status(t, "d1"), "online");
  await t.advance(TIMEOUT - 1);
  assertEquals(await status(t, "d1"), "online");
  await t.advance(1);
  assertEquals(await status(t, "d1"), "offline");
  assertEquals(t.calls("device_offline", "raise").length, 1);
  await t.system.shutdown();
});

Deno.test("the timeout comes from the device, else its type, else the deployment", async () => {
  const t = await deviceSystem({
    heartbeatTimeout: "PT30S",
    deviceTypes: { robot: { heartbeatTimeout: "PT10S" } },
  });
  const reg = (id: string, body: Record<string, unknown>) =>
    t.system.ref(device, id).ask("register", { type: "sensor", ...body } as never);
  await reg("robot-1", { type: "robot" });
  await reg("own", { type: "robot", heartbeatTimeout: 5000 });
  await reg("plain", {});
  for (const id of ["robot-1", "own", "plain"]) await send(t, id);
  await t.advance(5000);
  assertEquals(await status(t, "own"), "offline");
  assertEquals(await status(t, "robot-1"), "online");
  await t.advance(5000);
  assertEquals(await status(t, "robot-1"), "offline");
  assertEquals(await status(t, "plain"), "online");
  await t.advance(20_000);
  assertEquals(await status(t, "plain"), "offline");
  // Re-registering with a shorter timeout re-times an online device.
  await send(t, "plain");
  await t.advance(1000);
  await reg("plain", { heartbeatTimeout: 2000 });
  await t.advance(999);
  assertEquals(await status(t, "plain"), "online");
  await t.advance(1);
  assertEquals(await status(t, "plain"), "offline");
  await t.system.shutdown();
});

Deno.test("a passivated online device is checked by its shard at its deadline", async () => {
  const t = await deviceSystem({ heartbeatTimeout: "PT60S", passivateAfter: "PT10S" });
  await send(t, "d1");
  await t.advance(20_000);
  assert(metric(t.system, 'flotilla_passivations_total{type="device"}') >= 1, "passivated");
  await t.advance(39_999); // T0 + 59.999 s
  assertEquals(t.calls("device_offline"), [], "not before its deadline");
  await t.advance(1_001);
  const [raised] = t.calls("device_offline", "raise");
  assert(raised !== undefined, "offline after its deadline");
  assert(
    raised.op === "raise" && raised.at! >= T0 + 60_000 && raised.at! <= T0 + 61_000,
    "within a tick",
  );
  await t.system.shutdown();
});

Deno.test("restart: a device online at shutdown goes offline a timeout after the restart", async () => {
  const store = new MemoryStore();
  const first = await deviceSystem(CONFIG, { store });
  await send(first, "d1");
  await send(first, "d2");
  await first.advance(10_000);
  await first.system.shutdown();

  // An hour later, nothing ever arrives for d1.
  const restart = T0 + 3_600_000;
  const second = await deviceSystem(CONFIG, { store, clock: new ManualClock(restart) });
  await second.advance(1000);
  // Someone reads the twin during the grace period: it must not cut the grace short.
  assertEquals(await status(second, "d1"), "online");
  await second.advance(TIMEOUT - 2000); // restart + 29 s
  assertEquals(second.calls("device_offline"), []);
  // d2 speaks up after the restart: it stays online on its own timer.
  await send(second, "d2");
  await second.advance(3000); // restart + 32 s: within a tick of the grace's end
  const raised = second.calls("device_offline", "raise");
  assertEquals(raised.map((c) => c.source), ["device/d1"]);
  assert(raised[0]!.op === "raise" && raised[0]!.at! <= restart + TIMEOUT + 2000);
  assertEquals(await status(second, "d1"), "offline");
  assertEquals(await status(second, "d2"), "online");
  await second.advance(TIMEOUT);
  assertEquals(await status(second, "d2"), "offline");
  await second.system.shutdown();
});

Deno.test("restart after a short downtime: the grace counts from the restart", async () => {
  const store = new MemoryStore();
  const first = await deviceSystem(CONFIG, { store });
  await send(first, "d1");
  await first.advance(5_000);
  await first.system.shutdown();
  // Down for 20 s: the old deadline (T0 + 30 s) passes during the grace.
  const restart = T0 + 25_000;
  const second = await deviceSystem(CONFIG, { store, clock: new ManualClock(restart) });
  // The first tick (overdue) wakes the shard at once; time moves on in small steps, as it does.
  await second.advance(1000);
  await second.advance(TIMEOUT - 2000);
  assertEquals(second.calls("device_offline"), [], "not at the old deadline");
  await second.advance(3000);
  assertEquals(second.calls("device_offline", "raise").length, 1);
  await second.system.shutdown();
});

Deno.test("telemetry writes no reminder: presence costs writes per transition, not per message", async () => {
  const store = new GatedStore();
  const clock = new ManualClock(T0);
  const t = await deviceSystem(CONFIG, { store: store as unknown as MemoryStore, clock });
  for (let i = 0; i < 100; i++) {
    await t.system.ref(device, "busy").ask("telemetry", { ts: T0 + i, readings: { n: i } });
  }
  await t.system.idle();
  const reminderWrites = store.batches.flat().filter((op) => op.key.startsWith("r/")).length;
  assertEquals(reminderWrites, 1, "one shard reminder, set when the device came online");
  const shardWrites = store.batches.flat().filter((op) =>
    op.key.startsWith(`a/${PRESENCE_SHARD}/`)
  );
  assert(shardWrites.length <= 2, `${shardWrites.length} shard writes (join, resume)`);
  await t.system.shutdown();
});

Deno.test("a clock jump of 30 days is one late firing per timer, not a backlog", async () => {
  const t = await deviceSystem(CONFIG);
  await send(t, "d1");
  const started = performance.now();
  await t.advance(30 * 86_400_000);
  assert(performance.now() - started < 2000, "no backlog of ticks");
  assertEquals(await status(t, "d1"), "offline");
  assertEquals(t.calls("device_offline", "raise").length, 1);
  assertEquals(t.clock.pending <= 1, true, "nothing ticks while nothing is online");
  // The wake-up reminder is gone with the last member.
  assertEquals(await t.store.keys("r/"), []);
  await t.system.shutdown();
});
