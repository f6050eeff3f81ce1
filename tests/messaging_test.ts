import { storedState } from "./helpers/stored.ts";
import {
  defineActor,
  MailboxFullError,
  MemoryStore,
  ShutdownError,
  TimeoutError,
  UnknownActorTypeError,
  UnknownMessageError,
} from "../runtime/mod.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "./helpers/assert.ts";
import { counter, defineRecorder } from "./helpers/fixtures.ts";
import { deferred, flushMicrotasks, sample, setup, track } from "./helpers/system.ts";

// ---------------------------------------------------------------- order

Deno.test("tell processes each actor's messages in arrival order with many interleaved senders", async () => {
  const recorder = defineRecorder();
  const { system } = setup([recorder]);
  await system.start();
  const ACTORS = 10, SENDERS = 5, PER_SENDER = 200; // 1000 messages per actor
  const refs = Array.from({ length: ACTORS }, (_, i) => system.ref(recorder, `r${i}`));
  const sent: number[][] = refs.map(() => []);

  // Each sender walks the actors in its own order and yields between sends, so the senders'
  // messages interleave differently at every actor.
  const sender = async (s: number) => {
    for (let k = 0; k < PER_SENDER; k++) {
      for (let j = 0; j < ACTORS; j++) {
        const i = (j * (s + 1) + k) % ACTORS;
        const m = s * 100_000 + k * 100 + i;
        sent[i]!.push(m);
        const queued = refs[i]!.tell("record", m);
        if (queued !== undefined) await queued;
      }
      if (k % (s + 1) === 0) await Promise.resolve();
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
  await system.idle();

  for (let i = 0; i < ACTORS; i++) {
    const seen = await refs[i]!.ask("seen");
    assertEquals(seen.length, SENDERS * PER_SENDER, `messages processed by r${i}`);
    assertEquals(seen, sent[i], `order at r${i}`);
  }
  assertEquals(sample(system, 'flotilla_messages_total{type="recorder"}'), 10_010);
  assertEquals(sample(system, 'flotilla_mailbox_depth{type="recorder"}'), 0);
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- ask

Deno.test("ask resolves with the reply of a command and of a query", async () => {
  const { system } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 2), 2);
  assertEquals(await ref.ask("add", 3), 5);
  assertEquals(await ref.ask("get"), 5);
  // An untyped reference reaches the same actor.
  assertEquals(await system.ref("counter", "a").ask("get", undefined), 5);
  assertEquals(await system.ref(counter, "b").ask("get"), 0);
  assert(await system.shutdown());
});

Deno.test("ask rejects with TimeoutError past its deadline, not before", async () => {
  const gate = deferred();
  const slow = defineActor({
    name: "slow",
    initialState: () => ({ done: 0 }),
    handlers: {
      async wait(ctx) {
        await gate.promise;
        ctx.state.done++;
        return "late";
      },
    },
    queries: { done: (ctx) => ctx.state.done },
    options: { persistence: "none", askTimeout: "PT2S" },
  });
  const { system, clock } = setup([slow]);
  await system.start();
  const ref = system.ref(slow, "s");

  const explicit = track(ref.ask("wait", undefined, { timeout: 100 }));
  const byDefault = track(ref.ask("wait"));
  await flushMicrotasks();
  clock.advance(99);
  await flushMicrotasks();
  assert(!explicit.settled(), "no timeout 1 ms before the deadline");
  clock.advance(1);
  const error = await assertRejects(() => explicit.promise, TimeoutError, "100 ms");
  assertEquals(error.code, "timeout");
  assertMatch(error.message, /slow\/s/);

  clock.advance(1899); // t = 1999: the type's askTimeout is 2 s
  await flushMicrotasks();
  assert(!byDefault.settled(), "no timeout before the type's askTimeout");
  clock.advance(1);
  await assertRejects(() => byDefault.promise, TimeoutError, "2000 ms");

  // The messages are still processed once the handlers can finish.
  gate.resolve();
  await system.idle();
  assertEquals(await ref.ask("done"), 2);
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- bounded mailboxes

Deno.test("tell throws MailboxFullError past capacity when overflow is reject", async () => {
  const bounded = defineRecorder({
    name: "bounded",
    options: { mailbox: { capacity: 3, overflow: "reject" } },
  });
  const { system } = setup([bounded]);
  await system.start();
  const ref = system.ref(bounded, "b");
  // The actor is loading its state: every message sent in this tick stays queued.
  for (let m = 1; m <= 3; m++) assertEquals(ref.tell("record", m), undefined);
  const error = assertThrows(() => ref.tell("record", 4), MailboxFullError, "bounded/b");
  assertEquals(error.status, 503);
  await assertRejects(() => ref.ask("record", 5), MailboxFullError);
  await assertRejects(() => ref.ask("seen"), MailboxFullError);

  await system.idle();
  assertEquals(await ref.ask("seen"), [1, 2, 3]);
  assertEquals(sample(system, 'flotilla_mailbox_rejections_total{type="bounded"}'), 3);
  // Room again once drained.
  ref.tell("record", 6);
  await system.idle();
  assertEquals(await ref.ask("seen"), [1, 2, 3, 6]);
  assert(await system.shutdown());
});

Deno.test("tell under backpressure resolves once the message got room and loses nothing", async () => {
  const gates = new Map<number, ReturnType<typeof deferred>>();
  const log: string[] = [];
  const worker = defineActor({
    name: "worker",
    initialState: () => ({ done: [] as number[] }),
    handlers: {
      async work(ctx, m: number) {
        log.push(`start ${m}`);
        await gates.get(m)?.promise;
        ctx.state.done.push(m);
        log.push(`end ${m}`);
      },
    },
    queries: { done: (ctx) => ctx.state.done },
    options: { persistence: "none", mailbox: { capacity: 2 } }, // backpressure is the default
  });
  const { system } = setup([worker]);
  await system.start();
  const ref = system.ref(worker, "w");
  for (let m = 1; m <= 4; m++) gates.set(m, deferred());

  assertEquals(ref.tell("work", 1), undefined);
  assertEquals(ref.tell("work", 2), undefined);
  const third = ref.tell("work", 3);
  const fourth = ref.tell("work", 4);
  assert(
    third instanceof Promise && fourth instanceof Promise,
    "full mailbox: tell returns a promise",
  );
  const p3 = track(third), p4 = track(fourth);
  await flushMicrotasks();
  // Message 1 was taken (its handler waits on its gate): 3 got room, 4 still waits.
  assertEquals(log, ["start 1"]);
  assert(p3.settled(), "3 admitted when 1 was taken");
  assert(!p4.settled(), "4 waits: the mailbox holds 2 and 3");

  gates.get(1)!.resolve();
  await flushMicrotasks();
  assertEquals(log, ["start 1", "end 1", "start 2"]);
  assert(p4.settled(), "4 admitted when 2 was taken");

  for (const m of [2, 3, 4]) gates.get(m)!.resolve();
  await Promise.all([third, fourth]);
  await system.idle();
  assertEquals(await ref.ask("done"), [1, 2, 3, 4]);
  assertEquals(log, [
    "start 1",
    "end 1",
    "start 2",
    "end 2",
    "start 3",
    "end 3",
    "start 4",
    "end 4",
  ]);
  assert(await system.shutdown());
});

Deno.test("tell under backpressure processes every awaited message exactly once, in order", async () => {
  const recorder = defineRecorder({ options: { mailbox: { capacity: 4 } } });
  const { system } = setup([recorder]);
  await system.start();
  const ref = system.ref(recorder, "r");
  let waited = 0;
  for (let m = 0; m < 500; m++) {
    const queued = ref.tell("record", m);
    if (queued !== undefined) {
      waited++;
      await queued;
    }
  }
  await system.idle();
  assert(waited > 0, "the sender had to wait");
  assertEquals(await ref.ask("seen"), Array.from({ length: 500 }, (_, m) => m));
  assert(await system.shutdown());
});

Deno.test("tell under backpressure throws MailboxFullError once capacity senders already wait", async () => {
  const bounded = defineRecorder({
    name: "bounded",
    options: { mailbox: { capacity: 2, overflow: "backpressure" } },
  });
  const { system } = setup([bounded]);
  await system.start();
  const ref = system.ref(bounded, "b");
  assertEquals(ref.tell("record", 1), undefined);
  assertEquals(ref.tell("record", 2), undefined);
  const waiting = [ref.tell("record", 3), ref.tell("record", 4)];
  assert(waiting.every((w) => w instanceof Promise));
  assertThrows(() => ref.tell("record", 5), MailboxFullError, "senders waiting");
  await assertRejects(() => ref.ask("record", 6), MailboxFullError);
  assertEquals(sample(system, 'flotilla_mailbox_rejections_total{type="bounded"}'), 2);

  await Promise.all(waiting);
  await system.idle();
  assertEquals(await ref.ask("seen"), [1, 2, 3, 4]);
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- unknown kinds and types

Deno.test("ask of an unknown message kind rejects with UnknownMessageError", async () => {
  const { system } = setup([counter]);
  await system.start();
  const ref = system.ref("counter", "a");
  const error = await assertRejects(() => ref.ask("nope", 1), UnknownMessageError, '"nope"');
  assertEquals(error.status, 400);
  // The actor is unharmed.
  assertEquals(await ref.ask("add", 1), 1);
  assertEquals(system.deadLetters.total, 0);
  assert(await system.shutdown());
});

Deno.test("tell of an unknown message kind becomes a dead letter", async () => {
  const { system } = setup([counter]);
  await system.start();
  const events: unknown[] = [];
  system.events.subscribe({ topics: ["system"] }, (e) => events.push("data" in e ? e.data : e));
  const ref = system.ref("counter", "a");
  ref.tell("nope", { x: 1 });
  ref.tell("add", 5);
  await system.idle();

  const letters = system.deadLetters.recent();
  assertEquals(letters.length, 1);
  const [letter] = letters;
  assertEquals(letter!.actor, "counter/a");
  assertEquals(letter!.kind, "nope");
  assertEquals(letter!.payload, { x: 1 });
  assertEquals(letter!.reason, "unknown_message");
  assertMatch(letter!.error, /UnknownMessageError/);
  assertEquals(letter!.time, 0);
  assertEquals(
    sample(system, 'flotilla_dead_letters_total{type="counter",reason="unknown_message"}'),
    1,
  );
  assertEquals(events.length, 1);
  assertEquals((events[0] as { type: string }).type, "message.dead_lettered");
  // The next message was processed as usual.
  assertEquals(await ref.ask("get", undefined), 5);
  assert(await system.shutdown());
});

Deno.test("ref to an unregistered actor type throws UnknownActorTypeError", async () => {
  const { system } = setup([counter]);
  await system.start();
  const error = assertThrows(() => system.ref("ghost", "x"), UnknownActorTypeError, '"ghost"');
  assertEquals(error.status, 404);
  const unregistered = defineActor({ name: "unregistered", initialState: () => 0, handlers: {} });
  assertThrows(() => system.ref(unregistered, "x"), UnknownActorTypeError);
  assertEquals(system.types, ["counter"]);
  assert(await system.shutdown());
});

Deno.test("message kinds named after Object.prototype members are unknown", async () => {
  const { system } = setup([counter]);
  await system.start();
  const ref = system.ref("counter", "a");
  await ref.ask("add", 7);
  const kinds = [
    "toString",
    "constructor",
    "__proto__",
    "hasOwnProperty",
    "valueOf",
    "isPrototypeOf",
    "__defineGetter__",
    "toLocaleString",
  ];
  for (const kind of kinds) {
    await assertRejects(() => ref.ask(kind, undefined), UnknownMessageError, JSON.stringify(kind));
    ref.tell(kind, 1);
  }
  await system.idle();
  assertEquals(system.deadLetters.recent().map((l) => l.kind), kinds);
  assert(system.deadLetters.recent().every((l) => l.reason === "unknown_message"));
  assertEquals(await ref.ask("get", undefined), 7);
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- turns

Deno.test("async handlers are turn-based: the next message waits for the previous promise", async () => {
  const gate = deferred();
  const log: string[] = [];
  const turns = defineActor({
    name: "turns",
    initialState: () => ({ n: 0 }),
    handlers: {
      async slow(ctx) {
        log.push(`slow start n=${ctx.state.n}`);
        await gate.promise;
        ctx.state.n += 10;
        log.push(`slow end n=${ctx.state.n}`);
        return ctx.state.n;
      },
      fast(ctx) {
        ctx.state.n += 1;
        log.push(`fast n=${ctx.state.n}`);
        return ctx.state.n;
      },
    },
  });
  const { system } = setup([turns, counter]);
  await system.start();
  const ref = system.ref(turns, "t");
  const slow = track(ref.ask("slow"));
  const fast = track(ref.ask("fast"));
  const second = track(ref.ask("fast"));

  // Other actors run while this one waits.
  assertEquals(await system.ref(counter, "other").ask("add", 3), 3);
  await flushMicrotasks();
  assertEquals(log, ["slow start n=0"]);
  assert(!slow.settled() && !fast.settled() && !second.settled());

  gate.resolve();
  assertEquals(await slow.promise, 10);
  assertEquals(await fast.promise, 11);
  assertEquals(await second.promise, 12);
  assertEquals(log, ["slow start n=0", "slow end n=10", "fast n=11", "fast n=12"]);
  await system.idle();
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- queries

Deno.test("queries reply at once and never write to the store", async () => {
  let commits = 0;
  const store = new MemoryStore({ beforeCommit: () => void commits++ });
  const { system } = setup([counter], { store });
  await system.start();
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 4), 4);
  await system.idle();
  assertEquals(commits, 1);
  const before = await storedState(store, "a/counter/a");
  assertEquals(before, { version: 1, value: { s: { n: 4 } } });

  const replies = await Promise.all(Array.from({ length: 20 }, () => ref.ask("get")));
  assertEquals(replies, Array(20).fill(4));
  ref.tell("get");
  await system.idle();
  assertEquals(commits, 1);
  assertEquals(await storedState(store, "a/counter/a"), before);

  // A fresh actor asked only queries is never written either.
  assertEquals(await system.ref(counter, "fresh").ask("get"), 0);
  await system.idle();
  assertEquals(commits, 1);
  assertEquals(await store.keys("a/"), ["a/counter/a"]);
  assert(await system.shutdown());
});

// ---------------------------------------------------------------- shutdown

Deno.test("tell after shutdown throws ShutdownError and ask rejects with it", async () => {
  const { system } = setup([counter]);
  await system.start();
  const ref = system.ref(counter, "a");
  assertEquals(await ref.ask("add", 1), 1);
  assert(await system.shutdown());
  const error = assertThrows(() => ref.tell("add", 1), ShutdownError);
  assertEquals(error.status, 503);
  await assertRejects(() => ref.ask("get"), ShutdownError);
  await assertRejects(() => system.ref(counter, "b").ask("add", 1), ShutdownError);
  // A second shutdown is harmless.
  assert(await system.shutdown());
});

Deno.test("shutdown drains queued messages and flushes their state before it resolves", async () => {
  const store = new MemoryStore();
  const { system } = setup([counter], { store });
  await system.start();
  const refs = Array.from({ length: 50 }, (_, i) => system.ref(counter, `c${i}`));
  for (const ref of refs) for (let k = 1; k <= 3; k++) ref.tell("add", k);
  assert(await system.shutdown());
  const values = await store.getMany(refs.map((r) => `a/counter/${r.id}`));
  assert(values.every((v) => v !== null && (v.value as { s: { n: number } }).s.n === 6));
});
