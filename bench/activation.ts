/**
 * `activation`: cold activations per second with state loaded from Redis. N distinct actors
 * whose snapshots were written to Redis beforehand each get their first message — an `ask` of a
 * synchronous query — through a real {@link ActorSystem} on a {@link RedisStore}; the time runs
 * until every actor has loaded its state and answered. The baseline, in the same run and on the
 * same keys (so the same value sizes): a raw ioredis pipeline of `MGET`s of 500 keys (the
 * runtime's load batch) with each value's JSON parsed, and for comparison one of single `GET`s.
 *
 * Every run uses a new actor system (nothing is activated yet) on a new store connection; the
 * best of `BENCH_ACTIVATION_RUNS` (default 5) alternating runs is kept for each side, after one
 * warm-up run each. The details also give activations with a state-changing command (`tell`,
 * then `idle()`), which adds the durable write-back of every actor's new state, and activations
 * when the sender yields a microtask between first messages (the first few loads go alone; the
 * rest gather while those are in flight).
 *
 * Sizes: `BENCH_ACTIVATION_N` actors (default 20,000), snapshots of about
 * `BENCH_ACTIVATION_VALUE_BYTES` bytes of JSON (default 256). Its own `redis-server` on a free
 * loopback port, stopped at the end, also on failure.
 *
 * @module
 */
import { Redis } from "ioredis";
import { ActorSystem, createLogger, defineActor } from "../runtime/mod.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import type { StoreOp } from "../runtime/store.ts";
import { startRedisServer } from "../tests/helpers/servers.ts";
import { loadavg } from "node:os";
import { gc, machine, report } from "./lib.ts";

const N = Number(Deno.env.get("BENCH_ACTIVATION_N") ?? 20_000);
const VALUE_BYTES = Number(Deno.env.get("BENCH_ACTIVATION_VALUE_BYTES") ?? 256);
const RUNS = Math.max(1, Number(Deno.env.get("BENCH_ACTIVATION_RUNS") ?? 5));
const PREFIX = "bench:";
const BATCH = 500;
const SEEDED_COUNT = 7;

/** A type alias, not an interface: it must be assignable to `JsonValue`. */
type SensorState = { reading: number; count: number; pad: string };

const sensor = defineActor({
  name: "sensor",
  initialState: (): SensorState => ({ reading: 0, count: 0, pad: "" }),
  handlers: {
    touch(ctx) {
      ctx.state.count++;
    },
  },
  queries: { get: (ctx) => ctx.state.count },
  options: { persistence: "snapshot", passivateAfter: null, askTimeout: 120_000 },
});

const ids = Array.from({ length: N }, (_, i) => `s-${i}`);
const storeKey = (id: string) => `a/${sensor.name}/${id}`;

/** A snapshot envelope as the runtime writes it, its JSON about {@link VALUE_BYTES} long. */
function envelope(id: string): { s: SensorState; n: number; w: Record<string, number> } {
  const base = { s: { reading: 21.5, count: SEEDED_COUNT, pad: "" }, n: 1, w: { "seed:0": 1 } };
  const pad = Math.max(0, VALUE_BYTES - JSON.stringify(base).length - id.length);
  return { ...base, s: { ...base.s, pad: id + "x".repeat(pad) } };
}

/** Writes every actor's snapshot through the store (so it is exactly the store's format). */
async function seed(url: string): Promise<number> {
  const store = await RedisStore.connect(url, { prefix: PREFIX });
  try {
    for (let i = 0; i < N; i += BATCH) {
      const ops: StoreOp[] = ids.slice(i, i + BATCH).map((id) => ({
        op: "put",
        key: storeKey(id),
        value: envelope(id),
        expectedVersion: null,
      }));
      const results = await store.commit(ops);
      if (results.some((r) => !r.ok)) throw new Error("seeding failed");
    }
  } finally {
    await store.close();
  }
  return JSON.stringify(envelope(ids[0]!)).length;
}

/** Raw ioredis: one pipeline of MGETs of 500 keys (or of single GETs), each value parsed. */
async function raw(url: string, mode: "mget" | "get"): Promise<number> {
  const redis = new Redis(url);
  try {
    await redis.ping();
    const keys = ids.map((id) => `${PREFIX}s:${storeKey(id)}`);
    gc();
    const started = performance.now();
    const pipe = redis.pipeline();
    if (mode === "mget") {
      for (let i = 0; i < N; i += BATCH) pipe.mget(keys.slice(i, i + BATCH));
    } else {
      for (const key of keys) pipe.get(key);
    }
    const replies = await pipe.exec();
    let sum = 0;
    for (const [error, reply] of replies!) {
      if (error !== null) throw error;
      for (const text of (mode === "mget" ? reply : [reply]) as (string | null)[]) {
        if (text === null) throw new Error("raw read: a key is missing");
        sum += (JSON.parse(text.slice(text.indexOf(":") + 1)) as { s: SensorState }).s.count;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (sum < N * SEEDED_COUNT) throw new Error("raw read: wrong values");
    return N / seconds;
  } finally {
    redis.disconnect();
  }
}

/**
 * Flotilla: a fresh system sends every actor its first message and waits until all answered
 * (`query`: an `ask` of `get`; `yielding`: the same, the sender yielding a microtask after each
 * ask, as when first messages arrive one per I/O callback), or until all changes are durable
 * (`command`: a `tell` of `touch`, then `idle()`).
 */
async function flotilla(url: string, mode: "query" | "yielding" | "command"): Promise<number> {
  const store = await RedisStore.connect(url, { prefix: PREFIX });
  const system = new ActorSystem({ store, logger: createLogger({ level: "error" }) });
  try {
    system.register(sensor);
    await system.start();
    gc();
    let seconds: number;
    if (mode === "query" || mode === "yielding") {
      const started = performance.now();
      const asked: Promise<number>[] = [];
      for (const id of ids) {
        asked.push(system.ref(sensor, id).ask("get"));
        if (mode === "yielding") await null;
      }
      const counts = await Promise.all(asked);
      seconds = (performance.now() - started) / 1000;
      if (counts.some((c) => c < SEEDED_COUNT)) throw new Error("an actor did not load its state");
    } else {
      const started = performance.now();
      for (const id of ids) {
        const full = system.ref(sensor, id).tell("touch");
        if (full !== undefined) await full;
      }
      await system.idle();
      seconds = (performance.now() - started) / 1000;
    }
    const active = system.stats()[sensor.name]?.active ?? 0;
    if (active !== N) throw new Error(`${active} actors active, expected ${N}`);
    return N / seconds;
  } finally {
    await system.shutdown();
    await store.close();
  }
}

if (import.meta.main) {
  const progress = (what: string) => console.error(`activation: ${what}`);
  const server = await startRedisServer();
  try {
    progress(`seeding ${N} snapshots of ~${VALUE_BYTES} bytes`);
    const valueBytes = await seed(server.url);
    progress(`raw ioredis reads and Flotilla activations, best of ${RUNS} after a warm-up`);
    await raw(server.url, "mget");
    await flotilla(server.url, "query");
    // Runs alternate the sides, so a burst of load elsewhere on the machine is less likely to
    // hit only one of them; each side keeps its best run.
    let [mget, get, value, yielding, withCommand] = [0, 0, 0, 0, 0];
    for (let run = 0; run < RUNS; run++) {
      mget = Math.max(mget, await raw(server.url, "mget"));
      get = Math.max(get, await raw(server.url, "get"));
      value = Math.max(value, await flotilla(server.url, "query"));
      yielding = Math.max(yielding, await flotilla(server.url, "yielding"));
      withCommand = Math.max(withCommand, await flotilla(server.url, "command"));
    }
    const baseline = mget;
    const ratio = value / baseline;
    await report({
      name: "activation",
      value,
      unit: "activations/s",
      baseline: "raw ioredis pipelined MGET (500 keys each) + JSON.parse, same keys",
      baselineValue: baseline,
      ratio,
      target: "≥ 0.30 of raw MGET",
      met: ratio >= 0.3,
      machine: machine(),
      details: {
        actors: N,
        valueBytes,
        firstMessage: "ask of a synchronous query",
        ms: Math.round(N / value * 1000 * 10) / 10,
        baselineMs: Math.round(N / baseline * 1000 * 10) / 10,
        rawGetPipelinePerSec: Math.round(get),
        rawGetPipelineMs: Math.round(N / get * 1000 * 10) / 10,
        yieldingSenderPerSec: Math.round(yielding),
        yieldingSenderMs: Math.round(N / yielding * 1000 * 10) / 10,
        withCommandPerSec: Math.round(withCommand),
        withCommandMs: Math.round(N / withCommand * 1000 * 10) / 10,
        withCommandRatio: withCommand / baseline,
        runs: RUNS,
        loadAverage1m: loadavg()[0],
      },
    });
  } finally {
    await server.stop();
  }
}
