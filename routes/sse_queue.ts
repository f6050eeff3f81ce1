/**
 * What one SSE client has not been sent yet. A client that falls behind gets device telemetry
 * coalesced — one pending event per device, with its readings merged, so it sees every device's
 * latest values — and once even that is too much, it is dropped (the caller sends a final
 * `event: dropped`). The queue never grows past its limit, so a slow client costs bounded
 * memory and never slows the publisher.
 *
 * @module
 */
import type { BusEvent, JsonValue, ResetNotice } from "../runtime/mod.ts";

/** An item for the client: an event, or a reset notice. */
export type QueueItem = BusEvent | ResetNotice;

/** Options of {@link ClientQueue}. */
export interface ClientQueueOptions {
  /** Pending items from which telemetry is coalesced. @default 256 */
  readonly coalesceAfter?: number;
  /** Pending items past which the client is dropped. @default 1000 */
  readonly limit?: number;
  /** Topics whose events are coalesced per key. @default ["telemetry"] */
  readonly coalescedTopics?: readonly string[];
}

/** A bounded, coalescing queue of events for one client. */
export class ClientQueue {
  #items: (QueueItem | null)[] = [];
  #live = 0;
  /** Where each key's pending coalescable event is in #items. */
  #byKey = new Map<string, number>();
  #coalesceAfter: number;
  #limit: number;
  #topics: readonly string[];
  /** Events merged into a later one since the start. */
  coalesced = 0;
  /** Set once the queue went over its limit. */
  overflowed = false;

  constructor(options: ClientQueueOptions = {}) {
    this.#limit = options.limit ?? 1000;
    this.#coalesceAfter = Math.min(options.coalesceAfter ?? 256, this.#limit);
    this.#topics = options.coalescedTopics ?? ["telemetry"];
  }

  /** Items waiting. */
  get size(): number {
    return this.#live;
  }

  /** Adds an item; `false` once the client is too far behind to keep. */
  push(item: QueueItem): boolean {
    if (this.overflowed) return false;
    const key = "reset" in item || item.key === null || !this.#topics.includes(item.topic)
      ? null
      : `${item.topic}\u0000${item.key}`;
    if (key !== null && this.#live >= this.#coalesceAfter) {
      const at = this.#byKey.get(key);
      if (at !== undefined) {
        const older = this.#items[at] as BusEvent;
        this.#items[at] = null;
        this.#live--;
        this.coalesced++;
        item = { ...item, data: merge(older.data, (item as BusEvent).data) };
      }
    }
    if (this.#live >= this.#limit) {
      this.overflowed = true;
      return false;
    }
    if (key !== null) this.#byKey.set(key, this.#items.length);
    this.#items.push(item);
    this.#live++;
    return true;
  }

  /** Takes every waiting item, oldest first. */
  take(): QueueItem[] {
    const out = this.#items.filter((i): i is QueueItem => i !== null);
    this.#items = [];
    this.#byKey.clear();
    this.#live = 0;
    return out;
  }
}

/** The newer event's data over the older's, with `readings` objects merged. */
function merge(older: JsonValue, newer: JsonValue): JsonValue {
  if (!isObject(older) || !isObject(newer)) return newer;
  const merged: Record<string, JsonValue> = { ...older, ...newer };
  if (isObject(older.readings) && isObject(newer.readings)) {
    merged.readings = { ...older.readings, ...newer.readings };
  }
  return merged;
}

function isObject(value: JsonValue | undefined): value is { readonly [key: string]: JsonValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
