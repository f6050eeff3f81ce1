/**
 * The order check of the fault suite: the telemetry events in the events stream, per device,
 * against the readings JetStream acknowledged.
 *
 * Events are published by the nodes with core NATS after the state is durable, so a crash at
 * the wrong moment (of a node, of nats-server) may lose an event, never the state change: the
 * check looks at the events that exist, and the caller bounds how many may be missing.
 *
 * @module
 */
import type { AppliedReading } from "../helpers/failover.ts";

/** Options of {@link checkOrder}. */
export interface OrderOptions {
  /**
   * Allow each device one rewind (a reading at or below the last one seen) among the events
   * after this stream sequence: a store that lost its most recent writes has them applied
   * again from the stream, and their events come again. Without it, every rewind is a
   * violation.
   */
  readonly rewindsAfter?: number;
  /**
   * Events a frozen node publishes when it wakes up: a reading it had applied (durably, under
   * its lease) before it froze, whose event was still in its buffers, comes after the
   * readings the next owner applied meanwhile. Such an event — after stream sequence `after`,
   * of a reading acknowledged before the freeze (`ackedBefore`: each device's last `seq`
   * then), the only event of that reading — is counted as late, not as a violation.
   */
  readonly lateEvents?: {
    readonly after: number;
    readonly ackedBefore: ReadonlyMap<string, number>;
  };
}

/** What {@link checkOrder} found. */
export interface OrderCheck {
  /** Distinct acknowledged readings seen applied in the events. */
  readonly seen: number;
  /** `"<device> applied <seq> after <seq>"` for each reading applied twice or out of order. */
  readonly violations: string[];
  /** `"<device> applied <seq>, never acknowledged"`. */
  readonly phantoms: string[];
  /** Rewinds allowed by {@link OrderOptions.rewindsAfter}. */
  readonly rewinds: number;
  /** Late events allowed by {@link OrderOptions.lateEvents}. */
  readonly late: number;
}

/**
 * Checks that each device's events apply its acknowledged readings in `seq` order, each once
 * (but for the allowed rewinds), and nothing that was never acknowledged.
 */
export function checkOrder(
  acked: ReadonlyMap<string, readonly number[]>,
  events: ReadonlyMap<string, readonly AppliedReading[]>,
  options: OrderOptions = {},
): OrderCheck {
  let seen = 0;
  let rewinds = 0;
  let late = 0;
  const violations: string[] = [];
  const phantoms: string[] = [];
  for (const [device, list] of events) {
    const ackedSeqs = new Set(acked.get(device) ?? []);
    const times = new Map<number, number>();
    for (const { seq } of list) times.set(seq, (times.get(seq) ?? 0) + 1);
    const lateBefore = options.lateEvents?.ackedBefore.get(device) ?? -1;
    const distinct = new Set<number>();
    let last = -1;
    let rewound = false;
    for (const { seq, streamSeq } of list) {
      if (!ackedSeqs.has(seq)) phantoms.push(`${device} applied ${seq}, never acknowledged`);
      else distinct.add(seq);
      if (seq > last) {
        last = seq;
        continue;
      }
      if (
        options.lateEvents !== undefined && streamSeq > options.lateEvents.after &&
        seq <= lateBefore && times.get(seq) === 1
      ) {
        late++;
        continue; // the device's order goes on from `last`
      }
      if (options.rewindsAfter !== undefined && streamSeq > options.rewindsAfter && !rewound) {
        rewound = true;
        rewinds++;
      } else {
        violations.push(`${device} applied ${seq} after ${last}`);
      }
      last = seq;
    }
    seen += distinct.size;
  }
  return { seen, violations, phantoms, rewinds, late };
}
