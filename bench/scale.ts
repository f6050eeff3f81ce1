/**
 * `scale`: one node with a fleet of robots — `BENCH_SCALE_DEVICES` devices (default 100,000),
 * each sending 4 sensors (`coordX`, `coordY`, `motorRPM`, `battery`) to the real `device` actor
 * with its full analytics windows (120 readings per sensor, the default 60 s window at 2 Hz).
 *
 * Path: the in-process transport with a real store (Redis, its own `redis-server`): the figures
 * are about the number of devices, not the transport (the `ingest` benchmark measures NATS).
 * Every device's state is seeded in Redis as the actor itself wrote it (a template device is
 * sent 120 records through the real actor; its stored snapshot is copied under every id), so
 * the windows are full from the first message.
 *
 * Reported:
 * - `value`: heap bytes per active device twin — the heap (after a full GC) with every device
 *   active and a few messages applied to each, minus the heap before the first activation,
 *   divided by the device twins in memory. Everything the fleet adds counts (the activations,
 *   their timers, the presence rosters, history chunks and alerts the messages created).
 *   Baseline: a `Map` of the same states parsed from their JSON (no actor, no timer).
 * - `details.rateRatio`: telemetry records per second with `BENCH_SCALE_DEVICES` devices active
 *   over the rate with `BENCH_SCALE_SMALL` (default 1,000), same process, same message count
 *   (`BENCH_SCALE_MESSAGES`, default 200,000, round robin, `BENCH_SCALE_IN_FLIGHT` asks in
 *   flight, default half the small fleet, each answered once its change is durable).
 * - `details.churn…`: a new node with `maxActiveActors` = `BENCH_SCALE_CAP` (default 20,000)
 *   takes `BENCH_SCALE_CHURN_MESSAGES` (default 100,000) round robin over every device — the
 *   worst case for an LRU cap: every message activates an evicted device and evicts another —
 *   reporting the rate, activations and evictions per second, and the heap it ends with.
 *
 * @module
 */
import { loadavg } from "node:os";
import { registerActors } from "../actors/mod.ts";
import { ActorSystem, createLogger, MemoryStore } from "../runtime/mod.ts";
import type { JsonValue, StoreOp } from "../runtime/store.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import { startRedisServer } from "../tests/helpers/servers.ts";
import { gc, machine, report } from "./lib.ts";

const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const DEVICES = env("BENCH_SCALE_DEVICES", 100_000);
const SMALL = Math.min(DEVICES, env("BENCH_SCALE_SMALL", 1000));
const MESSAGES = env("BENCH_SCALE_MESSAGES", 200_000);
const CAP = Math.min(DEVICES, env("BENCH_SCALE_CAP", 20_000));
const CHURN_MESSAGES = env("BENCH_SCALE_CHURN_MESSAGES", 100_000);
/**
 * Asks in flight: at most half the small fleet, so that no device of it has two records in flight
 * — they would coalesce into one write there and not in the large fleet, and the two rates would
 * not measure the same work.
 */
const IN_FLIGHT = env("BENCH_SCALE_IN_FLIGHT", Math.max(1, Math.floor(SMALL / 2)));
/** Records that fill a window: the default 120 readings per sensor, one record every 500 ms. */
const FILL = 120;
const PERIOD_MS = 500;
const PREFIX = "bench-scale:";
const TARGET_BYTES = 4096;
const TARGET_RATIO = 0.7;
const SENSORS = ["coordX", "coordY", "motorRPM", "battery"];

/** Heartbeats are long here: no device goes offline during the run. */
const DOMAIN = { devices: { heartbeatTimeout: "PT6H" } };
const logger = createLogger({ level: "error" });
const progress = (what: string) => console.error(`scale: ${what}`);
const idOf = (i: number) => `robot-${i}`;
/** The event time the records start at: a little in the past. */
const T0 = Date.now() - FILL * PERIOD_MS;

/** Heap in use after a full GC, plus memory held outside the heap (array buffers). */
function heap(): number {
  gc();
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** Uniform noise in [0, 1) for record `k`, one stream per `salt`. */
function noise(k: number, salt: number): number {
  return ((Math.imul(k + 1, 2654435761) ^ Math.imul(salt, 40503)) >>> 0) / 2 ** 32;
}

/**
 * A robot's record number `k`: position, motor speed and battery, with noise around a working
 * point — within the anomaly and trend rules (no alert) and the quality rules, like a healthy
 * fleet. Every robot runs the same course, so the
 * seeded windows (copies of one) continue smoothly.
 */
function record(k: number) {
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  const battery = round(80 + noise(k, 4) / 10, 2);
  return {
    ts: T0 + k * PERIOD_MS,
    readings: {
      coordX: round(50 + 4 * noise(k, 1), 3),
      coordY: round(20 + 4 * noise(k, 2), 3),
      motorRPM: Math.round(1500 + 3 * noise(k, 3)),
      battery,
    },
    // Also the twin's battery level (which the completeness check looks for).
    battery,
  };
}

/** What the template device left in the store: its snapshot, the journal version it covers. */
interface Template {
  readonly envelope: JsonValue;
  readonly version: number;
  /** Records it was sent. */
  readonly records: number;
}

/**
 * Runs the real device actor for one device over a full window, and on until a snapshot covers
 * its whole journal (the device is journaled: a snapshot every 50 events).
 */
async function template(): Promise<Template> {
  const store = new MemoryStore();
  const system = registerActors(new ActorSystem({ store, logger }), DOMAIN);
  await system.start();
  const key = "a/device/template";
  // A registered robot, as a fleet's devices are (an unregistered one fails the referential
  // quality check on every record, and keeps those failures in its state).
  await system.ref("device", "template").ask("register", { type: "robot", sensors: SENSORS });
  let k = 0;
  for (; k < FILL; k++) await system.ref("device", "template").ask("telemetry", record(k));
  for (let extra = 0;; extra++) {
    await system.idle();
    const stored = await store.get(key);
    const covered = (stored?.value as { j?: number } | undefined)?.j ?? -1;
    if (stored !== null && (await store.readJournal(key, covered)).length === 0) {
      await system.shutdown();
      return { envelope: stored.value, version: covered, records: k };
    }
    if (extra > 200) throw new Error("no snapshot of the template device covers its journal");
    await system.ref("device", "template").ask("telemetry", record(k++));
  }
}

/**
 * Gives every device the template's snapshot, through the store: the snapshot, and a journal at
 * the version it covers (placeholder events, trimmed at once, as compaction leaves it).
 */
async function seed(url: string, t: Template): Promise<void> {
  const store = await RedisStore.connect(url, { prefix: PREFIX });
  const placeholders = new Array<JsonValue>(t.version).fill(0);
  try {
    for (let i = 0; i < DEVICES; i += 100) {
      // A batch names each key once: the snapshots, the journals, their compaction apart.
      const puts: StoreOp[] = [], appends: StoreOp[] = [], trims: StoreOp[] = [];
      for (let j = i; j < Math.min(DEVICES, i + 100); j++) {
        const key = `a/device/${idOf(j)}`;
        puts.push({ op: "put", key, value: t.envelope, expectedVersion: null });
        if (t.version === 0) continue;
        appends.push({ op: "append", key, events: placeholders, expectedVersion: 0 });
        trims.push({ op: "trim", key, through: t.version });
      }
      for (const ops of [puts, appends, trims]) {
        if (ops.length === 0) continue;
        const results = await store.commit(ops);
        if (results.some((r) => !r.ok)) throw new Error("seeding failed");
      }
    }
  } finally {
    await store.close();
  }
}

/** Heap bytes per state of a `Map` holding `n` copies of the state parsed from its JSON. */
function bareStates(json: string, n: number): number {
  const before = heap();
  const map = new Map<string, unknown>();
  for (let i = 0; i < n; i++) map.set(idOf(i), JSON.parse(json));
  const bytes = (heap() - before) / n;
  if (map.size !== n) throw new Error("unreachable");
  return bytes;
}

/**
 * Heap bytes of each top-level part of the state (and of each part of its analytics and
 * quality), parsed from its JSON: `copies` copies each, so the figure is per device.
 */
function byComponent(state: Record<string, unknown>, copies: number): Record<string, number> {
  const parts: [string, unknown][] = Object.entries(state);
  for (const area of ["analytics", "quality", "history"]) {
    for (const [k, v] of Object.entries(state[area] as Record<string, unknown>)) {
      parts.push([`${area}.${k}`, v]);
    }
  }
  const out: Record<string, number> = {};
  for (const [name, value] of parts) {
    out[name] = Math.round(parsedBytes(JSON.stringify(value), copies));
  }
  return out;
}

/** Heap bytes per copy of `copies` copies of `json` parsed (a call of its own: they die here). */
function parsedBytes(json: string, copies: number): number {
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const keep: unknown[] = new Array(copies);
  for (let i = 0; i < copies; i++) keep[i] = JSON.parse(json);
  gc();
  const bytes = (Deno.memoryUsage().heapUsed - before - copies * 4 - 16) / copies;
  if (keep.length !== copies) throw new Error("unreachable");
  return bytes;
}

/**
 * Sends `count` telemetry records round robin over devices `0 … devices-1`, at most
 * {@link IN_FLIGHT} asks in flight; resolves with records per second. `next` holds each
 * device's next record number.
 */
function pump(
  system: ActorSystem,
  devices: number,
  count: number,
  next: Int32Array,
): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  let sent = 0, done = 0;
  const started = performance.now();
  const send = () => {
    const d = sent++ % devices;
    system.ref("device", idOf(d)).ask("telemetry", record(next[d]!++), { timeout: "PT5M" })
      .then(onDone, reject);
  };
  const onDone = () => {
    if (++done === count) resolve(count / ((performance.now() - started) / 1000));
    else if (sent < count) send();
  };
  for (let i = 0; i < Math.min(IN_FLIGHT, count); i++) send();
  return promise;
}

async function node(url: string, maxActiveActors = Infinity) {
  const store = await RedisStore.connect(url, { prefix: PREFIX });
  const system = registerActors(new ActorSystem({ store, logger, maxActiveActors }), DOMAIN);
  await system.start();
  return { system, store };
}

function metric(system: ActorSystem, series: string): number {
  for (const line of system.metrics.render().split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Active actors per type, those with any. */
function activeByType(system: ActorSystem): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, { active }] of Object.entries(system.stats())) {
    if (active > 0) out[type] = active;
  }
  return out;
}

if (import.meta.main) {
  const server = await startRedisServer();
  try {
    progress(`template device: ${FILL} records through the real actor`);
    const tmpl = await template();
    const envelope = tmpl.envelope;
    const stateJson = JSON.stringify((envelope as { s: unknown }).s);
    progress(`seeding ${DEVICES} devices (${stateJson.length} bytes of state JSON each)`);
    await seed(server.url, tmpl);
    const bare = bareStates(stateJson, Math.min(DEVICES, 20_000));
    const components = byComponent(
      (envelope as { s: Record<string, unknown> }).s,
      Math.min(DEVICES, 5000),
    );

    // ------------------------------------------------ rates and heap, no cap
    const next = new Int32Array(DEVICES).fill(tmpl.records);
    let { system, store } = await node(server.url);
    const heapBefore = heap();
    progress(`${SMALL} devices: warm-up, then ${MESSAGES} records`);
    await pump(system, SMALL, SMALL, next);
    const rateSmall = await pump(system, SMALL, MESSAGES, next);
    progress(`${DEVICES} devices: activation, then ${MESSAGES} records`);
    const activationStart = performance.now();
    await pump(system, DEVICES, DEVICES, next);
    const activationSeconds = (performance.now() - activationStart) / 1000;
    const rateLarge = await pump(system, DEVICES, MESSAGES, next);
    await system.idle();
    const heapAll = heap();
    const twins = system.stats().device!.active;
    const perTwin = (heapAll - heapBefore) / twins;
    const active = activeByType(system);
    let crashes = metric(system, 'flotilla_actor_crashes_total{type="device"}');
    await system.shutdown();
    await store.close();

    // ------------------------------------------------ churn under a cap
    progress(`churn: cap ${CAP}, ${CHURN_MESSAGES} records round robin over ${DEVICES} devices`);
    ({ system, store } = await node(server.url, CAP));
    await pump(system, CAP, CAP, next); // fill the cap first
    const evictedBefore = metric(system, 'flotilla_actor_evictions_total{type="device"}');
    const activatedBefore = metric(system, 'flotilla_activations_total{type="device"}');
    const churnStart = performance.now();
    const churnRate = await pump(system, DEVICES, CHURN_MESSAGES, next);
    const churnSeconds = (performance.now() - churnStart) / 1000;
    await system.idle();
    const evictions = metric(system, 'flotilla_actor_evictions_total{type="device"}') -
      evictedBefore;
    const activations = metric(system, 'flotilla_activations_total{type="device"}') -
      activatedBefore;
    const churnHeap = heap();
    const churnActive = system.stats().device!.active;
    crashes += metric(system, 'flotilla_actor_crashes_total{type="device"}');
    await system.shutdown();
    await store.close();

    const rateRatio = rateLarge / rateSmall;
    const r = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
    await report(
      {
        name: "scale",
        value: perTwin,
        unit: "heap bytes/active device twin",
        baseline: "Map of the same states parsed from JSON",
        baselineValue: bare,
        ratio: perTwin / bare,
        target:
          `≤ ${TARGET_BYTES} bytes per twin; rate at ${DEVICES} devices ≥ ${TARGET_RATIO} of ${SMALL}`,
        met: perTwin <= TARGET_BYTES && rateRatio >= TARGET_RATIO,
        machine: machine(),
        details: {
          devices: DEVICES,
          sensors: SENSORS,
          windowReadings: FILL,
          path: "in-process transport, Redis store (own redis-server)",
          stateJsonBytes: stateJson.length,
          parsedBytesByComponent: components,
          twinsActive: twins,
          deviceCrashes: crashes,
          activeByType: active,
          heapBeforeMB: r(heapBefore / 2 ** 20, 1),
          heapAllActiveMB: r(heapAll / 2 ** 20, 1),
          twinsPerGB: Math.floor(2 ** 30 / perTwin),
          rateSmall: r(rateSmall),
          rateLarge: r(rateLarge),
          rateRatio: r(rateRatio, 3),
          smallDevices: SMALL,
          messages: MESSAGES,
          inFlight: IN_FLIGHT,
          activationPerSec: r(DEVICES / activationSeconds),
          churnCap: CAP,
          churnMessages: CHURN_MESSAGES,
          churnRate: r(churnRate),
          churnActivationsPerSec: r(activations / churnSeconds),
          churnEvictionsPerSec: r(evictions / churnSeconds),
          churnEvictions: evictions,
          churnActiveAtEnd: churnActive,
          churnHeapMB: r(churnHeap / 2 ** 20, 1),
          loadAverage1m: loadavg()[0],
        },
      },
      `rate ratio ${rateRatio.toFixed(3)} (${r(rateLarge)} vs ${r(rateSmall)}/s); ` +
        `churn at cap ${CAP}: ${r(churnRate)}/s, ${r(evictions / churnSeconds)} evictions/s`,
    );
  } finally {
    await server.stop();
  }
}
