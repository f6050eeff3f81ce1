/**
 * `persist`: group-committed state writes per second, per store — Deno KV (a file in a
 * temporary directory), Redis (its own `redis-server`) and JetStream KV (its own `nats-server`)
 * — each against the store's own raw batched write of the same value sizes, in the same run.
 *
 * Flotilla: `BENCH_PERSIST_ACTORS` actors (default 5,000) of a snapshot-persisted type; each is
 * driven by its own closed loop that `ask`s a state-changing command and waits for the reply,
 * which comes only once the new state is durable. One message in flight per actor means every
 * reply stands for exactly one durable write (no coalescing), so writes/s = replies/s; the
 * committer's own count (`flotilla_store_batch_ops` sum) is checked against it. Every actor is
 * activated and written once before the `BENCH_PERSIST_SECONDS` (default 3) window starts.
 *
 * Baselines, on the same keys' count and the value length Flotilla stored (its JSON envelope):
 * Deno KV `kv.atomic()` of 500 sets, one at a time; Redis pipelines of 500 `SET`s, one at a
 * time; JetStream KV `put`s with 100 in flight — each for `BENCH_PERSIST_BASELINE_SECONDS`
 * (default 2) after a pass over every key. `BENCH_PERSIST_ROUNDS` (default 2) rounds alternate
 * the two sides; each keeps its best.
 *
 * The result's value and ratio are those of the store with the worst ratio (the target must
 * hold for each store); every store's figures are in the details and on the summary line.
 * `BENCH_PERSIST_STORES` (comma-separated) runs a subset.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Redis } from "ioredis";
import { join } from "node:path";
import {
  ActorSystem,
  createLogger,
  defineActor,
  DenoKvStore,
  MetricsRegistry,
  type StateStore,
} from "../runtime/mod.ts";
import { NatsKvStore } from "../runtime/stores/natskv.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import { startNatsServer, startRedisServer } from "../tests/helpers/servers.ts";
import { loadavg } from "node:os";
import { gc, machine, report } from "./lib.ts";

const ACTORS = Number(Deno.env.get("BENCH_PERSIST_ACTORS") ?? 5000);
const SECONDS = Number(Deno.env.get("BENCH_PERSIST_SECONDS") ?? 3);
const BASELINE_SECONDS = Number(Deno.env.get("BENCH_PERSIST_BASELINE_SECONDS") ?? 2);
const VALUE_BYTES = Number(Deno.env.get("BENCH_PERSIST_VALUE_BYTES") ?? 256);
const ROUNDS = Math.max(1, Number(Deno.env.get("BENCH_PERSIST_ROUNDS") ?? 2));
const STORES = (Deno.env.get("BENCH_PERSIST_STORES") ?? "denokv,redis,natskv")
  .split(",").map((s) => s.trim()).filter((s) => s !== "");
const TARGET = 0.6;

interface MeterState {
  n: number;
  last: number;
  pad: string;
}

const meter = defineActor({
  name: "meter",
  initialState: (): MeterState => ({ n: 0, last: 0, pad: "" }),
  handlers: {
    add(ctx, value: number) {
      ctx.state.n++;
      ctx.state.last = value;
      // Grows to its size on the first write, then keeps it.
      // (The envelope around the state adds about 90 characters.)
      if (ctx.state.pad === "") ctx.state.pad = "x".repeat(Math.max(0, VALUE_BYTES - 90));
      return ctx.state.n;
    },
  },
  options: { persistence: "snapshot", passivateAfter: null, askTimeout: 120_000 },
});

const ids = Array.from({ length: ACTORS }, (_, i) => `m-${i}`);
const storeKey = (id: string) => `a/${meter.name}/${id}`;

/** One store under test: how to open it, and its raw batched write. */
interface Fixture {
  readonly name: string;
  /** What the baseline does, in words. */
  readonly baseline: string;
  open(): Promise<StateStore>;
  /** Raw writes per second of `value` over `keys` distinct keys. */
  raw(value: string): Promise<number>;
  close(): Promise<void>;
}

interface Flotilla {
  writesPerSec: number;
  writes: number;
  committedOps: number;
  batches: number;
  seconds: number;
  envelopeBytes: number;
}

/** The sum and count of `flotilla_store_batch_ops` for the store, from the registry. */
function batchOps(metrics: MetricsRegistry, store: string): { sum: number; count: number } {
  const text = metrics.render();
  const read = (what: string) => {
    const line = text.split("\n").find((l) =>
      l.startsWith(`flotilla_store_batch_ops_${what}{store="${store}"} `)
    );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  return { sum: read("sum"), count: read("count") };
}

async function flotilla(fixture: Fixture): Promise<Flotilla> {
  const store = await fixture.open();
  const metrics = new MetricsRegistry();
  const system = new ActorSystem({ store, metrics, logger: createLogger({ level: "error" }) });
  try {
    system.register(meter);
    await system.start();
    const refs = ids.map((id) => system.ref(meter, id));
    // Activate every actor and write its state once (keys created, code warm).
    for (let round = 0; round < 2; round++) await Promise.all(refs.map((r) => r.ask("add", 0)));
    gc();
    const before = batchOps(metrics, store.name);
    let writes = 0;
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(refs.map(async (ref) => {
      while (performance.now() < deadline) {
        await ref.ask("add", writes);
        writes++;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const after = batchOps(metrics, store.name);
    const committedOps = after.sum - before.sum;
    if (committedOps !== writes) {
      throw new Error(`${fixture.name}: ${writes} replies but ${committedOps} ops committed`);
    }
    const stored = await store.get(storeKey(ids[0]!));
    return {
      writesPerSec: writes / seconds,
      writes,
      committedOps,
      batches: after.count - before.count,
      seconds,
      envelopeBytes: JSON.stringify(stored!.value).length,
    };
  } finally {
    await system.shutdown();
    await store.close();
  }
}

/** Runs `write` (which writes `count` keys) until `seconds` have passed; returns keys/s. */
async function timed(seconds: number, write: () => Promise<number>): Promise<number> {
  gc();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let done = 0;
  while (performance.now() < deadline) done += await write();
  return done / ((performance.now() - started) / 1000);
}

async function denoKv(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-bench-kv-" });
  return {
    name: "denokv",
    baseline: "kv.atomic() of 500 sets, one at a time",
    open: () => DenoKvStore.open(join(dir, "flotilla.kv")),
    async raw(json) {
      const kv = await Deno.openKv(join(dir, "raw.kv"));
      try {
        let next = 0;
        const batch = async () => {
          const atomic = kv.atomic();
          for (let j = 0; j < 500; j++) {
            atomic.set(["s", storeKey(ids[next++ % ACTORS]!)], [1, json]);
          }
          const result = await atomic.commit();
          if (!result.ok) throw new Error("raw Deno KV atomic failed");
          return 500;
        };
        while (next < ACTORS) await batch();
        return await timed(BASELINE_SECONDS, batch);
      } finally {
        kv.close();
      }
    },
    async close() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function redis(): Promise<Fixture> {
  const server = await startRedisServer();
  return {
    name: "redis",
    baseline: "pipelines of 500 SETs, one at a time",
    open: () => RedisStore.connect(server.url, { prefix: "bench:" }),
    async raw(json) {
      const client = new Redis(server.url);
      try {
        let next = 0;
        const batch = async () => {
          const pipe = client.pipeline();
          for (let j = 0; j < 500; j++) {
            pipe.set(`raw:s:${storeKey(ids[next++ % ACTORS]!)}`, `1:${json}`);
          }
          const replies = await pipe.exec();
          if (replies!.some(([error]) => error !== null)) throw new Error("raw Redis SET failed");
          return 500;
        };
        while (next < ACTORS) await batch();
        return await timed(BASELINE_SECONDS, batch);
      } finally {
        client.disconnect();
      }
    },
    close: () => server.stop(),
  };
}

async function natsKv(): Promise<Fixture> {
  const server = await startNatsServer();
  return {
    name: "natskv",
    baseline: "KV puts, 100 in flight",
    open: () => NatsKvStore.connect(server.url, { bucket: "BENCH" }),
    async raw(json) {
      const nc = await connect({ servers: server.url });
      try {
        // The bucket as NatsKvStore creates its own.
        const kv = await new Kvm(nc).create("RAW", {
          history: 1,
          storage: StorageType.File,
          maxValueSize: Math.min(1024 * 1024, nc.info?.max_payload ?? 1024 * 1024),
          allow_direct: true,
        });
        const value = `1\n${json}`;
        let next = 0;
        // 100 workers, each putting one key after another: 100 puts in flight.
        const batch = async (count: number) => {
          let written = 0;
          await Promise.all(Array.from({ length: 100 }, async () => {
            while (written < count) {
              written++;
              await kv.put(`s.${storeKey(ids[next++ % ACTORS]!)}`, value);
            }
          }));
          return written;
        };
        await batch(ACTORS);
        return await timed(BASELINE_SECONDS, () => batch(2000));
      } finally {
        await nc.close();
      }
    },
    close: () => server.stop(),
  };
}

const FIXTURES: Record<string, () => Promise<Fixture>> = {
  denokv: denoKv,
  redis,
  natskv: natsKv,
};

interface StoreResult {
  store: string;
  writesPerSec: number;
  baselinePerSec: number;
  ratio: number;
  baseline: string;
  run: Flotilla;
}

async function measure(name: string): Promise<StoreResult> {
  const make = FIXTURES[name];
  if (make === undefined) throw new Error(`unknown store ${name}; known: denokv, redis, natskv`);
  const fixture = await make();
  try {
    // Rounds alternate the two sides, so a burst of load elsewhere on the machine is less
    // likely to hit only one of them; each side keeps its best round.
    let run: Flotilla | undefined;
    let baselinePerSec = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const next = await flotilla(fixture);
      if (run === undefined || next.writesPerSec > run.writesPerSec) run = next;
      // The baseline writes values as long as the envelope Flotilla stored.
      baselinePerSec = Math.max(baselinePerSec, await fixture.raw("x".repeat(next.envelopeBytes)));
    }
    if (run === undefined) throw new Error("no round ran");
    return {
      store: name,
      writesPerSec: run.writesPerSec,
      baselinePerSec,
      ratio: run.writesPerSec / baselinePerSec,
      baseline: fixture.baseline,
      run,
    };
  } finally {
    await fixture.close();
  }
}

if (import.meta.main) {
  const progress = (what: string) => console.error(`persist: ${what}`);
  const results: StoreResult[] = [];
  for (const name of STORES) {
    progress(`${name}: ${ACTORS} actors for ${SECONDS} s, then the raw baseline`);
    results.push(await measure(name));
  }
  const worst = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const round = (n: number) => Math.round(n);
  await report(
    {
      name: "persist",
      value: worst.writesPerSec,
      unit: "writes/s",
      baseline:
        `raw ${worst.store} (${worst.baseline}; the worst ratio of ${results.length} stores)`,
      baselineValue: worst.baselinePerSec,
      ratio: worst.ratio,
      target: `≥ ${TARGET} of each store's raw batched write`,
      met: results.every((r) => r.ratio >= TARGET),
      machine: machine(),
      details: {
        actors: ACTORS,
        seconds: SECONDS,
        baselineSeconds: BASELINE_SECONDS,
        rounds: ROUNDS,
        loadAverage1m: loadavg()[0],
        worstStore: worst.store,
        stores: Object.fromEntries(results.map((r) => [r.store, {
          writesPerSec: round(r.writesPerSec),
          baselinePerSec: round(r.baselinePerSec),
          ratio: Math.round(r.ratio * 1000) / 1000,
          baseline: r.baseline,
          writes: r.run.writes,
          committedOps: r.run.committedOps,
          batches: r.run.batches,
          meanBatchOps: Math.round(r.run.committedOps / Math.max(1, r.run.batches)),
          valueBytes: r.run.envelopeBytes,
        }])),
      },
    },
    results.map((r) =>
      `${r.store} ${round(r.writesPerSec).toLocaleString("en-US")}/${
        round(r.baselinePerSec).toLocaleString("en-US")
      } = ${r.ratio.toFixed(2)}`
    ).join(", "),
  );
}
