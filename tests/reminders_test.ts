import { storedState } from "./helpers/stored.ts";
/**
 * Durable reminders: one-shot and periodic firing, re-activation of passivated actors,
 * surviving a restart of the system, coalescing of firings missed during downtime,
 * cancellation, daily wall-clock schedules, and reminders of commands that never commit.
 */
import {
  ActorSystem,
  createLogger,
  defineActor,
  type JsonValue,
  ManualClock,
  MemoryStore,
  type ReminderTick,
  type Schedule,
} from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { metric, setup } from "./helpers/system.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

interface Delivery {
  id: string;
  /** The message kind the tick came as. */
  kind: string;
  tick: ReminderTick;
  /** Clock time when the actor handled it. */
  at: number;
}

interface Arm {
  name: string;
  schedule: Schedule;
  kind?: string;
  data?: JsonValue;
}

/** An actor that sets reminders on command and records every tick it gets in `log`. */
function pinger(
  log: Delivery[],
  options: { passivateAfter?: number | null; activations?: { count: number } } = {},
) {
  const record = (ctx: { id: string; now(): number }, kind: string, tick: ReminderTick) => {
    log.push({ id: ctx.id, kind, tick, at: ctx.now() });
  };
  return defineActor({
    name: "pinger",
    initialState: (): { ticks: number; poison?: unknown } => ({ ticks: 0 }),
    handlers: {
      arm(ctx, m: Arm) {
        ctx.setReminder(m.name, m.schedule, { kind: m.kind, data: m.data });
      },
      disarm(ctx, name: string) {
        ctx.cancelReminder(name);
      },
      armThenCrash(ctx, name: string) {
        ctx.setReminder(name, { after: SECOND });
        throw new Error("crashed after setting a reminder");
      },
      armWithUnstorableState(ctx, name: string) {
        ctx.setReminder(name, { after: SECOND });
        ctx.state.poison = 1n; // JSON cannot encode a BigInt: the store refuses the state
      },
      reminder(ctx, tick: ReminderTick) {
        ctx.state.ticks++;
        record(ctx, "reminder", tick);
      },
      wake(ctx, tick: ReminderTick) {
        ctx.state.ticks++;
        record(ctx, "wake", tick);
      },
    },
    queries: { ticks: (ctx) => ctx.state.ticks },
    onActivate() {
      if (options.activations) options.activations.count++;
    },
    options: { passivateAfter: options.passivateAfter ?? null },
  });
}

/** A system on `store` and `clock` whose log lines are dropped. */
function makeSystem(store: MemoryStore, clock: ManualClock, sweepInterval?: number) {
  return setup([], { store, clock, sweepInterval, logs: "discard" }).system;
}

async function advance(system: ActorSystem, clock: ManualClock, ms: number): Promise<void> {
  clock.advance(ms);
  await system.idle();
}

const ticks = (log: Delivery[]) => log.map((d) => d.tick);

Deno.test("reminders after fires once, after the delay, with its name and data", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock);
  const log: Delivery[] = [];
  const def = pinger(log);
  system.register(def);
  await system.start();
  await system.ref(def, "a").ask("arm", { name: "r", schedule: { after: "PT1S" }, data: { x: 1 } });
  assertEquals((await store.get("r/0/pinger/a/r"))?.value, {
    partition: 0,
    type: "pinger",
    id: "a",
    name: "r",
    kind: "reminder",
    data: { x: 1 },
    schedule: { after: "PT1S" },
    due: 1000,
  });
  await advance(system, clock, 999);
  assertEquals(log, []);
  await advance(system, clock, 1);
  assertEquals(log, [{
    id: "a",
    kind: "reminder",
    tick: { name: "r", data: { x: 1 }, due: 1000, missed: 0 },
    at: 1000,
  }]);
  assertEquals(await store.get("r/0/pinger/a/r"), null, "a fired one-shot reminder is removed");
  await advance(system, clock, 10 * SECOND);
  assertEquals(log.length, 1);
  assertEquals(metric(system, "flotilla_reminders_fired_total"), 1);
  assertEquals(metric(system, "flotilla_reminder_missed_ticks_total"), 0);
  await system.shutdown();
});

Deno.test("reminders every delivers on each period, as the configured message kind", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock);
  const log: Delivery[] = [];
  const def = pinger(log);
  system.register(def);
  await system.start();
  const ref = system.ref(def, "a");
  await ref.ask("arm", { name: "p", schedule: { every: "PT1S" }, kind: "wake" });
  await advance(system, clock, 999);
  assertEquals(log, []);
  await advance(system, clock, 1);
  await advance(system, clock, 1000);
  await advance(system, clock, 3000); // three periods at once: three deliveries, none missed
  assertEquals(log.map((d) => [d.kind, d.tick.due, d.tick.missed]), [
    ["wake", 1000, 0],
    ["wake", 2000, 0],
    ["wake", 3000, 0],
    ["wake", 4000, 0],
    ["wake", 5000, 0],
  ]);
  assertEquals(await ref.ask("ticks"), 5);
  assertEquals(((await store.get("r/0/pinger/a/p"))?.value as { due: number }).due, 6000);
  assertEquals(metric(system, "flotilla_reminders_fired_total"), 5);
  await system.shutdown();
});

Deno.test("reminders re-activate a passivated actor", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock, 500);
  const log: Delivery[] = [];
  const activations = { count: 0 };
  const def = pinger(log, { passivateAfter: 1000, activations });
  system.register(def);
  await system.start();
  await system.ref(def, "a").ask("arm", { name: "r", schedule: { after: "PT5S" } });
  await advance(system, clock, 2000);
  assertEquals(system.stats().pinger, { active: 0, queued: 0 }, "passivated while idle");
  assertEquals(metric(system, 'flotilla_passivations_total{type="pinger"}'), 1);
  await advance(system, clock, 3000);
  assertEquals(ticks(log), [{ name: "r", data: null, due: 5000, missed: 0 }]);
  assertEquals(activations.count, 2, "activated again by the reminder");
  assertEquals(system.stats().pinger?.active, 1);
  await system.shutdown();
});

Deno.test("reminders survive a restart: a new system on the same store loads and fires them", async () => {
  const store = new MemoryStore();
  const clock1 = new ManualClock(0);
  const first = makeSystem(store, clock1);
  const log1: Delivery[] = [];
  const def1 = pinger(log1);
  first.register(def1);
  await first.start();
  const ref1 = first.ref(def1, "a");
  await ref1.ask("arm", { name: "once", schedule: { after: 10 * SECOND }, data: "later" });
  await ref1.ask("arm", { name: "periodic", schedule: { every: 4 * SECOND } });
  await first.ref(def1, "b").ask("arm", { name: "due", schedule: { at: 3000 } });
  await advance(first, clock1, 4000);
  assertEquals(log1.map((d) => [d.id, d.tick.name, d.tick.due]), [
    ["b", "due", 3000],
    ["a", "periodic", 4000],
  ]);
  await first.shutdown();

  // The process comes back 1 s after it went down.
  const clock2 = new ManualClock(5000);
  const second = makeSystem(store, clock2);
  const log2: Delivery[] = [];
  const def2 = pinger(log2);
  second.register(def2);
  await second.start();
  await advance(second, clock2, 0);
  assertEquals(log2, [], "nothing was due while the process was down");
  await advance(second, clock2, 3000);
  assertEquals(ticks(log2), [{ name: "periodic", data: null, due: 8000, missed: 0 }]);
  await advance(second, clock2, 2000);
  assertEquals(ticks(log2).slice(1), [{ name: "once", data: "later", due: 10_000, missed: 0 }]);
  assertEquals(
    await second.ref(def2, "a").ask("ticks"),
    3,
    "state survived too (1 tick before, 2 after)",
  );
  await second.shutdown();
});

Deno.test("reminders missed during downtime are coalesced into one delivery with the exact missed count", async () => {
  const store = new MemoryStore();
  const clock1 = new ManualClock(0);
  const first = makeSystem(store, clock1);
  const def1 = pinger([]);
  first.register(def1);
  await first.start();
  await first.ref(def1, "a").ask("arm", { name: "p", schedule: { every: "PT5M" } });
  assertEquals(((await store.get("r/0/pinger/a/p"))?.value as { due: number }).due, 5 * MINUTE);
  await first.shutdown();

  // One hour later: firings were due at 5, 10, …, 60 min (12 of them); one is delivered and
  // the other 11 are reported as missed. The next is at 65 min.
  const clock2 = new ManualClock(HOUR);
  const second = makeSystem(store, clock2);
  const log: Delivery[] = [];
  const def2 = pinger(log);
  second.register(def2);
  await second.start();
  await advance(second, clock2, 0);
  assertEquals(log, [{
    id: "a",
    kind: "reminder",
    tick: { name: "p", data: null, due: 5 * MINUTE, missed: 11 },
    at: HOUR,
  }]);
  assertEquals(metric(second, "flotilla_reminders_fired_total"), 1);
  assertEquals(metric(second, "flotilla_reminder_missed_ticks_total"), 11);
  assertEquals(((await store.get("r/0/pinger/a/p"))?.value as { due: number }).due, 65 * MINUTE);
  await advance(second, clock2, 5 * MINUTE - 1);
  assertEquals(log.length, 1);
  await advance(second, clock2, 1);
  assertEquals(ticks(log)[1], { name: "p", data: null, due: 65 * MINUTE, missed: 0 });
  assertEquals(metric(second, "flotilla_reminder_missed_ticks_total"), 11);
  await second.shutdown();
});

Deno.test("reminders cancel removes a reminder from the store and stops its firings", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock);
  const log: Delivery[] = [];
  const def = pinger(log);
  system.register(def);
  await system.start();
  const ref = system.ref(def, "a");
  await ref.ask("arm", { name: "p", schedule: { every: 1000 } });
  await ref.ask("arm", { name: "never", schedule: { after: 1500 } });
  await advance(system, clock, 1000);
  assertEquals(ticks(log).map((t) => t.name), ["p"]);
  await ref.ask("disarm", "p");
  await ref.ask("disarm", "never");
  assertEquals(await store.get("r/0/pinger/a/p"), null);
  assertEquals(await store.get("r/0/pinger/a/never"), null);
  await advance(system, clock, 10_000);
  assertEquals(log.length, 1);
  await ref.ask("disarm", "unknown"); // cancelling what does not exist is harmless
  await system.shutdown();

  const clock2 = new ManualClock(20_000);
  const second = makeSystem(store, clock2);
  second.register(pinger(log));
  await second.start();
  await advance(second, clock2, 0);
  assertEquals(log.length, 1, "a cancelled reminder does not come back after a restart");
  await second.shutdown();
});

Deno.test("reminders daily fire at 02:00 Asia/Seoul each day", async () => {
  const start = Date.parse("2026-05-01T00:00:00+09:00");
  const first = Date.parse("2026-05-01T02:00:00+09:00");
  assertEquals(first, Date.parse("2026-04-30T17:00:00Z"));
  const store = new MemoryStore();
  const clock = new ManualClock(start);
  const system = makeSystem(store, clock);
  const log: Delivery[] = [];
  const def = pinger(log);
  system.register(def);
  await system.start();
  const schedule = { daily: "02:00", timeZone: "Asia/Seoul" };
  await system.ref(def, "a").ask("arm", { name: "nightly", schedule });
  assertEquals((await store.get("r/0/pinger/a/nightly"))?.value, {
    partition: 0,
    type: "pinger",
    id: "a",
    name: "nightly",
    kind: "reminder",
    data: null,
    schedule,
    due: first,
  });
  await advance(system, clock, 2 * HOUR - 1);
  assertEquals(log, []);
  await advance(system, clock, 1);
  assertEquals(ticks(log), [{ name: "nightly", data: null, due: first, missed: 0 }]);
  await advance(system, clock, DAY - 1);
  assertEquals(log.length, 1);
  await advance(system, clock, 1);
  assertEquals(ticks(log)[1], {
    name: "nightly",
    data: null,
    due: Date.parse("2026-05-02T02:00:00+09:00"),
    missed: 0,
  });
  await system.shutdown();
});

Deno.test("reminders daily missed for several days are coalesced after downtime", async () => {
  const store = new MemoryStore();
  const first = makeSystem(store, new ManualClock(Date.parse("2026-05-01T12:00:00+09:00")));
  const def1 = pinger([]);
  first.register(def1);
  await first.start();
  await first.ref(def1, "a").ask("arm", {
    name: "nightly",
    schedule: { daily: "02:00", timeZone: "Asia/Seoul" },
  });
  await first.shutdown();

  // Down until the 4th at noon: the 2nd, 3rd and 4th at 02:00 were due.
  const clock = new ManualClock(Date.parse("2026-05-04T12:00:00+09:00"));
  const second = makeSystem(store, clock);
  const log: Delivery[] = [];
  second.register(pinger(log));
  await second.start();
  await advance(second, clock, 0);
  assertEquals(ticks(log), [{
    name: "nightly",
    data: null,
    due: Date.parse("2026-05-02T02:00:00+09:00"),
    missed: 2,
  }]);
  const stored = (await store.get("r/0/pinger/a/nightly"))?.value as { due: number };
  assertEquals(stored.due, Date.parse("2026-05-05T02:00:00+09:00"));
  await second.shutdown();
});

Deno.test("reminders set by a command that crashes are neither stored nor scheduled", async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(0);
  const system = makeSystem(store, clock);
  const log: Delivery[] = [];
  const def = pinger(log);
  system.register(def);
  await system.start();
  system.ref(def, "a").tell("armThenCrash", "r");
  await system.idle();
  assertEquals(await store.get("r/0/pinger/a/r"), null);
  await advance(system, clock, 5000);
  assertEquals(log, []);
  assertEquals(metric(system, "flotilla_reminders_fired_total"), 0);
  await system.shutdown();
});

Deno.test({
  name: "reminders set by a command whose state the store refuses are neither stored nor scheduled",
  fn: async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(0);
    const system = makeSystem(store, clock);
    const log: Delivery[] = [];
    const def = pinger(log);
    system.register(def);
    await system.start();
    system.ref(def, "a").tell("armWithUnstorableState", "r");
    await system.idle();
    assertEquals(await storedState(store, "a/pinger/a"), null, "the state was refused");
    assertEquals(await store.get("r/0/pinger/a/r"), null, "so was the reminder it set");
    await system.shutdown();

    // Nor does it come back with a restart of the process.
    const clock2 = new ManualClock(0);
    const second = makeSystem(store, clock2);
    second.register(pinger(log));
    await second.start();
    await advance(second, clock2, 5000);
    assert(log.length === 0, `the reminder fired ${log.length} time(s)`);
    await second.shutdown();
  },
});

Deno.test("reminders firing while the previous tick waits for mailbox room are coalesced, not piled up", async () => {
  const clock = new ManualClock(0);
  const store = new MemoryStore();
  const seen: ReminderTick[] = [];
  const gate = Promise.withResolvers<void>();
  const slow = defineActor({
    name: "slow",
    initialState: () => ({}),
    handlers: {
      arm(ctx) {
        ctx.setReminder("t", { every: 1000 });
      },
      async reminder(_ctx, tick: ReminderTick) {
        seen.push(tick);
        await gate.promise;
      },
    },
    options: { mailbox: { capacity: 2, overflow: "backpressure" } },
  });
  const system = new ActorSystem({
    clock,
    store,
    logger: createLogger({ level: "error", write: () => {} }),
  });
  system.register(slow);
  await system.start();
  await system.ref(slow, "s").ask("arm");
  // The first tick blocks the actor; the next two fill its mailbox; then a day goes by.
  for (let i = 0; i < 3; i++) {
    clock.advance(1000);
    await Promise.resolve();
  }
  clock.advance(86_400_000);
  gate.resolve();
  await system.idle();
  const missed = seen.reduce((sum, t) => sum + 1 + t.missed, 0);
  assert(seen.length <= 5, `ticks delivered: ${seen.length}, not one per second`);
  assertEquals(missed, 86_403, "every firing is accounted for, delivered or missed");
  await system.shutdown();
});
