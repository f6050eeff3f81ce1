/**
 * The cap on live actors (`maxActiveActors`, runtime/actor_cap.ts): past it the least recently
 * used idle actors are passivated, busy ones never (the cap is soft), state and reminders
 * survive an eviction, and the metrics say what happened. All on the ManualClock.
 */
import { ConfigError } from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { defineCounter } from "./helpers/fixtures.ts";
import { flushMicrotasks, GatedStore, metric, sample, setup } from "./helpers/system.ts";
import type { ActorSystem } from "../runtime/mod.ts";

/** Ids of the counters passivated (swept or evicted), in order. */
const gone: string[] = [];

const counter = defineCounter({
  onPassivate: (ctx) => void gone.push(ctx.id),
  // Never swept for idleness: only the cap passivates here.
  options: { passivateAfter: null },
});

function active(system: ActorSystem): number {
  return system.stats().counter!.active;
}

Deno.test("cap: the least recently used idle actor is evicted first", async () => {
  gone.length = 0;
  const { system, clock } = setup([counter], { maxActiveActors: 3, logs: "discard" });
  await system.start();
  for (const id of ["a", "b", "c"]) {
    await system.ref(counter, id).ask("add", 1);
    clock.advance(1);
  }
  await system.idle();
  // a is used again: b is now the least recently used.
  assertEquals(await system.ref(counter, "a").ask("get"), 1);
  await system.idle();
  await system.ref(counter, "d").ask("add", 1);
  await system.idle();
  assertEquals(gone, ["b"]);
  assertEquals(active(system), 3);
  await system.ref(counter, "e").ask("add", 1);
  await system.idle();
  assertEquals(gone, ["b", "c"]);
  await system.ref(counter, "f").ask("add", 1);
  await system.idle();
  assertEquals(gone, ["b", "c", "a"]);
  assertEquals(active(system), 3);
  assertEquals(metric(system, 'flotilla_actor_evictions_total{type="counter"}'), 3);
  // Evictions are passivations, counted as such too.
  assertEquals(metric(system, 'flotilla_passivations_total{type="counter"}'), 3);
  assert(await system.shutdown());
});

Deno.test("cap: busy actors are never evicted; the cap is soft and comes back once they settle", async () => {
  gone.length = 0;
  const store = new GatedStore();
  const { system } = setup([counter], { store, maxActiveActors: 2, logs: "discard" });
  await system.start();
  // a: an asynchronous handler runs, and a message waits behind it.
  const gate = Promise.withResolvers<void>();
  const later = system.ref(counter, "a").ask("addLater", { k: 4, gate: gate.promise }, {
    timeout: "PT1H",
  });
  system.ref(counter, "a").tell("add", 1);
  await flushMicrotasks();
  // b: its change is committing.
  store.hold = true;
  const b = system.ref(counter, "b").ask("add", 1, { timeout: "PT1H" });
  await store.waitForHeld();
  // c: over the cap, and nobody can make room: c is activated all the same.
  const c = system.ref(counter, "c").ask("add", 1, { timeout: "PT1H" });
  await flushMicrotasks();
  assertEquals(active(system), 3, "over the cap while every actor is busy");
  assertEquals(gone, []);
  assertEquals(metric(system, 'flotilla_actor_evictions_total{type="counter"}'), 0);

  gate.resolve();
  store.hold = false;
  store.release(); // b's and c's commits; a's comes after, not held
  assertEquals(await later, 4);
  assertEquals(await b, 1);
  assertEquals(await c, 1);
  await system.idle();
  assertEquals(active(system), 2, "back within the cap once commits settled");
  assertEquals(gone.length, 1);
  assertEquals(metric(system, 'flotilla_actor_evictions_total{type="counter"}'), 1);
  // Nothing was lost: every message applied.
  assertEquals(await system.ref(counter, "a").ask("get"), 5);
  assertEquals(await system.ref(counter, "b").ask("get"), 1);
  assertEquals(await system.ref(counter, "c").ask("get"), 1);
  assert(await system.shutdown());
});

Deno.test("cap: state survives eviction and reactivation", async () => {
  gone.length = 0;
  const { system } = setup([counter], { maxActiveActors: 1, logs: "discard" });
  await system.start();
  assertEquals(await system.ref(counter, "a").ask("add", 5), 5);
  await system.idle();
  assertEquals(await system.ref(counter, "b").ask("add", 7), 7);
  await system.idle();
  assertEquals(gone, ["a"]);
  assertEquals(await system.ref(counter, "a").ask("add", 1), 6);
  await system.idle();
  assertEquals(await system.ref(counter, "b").ask("get"), 7);
  await system.idle();
  assertEquals(gone, ["a", "b", "a"]);
  assertEquals(active(system), 1);
  assertEquals(metric(system, 'flotilla_activations_total{type="counter"}'), 4);
  assertEquals(metric(system, 'flotilla_actor_evictions_total{type="counter"}'), 3);
  assert(await system.shutdown());
});

Deno.test("cap: a reminder of an evicted actor wakes it", async () => {
  gone.length = 0;
  const { system, clock } = setup([counter], { maxActiveActors: 1, logs: "discard" });
  await system.start();
  await system.ref(counter, "a").ask("remind", "r"); // due in 1 s: adds 100
  await system.idle();
  await system.ref(counter, "b").ask("add", 1);
  await system.idle();
  assertEquals(gone, ["a"]);
  clock.advance(1000);
  await system.idle();
  assertEquals(gone, ["a", "b"], "the reminder activated a, which took b's place");
  assertEquals(await system.ref(counter, "a").ask("get"), 100);
  assertEquals(metric(system, "flotilla_reminders_fired_total"), 1);
  assert(await system.shutdown());
});

Deno.test("cap: metrics show the cap, live actors and evictions; a wrong cap is refused", async () => {
  gone.length = 0;
  const { system } = setup([counter], { maxActiveActors: 2, logs: "discard" });
  await system.start();
  assertEquals(sample(system, "flotilla_active_actors_cap"), 2);
  for (const id of ["a", "b", "c", "d", "e"]) {
    await system.ref(counter, id).ask("add", 1);
    await system.idle();
  }
  assertEquals(sample(system, 'flotilla_active_actors{type="counter"}'), 2);
  assertEquals(sample(system, 'flotilla_actor_evictions_total{type="counter"}'), 3);
  assertEquals(sample(system, 'flotilla_activations_total{type="counter"}'), 5);
  assert(await system.shutdown());

  const open = setup([counter], { logs: "discard" }).system;
  assert(open.metrics.render().split("\n").includes("flotilla_active_actors_cap +Inf"));
  for (const bad of [0, -1, 1.5, NaN]) {
    assertThrows(
      () => setup([counter], { maxActiveActors: bad, logs: "discard" }),
      ConfigError,
      "maxActiveActors",
    );
  }
});
