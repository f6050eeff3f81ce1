import {
  type ActorContext,
  ActorSystem,
  createLogger,
  defineActor,
  type Envelope,
  type LocalDelivery,
  ManualClock,
  MemoryStore,
  type StateStore,
  type Transport,
} from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { counter, defineRecorder } from "./helpers/fixtures.ts";
import { deferred, flushMicrotasks, GatedStore, sample, setup } from "./helpers/system.ts";

/**
 * A transport of several partitions (the actor id's first character, as a digit) of which the
 * test decides which this node owns; what it would send elsewhere is recorded.
 */
class PartitionedTransport implements Transport {
  readonly name = "test";
  readonly owned = new Set<number>([0, 1, 2]);
  readonly sent: Envelope[] = [];
  local: LocalDelivery | null = null;

  async start(local: LocalDelivery): Promise<void> {
    this.local = local;
    for (const p of this.owned) await local.acquired(p);
  }
  isLocal(type: string, id: string): boolean {
    return this.owned.has(this.partitionOf(type, id));
  }
  partitionOf(_type: string, id: string): number {
    return Number(id[0]);
  }
  send(envelope: Envelope): Promise<void> {
    this.sent.push(envelope);
    return Promise.resolve();
  }
  request(envelope: Envelope): Promise<unknown> {
    this.sent.push(envelope);
    return Promise.resolve("remote");
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** Gives a partition up, as a cluster rebalance would. */
  async release(p: number): Promise<void> {
    this.owned.delete(p);
    await this.local!.released(p);
  }
  async acquire(p: number): Promise<void> {
    this.owned.add(p);
    await this.local!.acquired(p);
  }
}

type Ledger = { total: number };
const ledger = defineActor({
  name: "ledger",
  initialState: (): Ledger => ({ total: 0 }),
  handlers: {
    post(ctx: ActorContext<Ledger, number>, k: number) {
      ctx.persist(k);
      return ctx.state.total;
    },
    note(_ctx: ActorContext<Ledger, number>) {
      return "nothing recorded";
    },
  },
  queries: { get: (ctx) => ctx.state.total },
  apply(state: Ledger, k: number) {
    state.total += k;
  },
  options: { persistence: "journal" },
});

function node(store: StateStore, transport?: Transport) {
  const clock = new ManualClock(0);
  const system = new ActorSystem({
    clock,
    store,
    ...(transport === undefined ? {} : { transport }),
    logger: createLogger({ level: "error", write: () => {} }),
  });
  system.register(counter).register(ledger);
  return { system, clock };
}

const add = (id: string, k: number): Envelope => ({ type: "counter", id, kind: "add", payload: k });

Deno.test("deliver acknowledges a redelivered source position without applying it again", async () => {
  const store = new MemoryStore();
  const { system } = node(store);
  await system.start();
  assertEquals(await system.deliver(add("0a", 1), { source: "in/0", seq: 1 }), 1);
  assertEquals(await system.deliver(add("0a", 2), { source: "in/0", seq: 2 }), 3);
  assertEquals(
    await system.deliver(add("0a", 2), { source: "in/0", seq: 2 }),
    undefined,
    "duplicate",
  );
  assertEquals(await system.deliver(add("0a", 9), { source: "in/0", seq: 1 }), undefined, "older");
  assertEquals(await system.deliver(add("0a", 4), { source: "in/1", seq: 1 }), 7, "another source");
  assertEquals(await system.deliver(add("0a", 8), { source: "in/0", seq: 3 }), 15);
  assertEquals(await system.ref(counter, "0a").ask("get"), 15);
  assertEquals(sample(system, 'flotilla_duplicates_skipped_total{type="counter"}'), 2);
  await system.shutdown();

  // The positions are durable with the state: a new node (after a crash, a failover) skips them.
  const again = node(store).system;
  await again.start();
  assertEquals(await again.deliver(add("0a", 8), { source: "in/0", seq: 3 }), undefined);
  assertEquals(await again.deliver(add("0a", 1), { source: "in/0", seq: 4 }), 16);
  await again.shutdown();
});

Deno.test("a stream delivery to a full mailbox waits its turn: never refused, never skipped", async () => {
  // Capacity 2 and overflow "reject": a tell past the bound is refused at once. A delivery from
  // a stream position must not be: refused, it would come back as a redelivery after later
  // positions for the same actor were applied, and be skipped as a duplicate — a lost message.
  const tiny = defineRecorder({
    name: "tiny",
    options: { mailbox: { capacity: 2, overflow: "reject" } },
  });
  const { system } = setup([tiny], { logs: "discard" });
  await system.start();
  // All sent in one turn, while the actor is still loading: 2 fit, 8 must wait.
  const replies = Array.from(
    { length: 10 },
    (_, i) =>
      system.deliver({ type: "tiny", id: "t", kind: "record", payload: i + 1 }, {
        source: "in/0",
        seq: i + 1,
      }),
  );
  // A plain tell is still refused past the bound.
  let refused = false;
  try {
    system.ref(tiny, "t").tell("record", 99);
  } catch {
    refused = true;
  }
  assert(refused, "a tell past the bound is refused");
  assertEquals(await Promise.all(replies), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assertEquals(await system.ref(tiny, "t").ask("seen"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await system.shutdown();
});

Deno.test("deliver dedupes journaled actors by the position kept with their events", async () => {
  const store = new MemoryStore();
  const { system } = node(store);
  await system.start();
  const post = (k: number): Envelope => ({ type: "ledger", id: "0l", kind: "post", payload: k });
  assertEquals(await system.deliver(post(5), { source: "in/0", seq: 10 }), 5);
  assertEquals(await system.deliver(post(6), { source: "in/0", seq: 11 }), 11);
  // A command that records no event changes nothing durable: applied again, harmlessly.
  const note: Envelope = { type: "ledger", id: "0l", kind: "note", payload: null };
  assertEquals(await system.deliver(note, { source: "in/0", seq: 12 }), "nothing recorded");
  await system.shutdown();

  const again = node(store).system;
  await again.start();
  assertEquals(await again.deliver(post(6), { source: "in/0", seq: 11 }), undefined);
  assertEquals(await again.deliver(post(7), { source: "in/0", seq: 13 }), 18);
  assertEquals(await again.ref(ledger, "0l").ask("get"), 18);
  await again.shutdown();
});

Deno.test("a released partition's actors finish their work, then leave; sends go to the new owner", async () => {
  const store = new MemoryStore();
  const transport = new PartitionedTransport();
  const { system } = node(store, transport);
  await system.start();
  const gate = deferred();
  const ref = system.ref(counter, "1x");
  assertEquals(await ref.ask("add", 1), 1);
  const slow = ref.ask("addLater", { k: 10, gate: gate.promise });
  const queued = ref.ask("add", 100);
  const other = system.ref(counter, "2y");
  await other.ask("add", 5);

  const released = transport.release(1);
  let done = false;
  released.then(() => (done = true));
  await flushMicrotasks();
  assert(!done, "waits for the running handler");
  assertEquals(system.stats().counter!.active, 2);
  gate.resolve();
  assertEquals(await slow, 11);
  assertEquals(await queued, 111, "what was queued before the release is processed");
  await released;
  assertEquals(system.stats().counter!.active, 1, "1x is gone, 2y stays");
  assertEquals((await store.get("a/counter/1x"))?.version, 3, "and its state is durable");

  // Now partition 1 is someone else's: the same reference goes through the transport.
  assertEquals(await ref.ask("get") as unknown, "remote");
  ref.tell("add", 1);
  assertEquals(transport.sent.map((e) => [e.id, e.kind]), [["1x", "get"], ["1x", "add"]]);
  assertEquals(await other.ask("get"), 5, "other partitions are untouched");
  await system.shutdown();
});

Deno.test("acquiring a partition loads its reminders; releasing it stops firing them", async () => {
  const store = new MemoryStore();
  const transport = new PartitionedTransport();
  const { system, clock } = node(store, transport);
  await system.start();
  await system.ref(counter, "1r").ask("remind", "r");
  await system.ref(counter, "2r").ask("remind", "r");
  assert((await store.get("r/1/counter/1r/r")) !== null, "reminder keys carry the partition");
  await transport.release(1);
  clock.advance(1000);
  await system.idle();
  assertEquals(await system.ref(counter, "2r").ask("get"), 100);
  assertEquals(transport.sent, [], "the released partition's reminder did not fire here");

  // Another node takes partition 1 over and fires its reminder.
  const other = new PartitionedTransport();
  other.owned.clear();
  const second = node(store, other);
  await second.system.start();
  second.clock.jumpTo(1000);
  await other.acquire(1);
  await second.system.idle();
  second.clock.advance(0);
  await second.system.idle();
  assertEquals(await second.system.ref(counter, "1r").ask("get"), 100);
  await second.system.shutdown();
  await system.shutdown();
});

Deno.test("a redelivery of a message applied but not yet durable is acknowledged only once it is", async () => {
  const store = new GatedStore();
  const { system } = node(store);
  await system.start();
  store.hold = true;
  const original = system.deliver(add("0d", 5), { source: "in/0", seq: 7 });
  await store.waitForHeld(1);
  let copyDone = false;
  const copy = system.deliver(add("0d", 5), { source: "in/0", seq: 7 }).then((v) => {
    copyDone = true;
    return v;
  });
  await flushMicrotasks();
  assert(!copyDone, "the copy is not acknowledged while the original's write is in flight");
  store.hold = false;
  store.release();
  assertEquals(await original, 5);
  assertEquals(await copy, undefined);
  assertEquals(await system.ref(counter, "0d").ask("get"), 5, "applied once");
  await system.shutdown();
});
