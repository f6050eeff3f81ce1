import { storedState } from "./helpers/stored.ts";
/**
 * Supervision: strategies, restart intensity and escalation, exponential backoff, what a
 * restart restores, and how a crash is reported. Time is a ManualClock: nothing sleeps.
 */
import {
  ActorCrashedError,
  type ActorSystem,
  defineActor,
  type ManualClock,
  MemoryStore,
  type Persistence,
  type SupervisionPolicy,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { metric, setup } from "./helpers/system.ts";

type SystemEvent = Record<string, unknown> & { type: string };

interface Harness {
  system: ActorSystem;
  clock: ManualClock;
  store: MemoryStore;
  /** Data of every event published on topic "system", in order. */
  events: SystemEvent[];
}

/** A system on a ManualClock at 0 whose log lines are dropped, recording its system events. */
function harness(
  options: { supervision?: Partial<SupervisionPolicy>; store?: MemoryStore } = {},
): Harness {
  const { system, clock, store } = setup([], {
    store: options.store,
    supervision: options.supervision,
    logs: "discard",
  });
  const events: SystemEvent[] = [];
  system.events.subscribe({ topics: ["system"] }, (item) => {
    if (!("reset" in item)) events.push(item.data as SystemEvent);
  });
  return { system, clock, store, events };
}

interface WorkerState {
  /** Changed by the `add` command: persisted. */
  count: number;
  /** Changed by the `scribble` query: in memory only. */
  scratch: number;
}

/**
 * A worker type whose `onActivate` runs are counted per id in `activations`. `failActivations`
 * makes the first that many `onActivate` runs (over all ids) throw.
 */
function worker(
  name: string,
  activations: Map<string, number>,
  options: {
    persistence?: Persistence;
    supervision?: Partial<SupervisionPolicy>;
    failActivations?: number;
  } = {},
) {
  let failures = options.failActivations ?? 0;
  return defineActor({
    name,
    initialState: (): WorkerState => ({ count: 0, scratch: 0 }),
    handlers: {
      add(ctx, n: number) {
        ctx.state.count += n;
        return ctx.state.count;
      },
      boom(): never {
        throw new Error("boom");
      },
    },
    queries: {
      get: (ctx) => ({ ...ctx.state }),
      scribble(ctx) {
        ctx.state.scratch++;
        return ctx.state.scratch;
      },
    },
    onActivate(ctx) {
      activations.set(ctx.id, (activations.get(ctx.id) ?? 0) + 1);
      if (failures > 0) {
        failures--;
        throw new Error("onActivate failed");
      }
    },
    options: {
      persistence: options.persistence ?? "snapshot",
      supervision: options.supervision,
      passivateAfter: null,
    },
  });
}

type Worker = ReturnType<typeof worker>;

async function crash(system: ActorSystem, type: Worker, id: string): Promise<ActorCrashedError> {
  return await assertRejects(() => system.ref(type, id).ask("boom"), ActorCrashedError);
}

async function advance(h: Harness, ms: number): Promise<void> {
  h.clock.advance(ms);
  await h.system.idle();
}

function count(map: Map<string, number>, ids: string[]): number[] {
  return ids.map((id) => map.get(id) ?? 0);
}

/**
 * Runs a named tree of three actors through one crash of the middle one and returns which
 * actors were restarted, judged by onActivate runs and by the in-memory-only `scratch` field.
 */
async function strategyRun(strategy: SupervisionPolicy["strategy"]) {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  const ids = ["a", "b", "c"];
  h.system.supervise({
    name: "tree",
    strategy,
    backoff: { min: 10, max: 100 },
    children: ids.map((id) => ({ actor: { type: "w", id } })),
  });
  await h.system.idle();
  assertEquals(count(activations, ids), [1, 1, 1], "activated at once by supervise()");
  for (const id of ids) assertEquals(await h.system.ref(w, id).ask("add", 5), 5);
  for (const id of ids) assertEquals(await h.system.ref(w, id).ask("scribble"), 1);

  await crash(h.system, w, "b");
  await advance(h, 9);
  assertEquals(count(activations, ids), [1, 1, 1], "no restart before the backoff");
  await advance(h, 1);
  const states: WorkerState[] = [];
  for (const id of ids) states.push(await h.system.ref(w, id).ask("get") as WorkerState);
  const result = {
    activations: count(activations, ids),
    states,
    restarts: metric(h.system, 'flotilla_actor_restarts_total{type="w"}'),
    restartedEvents: h.events.filter((e) => e.type === "actor.restarted").map((e) => e.actor),
  };
  await h.system.shutdown();
  return result;
}

Deno.test("supervision one-for-one restarts only the crashed child", async () => {
  const r = await strategyRun("one-for-one");
  assertEquals(r.activations, [1, 2, 1]);
  assertEquals(r.states, [
    { count: 5, scratch: 1 },
    { count: 5, scratch: 0 },
    { count: 5, scratch: 1 },
  ]);
  assertEquals(r.restarts, 1);
  assertEquals(r.restartedEvents, ["w/b"]);
});

Deno.test("supervision one-for-all restarts every child of the supervisor", async () => {
  const r = await strategyRun("one-for-all");
  assertEquals(r.activations, [2, 2, 2]);
  assertEquals(r.states, [
    { count: 5, scratch: 0 },
    { count: 5, scratch: 0 },
    { count: 5, scratch: 0 },
  ]);
  assertEquals(r.restarts, 3);
  assertEquals(r.restartedEvents.toSorted(), ["w/a", "w/b", "w/c"]);
});

Deno.test("supervision rest-for-one restarts the crashed child and those started after it", async () => {
  const r = await strategyRun("rest-for-one");
  assertEquals(r.activations, [1, 2, 2]);
  assertEquals(r.states, [
    { count: 5, scratch: 1 },
    { count: 5, scratch: 0 },
    { count: 5, scratch: 0 },
  ]);
  assertEquals(r.restarts, 2);
  assertEquals(r.restartedEvents.toSorted(), ["w/b", "w/c"]);
});

Deno.test("supervision rest-for-one treats a nested supervisor after the crashed child as part of the rest", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  h.system.supervise({
    name: "tree",
    strategy: "rest-for-one",
    backoff: { min: 10, max: 100 },
    children: [
      { actor: { type: "w", id: "first" } },
      { actor: { type: "w", id: "crashy" } },
      {
        name: "inner",
        children: [{ actor: { type: "w", id: "x" } }, { actor: { type: "w", id: "y" } }],
      },
    ],
  });
  await h.system.idle();
  const ids = ["first", "crashy", "x", "y"];
  assertEquals(count(activations, ids), [1, 1, 1, 1]);
  await crash(h.system, w, "crashy");
  await advance(h, 10);
  assertEquals(count(activations, ids), [1, 2, 2, 2]);
  await h.system.shutdown();
});

Deno.test("supervision type supervisor type:<name> is a child of the root and orders activations by activation", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations, {
    supervision: { strategy: "rest-for-one", backoff: { min: 10, max: 10 } },
  });
  h.system.register(w);
  await h.system.start();
  assertEquals(h.system.root.children.map((c) => c.childName), ["type:w"]);
  const ids = ["c", "a", "b"]; // activation order, not id order
  for (const id of ids) await h.system.ref(w, id).ask("add", 1);
  await crash(h.system, w, "a");
  await advance(h, 10);
  assertEquals(count(activations, ids), [1, 2, 2]);
  await h.system.shutdown();
});

Deno.test("supervision intensity exceeded escalates to the parent, which restarts the whole subtree", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  h.system.supervise({
    name: "parent",
    strategy: "one-for-one",
    maxRestarts: 5,
    within: 10_000,
    backoff: { min: 100, max: 1000 },
    children: [
      { actor: { type: "w", id: "sibling" } },
      {
        name: "child",
        strategy: "one-for-one",
        maxRestarts: 1,
        within: 10_000,
        backoff: { min: 10, max: 1000 },
        children: [{ actor: { type: "w", id: "a" } }, { actor: { type: "w", id: "b" } }],
      },
    ],
  });
  await h.system.idle();
  const ids = ["sibling", "a", "b"];
  assertEquals(count(activations, ids), [1, 1, 1]);

  // First crash: within the child supervisor's intensity, restarted by it alone.
  await crash(h.system, w, "a");
  await advance(h, 10);
  assertEquals(count(activations, ids), [1, 2, 1]);
  assertEquals(h.events.filter((e) => e.type === "supervisor.escalated"), []);

  // Second crash within the window: one restart too many for "child", which fails to "parent".
  await crash(h.system, w, "a");
  assertEquals(h.events.filter((e) => e.type === "supervisor.escalated"), [{
    type: "supervisor.escalated",
    supervisor: "child",
    child: "w/a",
    to: "parent",
    restarts: 1,
  }]);
  assertEquals(metric(h.system, 'flotilla_supervisor_escalations_total{supervisor="child"}'), 1);
  // The parent restarts its failed child (the "child" supervisor: a and b) after its own backoff.
  await advance(h, 99);
  assertEquals(count(activations, ids), [1, 2, 1], "no restart before the parent's backoff");
  await advance(h, 1);
  assertEquals(count(activations, ids), [1, 3, 2], "a and b restarted, the sibling untouched");

  // The restart of the subtree forgot the old restarts: the next crash is handled below again.
  await crash(h.system, w, "b");
  await advance(h, 10);
  assertEquals(count(activations, ids), [1, 3, 3]);
  assertEquals(h.events.filter((e) => e.type === "supervisor.escalated").length, 1);
  await h.system.shutdown();
});

Deno.test("supervision intensity is counted per child: one crash each of two children does not escalate", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  h.system.supervise({
    name: "tree",
    maxRestarts: 1,
    backoff: { min: 10, max: 10 },
    children: [{ actor: { type: "w", id: "a" } }, { actor: { type: "w", id: "b" } }],
  });
  await h.system.idle();
  await crash(h.system, w, "a");
  await advance(h, 10);
  await crash(h.system, w, "b");
  await advance(h, 10);
  assertEquals(h.events.filter((e) => e.type === "supervisor.escalated"), []);
  assertEquals(count(activations, ["a", "b"]), [2, 2]);
  await crash(h.system, w, "a");
  assertEquals(
    h.events.filter((e) => e.type === "supervisor.escalated").map((e) => [e.supervisor, e.child]),
    [["tree", "w/a"]],
  );
  await h.system.shutdown();
});

Deno.test("supervision nested escalation reaches the root, which reports to null and restarts after its max backoff", async () => {
  const h = harness({
    supervision: { maxRestarts: 0, backoff: { min: 5, max: 700 } },
  });
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  h.system.supervise({
    name: "top",
    maxRestarts: 0,
    backoff: { min: 20, max: 200 },
    children: [
      { actor: { type: "w", id: "t" } },
      {
        name: "sub",
        maxRestarts: 0,
        backoff: { min: 10, max: 100 },
        children: [{ actor: { type: "w", id: "s" } }],
      },
    ],
  });
  await h.system.idle();
  await crash(h.system, w, "s");
  const escalations = h.events.filter((e) => e.type === "supervisor.escalated")
    .map(({ supervisor, child, to }) => ({ supervisor, child, to }));
  assertEquals(escalations, [
    { supervisor: "sub", child: "w/s", to: "top" },
    { supervisor: "top", child: "sub", to: "root" },
    { supervisor: "root", child: "top", to: null },
  ]);
  assertEquals(metric(h.system, 'flotilla_supervisor_escalations_total{supervisor="sub"}'), 1);
  assertEquals(metric(h.system, 'flotilla_supervisor_escalations_total{supervisor="top"}'), 1);
  assertEquals(metric(h.system, 'flotilla_supervisor_escalations_total{supervisor="root"}'), 1);
  // The root's max backoff (700 ms), then the whole "top" subtree.
  await advance(h, 699);
  assertEquals(count(activations, ["t", "s"]), [1, 1]);
  await advance(h, 1);
  assertEquals(count(activations, ["t", "s"]), [2, 2]);
  assertEquals(await h.system.ref(w, "s").ask("add", 1), 1, "works again after the restart");
  await h.system.shutdown();
});

Deno.test("supervision backoff waits min × factor^(k-1) before the k-th restart (defaults 50 ms, ×2)", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w); // default policy
  await h.system.start();
  await h.system.ref(w, "x").ask("add", 1);
  for (const delay of [50, 100, 200, 400]) {
    const before = activations.get("x")!;
    await crash(h.system, w, "x");
    await advance(h, delay - 1);
    assertEquals(activations.get("x"), before, `not restarted 1 ms before ${delay} ms`);
    await advance(h, 1);
    assertEquals(activations.get("x"), before + 1, `restarted after ${delay} ms`);
  }
  await h.system.shutdown();
});

Deno.test("supervision backoff is capped at max and starts again at min once the window has passed", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations, {
    supervision: { maxRestarts: 10, within: 5_000, backoff: { min: 100, max: 250, factor: 3 } },
  });
  h.system.register(w);
  await h.system.start();
  await h.system.ref(w, "x").ask("add", 1);
  const expectRestartAfter = async (delay: number) => {
    const before = activations.get("x")!;
    await crash(h.system, w, "x");
    await advance(h, delay - 1);
    assertEquals(activations.get("x"), before, `not restarted 1 ms before ${delay} ms`);
    await advance(h, 1);
    assertEquals(activations.get("x"), before + 1, `restarted after ${delay} ms`);
  };
  await expectRestartAfter(100); // t = 0
  await expectRestartAfter(250); // t = 100: 300 capped at 250
  await expectRestartAfter(250); // t = 350: 900 capped
  await advance(h, 10_000); // every earlier restart leaves the 5 s window
  await expectRestartAfter(100);
  await h.system.shutdown();
});

Deno.test("supervision restart reloads the last persisted state and drops in-memory changes", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  const ref = h.system.ref(w, "x");
  assertEquals(await ref.ask("add", 3), 3);
  assertEquals(await ref.ask("scribble"), 1);
  assertEquals(await ref.ask("scribble"), 2);
  await crash(h.system, w, "x");
  await advance(h, 50);
  assertEquals(await ref.ask("get"), { count: 3, scratch: 0 });
  assertEquals((await storedState(h.store, "a/w/x"))?.value, { s: { count: 3, scratch: 0 } });
  await h.system.shutdown();
});

Deno.test("supervision restart re-applies commands that were applied but not yet durable", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  const ref = h.system.ref(w, "x");
  assertEquals(await ref.ask("add", 10), 10);
  // One turn: both adds are applied, then the crash comes before their commit.
  const first = ref.ask("add", 1);
  const second = ref.ask("add", 2);
  const crashed = assertRejects(() => ref.ask("boom"), ActorCrashedError);
  await crashed;
  let replied = false;
  Promise.all([first, second]).then(() => replied = true);
  await h.system.idle();
  assertEquals(replied, false, "the adds are not durable before the restart");
  assertEquals((await storedState(h.store, "a/w/x"))?.value, { s: { count: 10, scratch: 0 } });
  await advance(h, 50);
  assertEquals(await first, 11);
  assertEquals(await second, 13);
  assertEquals(await ref.ask("get"), { count: 13, scratch: 0 });
  assertEquals((await storedState(h.store, "a/w/x"))?.value, { s: { count: 13, scratch: 0 } });
  await h.system.shutdown();
});

Deno.test("supervision crash while a commit is in flight restarts from the committed state", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations, { supervision: { backoff: { min: 0, max: 0 } } });
  h.system.register(w);
  await h.system.start();
  const ref = h.system.ref(w, "x");
  await ref.ask("add", 1);
  const added = ref.ask("add", 2);
  await Promise.resolve(); // the add runs; its commit is queued behind this continuation
  const crashed = assertRejects(() => ref.ask("boom"), ActorCrashedError);
  await crashed;
  assertEquals(await added, 3);
  await h.system.idle();
  assertEquals(activations.get("x"), 2);
  assertEquals(await ref.ask("get"), { count: 3, scratch: 0 });
  await h.system.shutdown();
});

Deno.test({
  name: "supervision restart of a persistence none actor resets its state to initialState",
  fn: async () => {
    const h = harness();
    const activations = new Map<string, number>();
    const w = worker("w", activations, { persistence: "none" });
    h.system.register(w);
    await h.system.start();
    const ref = h.system.ref(w, "x");
    assertEquals(await ref.ask("add", 3), 3);
    await crash(h.system, w, "x");
    await advance(h, 50);
    assertEquals(activations.get("x"), 2);
    let answered = false;
    const state = ref.ask("get").then((s) => {
      answered = true;
      return s;
    });
    await h.system.idle();
    assert(answered, "a restarted persistence-none actor must process messages again");
    assertEquals(await state, { count: 0, scratch: 0 });
    await h.system.shutdown();
  },
});

Deno.test("supervision crash dead-letters the message, rejects its ask with ActorCrashedError and reports events and metrics", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  await h.system.ref(w, "x").ask("add", 1);
  const error = await crash(h.system, w, "x");
  assert(error.cause instanceof Error, "the handler's error is kept as cause");
  assertEquals(error.cause.message, "boom");
  assertEquals(error.code, "actor_crashed");

  const letters = h.system.deadLetters.recent();
  assertEquals(letters.length, 1);
  assertEquals(letters[0]!.actor, "w/x");
  assertEquals(letters[0]!.kind, "boom");
  assertEquals(letters[0]!.reason, "crashed");
  assertEquals(letters[0]!.error, "Error: boom");
  assertEquals(metric(h.system, 'flotilla_dead_letters_total{type="w",reason="crashed"}'), 1);
  assertEquals(metric(h.system, 'flotilla_actor_crashes_total{type="w"}'), 1);
  assertEquals(metric(h.system, 'flotilla_actor_restarts_total{type="w"}'), 0);

  const crashed = h.events.find((e) => e.type === "actor.crashed");
  assert(crashed !== undefined, "actor.crashed published");
  assertEquals(crashed.actor, "w/x");
  assertEquals(crashed.during, "handling boom");
  assertEquals(crashed.error, "Error: boom");
  assert(h.events.some((e) => e.type === "message.dead_lettered" && e.kind === "boom"));
  assert(!h.events.some((e) => e.type === "actor.restarted"), "not restarted before the backoff");

  await advance(h, 50);
  assertEquals(metric(h.system, 'flotilla_actor_restarts_total{type="w"}'), 1);
  const restarted = h.events.filter((e) => e.type === "actor.restarted");
  assertEquals(restarted.length, 1);
  assertEquals(restarted[0]!.actor, "w/x");
  assert(
    h.events.indexOf(crashed) < h.events.indexOf(restarted[0]!),
    "crashed is reported before restarted",
  );
  await h.system.shutdown();
});

Deno.test({
  name:
    "supervision a command whose state the store refuses is dead-lettered and does not block the actor",
  fn: async () => {
    const h = harness();
    const fragile = defineActor({
      name: "fragile",
      initialState: () => ({ n: 0, extra: null as unknown }),
      handlers: {
        poison(ctx) {
          ctx.state.extra = 1n; // JSON cannot encode a BigInt: the store refuses the state
          return "stored";
        },
        add(ctx, n: number) {
          ctx.state.n += n;
          return ctx.state.n;
        },
      },
      options: { passivateAfter: null },
    });
    h.system.register(fragile);
    await h.system.start();
    const ref = h.system.ref(fragile, "x");
    const settle = (p: Promise<unknown>) => p.then((v) => ({ ok: v }), (e) => ({ error: e }));
    const poisoned = settle(ref.ask("poison"));
    await h.system.idle();
    const added = settle(ref.ask("add", 2));
    for (let i = 0; i < 10; i++) await advance(h, 1000); // past every ask deadline (5 s)
    const outcome = await poisoned;
    assert(
      "error" in outcome && outcome.error instanceof ActorCrashedError,
      `the refused command's ask rejects with ActorCrashedError, got ${Deno.inspect(outcome)}`,
    );
    assertEquals(await added, { ok: 2 }, "the next message is processed");
    assertEquals(
      h.system.deadLetters.recent().map((d) => [d.actor, d.kind, d.reason]),
      [["fragile/x", "poison", "crashed"]],
    );
    await h.system.shutdown();
  },
});

Deno.test("supervision tell that crashes its handler is dead-lettered too", async () => {
  const h = harness();
  const w = worker("w", new Map());
  h.system.register(w);
  await h.system.start();
  h.system.ref(w, "x").tell("boom");
  await h.system.idle();
  assertEquals(h.system.deadLetters.recent().map((d) => [d.actor, d.kind, d.reason]), [
    ["w/x", "boom", "crashed"],
  ]);
  assertEquals(metric(h.system, 'flotilla_dead_letters_total{type="w",reason="crashed"}'), 1);
  await h.system.shutdown();
});

Deno.test("supervision messages sent while an actor is restarting wait and are processed after the restart", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations);
  h.system.register(w);
  await h.system.start();
  const ref = h.system.ref(w, "x");
  await ref.ask("add", 100);
  await crash(h.system, w, "x");
  const replies: number[] = [];
  const asks = [1, 2, 3].map((n) => ref.ask("add", n).then((v) => replies.push(v as number)));
  ref.tell("add", 1000);
  const last = ref.ask("get");
  await advance(h, 49);
  assertEquals(replies, [], "nothing processed while restarting");
  assertEquals(activations.get("x"), 1);
  await advance(h, 1);
  await Promise.all(asks);
  assertEquals(replies, [101, 103, 106]);
  assertEquals(await last, { count: 1106, scratch: 0 });
  assertEquals(h.system.deadLetters.recent().length, 1, "only the crashing message");
  await h.system.shutdown();
});

Deno.test("supervision a crash in onActivate is handled as a crash and the waiting message survives", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations, { failActivations: 1 });
  h.system.register(w);
  await h.system.start();
  let reply: unknown = undefined;
  const pending = h.system.ref(w, "x").ask("add", 7).then((v) => reply = v);
  await h.system.idle();
  assertEquals(activations.get("x"), 1);
  assertEquals(reply, undefined);
  const crashed = h.events.filter((e) => e.type === "actor.crashed");
  assertEquals(crashed.length, 1);
  assertEquals(crashed[0]!.actor, "w/x");
  assertEquals(crashed[0]!.during, "onActivate");
  assertEquals(crashed[0]!.error, "Error: onActivate failed");
  assertEquals(metric(h.system, 'flotilla_actor_crashes_total{type="w"}'), 1);
  await advance(h, 49);
  assertEquals(activations.get("x"), 1, "restarted only after the backoff");
  await advance(h, 1);
  await pending;
  assertEquals(activations.get("x"), 2);
  assertEquals(reply, 7);
  assertEquals(metric(h.system, 'flotilla_actor_restarts_total{type="w"}'), 1);
  await h.system.shutdown();
});

Deno.test("supervision onActivate crashing past the intensity escalates like any crash", async () => {
  const h = harness();
  const activations = new Map<string, number>();
  const w = worker("w", activations, { failActivations: 2 });
  h.system.register(w);
  await h.system.start();
  h.system.supervise({
    name: "tree",
    maxRestarts: 1,
    backoff: { min: 10, max: 10 },
    children: [{ actor: { type: "w", id: "x" } }],
  });
  await h.system.idle();
  await advance(h, 10); // the second onActivate fails too: one restart too many for "tree"
  assertEquals(
    h.events.filter((e) => e.type === "supervisor.escalated").map((e) => [e.supervisor, e.to]),
    [["tree", "root"]],
  );
  await advance(h, 50); // the root's first backoff (default min 50 ms)
  assertEquals(activations.get("x"), 3);
  assertEquals(await h.system.ref(w, "x").ask("add", 1), 1);
  await h.system.shutdown();
});
