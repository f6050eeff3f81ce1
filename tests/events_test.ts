/**
 * RingEventBus: ids, filters, resuming after an id, resets, and the ring's capacity.
 */
import { type BusEvent, matches, type ResetNotice, RingEventBus } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

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

Deno.test("events subscribe delivers live events matching the topic and key filters", () => {
  const bus = new RingEventBus({ epoch: "e" });
  const all = collect();
  const alerts = collect();
  const twoTopics = collect();
  const dev1 = collect();
  const alertsOfDev1 = collect();
  bus.subscribe({}, all.listener);
  bus.subscribe({ topics: ["alerts"] }, alerts.listener);
  bus.subscribe({ topics: ["alerts", "telemetry"] }, twoTopics.listener);
  bus.subscribe({ key: "dev-1" }, dev1.listener);
  bus.subscribe({ topics: ["alerts"], key: "dev-1" }, alertsOfDev1.listener);
  bus.publish("telemetry", 1, "dev-1");
  bus.publish("alerts", 2, "dev-2");
  bus.publish("alerts", 3, "dev-1");
  bus.publish("system", 4);
  bus.publish("alerts", 5);
  assertEquals(dataOf(all.items), [1, 2, 3, 4, 5]);
  assertEquals(dataOf(alerts.items), [2, 3, 5]);
  assertEquals(dataOf(twoTopics.items), [1, 2, 3, 5]);
  assertEquals(dataOf(dev1.items), [1, 3]);
  assertEquals(dataOf(alertsOfDev1.items), [3]);
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

Deno.test("events subscription close stops delivery", () => {
  const bus = new RingEventBus({ epoch: "e" });
  const c = collect();
  const sub = bus.subscribe({}, c.listener);
  bus.publish("t", 1);
  sub.close();
  bus.publish("t", 2);
  assertEquals(dataOf(c.items), [1]);
});

Deno.test("events resume with after replays exactly the missed matching events, then live ones", () => {
  const bus = new RingEventBus({ epoch: "e" });
  const seen = bus.publish("alerts", 1, "dev-1");
  bus.publish("alerts", 2, "dev-1");
  bus.publish("telemetry", 3, "dev-1");
  bus.publish("alerts", 4, "dev-2");
  bus.publish("alerts", 5, "dev-1");
  const c = collect();
  bus.subscribe({ topics: ["alerts"], key: "dev-1" }, c.listener, seen.id);
  assertEquals(c.items.map((i) => (i as BusEvent).id), ["e-2", "e-5"]);
  bus.publish("alerts", 6, "dev-1");
  bus.publish("alerts", 7, "dev-3");
  assertEquals(dataOf(c.items), [2, 5, 6]);
});

Deno.test("events resume after the newest id replays nothing and after e-0 replays everything kept", () => {
  const bus = new RingEventBus({ epoch: "e" });
  const last = [1, 2, 3].map((n) => bus.publish("t", n)).at(-1)!;
  const none = collect();
  bus.subscribe({}, none.listener, last.id);
  assertEquals(none.items, []);
  const everything = collect();
  bus.subscribe({}, everything.listener, "e-0");
  assertEquals(dataOf(everything.items), [1, 2, 3]);
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
