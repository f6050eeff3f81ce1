/**
 * RingEventBus: the event bus conformance suite, and what is the ring's own: ids of an epoch,
 * resets for ids of another run or older than the ring, the ring's capacity.
 */
import { type BusEvent, matches, type ResetNotice, RingEventBus } from "../runtime/mod.ts";
import { eventBusConformance } from "./event_bus_conformance.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

eventBusConformance("ring", () => {
  const bus = new RingEventBus();
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

Deno.test("events resume with an id older than the ring sends one reset notice and then live events", () => {
  const bus = new RingEventBus({ epoch: "e", capacity: 3 });
  const ids = [1, 2, 3, 4, 5].map((n) => bus.publish("t", n).id); // keeps 3, 4, 5
  const c = collect();
  bus.subscribe({}, c.listener, ids[0]); // event 2 is gone
  assertEquals(c.items.length, 1);
  const notice = c.items[0]!;
  assert(isReset(notice), "a reset notice");
  assertEquals(notice.reset, true);
  assert(notice.reason.length > 0);
  bus.publish("t", 6);
  assertEquals(dataOf(c.items.slice(1)), [6], "live events follow the reset");

  const zero = collect();
  bus.subscribe({}, zero.listener, "e-0"); // events 1 and 2 are gone
  assertEquals(zero.items.length, 1);
  assert(isReset(zero.items[0]!));
});

Deno.test("events resume with an id from another epoch or a malformed id sends one reset", () => {
  const earlier = new RingEventBus({ epoch: "old" });
  const oldId = earlier.publish("t", 1).id;
  const bus = new RingEventBus({ epoch: "new" });
  bus.publish("t", 1);
  bus.publish("t", 2);
  for (const after of [oldId, "new-99", "new-x", "garbage", "new--1", ""]) {
    const c = collect();
    bus.subscribe({}, c.listener, after);
    assertEquals(c.items.length, 1, `one item for ${JSON.stringify(after)}`);
    assert(isReset(c.items[0]!), `a reset for ${JSON.stringify(after)}`);
  }
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
  assertEquals(tooOld.items.length, 1);
  assert(isReset(tooOld.items[0]!));
  const mid = collect();
  bus.subscribe({ topics: ["t"] }, mid.listener, "e-8");
  assertEquals(dataOf(mid.items), [9, 10]);
});
