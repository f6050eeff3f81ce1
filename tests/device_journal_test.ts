/**
 * The device twin's persisted format (issue 15): each change is a small journal event, with a
 * snapshot every `DEVICE_SNAPSHOT_EVERY` events and the journal compacted behind it. These
 * tests check the format, that a reload (replay) gives the twin a device that never left
 * memory has, that a twin stored whole by the older code loads, a crash between the append and
 * the snapshot (or the compaction), effectively-once delivery across a reload, and a store gone
 * back in time.
 */
import { device, DEVICE_SNAPSHOT_EVERY } from "../actors/devices/mod.ts";
import {
  type JsonValue,
  ManualClock,
  MemoryStore,
  type OpResult,
  StoreError,
  type StoreOp,
} from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { deviceSystem, prng, T0 } from "./helpers/devices.ts";
import { OLD_DEVICE_ENVELOPE, OLD_DEVICE_SAVED_AT, OLD_DEVICE_TWIN } from "./helpers/old_device.ts";
import { journalEvents } from "./helpers/stored.ts";
import { flushMicrotasks } from "./helpers/system.ts";

const KEY = "a/device/d1";
const N = DEVICE_SNAPSHOT_EVERY;
type Sys = Awaited<ReturnType<typeof deviceSystem>>;

/** Everything the API shows of a device: twin, quality report, history. */
async function views(t: Sys, id = "d1") {
  const ref = t.system.ref(device, id);
  return {
    twin: await ref.ask("twin"),
    quality: await ref.ask("quality"),
    history: await ref.ask("historyPlan", { from: 0, to: Number.MAX_SAFE_INTEGER }),
  };
}

/** A second system on the same store and clock (the first shut down: a restart, a move). */
async function reopen(t: Sys): Promise<Sys> {
  await t.system.shutdown();
  return await deviceSystem({}, { store: t.store, clock: t.clock });
}

/** Readings of two sensors, now and then out of range or far off, one a second. */
async function readings(t: Sys, from: number, to: number, id = "d1"): Promise<void> {
  const random = prng(from + 7);
  for (let i = from; i < to; i++) {
    t.clock.advance(1000);
    const spike = i % 37 === 0 ? 30 : 0;
    await t.system.ref(device, id).ask("telemetry", {
      ts: t.clock.now(),
      readings: { temperature: 20 + random() * 2 + spike, humidity: 50 + random() * 5 },
      battery: 100 - i / 10,
    });
  }
  await t.system.idle();
  await flushMicrotasks();
}

Deno.test("a reading is one small journal event; every N events a snapshot, the journal compacted behind it", async () => {
  const t = await deviceSystem();
  const ref = t.system.ref(device, "d1");
  await ref.ask("telemetry", { ts: T0, readings: { temperature: 21.5 } });
  await t.system.idle();
  assertEquals(await t.store.get(KEY), null, "no snapshot for one event");
  assertEquals(await journalEvents(t.store, KEY), [
    { k: "t", at: T0, r: { ts: T0, readings: { temperature: 21.5 } } },
  ]);
  const [first] = await t.store.readJournal(KEY, 0);
  assert(JSON.stringify(first).length < 150, `an event is small: ${JSON.stringify(first)}`);

  await readings(t, 1, N);
  const snap = (await t.store.get(KEY))!;
  const value = snap.value as { s: { messageCount: number }; j: number };
  assertEquals([value.j, value.s.messageCount], [N, N]);
  assertEquals(await t.store.journalVersion(KEY), N);
  assertEquals(await t.store.readJournal(KEY, 0), [], "compacted behind the snapshot");
  assert(JSON.stringify(snap.value).length > 20 * JSON.stringify(first).length);
  await t.system.shutdown();
});

Deno.test("a reloaded twin replays to the twin of a device that never left memory, and goes on alike", async () => {
  // `a` keeps the device in memory; `b` reloads it midway (a snapshot and the events after it).
  const a = await deviceSystem({}, { clock: new ManualClock(T0) });
  let b = await deviceSystem({}, { clock: new ManualClock(T0) });
  for (const t of [a, b]) {
    await t.system.ref(device, "d1").ask("register", {
      type: "env",
      sensors: ["temperature", "humidity"],
      thresholds: { temperature: { max: 40 } },
    });
    await t.system.ref(device, "d1").ask("desired", { patch: { mode: "eco" } });
    await readings(t, 0, 123);
    await t.system.ref(device, "d1").ask("useCommands");
    await t.system.ref(device, "d1").ask("syncDesired", { desiredVersion: 1 });
  }
  await b.system.idle();
  const raised = a.alerts.length;
  assert(raised > 0, "alerts raised before the reload");
  const before = await views(b);
  b = await reopen(b);
  assertEquals(await views(b), before, "loaded as it was");
  assertEquals(await b.store.journalVersion(KEY), 127, "loading wrote nothing");
  b = await reopen(b);
  assertEquals(await views(b), before, "replayed again: the same");

  for (const t of [a, b]) {
    await readings(t, 123, 260);
    t.clock.advance(60_000);
    await t.system.ref(device, "d1").ask("goOffline");
    await readings(t, 260, 262);
  }
  const [va, vb] = [await views(a), await views(b)];
  assertEquals(vb, va);
  assertEquals((va.twin as { messageCount: number }).messageCount, 262);
  assertEquals(b.alerts, a.alerts.slice(raised), "the same alerts since the reload");
  assert(b.alerts.length > 0);
  await a.system.shutdown();
  b = await reopen(b);
  assertEquals(await views(b), va);
  await b.system.shutdown();
});

Deno.test("a twin stored whole by the code before the journal loads, goes on, and is replaced by a snapshot", async () => {
  const store = new MemoryStore();
  await store.commit([{ op: "put", key: KEY, value: OLD_DEVICE_ENVELOPE, expectedVersion: 0 }]);
  let t = await deviceSystem({}, { store, clock: new ManualClock(OLD_DEVICE_SAVED_AT) });
  assertEquals(await t.system.list("device"), ["d1"], "listed by its snapshot");
  const ref = () => t.system.ref(device, "d1");
  assertEquals(await ref().ask("twin"), OLD_DEVICE_TWIN as unknown);
  t.clock.advance(1000);
  await ref().ask("telemetry", { ts: t.clock.now(), readings: { temperature: 30 } });
  await t.system.idle();
  assertEquals(await t.store.journalVersion(KEY), 1, "the reading is an event");
  assertEquals((await t.store.get(KEY))!.value, OLD_DEVICE_ENVELOPE, "the old snapshot stays");
  await t.system.ref(device, "d0").ask("telemetry", { ts: t.clock.now(), readings: { x: 1 } });
  await t.system.idle();
  assertEquals(await t.system.list("device"), ["d0", "d1"], "by journal or snapshot, in order");
  assertEquals(await t.system.list("device", { limit: 1 }), ["d0"]);
  assertEquals(await t.system.list("device", { after: "d0", limit: 1 }), ["d1"]);
  t = await reopen(t);
  const twin = (await ref().ask("twin"))!;
  assertEquals([twin.messageCount, twin.reported.temperature?.value], [6, 30]);
  assertEquals(twin.desired, { mode: "eco" });
  await readings(t, 0, N);
  const snap = (await t.store.get(KEY))!.value as { j: number; s: { messageCount: number } };
  assertEquals([snap.j, snap.s.messageCount], [N, 5 + N], "a snapshot of the new kind");
  t = await reopen(t);
  assertEquals((await ref().ask("twin"))!.messageCount, 6 + N);
  await t.system.shutdown();
});

Deno.test("an older twin still (no hello, commands counted in the twin) is upgraded before events replay on it", async () => {
  const envelope = structuredClone(OLD_DEVICE_ENVELOPE) as { s: Record<string, JsonValue> };
  delete envelope.s.hello;
  delete envelope.s.commandsInUse;
  envelope.s.commands = 2;
  const store = new MemoryStore();
  await store.commit([{ op: "put", key: KEY, value: envelope, expectedVersion: 0 }]);
  let t = await deviceSystem({}, { store, clock: new ManualClock(OLD_DEVICE_SAVED_AT) });
  await t.system.ref(device, "d1").ask("syncDesired", { desiredVersion: 1 });
  await t.system.ref(device, "d1").ask("telemetry", { ts: t.clock.now(), readings: { x: 1 } });
  await t.system.idle();
  // Reloaded: the hello and the reading replay on the old state, upgraded first.
  t = await reopen(t);
  assertEquals(await t.system.ref(device, "d1").ask("commandTarget"), {
    known: true,
    online: true,
    commandsInUse: true,
  });
  assertEquals((await t.system.ref(device, "d1").ask("twin"))!.messageCount, 6);
  await t.system.shutdown();
});

/** A memory store that loses some device writes of a batch, as a crash between them would. */
class LosingStore extends MemoryStore {
  lose: "snapshot" | "trim" | null = null;
  lost = 0;

  override async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    const kind = this.lose === "snapshot" ? "put" : this.lose;
    const gone = ops.map((op) => op.op === kind && op.key.startsWith("a/device/"));
    const results = await super.commit(ops.filter((_, i) => !gone[i]));
    const error = new StoreError("lost in a crash (test)");
    return gone.map((g) => {
      if (!g) return results.shift()!;
      this.lost++;
      return { ok: false, conflict: false, error };
    });
  }
}

Deno.test("a crash between the append and its snapshot loses nothing: replay starts from the older snapshot", async () => {
  const store = new LosingStore();
  let t = await deviceSystem({}, { store });
  store.lose = "snapshot";
  await readings(t, 0, N + 30);
  assertEquals(
    [store.lost, await store.get(KEY)],
    [1, null],
    "the appends landed, not the snapshot",
  );
  assertEquals((await store.readJournal(KEY, 0)).length, N + 30, "nothing compacted");
  const before = await views(t);
  store.lose = null;
  t = await reopen(t);
  assertEquals(await views(t), before, "every event replayed from the journal");
  await readings(t, N + 30, 2 * N + 10);
  assertEquals(((await store.get(KEY))!.value as { j: number }).j, 2 * N);
  assertEquals((await store.readJournal(KEY, 0)).length, 10, "compacted through 2N");
  t = await reopen(t);
  assertEquals((await t.system.ref(device, "d1").ask("twin"))!.messageCount, 2 * N + 10);
  await t.system.shutdown();
});

Deno.test("a crash between the snapshot and the compaction: the events it covers are skipped, not applied twice", async () => {
  const store = new LosingStore();
  let t = await deviceSystem({}, { store });
  store.lose = "trim";
  await readings(t, 0, N + 25);
  assertEquals((await store.readJournal(KEY, 0)).length, N + 25, "the compaction was lost");
  assertEquals(((await store.get(KEY))!.value as { j: number }).j, N);
  const before = await views(t);
  t = await reopen(t);
  assertEquals(await views(t), before);
  assertEquals((await t.system.ref(device, "d1").ask("twin"))!.messageCount, N + 25);
  await t.system.shutdown();
});

Deno.test("effectively once across a reload: stream positions ride with the events", async () => {
  let t = await deviceSystem();
  const send = (seq: number) =>
    t.system.deliver({
      type: "device",
      id: "d1",
      kind: "telemetry",
      payload: { ts: T0 + seq * 1000, readings: { temperature: seq % 7 } },
    }, { source: "in/3", seq });
  for (let seq = 1; seq <= 130; seq++) await send(seq);
  await t.system.idle();
  t = await reopen(t);
  // Redelivered from 120 on (an unacknowledged tail, say): the first eleven are duplicates.
  const replies = [];
  for (let seq = 120; seq <= 140; seq++) replies.push(await send(seq));
  assertEquals(replies.filter((r) => r === undefined).length, 11);
  await t.system.idle();
  assertEquals((await t.system.ref(device, "d1").ask("twin"))!.messageCount, 140);
  t = await reopen(t);
  assertEquals((await t.system.ref(device, "d1").ask("twin"))!.messageCount, 140);
  await t.system.shutdown();
});

Deno.test("embedded: a store that lost journal events gets the twin held in memory in a snapshot", async () => {
  let t = await deviceSystem();
  const ref = () => t.system.ref(device, "d1");
  await readings(t, 0, 3);
  const image = t.store.image();
  await readings(t, 3, 6); // acknowledged: 6 readings, journal version 6
  t.store.restore(image); // the store lost three of them
  await readings(t, 6, 7);
  assertEquals((await ref().ask("twin"))!.messageCount, 7, "applied to the acknowledged twin");
  const snap = (await t.store.get(KEY))!.value as { j: number; s: { messageCount: number } };
  assertEquals([snap.j, snap.s.messageCount], [4, 7], "the twin in memory, in a snapshot");
  t = await reopen(t);
  assertEquals((await ref().ask("twin"))!.messageCount, 7);
  await readings(t, 7, 8);
  t = await reopen(t);
  assertEquals((await ref().ask("twin"))!.messageCount, 8);
  await t.system.shutdown();
});
