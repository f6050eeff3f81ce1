/**
 * The behaviour every {@link EventBus} must show, whether it delivers in `publish` (the ring of
 * embedded mode) or after a round trip through a stream (JetStream in cluster mode). A bus's
 * test file calls {@link eventBusConformance} once; each case runs on a fresh bus.
 *
 * Nothing here sleeps: a case waits for the items it expects, and checks that an item did not
 * arrive by waiting for a later marker event (a bus delivers in publish order).
 *
 * @module
 */
import type { BusEvent, EventBus, ResetNotice } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

/** A fresh bus for one test case. */
export interface EventBusFixture {
  readonly bus: EventBus;
  /** Stops the bus and releases what the fixture opened. */
  readonly cleanup: () => Promise<void>;
}

/** What a subscription received, and a way to wait for more. */
export interface Collector {
  readonly items: (BusEvent | ResetNotice)[];
  /** The listener to subscribe. */
  readonly push: (item: BusEvent | ResetNotice) => void;
  /** Resolves once `n` items arrived; fails after `timeoutMs` (a bus that lost them). */
  wait(n: number, timeoutMs?: number): Promise<void>;
}

/** A listener that keeps what it receives, for a test to wait on and inspect. */
export function collector(): Collector {
  const items: (BusEvent | ResetNotice)[] = [];
  let waiter: { n: number; resolve: () => void } | null = null;
  return {
    items,
    push(item) {
      items.push(item);
      if (waiter !== null && items.length >= waiter.n) waiter.resolve();
    },
    async wait(n, timeoutMs = 5000) {
      if (items.length >= n) return;
      const { promise, resolve } = Promise.withResolvers<void>();
      waiter = { n, resolve };
      const timer = setTimeout(resolve, timeoutMs);
      await promise;
      clearTimeout(timer);
      waiter = null;
      assert(items.length >= n, `expected ${n} items, got ${items.length}`);
    },
  };
}

/** The `data` of the items, `"reset"` for a reset notice. */
export const dataOf = (items: readonly (BusEvent | ResetNotice)[]): unknown[] =>
  items.map((i) => ("reset" in i ? "reset" : i.data));

/** The ids of the items, `"reset"` for a reset notice. */
export const idsOf = (items: readonly (BusEvent | ResetNotice)[]): string[] =>
  items.map((i) => ("reset" in i ? "reset" : i.id));

/** Registers one `Deno.test` per criterion, named `"<name> event bus: <criterion>"`. */
export function eventBusConformance(
  name: string,
  open: () => Promise<EventBusFixture>,
  options: { readonly sanitize?: boolean } = {},
): void {
  const test = (criterion: string, body: (bus: EventBus) => Promise<void>) =>
    Deno.test({
      name: `${name} event bus: ${criterion}`,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      async fn() {
        const fixture = await open();
        try {
          await body(fixture.bus);
        } finally {
          await fixture.cleanup();
        }
      },
    });

  /** Publishes `data` on `topic` and waits until `seen` has it (every event seen so far). */
  const published = async (
    bus: EventBus,
    seen: Collector,
    events: readonly [topic: string, data: number, key?: string][],
  ) => {
    const before = seen.items.length;
    for (const [topic, data, key] of events) bus.publish(topic, data, key ?? null);
    await seen.wait(before + events.length);
    return seen.items.slice(before) as BusEvent[];
  };

  test("every event reaches a subscriber in publish order with its topic, key, time and data", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    const before = Date.now();
    const got = await published(bus, all, [["telemetry", 1, "dev-1"], ["alerts", 2], ["t", 3]]);
    const after = Date.now();
    assertEquals(got.map((e) => [e.topic, e.key, e.data]), [
      ["telemetry", "dev-1", 1],
      ["alerts", null, 2],
      ["t", null, 3],
    ]);
    assertEquals(new Set(got.map((e) => e.id)).size, 3, "every event has its own id");
    for (const e of got) {
      // A stream stamps the time on its server: allow for the two clocks' rounding.
      assert(e.time >= before - 1000 && e.time <= after + 1000, `time ${e.time}`);
    }
  });

  test("topic and key filters select what a subscriber gets", async (bus) => {
    const all = collector(), alerts = collector(), two = collector();
    const dev1 = collector(), alertsOfDev1 = collector(), noTopics = collector();
    bus.subscribe({}, all.push);
    bus.subscribe({ topics: ["alerts"] }, alerts.push);
    bus.subscribe({ topics: ["alerts", "telemetry"] }, two.push);
    bus.subscribe({ key: "dev-1" }, dev1.push);
    bus.subscribe({ topics: ["alerts"], key: "dev-1" }, alertsOfDev1.push);
    bus.subscribe({ topics: [] }, noTopics.push);
    await published(bus, all, [
      ["telemetry", 1, "dev-1"],
      ["alerts", 2, "dev-2"],
      ["alerts", 3, "dev-1"],
      ["system", 4],
      ["alerts", 5],
    ]);
    assertEquals(dataOf(all.items), [1, 2, 3, 4, 5]);
    assertEquals(dataOf(noTopics.items), [1, 2, 3, 4, 5], "no topics: every topic");
    assertEquals(dataOf(alerts.items), [2, 3, 5]);
    assertEquals(dataOf(two.items), [1, 2, 3, 5]);
    assertEquals(dataOf(dev1.items), [1, 3]);
    assertEquals(dataOf(alertsOfDev1.items), [3]);
  });

  test("a closed subscription gets nothing more", async (bus) => {
    const closed = collector(), open = collector();
    const sub = bus.subscribe({}, closed.push);
    bus.subscribe({}, open.push);
    await published(bus, open, [["t", 1]]);
    sub.close();
    // The marker comes after event 2: once it is here, event 2 would have been too.
    await published(bus, open, [["t", 2], ["t", 3]]);
    assertEquals(dataOf(closed.items), [1]);
    assertEquals(dataOf(open.items), [1, 2, 3]);
  });

  test("resuming after an id gets exactly the later matching events, then live ones", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    const got = await published(bus, all, [
      ["alerts", 1, "dev-1"],
      ["alerts", 2, "dev-1"],
      ["telemetry", 3, "dev-1"],
      ["alerts", 4, "dev-2"],
      ["alerts", 5, "dev-1"],
    ]);
    const resumed = collector();
    bus.subscribe({ topics: ["alerts"], key: "dev-1" }, resumed.push, got[0]!.id);
    await resumed.wait(2);
    assertEquals(idsOf(resumed.items), [got[1]!.id, got[4]!.id]);
    await published(bus, all, [["alerts", 6, "dev-1"], ["alerts", 7, "dev-3"]]);
    await resumed.wait(3);
    assertEquals(dataOf(resumed.items), [2, 5, 6]);
  });

  test("resuming after the newest id gets only what comes next", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    const got = await published(bus, all, [["t", 1], ["t", 2], ["t", 3]]);
    const resumed = collector();
    bus.subscribe({}, resumed.push, got[2]!.id);
    await published(bus, all, [["t", 4]]);
    await resumed.wait(1);
    assertEquals(dataOf(resumed.items), [4]);
  });

  test("an id the bus never gave gets one reset notice naming the newest id, then live events", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    const got = await published(bus, all, [["t", 1], ["t", 2]]);
    for (const after of ["garbage", "", "-1", "x-1"]) {
      const resumed = collector();
      bus.subscribe({}, resumed.push, after);
      await resumed.wait(1);
      const notice = resumed.items[0]!;
      assert("reset" in notice, `a reset for ${JSON.stringify(after)}`);
      assert(notice.reason.length > 0, "the notice says why");
      assertEquals(notice.lastId, got[1]!.id, "resume after the newest id");
      assertEquals(resumed.items.length, 1, "one notice");
    }
    const live = collector();
    bus.subscribe({}, live.push, "garbage");
    await published(bus, all, [["t", 3]]);
    await live.wait(2);
    assertEquals(dataOf(live.items), ["reset", 3]);
  });
}
