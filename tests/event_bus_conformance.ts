/**
 * The behaviour every {@link EventBus} must show, whether it delivers in `publish` (the ring of
 * embedded mode) or after a round trip through a stream (JetStream in cluster mode). A bus's
 * test file calls {@link eventBusConformance} once; each case runs on a fresh bus.
 *
 * Resuming: an id the bus can place gets exactly the events after it; one it cannot (older
 * than what is kept, or not one of its ids) gets a reset and then every event still kept, and
 * the reset's `after` is an id that resumes that same replay without a reset.
 *
 * Nothing here sleeps: a case waits for the items it expects, and checks that an item did not
 * arrive by waiting for a later marker event (a bus delivers in publish order).
 *
 * @module
 */
import type { BusEvent, EventBus, ResetNotice } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

/** What a case asks of the bus it opens. */
export interface EventBusOptions {
  /** Keep only the last this many events (the bus's default when absent). */
  readonly capacity?: number;
}

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
  /** Resolves once an event with this id arrived; fails after `timeoutMs`. */
  waitFor(id: string, timeoutMs?: number): Promise<void>;
}

/** A listener that keeps what it receives, for a test to wait on and inspect. */
export function collector(): Collector {
  const items: (BusEvent | ResetNotice)[] = [];
  let waiter: { done: () => boolean; resolve: () => void } | null = null;
  const until = async (done: () => boolean, what: string, timeoutMs: number) => {
    if (done()) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    waiter = { done, resolve };
    const timer = setTimeout(resolve, timeoutMs);
    await promise;
    clearTimeout(timer);
    waiter = null;
    assert(done(), `expected ${what}, got ${JSON.stringify(idsOf(items))}`);
  };
  return {
    items,
    push(item) {
      items.push(item);
      if (waiter?.done()) waiter.resolve();
    },
    wait: (n, timeoutMs = 5000) => until(() => items.length >= n, `${n} items`, timeoutMs),
    waitFor: (id, timeoutMs = 5000) =>
      until(() => items.some((i) => !("reset" in i) && i.id === id), `event ${id}`, timeoutMs),
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
  open: (options: EventBusOptions) => Promise<EventBusFixture>,
  options: { readonly sanitize?: boolean } = {},
): void {
  const test = (
    criterion: string,
    body: (bus: EventBus) => Promise<void>,
    busOptions: EventBusOptions = {},
  ) =>
    Deno.test({
      name: `${name} event bus: ${criterion}`,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      async fn() {
        const fixture = await open(busOptions);
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

  test("resuming after any event of a burst gets exactly the rest of it, in order", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    // Published in one run, like the events of one group commit: a bus may carry them together.
    const burst = [1, 2, 3, 4, 5, 6].map((n): [string, number, string] => [
      n === 4 ? "alerts" : "t",
      n,
      `dev-${n % 2}`,
    ]);
    const got = await published(bus, all, burst);
    assertEquals(new Set(got.map((e) => e.id)).size, 6, "every event has its own id");
    for (let k = 0; k < got.length; k++) {
      const resumed = collector();
      const sub = bus.subscribe({}, resumed.push, got[k]!.id);
      await resumed.wait(got.length - k - 1);
      assertEquals(dataOf(resumed.items), [1, 2, 3, 4, 5, 6].slice(k + 1), `after ${got[k]!.id}`);
      sub.close();
    }
    const odd = collector();
    bus.subscribe({ topics: ["t"], key: "dev-1" }, odd.push, got[0]!.id);
    await odd.wait(2);
    assertEquals(dataOf(odd.items), [3, 5]);
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

  /**
   * Resumes after `after` and waits for the event `newest`: the items up to it, and the events
   * a second subscriber gets resuming after the reset's `after` (which must not reset again).
   */
  const resumeWithReset = async (bus: EventBus, after: string, newest: BusEvent) => {
    const resumed = collector();
    bus.subscribe({}, resumed.push, after);
    await resumed.waitFor(newest.id);
    const [notice, ...events] = resumed.items;
    assert(notice !== undefined && "reset" in notice, `a reset first for ${JSON.stringify(after)}`);
    assert(notice.reason.length > 0, "the notice says why");
    assert(events.every((e) => !("reset" in e)), "one notice");
    const again = collector();
    bus.subscribe({}, again.push, notice.after);
    await again.waitFor(newest.id);
    assertEquals(idsOf(again.items), idsOf(events), "resuming after the reset's id: the replay");
    return { notice, events: events as BusEvent[] };
  };

  test("an id the bus never gave gets one reset, then every event still kept, then live ones", async (bus) => {
    const all = collector();
    bus.subscribe({}, all.push);
    const got = await published(bus, all, [["t", 1], ["t", 2]]);
    for (const after of ["garbage", "", "-1", "x-1"]) {
      const { events } = await resumeWithReset(bus, after, got[1]!);
      // Nothing the bus still holds is lost: this case's events end the replay, in order.
      assertEquals(idsOf(events.slice(-2)), idsOf(got), `replayed for ${JSON.stringify(after)}`);
    }
    const live = collector();
    bus.subscribe({}, live.push, "garbage");
    await live.waitFor(got[1]!.id);
    const [marker] = await published(bus, all, [["t", 3]]);
    await live.waitFor(marker!.id);
    assertEquals(dataOf(live.items.slice(-3)), [1, 2, 3]);
    assertEquals(live.items.filter((i) => "reset" in i).length, 1);
  });

  test(
    "an id older than what is kept gets one reset, then every event still kept, then live ones",
    async (bus) => {
      const all = collector();
      bus.subscribe({}, all.push);
      // One at a time: a stream that keeps 3 drops events its consumers have not had yet.
      const got: BusEvent[] = [];
      for (let n = 1; n <= 6; n++) got.push(...await published(bus, all, [["t", n]]));
      // Kept: 4, 5, 6. Resuming after 1 misses 2 and 3.
      // The reset's id is the point just before the oldest kept (resumeWithReset checks that
      // resuming after it replays the same events); its form is the bus's own.
      const { events } = await resumeWithReset(bus, got[0]!.id, got[5]!);
      assertEquals(dataOf(events), [4, 5, 6]);
      // A client that reconnects in the middle of the replay gets the rest, without a reset.
      const middle = collector();
      bus.subscribe({}, middle.push, events[0]!.id);
      await middle.waitFor(got[5]!.id);
      assertEquals(dataOf(middle.items), [5, 6]);
      // The oldest gap-free resume is the reset's id itself (checked by resumeWithReset); then live.
      const [marker] = await published(bus, all, [["t", 7]]);
      await middle.waitFor(marker!.id);
      assertEquals(dataOf(middle.items), [5, 6, 7]);
    },
    { capacity: 3 },
  );
}
