import { journalEvents, storedState, strip } from "./helpers/stored.ts";
import {
  type ActorContext,
  type ActorSystem,
  type BusEvent,
  defineActor,
  ManualClock,
  MemoryStore,
  type OpResult,
  type PutOp,
  type ResetNotice,
  type StateStore,
  StoreError,
  type StoreOp,
  ValidationError,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { defineCounter } from "./helpers/fixtures.ts";
import { flushMicrotasks, GatedStore, sample, setup, track } from "./helpers/system.ts";

// ---------------------------------------------------------------- helpers

/** Resolves with the data of the first `system` event of type `type`. */
function nextSystemEvent(system: ActorSystem, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const sub = system.events.subscribe({ topics: ["system"] }, (item) => {
      const data = (item as BusEvent).data as Record<string, unknown> | undefined;
      if (data?.type === type) {
        sub.close();
        resolve(data);
      }
    });
  });
}

const counter = defineCounter({
  emits: true,
  options: { supervision: { backoff: { min: 100, max: 100 } } },
});

/** The stored state of counter `id`, or null. */
async function stored(store: StateStore, id: string) {
  return await storedState(store, `a/counter/${id}`);
}

// ---------------------------------------------------------------- durability before replies

Deno.test("ask of a command resolves only after its state change is durable", async () => {
  const store = new GatedStore();
  const { system } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  store.hold = true;
  const add = track(ref.ask("add", 5));
  await store.waitForHeld(1);
  await flushMicrotasks();
  assert(!add.settled(), "no reply while the commit is in flight");
  assertEquals(await stored(store, "a"), null);
  // A query does not wait for the commit: it reads the actor's (applied) state at once.
  assertEquals(await ref.ask("get"), 5);
  assert(!add.settled());

  store.release();
  assertEquals(await add.promise, 5);
  assertEquals(await stored(store, "a"), { version: 1, value: { s: { n: 5 } } });
  store.hold = false;
  await system.idle();
  assertEquals(store.batches.length, 1);
  assert(await system.shutdown());
});

Deno.test("ask of commands sent while a commit is in flight resolve with the next commit", async () => {
  const store = new GatedStore();
  const { system } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  store.hold = true;
  const first = track(ref.ask("add", 1));
  await store.waitForHeld(1);
  const second = track(ref.ask("add", 2));
  const third = track(ref.ask("add", 3));
  await flushMicrotasks();
  assertEquals(store.held, 1, "one commit per actor at a time");
  assert(!first.settled() && !second.settled() && !third.settled());

  store.release();
  assertEquals(await first.promise, 1);
  await store.waitForHeld(1); // the next batch: both later commands together
  await flushMicrotasks();
  assert(!second.settled() && !third.settled());
  assertEquals(store.batches.length, 2);
  assertEquals(
    store.batches[1]!.map((op) => ({
      ...op,
      value: strip({ version: 0, value: (op as PutOp).value })!.value,
    })),
    [{ op: "put", key: "a/counter/a", value: { s: { n: 6 } }, expectedVersion: 1 }],
  );
  store.hold = false;
  store.release();
  assertEquals(await second.promise, 3);
  assertEquals(await third.promise, 6);
  await system.idle();
  assertEquals(await stored(store, "a"), { version: 2, value: { s: { n: 6 } } });
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- group commit

Deno.test("group commit writes 1000 actors' changes in a handful of store batches", async () => {
  const sizes: number[] = [];
  const store = new MemoryStore({ beforeCommit: (ops) => void sizes.push(ops.length) });
  const { system } = setup([counter], { store });
  await system.start();
  for (let i = 0; i < 1000; i++) system.ref(counter, `c${i}`).tell("add", i);
  await system.idle();

  assert(sizes.length <= 5, `expected a handful of commits, got ${sizes.length}: ${sizes}`);
  assertEquals(sizes.reduce((a, b) => a + b, 0), 1000);
  assert(sizes.every((n) => n <= 500), `default maxBatch is 500: ${sizes}`);
  const values = await store.getMany(Array.from({ length: 1000 }, (_, i) => `a/counter/c${i}`));
  values.forEach((v, i) => assertEquals(strip(v), { version: 1, value: { s: { n: i } } }, `c${i}`));
  assertEquals(sample(system, 'flotilla_store_batch_ops_count{store="memory"}'), sizes.length);
  assertEquals(sample(system, 'flotilla_store_batch_ops_sum{store="memory"}'), 1000);
  assertEquals(sample(system, 'flotilla_messages_total{type="counter"}'), 1000);
  assert(await system.shutdown());
});

Deno.test("group commit puts at most maxBatch actors in one batch and many messages in one write", async () => {
  const sizes: number[] = [];
  const store = new MemoryStore({ beforeCommit: (ops) => void sizes.push(ops.length) });
  const { system } = setup([counter], { store, commit: { maxBatch: 64, maxInFlight: 2 } });
  await system.start();
  for (let k = 1; k <= 10; k++) {
    for (let i = 0; i < 300; i++) system.ref(counter, `c${i}`).tell("add", k);
  }
  await system.idle();
  assert(sizes.every((n) => n <= 64), `batches: ${sizes}`);
  // 3000 messages to 300 actors: far fewer writes than messages.
  const writes = sizes.reduce((a, b) => a + b, 0);
  assert(writes >= 300 && writes < 3000, `${writes} writes`);
  const values = await store.getMany(Array.from({ length: 300 }, (_, i) => `a/counter/c${i}`));
  assert(values.every((v) => (v?.value as { s: { n: number } }).s.n === 55));
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- persistence modes

Deno.test("persistence none writes nothing and starts from initialState on each activation", async () => {
  let commits = 0;
  const store = new MemoryStore({ beforeCommit: () => void commits++ });
  const volatile = defineActor({
    name: "volatile",
    initialState: (id: string) => ({ id, n: 0 }),
    handlers: {
      add(ctx, k: number) {
        ctx.state.n += k;
        return ctx.state.n;
      },
    },
    queries: { get: (ctx) => ctx.state },
    options: { persistence: "none", passivateAfter: 1000 },
  });
  const { system, clock } = setup([volatile], { store, sweepInterval: 100 });
  await system.start();
  const ref = system.ref(volatile, "v");
  assertEquals(await ref.ask("add", 2), 2);
  assertEquals(await ref.ask("add", 3), 5);
  await system.idle();
  assertEquals(commits, 0);
  assertEquals(await store.keys(""), []);

  clock.advance(1000); // passivated
  assertEquals(system.stats().volatile, { active: 0, queued: 0 });
  assertEquals(await ref.ask("get"), { id: "v", n: 0 });
  assertEquals(sample(system, 'flotilla_activations_total{type="volatile"}'), 2);
  await system.idle();
  assertEquals(commits, 0);
  assert(await system.shutdown());
});

Deno.test("state survives a new ActorSystem on the same store", async () => {
  const store = new MemoryStore();
  const first = setup([counter], { store }).system;
  await first.start();
  await first.ref(counter, "a").ask("add", 5);
  first.ref(counter, "a").tell("add", 6);
  first.ref(counter, "b").tell("add", 1);
  assert(await first.shutdown());

  const second = setup([counter], { store }).system;
  await second.start();
  assertEquals(await second.ref(counter, "a").ask("get"), 11);
  assertEquals(await second.ref(counter, "b").ask("get"), 1);
  assertEquals(await second.ref(counter, "a").ask("add", 1), 12);
  await second.idle();
  assertEquals(await stored(store, "a"), { version: 3, value: { s: { n: 12 } } });
  assert(await second.shutdown());
});

Deno.test("journal persistence appends events and rebuilds state by replay in a new system", async () => {
  type Ledger = { balance: number; entries: number };
  type Posted = { amount: number };
  const ledger = defineActor({
    name: "ledger",
    initialState: (): Ledger => ({ balance: 0, entries: 0 }),
    handlers: {
      post(ctx: ActorContext<Ledger, Posted>, amount: number) {
        ctx.persist({ amount });
        return ctx.state.balance;
      },
      /** Records an event, then refuses: the event must not be appended. */
      overdraw(ctx: ActorContext<Ledger, Posted>, amount: number) {
        ctx.persist({ amount: -amount });
        throw new ValidationError("insufficient funds");
      },
      /** A command that records nothing: nothing to write, reply at once. */
      check: (ctx: ActorContext<Ledger, Posted>) => ctx.state.balance >= 0,
    },
    queries: { get: (ctx) => ctx.state },
    apply(state: Ledger, event: Posted) {
      state.balance += event.amount;
      state.entries++;
    },
    options: { persistence: "journal", snapshotEvery: 3 },
  });
  const store = new GatedStore();
  const first = setup([ledger], { store }).system;
  await first.start();
  const ref = first.ref(ledger, "l");
  store.hold = true;
  const posted = track(ref.ask("post", 10));
  await store.waitForHeld(1);
  await flushMicrotasks();
  assert(!posted.settled(), "no reply before the event is appended");
  assertEquals(await store.journalVersion("a/ledger/l"), 0);
  store.hold = false;
  store.release();
  assertEquals(await posted.promise, 10);
  for (const amount of [20, 30, 40, 50]) await ref.ask("post", amount);
  assert(await first.shutdown());

  // The snapshot at the third event covers it and those before: the journal was compacted.
  assertEquals(await journalEvents(store, "a/ledger/l"), [{ amount: 40 }, { amount: 50 }]);
  assertEquals(await store.journalVersion("a/ledger/l"), 5);
  const second = setup([ledger], { store }).system;
  await second.start();
  assertEquals(await second.ref(ledger, "l").ask("get"), { balance: 150, entries: 5 });
  assertEquals(await second.ref(ledger, "l").ask("post", 1), 151);
  assertEquals(await store.journalVersion("a/ledger/l"), 6);
  const commits = store.batches.length;
  await assertRejects(() => second.ref(ledger, "l").ask("overdraw", 1000), ValidationError);
  assertEquals(await second.ref(ledger, "l").ask("get"), { balance: 151, entries: 6 });
  assertEquals(await second.ref(ledger, "l").ask("check"), true);
  await second.idle();
  assertEquals(await store.journalVersion("a/ledger/l"), 6);
  assertEquals(store.batches.length, commits, "neither the refusal nor the check wrote");
  assert(await second.shutdown());
});

// ---------------------------------------------------------------- rejection and crashes

Deno.test("a rejected command leaves in-memory and durable state unchanged", async () => {
  const store = new MemoryStore();
  const { system } = setup([counter], { store });
  await system.start();
  const events: (BusEvent | ResetNotice)[] = [];
  system.events.subscribe({ topics: ["counter"] }, (e) => events.push(e));
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 1), 1);
  await system.idle();

  const error = await assertRejects(() => ref.ask("bad", 100), ValidationError, "not acceptable");
  assertEquals(error.issues, [{ path: "", message: "refused" }]);
  assertEquals(await ref.ask("get"), 1);
  await system.idle();
  assertEquals(await stored(store, "a"), { version: 1, value: { s: { n: 1 } } });
  // Nothing the refused command did left the actor: no event, no message to "sink".
  assertEquals(events.length, 1);
  assertEquals(await system.ref(counter, "sink").ask("get"), 0);

  // A told refusal is a dead letter; the actor keeps working from its durable state.
  ref.tell("bad", 7);
  assertEquals(await ref.ask("add", 2), 3);
  const [letter] = system.deadLetters.recent();
  assertEquals([letter?.kind, letter?.reason, letter?.payload], ["bad", "rejected", 7]);
  assertEquals(sample(system, 'flotilla_messages_rejected_total{type="counter"}'), 2);
  assertEquals(sample(system, 'flotilla_actor_crashes_total{type="counter"}'), 0);
  await system.idle();
  assertEquals(await stored(store, "a"), { version: 2, value: { s: { n: 3 } } });
  assert(await system.shutdown());
});

Deno.test("a rejected command does not lose earlier uncommitted commands of the same actor", async () => {
  const store = new MemoryStore();
  const { system } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("add", 1);
  // In one turn: applied but not yet committed, refused, then one more.
  const before = ref.ask("add", 2);
  const refused = assertRejects(() => ref.ask("bad", 100), ValidationError);
  const after = ref.ask("add", 3);
  await refused;
  assertEquals(await before, 3);
  assertEquals(await after, 6);
  await system.idle();
  assertEquals(await ref.ask("get"), 6);
  assertEquals((await stored(store, "a"))?.value, { s: { n: 6 } });
  assert(await system.shutdown());
});

Deno.test("a crash re-applies the actor's earlier uncommitted messages after the reload", async () => {
  const store = new MemoryStore();
  const { system, clock } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 1), 1);
  await system.idle();

  const crashed = nextSystemEvent(system, "actor.crashed");
  const second = track(ref.ask("add", 2)); // applied, not committed when the next one crashes
  ref.tell("boom");
  const third = track(ref.ask("add", 3)); // queued behind the crash
  await crashed;
  await flushMicrotasks();
  assert(!second.settled() && !third.settled(), "nothing released before the restart");
  assertEquals(await stored(store, "a"), { version: 1, value: { s: { n: 1 } } });

  clock.advance(99); // the type's restart backoff is 100 ms
  await flushMicrotasks();
  assert(!second.settled());
  clock.advance(1);
  assertEquals(await second.promise, 3, "re-applied on the reloaded state, not on n=1003");
  assertEquals(await third.promise, 6);
  await system.idle();
  assertEquals(await ref.ask("get"), 6);
  assertEquals(await stored(store, "a"), { version: 2, value: { s: { n: 6 } } });
  const letters = system.deadLetters.recent();
  assertEquals(letters.map((l) => [l.kind, l.reason]), [["boom", "crashed"]]);
  assertEquals(sample(system, 'flotilla_actor_crashes_total{type="counter"}'), 1);
  assertEquals(sample(system, 'flotilla_actor_restarts_total{type="counter"}'), 1);
  assert(await system.shutdown());
});

Deno.test({
  name: "idle resolves after a crash suspends an actor whose change was queued for commit",
  fn: async () => {
    const { system, clock } = setup([counter]);
    await system.start();
    const ref = system.ref(counter, "a");
    await ref.ask("add", 1);
    const second = ref.ask("add", 2);
    ref.tell("boom");
    // Nothing can progress until the restart backoff passes on the clock: idle must resolve.
    await system.idle();
    clock.advance(100);
    assertEquals(await second, 3);
    await system.idle();
    assert(await system.shutdown());
  },
});

// ---------------------------------------------------------------- store failures

Deno.test("a failed store commit keeps the changes and releases replies only once durable", async () => {
  const log: string[] = [];
  let attempts = 0;
  const store = new MemoryStore({
    beforeCommit: () => {
      attempts++;
      if (attempts <= 3) {
        log.push(`commit ${attempts} failed`);
        throw new StoreError("store unreachable");
      }
      log.push(`commit ${attempts} durable`);
    },
  });
  const { system, clock } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  const first = ref.ask("add", 1, { timeout: "PT1H" }).then((v) => {
    log.push(`reply ${v}`);
    return v;
  });
  const second = ref.ask("add", 2, { timeout: "PT1H" }).then((v) => {
    log.push(`reply ${v}`);
    return v;
  });
  // Move the clock in small steps until the retries succeed (however they are scheduled).
  let settled = false;
  Promise.all([first, second]).then(() => (settled = true));
  for (let step = 0; step < 100 && !settled; step++) {
    await flushMicrotasks();
    if (!settled) clock.advance(50);
  }
  assert(settled, `replies never came: ${log}`);
  assertEquals(await first, 1);
  assertEquals(await second, 3);
  assertEquals(log, [
    "commit 1 failed",
    "commit 2 failed",
    "commit 3 failed",
    "commit 4 durable",
    "reply 1",
    "reply 3",
  ]);
  assertEquals(await stored(store, "a"), { version: 1, value: { s: { n: 3 } } });
  assertEquals(sample(system, 'flotilla_store_errors_total{store="memory",op="commit"}'), 3);
  // Let any retry timer left over fire before checking that everything settled.
  clock.advance(60_000);
  await flushMicrotasks();
  await system.idle();
  assertEquals(await ref.ask("add", 4), 7);
  assertEquals(attempts, 5);
  assert(await system.shutdown());
});

Deno.test({
  name: "a failed store commit is retried with backoff on the clock: 50 ms, then doubling",
  fn: async () => {
    let attempts = 0;
    const store = new MemoryStore({
      beforeCommit: () => {
        attempts++;
        if (attempts <= 3) throw new StoreError("store unreachable");
      },
    });
    const { system, clock } = setup([counter], { store });
    await system.start();
    const ref = system.ref(counter, "a");
    const add = track(ref.ask("add", 1, { timeout: "PT1H" }));
    await system.idle(); // only the retry timer can move things now
    assertEquals(attempts, 1, "no retry before the clock moves");
    assert(!add.settled());
    clock.advance(49);
    await system.idle();
    assertEquals(attempts, 1);
    clock.advance(1); // t = 50
    await system.idle();
    assertEquals(attempts, 2);
    clock.advance(99);
    await system.idle();
    assertEquals(attempts, 2);
    clock.advance(1); // t = 150: 100 ms after the second failure
    await system.idle();
    assertEquals(attempts, 3);
    assert(!add.settled(), "no reply before a commit succeeds");
    clock.advance(200); // t = 350
    await system.idle();
    assertEquals(attempts, 4);
    assertEquals(await add.promise, 1);
    assertEquals(await stored(store, "a"), { version: 1, value: { s: { n: 1 } } });
    assert(await system.shutdown(1000));
  },
});

// ---------------------------------------------------------------- concurrent writers

Deno.test("concurrent writers on one store: the loser reloads and re-applies, no update is lost", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const one = setup([counter], { store, clock });
  const two = setup([counter], { store, clock });
  await one.system.start();
  await two.system.start();
  const r1 = one.system.ref(counter, "x"), r2 = two.system.ref(counter, "x");
  // Both activate the actor from the same (empty) version.
  assertEquals(await r1.ask("get"), 0);
  assertEquals(await r2.ask("get"), 0);

  const [a, b] = await Promise.all([r1.ask("add", 1), r2.ask("add", 10)]);
  assert(
    (a === 1 && b === 11) || (a === 11 && b === 10),
    `one write wins, the other is re-applied on top of it: got ${a}, ${b}`,
  );
  assertEquals(await stored(store, "x"), { version: 2, value: { s: { n: 11 } } });
  const conflicts = (s: ActorSystem) =>
    sample(s, 'flotilla_store_conflicts_total{store="memory"}') ?? 0;
  assertEquals(conflicts(one.system) + conflicts(two.system), 1);

  // Many more rounds of racing writes: every update lands exactly once.
  for (let round = 0; round < 20; round++) {
    await Promise.all([r1.ask("add", 1), r2.ask("add", 10), r1.ask("add", 100)]);
  }
  await one.system.idle();
  await two.system.idle();
  const final = await stored(store, "x");
  assertEquals(final?.value, { s: { n: 11 + 20 * 111 } });
  assert(conflicts(one.system) + conflicts(two.system) >= 2);
  assert(one.logs.concat(two.logs).some((l) => l.includes("another writer changed")));
  assert(await one.system.shutdown());
  assert(await two.system.shutdown());
});

Deno.test({
  name: "concurrent writers on one store: a reload after a lost write keeps the arrival order",
  fn: async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const gate = Promise.withResolvers<void>();
    const recorder = defineActor({
      name: "recorder",
      initialState: () => ({ seen: [] as string[] }),
      handlers: {
        record(ctx, m: string) {
          ctx.state.seen.push(m);
          return ctx.state.seen.join(",");
        },
        async recordLater(ctx, m: string) {
          await gate.promise;
          ctx.state.seen.push(m);
          return ctx.state.seen.join(",");
        },
      },
      queries: { seen: (ctx) => ctx.state.seen },
    });
    const one = setup([recorder], { store, clock }).system;
    const two = setup([recorder], { store, clock }).system;
    await one.start();
    await two.start();
    const r1 = one.ref(recorder, "r"), r2 = two.ref(recorder, "r");
    assertEquals(await r1.ask("seen"), []); // activated at version 0
    assertEquals(await r2.ask("record", "x"), "x"); // the store moves to version 1

    // "a" loses its write race while "b", sent after it, is still running.
    const a = r1.ask("record", "a");
    const b = r1.ask("recordLater", "b");
    await flushMicrotasks();
    gate.resolve();
    assertEquals(await a, "x,a");
    assertEquals(await b, "x,a,b");
    await one.idle();
    assertEquals((await storedState(store, "a/recorder/r"))?.value, {
      s: { seen: ["x", "a", "b"] },
    });
    assert(await one.shutdown());
    assert(await two.shutdown());
  },
});

// ---------------------------------------------------------------- effects wait for the commit

Deno.test("ctx.emit events of a command are published only after its commit", async () => {
  const store = new GatedStore();
  const { system } = setup([counter], { store });
  await system.start();
  const events: BusEvent[] = [];
  system.events.subscribe({ topics: ["counter"] }, (e) => events.push(e as BusEvent));
  const ref = system.ref(counter, "a");
  store.hold = true;
  const add = track(ref.ask("add", 5));
  await store.waitForHeld(1);
  await flushMicrotasks();
  assertEquals(events, []);
  // A query's emit is not held back.
  assertEquals(await ref.ask("ping"), "pong");
  assertEquals(events.map((e) => e.data), [{ ping: 5 }]);

  store.hold = false;
  store.release();
  assertEquals(await add.promise, 5);
  assertEquals(events.map((e) => [e.topic, e.key, e.data]), [
    ["counter", "a", { ping: 5 }],
    ["counter", "a", { n: 5 }],
  ]);
  await system.idle();
  assert(await system.shutdown());
});

Deno.test("ctx.tell messages of a command are delivered only after its commit", async () => {
  const store = new GatedStore();
  const { system } = setup([counter], { store });
  await system.start();
  const from = system.ref(counter, "from"), to = system.ref(counter, "to");
  assertEquals(await to.ask("get"), 0); // activated before anything is held
  store.hold = true;
  const forwarded = track(from.ask("forward", { to: "to", k: 7 }));
  await store.waitForHeld(1);
  await flushMicrotasks();
  assertEquals(await to.ask("get"), 0, "not delivered while the sender's change is in flight");
  assertEquals(store.batches.length, 1);

  store.hold = false;
  store.release();
  assertEquals(await forwarded.promise, 1);
  await system.idle();
  assertEquals(await to.ask("get"), 7);
  assertEquals(await stored(store, "to"), { version: 1, value: { s: { n: 7 } } });
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- ambiguous commits

/**
 * A store whose next `failAfterApply` commits are applied and then reported as failed, as a
 * connection that drops after the server applied a write would report them.
 */
class AmbiguousStore extends MemoryStore {
  failAfterApply = 0;
  override async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    const results = await super.commit(ops);
    if (this.failAfterApply > 0) {
      this.failAfterApply--;
      throw new StoreError("connection lost after the write (test)");
    }
    return results;
  }
}

Deno.test("a write that landed but was reported failed is not applied twice", async () => {
  const store = new AmbiguousStore();
  const { system, clock } = setup([counter], { store });
  await system.start();
  const emitted: unknown[] = [];
  system.events.subscribe({ topics: ["counter"] }, (e) => emitted.push((e as BusEvent).data));
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 5), 5);
  store.failAfterApply = 1;
  const pending = track(ref.ask("add", 2));
  ref.tell("add", 10); // applied after it, while the retry waits
  await system.idle();
  assert(!pending.settled(), "no reply while the outcome is unknown");
  clock.advance(50); // the retry: conflicts with its own landed write, reloads, replays
  await system.idle();
  assertEquals(await pending.promise, 7, "the reply computed when the command first ran");
  assertEquals(await ref.ask("get"), 17, "+2 once, +10 once");
  assertEquals((await stored(store, "a"))?.value, { s: { n: 17 } });
  assertEquals(emitted, [{ n: 5 }, { n: 7 }, { n: 17 }], "each event once");
  assert(await system.shutdown());
});

Deno.test("a journal append that landed but was reported failed is not appended twice", async () => {
  type Ledger = { balance: number };
  type Posted = { amount: number };
  const ledger = defineActor({
    name: "ledger",
    initialState: (): Ledger => ({ balance: 0 }),
    handlers: {
      post(ctx: ActorContext<Ledger, Posted>, amount: number) {
        ctx.persist({ amount });
        return ctx.state.balance;
      },
    },
    queries: { get: (ctx) => ctx.state.balance },
    apply(state: Ledger, event: Posted) {
      state.balance += event.amount;
    },
    options: { persistence: "journal" },
  });
  const store = new AmbiguousStore();
  const { system, clock } = setup([ledger], { store });
  await system.start();
  const ref = system.ref(ledger, "l");
  assertEquals(await ref.ask("post", 1), 1);
  store.failAfterApply = 1;
  const pending = track(ref.ask("post", 2));
  await system.idle();
  clock.advance(50);
  await system.idle();
  assertEquals(await pending.promise, 3);
  assertEquals(await ref.ask("post", 4), 7);
  assertEquals(await journalEvents(store, "a/ledger/l"), [{ amount: 1 }, { amount: 2 }, {
    amount: 4,
  }]);
  assert(await system.shutdown());
});
