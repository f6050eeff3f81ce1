/**
 * How events sit in the `FLOTILLA_EVENTS` stream, and how their ids name them.
 *
 * One message carries a batch: the events of one topic published in one turn of the event
 * loop — all the events of the group commits that completed in it, in publish order — split
 * where the topic changes (so order across topics stays publish order), after 500 events, or
 * where the message would grow too large. Its subject is `fl.ev.<topic>`, its header
 * `Fl-Batch` holds the number of events, and its body is the JSON array `[[key, data], …]`
 * (`key` a string or `null`).
 *
 * A message without `Fl-Batch` is one event in the format written before batches: its key in
 * the `Fl-Key` header, its data the whole body. Readers accept both, so a stream written by an
 * older node reads back unchanged.
 *
 * An event's id is `<stream seq>.<index in its message>` (`42.0`, `42.1`, …). For resuming, a
 * plain `<seq>` — the ids of before, and the ids of reset notices — means "after every event
 * of message `seq`".
 *
 * @module
 */
import type { MsgHdrs } from "@nats-io/transport-node";
import type { JsonValue } from "../store.ts";

/** The header holding the number of events a batch message carries. */
export const BATCH_HEADER = "Fl-Batch";
/** The header holding the key of a single-event message of the format before batches. */
export const KEY_HEADER = "Fl-Key";

/** One event as a message of the events stream carries it. */
export interface PackedEvent {
  readonly key: string | null;
  readonly data: JsonValue;
}

/** A place in the events stream: after event `index` of message `seq`. */
export interface EventPosition {
  readonly seq: number;
  /** `Infinity`: after every event of the message. */
  readonly index: number;
}

/** The id of event `index` of message `seq`. */
export function eventId(seq: number, index: number): string {
  return `${seq}.${index}`;
}

const ID = /^(\d{1,15})(?:\.(\d{1,9}))?$/;

/**
 * The position an id names: `<seq>.<index>` is after that event, a plain `<seq>` after the
 * whole message; `null` for anything else.
 */
export function parseEventId(id: string): EventPosition | null {
  const m = ID.exec(id);
  if (m === null) return null;
  return { seq: Number(m[1]), index: m[2] === undefined ? Infinity : Number(m[2]) };
}

/** Orders two positions: negative when `a` comes first. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.seq !== b.seq ? a.seq - b.seq : a.index === b.index ? 0 : a.index < b.index ? -1 : 1;
}

/**
 * The body of a batch message from the JSON of each event's key and data (`[key,data]`
 * pairs, already serialized: events are serialized once, when published).
 */
export function batchBody(pairs: readonly string[]): string {
  return `[${pairs.join(",")}]`;
}

/** One event's entry in a batch body. */
export function batchEntry(key: string | null, json: string): string {
  return `[${key === null ? "null" : JSON.stringify(key)},${json}]`;
}

const decoder = new TextDecoder();

/**
 * The events a message of the events stream carries, in order: a batch, or the one event of
 * the format before batches. `null` when the body is not what either format says.
 */
export function unpackEvents(headers: MsgHdrs | undefined, body: Uint8Array): PackedEvent[] | null {
  try {
    const parsed = JSON.parse(decoder.decode(body)) as JsonValue;
    if (headers?.get(BATCH_HEADER)) {
      if (!Array.isArray(parsed)) return null;
      const events: PackedEvent[] = [];
      for (const entry of parsed) {
        if (!Array.isArray(entry) || entry.length !== 2) return null;
        const [key, data] = entry;
        if (key !== null && typeof key !== "string") return null;
        events.push({ key, data: data! });
      }
      return events;
    }
    return [{ key: headers?.get(KEY_HEADER) || null, data: parsed }];
  } catch {
    return null;
  }
}
