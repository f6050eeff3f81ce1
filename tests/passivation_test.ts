import { storedState } from "./helpers/stored.ts";
import {
  type ActorSystem,
  defineActor,
  MemoryStore,
  type StateStore,
  ValidationError,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import {
  type AnyDefinition,
  flushMicrotasks,
  GatedStore,
  sample,
  setup as setupSystem,
  type SetupOptions,
  type TestSystem,
} from "./helpers/system.ts";
import { defineCounter } from "./helpers/fixtures.ts";

// ---------------------------------------------------------------- helpers

/**
 * {@link setupSystem} sweeping for idle actors every 10 ms, unless the test says otherwise
 * (`sweepInterval: undefined` asks for the system's default).
 */
function setup<S extends StateStore = MemoryStore>(
  definitions: readonly AnyDefinition[],
  options: SetupOptions<S> = {},
): TestSystem<S> {
  return setupSystem(definitions, { sweepInterval: 10, ...options });
}

/** Activations of `type` in memory now. */
function active(system: ActorSystem, type: string): number {
  return system.stats()[type]!.active;
}

/** Records onPassivate calls: `type/id` and the state at that moment. */
const passivated: [string, unknown][] = [];

const counter = defineCounter({
  options: { passivateAfter: 1000 },
  onPassivate(ctx) {
    passivated.push([`${ctx.type}/${ctx.id}`, structuredClone(ctx.state)]);
  },
});

// ---------------------------------------------------------------- passivation

Deno.test("an idle actor is passivated after passivateAfter, not before", async () => {
  passivated.length = 0;
  const { system, clock, store } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 5), 5);
  await system.idle();
  assertEquals(active(system, "counter"), 1);

  clock.advance(990);
  clock.advance(9); // t = 999
  assertEquals(active(system, "counter"), 1, "idle for 999 ms of 1000");
  assertEquals(passivated, []);
  clock.advance(1); // t = 1000
  assertEquals(active(system, "counter"), 0);
  assertEquals(passivated, [["counter/a", { n: 5 }]]);
  assertEquals(sample(system, 'flotilla_passivations_total{type="counter"}'), 1);
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 0);
  // Its state was durable before it went.
  assertEquals(await storedState(store, "a/counter/a"), {
    version: 1,
    value: { s: { n: 5 } },
  });
  assert(await system.shutdown());
});

Deno.test("a passivated actor is re-activated from the store on its next message", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("add", 5);
  await ref.ask("add", 2);
  await system.idle();
  clock.advance(1000);
  assertEquals(active(system, "counter"), 0);

  // The same reference, kept across passivation, reaches a new activation.
  assertEquals(await ref.ask("get"), 7);
  assertEquals(await ref.ask("version"), 2);
  assertEquals(await ref.ask("add", 1), 8);
  assertEquals(await system.ref(counter, "a").ask("get"), 8);
  assertEquals(active(system, "counter"), 1);
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 2);
  await system.idle();
  assert(await system.shutdown());
});

Deno.test("an actor that keeps receiving messages stays active", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  for (let i = 0; i < 20; i++) {
    ref.tell("add", 1);
    await system.idle();
    clock.advance(900);
  }
  assertEquals(active(system, "counter"), 1);
  assertEquals(sample(system, 'flotilla_passivations_total{type="counter"}'), 0);
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 1);
  clock.advance(100); // 1000 ms since the last message
  assertEquals(active(system, "counter"), 0);
  assertEquals(await ref.ask("get"), 20);
  await system.idle();
  assert(await system.shutdown());
});

Deno.test("an actor whose commit is in flight is not passivated", async () => {
  const store = new GatedStore();
  const { system, clock } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  store.hold = true;
  const add = ref.ask("add", 3, { timeout: "PT1H" });
  await store.waitForHeld();
  clock.advance(10_000);
  assertEquals(active(system, "counter"), 1, "not passivated with its change in flight");

  store.hold = false;
  store.release();
  assertEquals(await add, 3);
  await system.idle();
  clock.advance(10); // the next sweep
  assertEquals(active(system, "counter"), 0);
  assertEquals(await storedState(store, "a/counter/a"), {
    version: 1,
    value: { s: { n: 3 } },
  });
  assertEquals(await ref.ask("get"), 3);
  await system.idle();
  assert(await system.shutdown());
});

Deno.test("an actor whose async handler is in flight is not passivated", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  const gate = Promise.withResolvers<void>();
  const later = ref.ask("addLater", { k: 4, gate: gate.promise }, { timeout: "PT1H" });
  ref.tell("add", 1); // queued behind the running handler
  await flushMicrotasks();
  clock.advance(10_000);
  assertEquals(active(system, "counter"), 1, "not passivated while its handler runs");

  gate.resolve();
  assertEquals(await later, 4);
  await system.idle();
  assertEquals(await ref.ask("get"), 5);
  clock.advance(1000);
  assertEquals(active(system, "counter"), 0);
  assert(await system.shutdown());
});

Deno.test("passivateAfter null never passivates", async () => {
  const forever = defineActor({
    name: "forever",
    initialState: () => ({ n: 0 }),
    handlers: { add: (ctx, k: number) => (ctx.state.n += k) },
    options: { passivateAfter: null },
  });
  // No sweepInterval: the default (1 s here, half counter's 1000 ms, at least 1 s) applies.
  const { system, clock } = setup([forever, counter], { sweepInterval: undefined });
  await system.start();
  await system.ref(forever, "f").ask("add", 1);
  await system.ref(counter, "c").ask("add", 1);
  await system.idle();
  clock.advance(86_400_000); // a day
  assertEquals(active(system, "forever"), 1);
  assertEquals(active(system, "counter"), 0);
  assertEquals(sample(system, 'flotilla_passivations_total{type="forever"}'), 0);
  assert(await system.shutdown());
});

Deno.test("passivateAfter accepts an ISO duration and the default sweep finds idle actors", async () => {
  const slowly = defineActor({
    name: "slowly",
    initialState: () => ({ n: 0 }),
    handlers: { add: (ctx, k: number) => (ctx.state.n += k) },
    options: { passivateAfter: "PT10S" },
  });
  // No sweepInterval: half the shortest passivation time, 5 s.
  const { system, clock } = setup([slowly], { sweepInterval: undefined });
  await system.start();
  await system.ref(slowly, "s").ask("add", 1);
  await system.idle();
  clock.advance(9_999);
  assertEquals(active(system, "slowly"), 1);
  clock.advance(1);
  assertEquals(active(system, "slowly"), 0);
  assert(await system.shutdown());
});

Deno.test("passivation metrics count activations, passivations and active actors", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  await Promise.all(["a", "b", "c"].map((id) => system.ref(counter, id).ask("add", 1)));
  await system.idle();
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 3);
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 3);
  clock.advance(500);
  await system.ref(counter, "c").ask("add", 1); // c stays active longer
  await system.idle();
  clock.advance(500);
  assertEquals(sample(system, 'flotilla_passivations_total{type="counter"}'), 2);
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 1);
  clock.advance(500);
  assertEquals(sample(system, 'flotilla_passivations_total{type="counter"}'), 3);
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 0);
  assertEquals(system.stats(), { counter: { active: 0, queued: 0 } });

  await system.ref(counter, "a").ask("get");
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 4);
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 1);
  await system.idle();
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- timers

Deno.test("ctx.setTimer after fires once on the clock", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("timer", { name: "once", after: 300 });
  await system.idle();
  clock.advance(299);
  await system.idle();
  assertEquals(await ref.ask("ticks"), 0);
  clock.advance(1);
  await system.idle();
  assertEquals(await ref.ask("ticks"), 1);
  clock.advance(600);
  await system.idle();
  assertEquals(await ref.ask("ticks"), 1);
  assert(await system.shutdown());
});

Deno.test("ctx.setTimer every fires each period until cancelTimer, and a new one replaces it", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("timer", { name: "beat", every: 100 });
  clock.advance(350);
  await system.idle();
  assertEquals(await ref.ask("ticks"), 3);

  // Same name: replaces the 100 ms timer (t = 350 → fires at 600, 850).
  await ref.ask("timer", { name: "beat", every: 250 });
  clock.advance(500);
  await system.idle();
  assertEquals(await ref.ask("ticks"), 5);

  await ref.ask("cancel", "beat");
  clock.advance(900); // stays active: passivateAfter is 1000 ms
  await system.idle();
  assertEquals(await ref.ask("ticks"), 5);
  await ref.ask("cancel", "unknown"); // cancelling nothing is harmless
  assert(await system.shutdown());
});

Deno.test("timers are cancelled by passivation", async () => {
  const { system, clock } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  await ref.ask("timer", { name: "late", after: 5000 });
  await ref.ask("timer", { name: "slow", every: 3000 });
  await system.idle();
  clock.advance(1000);
  assertEquals(active(system, "counter"), 0);

  clock.advance(20_000);
  await system.idle();
  // Neither timer fired: nothing re-activated the actor.
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 1);
  assertEquals(sample(system, 'flotilla_messages_total{type="counter"}'), 2);
  assertEquals(await ref.ask("get"), 0);
  await system.idle();
  assert(await system.shutdown());
});

Deno.test({
  name: "a rejected command does not cancel the timers set by earlier commands",
  fn: async () => {
    const { system, clock } = setup([counter]);
    await system.start();
    const ref = system.ref(counter, "a");
    await ref.ask("timer", { name: "beat", every: 100 });
    clock.advance(300);
    await system.idle();
    assertEquals(await ref.ask("ticks"), 3);
    await assertRejects(() => ref.ask("bad"), ValidationError);
    await system.idle();
    clock.advance(300);
    await system.idle();
    assertEquals(await ref.ask("ticks"), 6);
    assert(await system.shutdown());
  },
});
