/**
 * RingEventBus: the event bus conformance suite, and what is the ring's own: ids of an epoch,
 * resets (then the events kept) for ids of another run or older than the ring, its capacity.
 */
import { type BusEvent, matches, type ResetNotice, RingEventBus } from "../runtime/mod.ts";
import { eventBusConformance } from "./event_bus_conformance.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

eventBusConformance("ring", ({ capacity }) => {
  const bus = new RingEventBus({ capacity });
  return Promise.resolve({ bus, cleanup: () => Promise.resolve() });
});

type Item = BusEvent | ResetNotice;

function collect(): { items: Item[]; listener: (item: Item) => void } {
  const items: Item[] = [];
  return { items, listener: (item) => items.push(item) };
}

const isReset = (item: Item): item is ResetNotice => "reset" in item;
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));
/** The `data` of events, failing on a reset notice. */
const dataOf = (items: Item[]) =>
  items.map((i) => {
    assert(!isReset(i), `unexpected reset: ${JSON.stringify(i)}`);
    return i.data;
  });

Deno.test("events publish returns events with increasing ids, topic, key, time and data", () => {
  let now = 1000;
  const bus = new RingEventBus({ epoch: "run1", now: () => now });
  assertEquals(bus.lastSeq, 0);
  const first = bus.publish("telemetry", { v: 1 }, "dev-1");
  now = 2000;
  const second = bus.publish("alerts", "hot");
  assertEquals(first, {
    id: "run1-1",
    topic: "telemetry",
    key: "dev-1",
    time: 1000,
    data: { v: 1 },
  });
  assertEquals(second, { id: "run1-2", topic: "alerts", key: null, time: 2000, data: "hot" });
  const ids = [first.id, second.id];
  for (let i = 0; i < 20; i++) ids.push(bus.publish("t", i).id);
  const seqs = ids.map(seqOf);
  assert(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), `ids increase: ${ids.join(" ")}`);
  assertEquals(new Set(ids).size, ids.length);
  assertEquals(bus.lastSeq, 22);
});

Deno.test("events default epoch makes ids of different runs distinct", () => {
  const bus = new RingEventBus();
  const event = bus.publish("t", 1);
  assertEquals(event.id, `${bus.epoch}-1`);
  assert(bus.epoch.length > 0);
});

Deno.test("events matches treats empty topics as every topic and an absent key as every key", () => {
  const event: BusEvent = { id: "e-1", topic: "a", key: "k", time: 0, data: null };
  assert(matches({}, event));
  assert(matches({ topics: [] }, event));
  assert(matches({ topics: ["a"] }, event));
  assert(!matches({ topics: ["b"] }, event));
  assert(matches({ key: "k" }, event));
  assert(!matches({ key: "other" }, event));
  assert(!matches({ key: "k" }, { ...event, key: null }));
});

Deno.test("events resume with an id older than the ring: a reset, every event kept, then live", () => {
  const bus = new RingEventBus({ epoch: "e", capacity: 3 });
  const ids = [1, 2, 3, 4, 5].map((n) => bus.publish("t", n).id); // keeps 3, 4, 5
  const c = collect();
  bus.subscribe({}, c.listener, ids[0]); // event 2 is gone
  assertEquals(c.items[0], {
    reset: true,
    reason: "events after e-1 are no longer kept",
    after: "e-2",
  });
  assertEquals(dataOf(c.items.slice(1)), [3, 4, 5]);
  bus.publish("t", 6);
  assertEquals(dataOf(c.items.slice(1)), [3, 4, 5, 6], "live events follow the replay");

  const zero = collect();
  bus.subscribe({}, zero.listener, "e-0"); // events 1, 2 and 3 are gone
  assertEquals(zero.items[0], {
    reset: true,
    reason: "events after e-0 are no longer kept",
    after: "e-3",
  });
  assertEquals(dataOf(zero.items.slice(1)), [4, 5, 6]);
});

Deno.test("events resume with an id from another epoch or a malformed id: a reset, then this run's events", () => {
  const earlier = new RingEventBus({ epoch: "old" });
  const oldId = earlier.publish("t", 1).id;
  const bus = new RingEventBus({ epoch: "new" });
  bus.publish("t", 1);
  bus.publish("t", 2);
  for (const after of [oldId, "new-99", "new-x", "garbage", "new--1", ""]) {
    const c = collect();
    bus.subscribe({}, c.listener, after);
    assertEquals(c.items[0], {
      reset: true,
      reason: `event id ${JSON.stringify(after)} is not from this run`,
      after: "new-0",
    });
    assertEquals(dataOf(c.items.slice(1)), [1, 2], `replayed for ${JSON.stringify(after)}`);
  }
  // Before the new run's first event: the reset alone, and its id resumes from the start.
  const fresh = new RingEventBus({ epoch: "fresh" });
  const c = collect();
  fresh.subscribe({}, c.listener, oldId);
  assertEquals(c.items.length, 1);
  assert(isReset(c.items[0]!) && c.items[0].after === "fresh-0");
  fresh.publish("t", 1);
  const resumed = collect();
  fresh.subscribe({}, resumed.listener, "fresh-0");
  assertEquals(dataOf(resumed.items), [1]);
});

Deno.test("events epochs containing dashes still resume", () => {
  const bus = new RingEventBus({ epoch: "node-a-7" });
  const first = bus.publish("t", 1);
  bus.publish("t", 2);
  const c = collect();
  bus.subscribe({}, c.listener, first.id);
  assertEquals(dataOf(c.items), [2]);
});

Deno.test("events ring keeps exactly capacity events for resuming", () => {
  const bus = new RingEventBus({ epoch: "e", capacity: 4 });
  for (let n = 1; n <= 10; n++) bus.publish("t", n);
  // Kept: 7, 8, 9, 10. Resuming after 6 is the oldest gap-free resume.
  const fromOldest = collect();
  bus.subscribe({}, fromOldest.listener, "e-6");
  assertEquals(dataOf(fromOldest.items), [7, 8, 9, 10]);
  const tooOld = collect();
  bus.subscribe({}, tooOld.listener, "e-5");
  assert(isReset(tooOld.items[0]!) && tooOld.items[0].after === "e-6");
  assertEquals(dataOf(tooOld.items.slice(1)), [7, 8, 9, 10]);
  const mid = collect();
  bus.subscribe({ topics: ["t"] }, mid.listener, "e-8");
  assertEquals(dataOf(mid.items), [9, 10]);
});
