import { storedState } from "./helpers/stored.ts";
/**
 * Event-sourced actors: persist/apply, journal replay, snapshots, projections, optimistic
 * concurrency between writers, and persist() outside a command.
 */
import {
  type ActorContext,
  ActorCrashedError,
  type ActorSystem,
  ConfigError,
  defineActor,
  ManualClock,
  MemoryStore,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { flushMicrotasks, GatedStore, metric, setup } from "./helpers/system.ts";

interface Added {
  /** Amount added. */
  n: number;
  /** Events the state had folded when this one was recorded (its expected position). */
  at: number;
  /** Who recorded it. */
  by: string;
}

interface Ledger {
  total: number;
  events: number;
}

type Ctx = ActorContext<Ledger, Added>;

/** A journaled type; `applies.count` counts every `apply` call (live and replay). */
function ledger(
  options: { snapshotEvery?: number; by?: string; applies?: { count: number } } = {},
) {
  const applies = options.applies ?? { count: 0 };
  const by = options.by ?? "x";
  return defineActor({
    name: "ledger",
    initialState: (): Ledger => ({ total: 0, events: 0 }),
    handlers: {
      add(ctx: Ctx, n: number) {
        ctx.persist({ n, at: ctx.state.events, by });
        return ctx.state.total;
      },
      addMany(ctx: Ctx, ns: number[]) {
        for (const n of ns) ctx.persist({ n, at: ctx.state.events, by });
        return ctx.state.total;
      },
      nothing: (ctx: Ctx) => ctx.state.total,
      addThenCrash(ctx: Ctx, n: number) {
        ctx.persist({ n, at: ctx.state.events, by });
        throw new Error("crashed after persisting");
      },
    },
    queries: {
      get: (ctx: Ctx) => ({ ...ctx.state }),
      version: (ctx: Ctx) => ctx.version,
      sneaky(ctx: Ctx) {
        ctx.persist({ n: 1000, at: ctx.state.events, by });
        return ctx.state.total;
      },
    },
    apply(state: Ledger, event: Added) {
      applies.count++;
      state.total += event.n;
      state.events++;
    },
    options: {
      persistence: "journal",
      snapshotEvery: options.snapshotEvery,
      passivateAfter: null,
    },
  });
}

/** A system on `store` and `clock` (a ManualClock at 0 by default) whose log lines are dropped. */
function makeSystem(store: MemoryStore, clock = new ManualClock(0)): ActorSystem {
  return setup([], { store, clock, logs: "discard" }).system;
}

async function journal(store: MemoryStore, id: string): Promise<[number, Added][]> {
  const entries = await store.readJournal(`a/ledger/${id}`, 0);
  // Stored as records {e, n, w}: the event, and the command that recorded it.
  return entries.map((e) => [e.seq, (e.event as unknown as { e: Added }).e]);
}

Deno.test("journal persist folds the event into state at once and appends it with its version", async () => {
  const store = new MemoryStore();
  const system = makeSystem(store);
  const def = ledger();
  system.register(def);
  await system.start();
  const ref = system.ref(def, "x");
  assertEquals(await ref.ask("add", 5), 5, "the handler sees the applied event");
  assertEquals(await ref.ask("addMany", [1, 2]), 8);
  assertEquals(await ref.ask("nothing"), 8, "a command recording no event is fine");
  assertEquals(await ref.ask("get"), { total: 8, events: 3 });
  assertEquals(await ref.ask("version"), 3);
  assertEquals(await journal(store, "x"), [
    [1, { n: 5, at: 0, by: "x" }],
    [2, { n: 1, at: 1, by: "x" }],
    [3, { n: 2, at: 2, by: "x" }],
  ]);
  assertEquals(await store.journalVersion("a/ledger/x"), 3);
  assertEquals(
    await storedState(store, "a/ledger/x"),
    null,
    "no snapshot before snapshotEvery events",
  );
  await system.shutdown();
});

Deno.test("journal replay rebuilds the state in a new system on the same store", async () => {
  const store = new MemoryStore();
  const first = makeSystem(store);
  first.register(ledger());
  await first.start();
  const ref1 = first.ref(ledger(), "x");
  for (const n of [1, 2, 3]) await ref1.ask("add", n);
  await first.shutdown();

  const applies = { count: 0 };
  const second = makeSystem(store);
  const def = ledger({ applies });
  second.register(def);
  await second.start();
  const ref = second.ref(def, "x");
  assertEquals(await ref.ask("get"), { total: 6, events: 3 });
  assertEquals(await ref.ask("version"), 3);
  assertEquals(applies.count, 3);
  assertEquals(await ref.ask("add", 4), 10);
  assertEquals((await journal(store, "x")).map(([seq, e]) => [seq, e.at]), [
    [1, 0],
    [2, 1],
    [3, 2],
    [4, 3],
  ]);
  await second.shutdown();
});

Deno.test("journal snapshot is written every snapshotEvery events and replay reads only the events after it", async () => {
  const store = new MemoryStore();
  const first = makeSystem(store);
  const def1 = ledger({ snapshotEvery: 3 });
  first.register(def1);
  await first.start();
  const ref1 = first.ref(def1, "x");
  for (const n of [1, 2]) await ref1.ask("add", n);
  assertEquals(await storedState(store, "a/ledger/x"), null);
  await ref1.ask("add", 3);
  assertEquals(await storedState(store, "a/ledger/x"), {
    version: 1,
    value: { s: { total: 6, events: 3 }, j: 3 },
  });
  for (const n of [4, 5, 6, 7]) await ref1.ask("add", n);
  await first.idle();
  assertEquals(await storedState(store, "a/ledger/x"), {
    version: 2,
    value: { s: { total: 21, events: 6 }, j: 6 },
  });
  assertEquals(await store.journalVersion("a/ledger/x"), 7, "the journal keeps every event");
  await first.shutdown();

  const applies = { count: 0 };
  const second = makeSystem(store);
  const def2 = ledger({ snapshotEvery: 3, applies });
  second.register(def2);
  await second.start();
  const ref2 = second.ref(def2, "x");
  assertEquals(await ref2.ask("get"), { total: 28, events: 7 });
  assertEquals(await ref2.ask("version"), 7);
  assertEquals(applies.count, 1, "only event 7 is replayed on top of the snapshot at 6");
  await second.shutdown();
});

Deno.test("journal snapshot crossing a boundary inside one batch records the batch's version", async () => {
  const store = new MemoryStore();
  const system = makeSystem(store);
  const def = ledger({ snapshotEvery: 3 });
  system.register(def);
  await system.start();
  const ref = system.ref(def, "x");
  assertEquals(await ref.ask("addMany", [1, 1, 1, 1]), 4);
  assertEquals(await storedState(store, "a/ledger/x"), {
    version: 1,
    value: { s: { total: 4, events: 4 }, j: 4 },
  });
  await system.shutdown();
});

Deno.test("journal snapshot rides in the batch of the append it covers, applied only with it; compaction follows", async () => {
  const store = new GatedStore();
  const { system } = setup([ledger({ snapshotEvery: 3, by: "x" })], { store, logs: "discard" });
  await system.start();
  const ref = system.ref("ledger", "x");
  await ref.ask("addMany", [1, 1]);
  await ref.ask("addMany", [1, 1]); // 2 → 4 crosses 3
  await system.idle();
  await flushMicrotasks();
  const shapes = store.batches.map((ops) =>
    ops.map((op) => [op.op, op.onlyIf ?? null, op.op === "trim" ? op.through : null])
  );
  assertEquals(shapes, [
    [["append", null, null]],
    [["append", null, null], ["put", 0, null]],
    [["trim", null, 4]],
  ]);
  assertEquals((store.batches[1]![1] as unknown as { value: { j: number } }).value.j, 4);
  assertEquals(await store.inner.readJournal("a/ledger/x", 0), []);
  await system.shutdown();
});

Deno.test("journal snapshot is not written for an append that lost the race, only once it is durable", async () => {
  const store = new MemoryStore();
  const system = makeSystem(store);
  const def = ledger({ snapshotEvery: 2 });
  system.register(def);
  await system.start();
  const ref = system.ref(def, "x");
  assertEquals(await ref.ask("get"), { total: 0, events: 0 }); // activated at version 0
  // Another writer appends behind the actor's back.
  const [result] = await store.commit([{
    op: "append",
    key: "a/ledger/x",
    // A journal record as another writer (system "other", its command 1) stores it.
    events: [{ e: { n: 100, at: 0, by: "other" }, n: 1, w: "other" }],
    expectedVersion: 0,
  }]);
  assertEquals(result, { ok: true, version: 1 });
  // 0 → 2 would cross the boundary at 2, but the append conflicts: the actor reloads (1 event),
  // re-applies the command (1 → 3) and only then snapshots.
  assertEquals(await ref.ask("addMany", [5, 6]), 111);
  assertEquals(await storedState(store, "a/ledger/x"), {
    version: 1,
    value: { s: { total: 111, events: 3 }, j: 3 },
  });
  // The snapshot covers the whole journal, which was compacted with it.
  assertEquals(await journal(store, "x"), []);
  assertEquals(await store.journalVersion("a/ledger/x"), 3);
  await system.shutdown();
});

Deno.test({
  name: "journal append that failed on a down store is retried after the committer's backoff",
  fn: async () => {
    let attempts = 0;
    const store = new MemoryStore({
      beforeCommit(ops) {
        if (!ops.some((op) => op.op === "append")) return; // the snapshot put
        attempts++;
        if (attempts <= 2) throw new Error("store down");
      },
    });
    const clock = new ManualClock(0);
    const system = makeSystem(store, clock);
    const def = ledger({ snapshotEvery: 2 });
    system.register(def);
    await system.start();
    let total: number | undefined;
    const added = system.ref(def, "x").ask("addMany", [5, 6]).then((t) => total = t);
    await system.idle();
    assertEquals(attempts, 1, "no second attempt before the retry backoff");
    assertEquals(total, undefined, "no reply before the events are durable");
    assertEquals(
      await storedState(store, "a/ledger/x"),
      null,
      "no snapshot of events not in the journal",
    );
    clock.advance(49);
    await system.idle();
    assertEquals(attempts, 1);
    clock.advance(1); // first retry after 50 ms: fails again
    await system.idle();
    assertEquals(attempts, 2);
    clock.advance(99);
    await system.idle();
    assertEquals(attempts, 2, "the second retry waits 100 ms");
    clock.advance(1);
    await added;
    assertEquals(attempts, 3);
    assertEquals(total, 11);
    assertEquals((await storedState(store, "a/ledger/x"))?.value, {
      s: { total: 11, events: 2 },
      j: 2,
    });
    await system.shutdown();
  },
});

Deno.test("journal projection is rebuilt from the journals on start and then follows live events", async () => {
  const store = new MemoryStore();
  const first = makeSystem(store);
  const def1 = ledger();
  first.register(def1);
  await first.start();
  await first.ref(def1, "a").ask("addMany", [1, 2]);
  await first.ref(def1, "b").ask("add", 10);
  await first.shutdown();

  const second = makeSystem(store);
  const def = ledger();
  second.register(def);
  const projection = second.project<Record<string, number>, Added>({
    name: "totals",
    source: "ledger",
    initial: () => ({}),
    apply(view, event, meta) {
      view[meta.id] = (view[meta.id] ?? 0) + event.n;
      view[`${meta.id}@`] = meta.seq;
    },
  });
  assertEquals(projection.view, {}, "nothing before start");
  await second.start();
  assertEquals(projection.view, { a: 3, "a@": 2, b: 10, "b@": 1 });
  assertEquals(projection.position("a"), 2);

  await second.ref(def, "a").ask("add", 100);
  assertEquals(projection.view.a, 103, "live events follow once durable");
  assertEquals(projection.view["a@"], 3);
  await second.ref(def, "c").ask("addMany", [7, 8]);
  await projection.settled();
  assertEquals(projection.view, { a: 103, "a@": 3, b: 10, "b@": 1, c: 15, "c@": 2 });
  await second.shutdown();
});

Deno.test("journal projection fills a gap of events written by another writer from the journal", async () => {
  const store = new MemoryStore();
  const other = makeSystem(store);
  const defOther = ledger({ by: "other" });
  other.register(defOther);
  await other.start();

  const system = makeSystem(store);
  const def = ledger({ by: "me" });
  system.register(def);
  const projection = system.project<number[], Added>({
    name: "amounts",
    source: "ledger",
    initial: () => [],
    apply(view, event) {
      view.push(event.n);
    },
  });
  await system.start();
  await system.ref(def, "x").ask("add", 1);
  await other.ref(defOther, "x").ask("add", 2); // seq 2, written behind this system's back
  await system.ref(def, "x").ask("add", 3);
  await projection.settled();
  assertEquals(projection.view, (await journal(store, "x")).map(([, e]) => e.n));
  assertEquals(projection.position("x"), 3);
  await other.shutdown();
  await system.shutdown();
});

Deno.test("journal optimistic concurrency: two systems appending to one journal lose no event", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const systemA = makeSystem(store, clock);
  const systemB = makeSystem(store, clock);
  const defA = ledger({ by: "A" });
  const defB = ledger({ by: "B" });
  systemA.register(defA);
  systemB.register(defB);
  await systemA.start();
  await systemB.start();
  const refA = systemA.ref(defA, "x");
  const refB = systemB.ref(defB, "x");
  const sent: Record<string, number[]> = { A: [], B: [] };
  const replies: Promise<unknown>[] = [];
  let n = 0;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 3; i++) {
      sent.A!.push(++n);
      replies.push(refA.ask("add", n));
      sent.B!.push(++n);
      replies.push(refB.ask("add", n));
    }
    await Promise.resolve(); // let some commits interleave with the next round's sends
  }
  await Promise.all(replies);
  await systemA.idle();
  await systemB.idle();

  const events = await journal(store, "x");
  assertEquals(events.length, 24);
  assertEquals(await store.journalVersion("a/ledger/x"), 24);
  assertEquals(events.map(([seq]) => seq), Array.from({ length: 24 }, (_, i) => i + 1));
  // Consistent: every event was recorded on a state that had folded every event before it.
  assertEquals(events.map(([, e]) => e.at), Array.from({ length: 24 }, (_, i) => i));
  // Per writer, events keep the order they were sent in.
  for (const by of ["A", "B"]) {
    assertEquals(events.filter(([, e]) => e.by === by).map(([, e]) => e.n), sent[by]);
  }
  assert(
    metric(systemA, 'flotilla_store_conflicts_total{store="memory"}') +
        metric(systemB, 'flotilla_store_conflicts_total{store="memory"}') > 0,
    "the writers did race",
  );
  // A writer that lost a race reloads; its next command sees every event.
  assertEquals(await refB.ask("add", 0), (n * (n + 1)) / 2);
  assertEquals(await refB.ask("version"), 25);
  await systemA.shutdown();
  await systemB.shutdown();
});

Deno.test("journal events of a command that crashes are discarded and the restart replays the journal", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock);
  const def = ledger();
  system.register(def);
  await system.start();
  const ref = system.ref(def, "x");
  await ref.ask("add", 1);
  const pending = ref.ask("add", 2); // applied in the same turn as the crash, not yet durable
  await assertRejects(() => ref.ask("addThenCrash", 1000), ActorCrashedError);
  clock.advance(50); // the restart's backoff
  assertEquals(await pending, 3, "the uncommitted command is re-applied after the restart");
  assertEquals(await ref.ask("get"), { total: 3, events: 2 });
  assertEquals((await journal(store, "x")).map(([seq, e]) => [seq, e.n, e.at]), [
    [1, 1, 0],
    [2, 2, 1],
  ]);
  await system.shutdown();
});

Deno.test("journal persist outside a command handler throws and crashes the actor", async () => {
  const store = new MemoryStore();
  const system = makeSystem(store);
  const def = ledger();
  system.register(def);
  await system.start();
  const ref = system.ref(def, "x");
  await ref.ask("add", 1);
  const error = await assertRejects(() => ref.ask("sneaky"), ActorCrashedError);
  assert(error.cause instanceof ConfigError, "the cause is a ConfigError");
  assert(
    error.cause.message.includes("only allowed inside a command handler"),
    error.cause.message,
  );
  assertEquals(system.deadLetters.recent().map((d) => [d.kind, d.reason]), [["sneaky", "crashed"]]);
  assertEquals(await journal(store, "x"), [[1, { n: 1, at: 0, by: "x" }]]);
  await system.shutdown();
});

Deno.test("journal persist in an actor that is not journaled throws and crashes it", async () => {
  const system = makeSystem(new MemoryStore());
  const plain = defineActor({
    name: "plain",
    initialState: () => ({}),
    handlers: {
      record(ctx: ActorContext<Record<string, never>, string>) {
        ctx.persist("event");
      },
    },
  });
  system.register(plain);
  await system.start();
  const error = await assertRejects(
    () => system.ref(plain, "x").ask("record"),
    ActorCrashedError,
  );
  assert(error.cause instanceof ConfigError);
  assert(error.cause.message.includes('needs persistence "journal"'), error.cause.message);
  await system.shutdown();
});
