/**
 * Helpers for the devices area's tests: a seeded PRNG, and an actor system running the area's
 * actors (configurable) beside a stub alert book that records what devices raise and clear —
 * so these tests do not depend on the alerts area.
 *
 * @module
 */
import { actors, type DeepPartial, type DevicesConfig } from "../../actors/devices/mod.ts";
import { ALERT_BOOK, type AlertSignal } from "../../actors/contracts.ts";
import { type BusEvent, defineActor, ManualClock, MemoryStore } from "../../runtime/mod.ts";
import { setup } from "./system.ts";

/**
 * A seeded PRNG (the project's one, `tools/prng.ts`): the same sequence for the same seed,
 * values in [0, 1).
 */
export { seededRandom as prng } from "../../tools/prng.ts";

/** What the stub alert book received. */
export type AlertCall =
  | ({ readonly op: "raise" } & AlertSignal)
  | {
    readonly op: "resolve";
    readonly source: string;
    readonly type: string;
    readonly at?: number;
  };

/** A stub of the alerts area's `alert-book`, recording every call in `calls`. */
export function stubAlertBook(calls: AlertCall[]) {
  return defineActor({
    name: ALERT_BOOK,
    initialState: () => ({}),
    handlers: {},
    queries: {
      raise(_ctx, signal: AlertSignal) {
        calls.push({ op: "raise", ...signal });
      },
      resolve(ctx, msg: { type: string; at?: number }) {
        calls.push({ op: "resolve", source: ctx.id, ...msg });
      },
    },
    options: { persistence: "none" },
  });
}

/** Start of the tests' clocks: 2026-11-23T12:00:00Z. */
export const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * A started system with the devices area's actors (configured) and a stub alert book, on a
 * ManualClock at {@link T0} (or `clock`) and a MemoryStore (or `store`), recording the events
 * it publishes.
 */
export async function deviceSystem(
  config: DeepPartial<DevicesConfig> = {},
  options: { store?: MemoryStore; clock?: ManualClock } = {},
) {
  const alerts: AlertCall[] = [];
  const t = setup([...actors(config), stubAlertBook(alerts)], {
    clock: options.clock ?? new ManualClock(T0),
    store: options.store ?? new MemoryStore(),
    logs: "discard",
  });
  const published: BusEvent[] = [];
  t.system.events.subscribe({}, (e) => {
    if ("topic" in e) published.push(e);
  });
  await t.system.start();
  return {
    ...t,
    alerts,
    /** Every event published since the start. */
    published,
    /** Events of one topic. */
    events(topic: string): BusEvent[] {
      return published.filter((e) => e.topic === topic);
    },
    /** Alerts of one type, raised or resolved. */
    calls(type: string, op?: "raise" | "resolve") {
      return alerts.filter((a) => a.type === type && (op === undefined || a.op === op));
    },
    /** Moves the clock and lets everything it set off run. */
    async advance(ms: number) {
      t.clock.advance(ms);
      await t.system.idle();
    },
  };
}
