/**
 * What the runtime does with a store that refuses or lost its writes, on a memory store and a
 * transport with fencing (the cluster transport's contract, without NATS):
 * - every write of a partition owner carries its fence; a newer owner's fence refuses it, the
 *   actor is dropped and its caller told to retry; nothing is written;
 * - an actor's reminders ride in the same atomic batch as its state;
 * - a store gone back in time is never taken for another writer: with fencing the transport is
 *   told (it repairs the partition from the stream), without it the state held in memory is
 *   written again over the older one and the loss reported;
 * - journals are compacted behind their snapshots: storage stays bounded.
 */
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { flushMicrotasks, GatedStore, metric, setup } from "./helpers/system.ts";
import { counter } from "./helpers/fixtures.ts";
import {
  defineActor,
  type Fence,
  FencedError,
  InProcessTransport,
  MemoryStore,
  type ProjectionDefinition,
  ShutdownError,
  StoreRegressedError,
} from "../runtime/mod.ts";
import type { PartitionFencing } from "../runtime/transport.ts";

/** An in-process transport whose one partition (0) is held under `token`, as a cluster's. */
class FencedTransport extends InProcessTransport {
  token: number;
  /** Positions confirmed stored, and the positions the next write marks durable. */
  known: Record<string, number> = {};
  marks: Record<string, number> = {};
  readonly refusals: Error[] = [];
  readonly fencing: PartitionFencing = {
    holds: () => true,
    fenceFor: () => ({
      key: "f/0",
      token: this.token,
      marks: { ...this.marks },
      known: this.known,
    }),
    confirmed: (_p, fence: Fence) => {
      for (const [s, n] of Object.entries(fence.marks ?? {})) {
        this.known = { ...this.known, [s]: Math.max(this.known[s] ?? 0, n) };
      }
    },
    refused: (_p, error) => {
      this.refusals.push(error);
    },
  };

  constructor(token: number) {
    super();
    this.token = token;
  }
}

Deno.test("fencing: a newer owner's fence refuses the old owner's write; the actor is dropped, its caller told to retry", async () => {
  const store = new MemoryStore();
  const transport = new FencedTransport(1);
  const { system } = setup([counter], { store, transport });
  await system.start();
  await store.fence("f/0", 1);
  assertEquals(await system.ref(counter, "a").ask("add", 2), 2);
  // Another node took partition 0 over (its lease revision, 7, is the new token).
  await store.fence("f/0", 7);
  await assertRejects(() => system.ref(counter, "a").ask("add", 3), ShutdownError, "retry");
  const stored = (await store.get("a/counter/a"))!;
  assertEquals([stored.version, (stored.value as { s: { n: number } }).s.n], [1, 2], "unchanged");
  assert(transport.refusals[0] instanceof FencedError, String(transport.refusals[0]));
  assertEquals(metric(system, "flotilla_store_fenced_total"), 1);
  await system.shutdown();
});

Deno.test("fencing: a partition not held here writes nothing at all", async () => {
  const store = new MemoryStore();
  const transport = new FencedTransport(1);
  const fencing = transport.fencing;
  (transport as { fencing: PartitionFencing }).fencing = { ...fencing, fenceFor: () => null };
  const { system } = setup([counter], { store, transport });
  await system.start();
  await assertRejects(() => system.ref(counter, "a").ask("add", 3), ShutdownError);
  assertEquals(await store.get("a/counter/a"), null);
  assertEquals(metric(system, "flotilla_store_fenced_total"), 1);
  await system.shutdown();
});

Deno.test("fencing: reminders ride in the state's batch, fenced, and never land without it", async () => {
  const store = new GatedStore();
  const transport = new FencedTransport(1);
  const { system } = setup([counter], { store, transport });
  await system.start();
  await store.fence("f/0", 1);
  await system.ref(counter, "a").ask("remind", "r1");
  const batch = store.batches.find((ops) => ops.some((op) => op.key.startsWith("r/")))!;
  assertEquals(batch.map((op) => [op.op, op.key, op.onlyIf, op.fence?.token]), [
    ["put", "a/counter/a", undefined, 1],
    ["put", "r/0/counter/a/r1", 0, 1],
  ]);
  await system.shutdown();
});

Deno.test("fencing: a store gone back in time refuses the write by its record, and the transport is told", async () => {
  const store = new MemoryStore();
  const transport = new FencedTransport(1);
  const { system } = setup([counter], { store, transport });
  await system.start();
  await store.fence("f/0", 1);
  transport.marks = { "in/0": 10 };
  await system.ref(counter, "a").ask("add", 1);
  const before = store.image();
  transport.marks = { "in/0": 20 };
  await system.ref(counter, "b").ask("add", 1);
  assertEquals(transport.known, { "in/0": 20 }, "confirmed: known stored");
  store.restore(before); // the store lost its last write
  await assertRejects(() => system.ref(counter, "c").ask("add", 1), ShutdownError);
  const refusal = transport.refusals[0];
  assert(refusal instanceof StoreRegressedError, String(refusal));
  assertEquals([refusal.held["in/0"], refusal.known["in/0"]], [10, 20]);
  assertEquals(metric(system, 'flotilla_store_regressions_total{kind="partition"}'), 1);
  await system.shutdown();
});

Deno.test("embedded: a store gone back in time gets the state held in memory again, never a re-based actor", async () => {
  const { system, store, logs } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("add", 1);
  const before = store.image();
  await ref.ask("add", 1);
  await ref.ask("add", 1); // acknowledged: 3, at version 3
  store.restore(before); // the store is back at version 1 (n = 1)
  assertEquals(await ref.ask("add", 1), 4, "applied to the acknowledged state, not the lost one");
  await system.idle();
  await flushMicrotasks();
  const stored = (await store.get("a/counter/a"))!;
  assertEquals((stored.value as { s: { n: number } }).s.n, 4, "the state in memory written back");
  assertEquals(metric(system, 'flotilla_store_regressions_total{kind="actor"}'), 1);
  assert(logs.some((l) => l.includes("the store went back in time")), "reported as data loss");
  assert(!logs.some((l) => l.includes("another writer")), "not taken for another writer");
  await system.shutdown();
});

/** An event-sourced ledger: `add(k)` appends `{k}` and folds it into a total. */
const ledger = defineActor({
  name: "ledger",
  initialState: () => ({ total: 0 }),
  handlers: {
    addMany(ctx, ks: number[]) {
      for (const k of ks) ctx.persist({ k });
      return ctx.state.total;
    },
  },
  queries: { total: (ctx) => ctx.state.total },
  apply: (state: { total: number }, event: { k: number }) => ({ total: state.total + event.k }),
  options: { persistence: "journal", snapshotEvery: 100 },
});

Deno.test("journals are compacted behind their snapshots: 100,000 events, storage bounded", async () => {
  const { system, store } = setup([ledger], { logs: "discard" });
  await system.start();
  const ref = system.ref(ledger, "x");
  let sum = 0;
  for (let i = 0; i < 1000; i++) {
    const ks = Array.from({ length: 100 }, (_, j) => i + j);
    sum += ks.reduce((a, b) => a + b, 0);
    await ref.ask("addMany", ks);
  }
  await system.idle();
  assertEquals(await store.journalVersion("a/ledger/x"), 100_000);
  const kept = await store.readJournal("a/ledger/x", 0);
  assert(kept.length <= 100, `at most one snapshot's worth of events kept (${kept.length})`);
  assertEquals(await ref.ask("total"), sum);
  await system.shutdown();
  // Another system rebuilds it from the snapshot and what is left of the journal.
  const other = setup([ledger], { store, logs: "discard" }).system;
  await other.start();
  assertEquals(await other.ref(ledger, "x").ask("total"), sum);
  await other.shutdown();
});

/** Each ledger's total, seeded from its snapshot where its journal was compacted. */
const totalsOfLedgers = (): ProjectionDefinition<Record<string, number>, { k: number }> => ({
  name: "totals",
  source: "ledger",
  initial: () => ({}),
  seed(view, state, { id }) {
    view[id] = (state as { total: number }).total;
  },
  apply(view, event, { id }) {
    view[id] = (view[id] ?? 0) + event.k;
  },
});

Deno.test("a projection over compacted journals starts from each actor's snapshot through its seed", async () => {
  const { system, store } = setup([ledger], { logs: "discard" });
  await system.start();
  for (const id of ["x", "y"]) {
    for (let i = 0; i < 4; i++) {
      await system.ref(ledger, id).ask("addMany", Array.from({ length: 70 }, () => 1));
    }
  }
  await system.idle();
  await system.shutdown();
  // 280 events each, snapshots at 140 and 210 (the journal up to there compacted away).
  assertEquals((await store.readJournal("a/ledger/x", 0)).length, 70);
  const other = setup([ledger], { store, logs: "capture" });
  const totals = other.system.project(totalsOfLedgers());
  await other.system.start();
  await totals.rebuild();
  assertEquals(totals.view, { x: 280, y: 280 });
  assert(!other.logs.some((l) => l.includes("misses compacted")), "nothing missed");
  await other.system.shutdown();
});

Deno.test("a projection over a journal compacted to nothing starts from the actor's snapshot", async () => {
  const { system, store } = setup([ledger], { logs: "discard" });
  await system.start();
  // 210 events: the snapshot written with the append that crosses 200 covers them all, and
  // the compaction behind it leaves the journal empty.
  for (let i = 0; i < 3; i++) {
    await system.ref(ledger, "z").ask("addMany", Array.from({ length: 70 }, () => 1));
  }
  await system.idle();
  await system.shutdown();
  assertEquals((await store.readJournal("a/ledger/z", 0)).length, 0, "compacted to nothing");
  const other = setup([ledger], { store, logs: "capture" });
  const totals = other.system.project(totalsOfLedgers());
  await other.system.start();
  await totals.rebuild();
  assertEquals(totals.view, { z: 210 });
  await other.system.shutdown();
});
