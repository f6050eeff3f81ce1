/**
 * `device-writes`: what the store is asked to write per telemetry message of a device, and
 * what a device keeps in the store at rest — in bytes of JSON, for the ingest benchmark's
 * devices (one sensor at 1 Hz) and for robots (four sensors at 1 Hz). Runs in process on a
 * memory store behind a counter and a manual clock: no servers, nothing timed, exact figures.
 *
 * Also the CPU time this process spends per message (handler, commit, the memory store's
 * JSON encoding of what it is asked to write), in a second run on a plain memory store: a
 * figure a busy machine disturbs less than a rate.
 *
 * The baseline is the device's whole state: what a write per message would cost if it rewrote
 * the twin (the design before issue 15). The ratio is bytes written per message over it.
 *
 * @module
 */
import { device } from "../actors/devices/mod.ts";
import { MemoryStore, type OpResult, type StoreOp } from "../runtime/mod.ts";
import { deviceSystem, T0 } from "../tests/helpers/devices.ts";
import { cpuUsage } from "node:process";
import { machine, report } from "./lib.ts";

const DEVICES = Number(Deno.env.get("BENCH_DEVICE_WRITES_DEVICES") ?? 100);
const MESSAGES = Number(Deno.env.get("BENCH_DEVICE_WRITES_MESSAGES") ?? 500);
const PREFIX = "a/device/";
/** Device d sends `MESSAGES + d % STAGGER` messages. */
const STAGGER = 100;

/** A memory store that counts the JSON bytes of the device writes it is asked to apply. */
class CountingStore extends MemoryStore {
  bytes = 0;
  writes = 0;
  ops: Record<string, number> = {};

  override commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    for (const op of ops) {
      if (!op.key.startsWith(PREFIX)) continue;
      this.ops[op.op] = (this.ops[op.op] ?? 0) + 1;
      this.writes++;
      this.bytes += op.key.length;
      if (op.op === "put") this.bytes += JSON.stringify(op.value).length;
      else if (op.op === "append") {
        for (const e of op.events) this.bytes += JSON.stringify(e).length;
      }
    }
    return super.commit(ops);
  }
}

/** Sends `MESSAGES` rounds of telemetry to `DEVICES` devices, one round a second. */
async function send(
  t: Awaited<ReturnType<typeof deviceSystem>>,
  readings: (i: number) => Record<string, number>,
): Promise<string[]> {
  const ids = Array.from({ length: DEVICES }, (_, d) => `b-${d}`);
  for (let i = 0; i < MESSAGES + STAGGER; i++) {
    t.clock.advance(1000);
    const ts = t.clock.now();
    // Device d stops after MESSAGES + d % STAGGER: devices at rest stand at every point
    // between two snapshots, as in a fleet.
    const live = i < MESSAGES ? ids : ids.filter((_, d) => d % STAGGER > i - MESSAGES);
    await Promise.all(
      live.map((id) => t.system.ref(device, id).ask("telemetry", { ts, readings: readings(i) })),
    );
  }
  await t.system.idle();
  return ids;
}

/** CPU microseconds (user + system) per message, on a plain memory store; best of 3 runs. */
async function cpuPerMessage(readings: (i: number) => Record<string, number>): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const t = await deviceSystem({}, { store: new MemoryStore() });
    const before = cpuUsage();
    await send(t, readings);
    const used = cpuUsage(before);
    await t.system.shutdown();
    let messages = 0;
    for (let d = 0; d < DEVICES; d++) messages += MESSAGES + d % STAGGER;
    best = Math.min(best, (used.user + used.system) / messages);
  }
  return best;
}

/** Sends the telemetry through a counting store; returns per-message figures. */
async function run(readings: (i: number) => Record<string, number>) {
  const store = new CountingStore();
  const t = await deviceSystem({}, { store });
  const ids = await send(t, readings);
  let atRest = 0, state = 0;
  for (const id of ids) {
    const key = PREFIX + id;
    const snap = await store.get(key);
    atRest += key.length + (snap === null ? 0 : JSON.stringify(snap.value).length);
    for (const e of await store.readJournal(key, 0)) atRest += JSON.stringify(e.event).length;
  }
  // The whole state, as a rewrite per message would store it (the envelope's state alone).
  for (const id of ids) state += JSON.stringify(await stateOf(store, PREFIX + id)).length;
  await t.system.shutdown();
  let messages = 0;
  for (let d = 0; d < DEVICES; d++) messages += MESSAGES + d % STAGGER;
  return {
    bytesPerMessage: store.bytes / messages,
    writesPerMessage: store.writes / messages,
    bytesPerWrite: store.bytes / store.writes,
    storedBytesPerDevice: atRest / DEVICES,
    stateBytesPerDevice: state / DEVICES,
    ops: store.ops,
    cpuMicrosPerMessage: await cpuPerMessage(readings),
  };
}

/**
 * A device's state rebuilt from the store: its snapshot's state with the journal events after
 * it folded in (what an activation loads).
 */
async function stateOf(store: MemoryStore, key: string): Promise<unknown> {
  const snap = await store.get(key);
  const value = snap?.value as { s?: unknown; j?: number } | undefined;
  let state = structuredClone(value?.s ?? null);
  const apply = (device as { apply?: (s: unknown, e: unknown) => unknown }).apply;
  for (const entry of await store.readJournal(key, value?.j ?? 0)) {
    state = apply!(state, (entry.event as { e: unknown }).e) ?? state;
  }
  return state;
}

if (import.meta.main) {
  const sensor = await run((i) => ({ temperature: 20 + (i % 10) }));
  const robot = await run((i) => ({
    coordX: 10 + (i % 7) * 0.5,
    coordY: 20 - (i % 5) * 0.25,
    motorRPM: 1200 + (i % 13),
    battery: 100 - i / 100,
  }));
  const round = (n: number) => Math.round(n * 10) / 10;
  await report({
    name: "device-writes",
    value: round(sensor.bytesPerMessage),
    unit: "bytes written per telemetry message",
    baseline: "the device's whole state (a rewrite per message)",
    baselineValue: round(sensor.stateBytesPerDevice),
    ratio: round(sensor.bytesPerMessage) / round(sensor.stateBytesPerDevice),
    target: "proportional to the change: ≤ 0.1 of the state",
    met: sensor.bytesPerMessage <= 0.1 * sensor.stateBytesPerDevice,
    machine: machine(),
    details: {
      devices: DEVICES,
      messagesPerDevice: `${MESSAGES} + (device index mod ${STAGGER})`,
      start: T0,
      oneSensor: roundAll(sensor),
      robotFourSensors: roundAll(robot),
    },
  });
}

function roundAll(r: Awaited<ReturnType<typeof run>>) {
  return {
    bytesPerMessage: Math.round(r.bytesPerMessage),
    writesPerMessage: Math.round(r.writesPerMessage * 1000) / 1000,
    bytesPerWrite: Math.round(r.bytesPerWrite),
    storedBytesPerDevice: Math.round(r.storedBytesPerDevice),
    stateBytesPerDevice: Math.round(r.stateBytesPerDevice),
    cpuMicrosPerMessage: Math.round(r.cpuMicrosPerMessage * 10) / 10,
    ops: r.ops,
  };
}
