/**
 * History of a device's readings over time, for `GET /api/devices/:id/history`.
 *
 * Where it lives: the device keeps its newest readings in an **open chunk** in its own state
 * (at most `chunkSize`); a full chunk is **sealed** — sent once to a `device-history` actor and
 * never rewritten — and the device keeps only an index entry (sequence number and time range).
 * Sealed chunks live in a ring of `chunks` slots per device (`<device>.<seq mod chunks>`), so
 * the oldest chunk is overwritten when the ring wraps: a device's history is bounded to
 * `chunkSize * (chunks + 1)` readings (2,112 by default) and its own state to one open chunk,
 * while each reading costs only its share of one chunk write. The analytics window (60 s) is
 * far too short for history, and a journal would grow without bound (the stores cannot trim
 * one).
 *
 * @module
 */

/** Bounds of a device's history. */
export interface HistoryConfig {
  /** Readings per chunk. @default 64 */
  readonly chunkSize: number;
  /** Sealed chunks kept per device. @default 32 */
  readonly chunks: number;
}

/** Defaults: 64 readings per chunk, 32 chunks. */
export const DEFAULT_HISTORY: HistoryConfig = { chunkSize: 64, chunks: 32 };

/**
 * Readings as plain JSON: parallel arrays of event time (relative to `b`, so the JSON stays
 * short), sensor (index into `names`) and value, in arrival order.
 */
export interface Readings {
  names: string[];
  /** Base of the event times (epoch ms). */
  b: number;
  t: number[];
  s: number[];
  v: number[];
}

/** A sealed chunk, as its `device-history` actor keeps it. */
export interface SealedChunk extends Readings {
  readonly seq: number;
  readonly from: number;
  readonly to: number;
}

/** Index entry of a sealed chunk: `[seq, from, to]` (event times, inclusive). */
export type ChunkRef = [number, number, number];

/** A device's history state. */
export interface DeviceHistory {
  /** The open chunk. */
  open: Readings;
  /** Sequence number the next sealed chunk gets. */
  seq: number;
  /** Sealed chunks still kept, oldest first. */
  index: ChunkRef[];
}

/** One reading in a history answer. */
export interface HistoryItem {
  readonly ts: number;
  readonly sensor: string;
  readonly value: number;
}

/** What to read: an optional sensor and an inclusive time range. */
export interface HistoryQuery {
  readonly sensor?: string;
  readonly from: number;
  readonly to: number;
}

/** An empty history. */
export function emptyHistory(): DeviceHistory {
  return { open: emptyReadings(), seq: 0, index: [] };
}

function emptyReadings(): Readings {
  return { names: [], b: 0, t: [], s: [], v: [] };
}

/**
 * Appends a reading to the open chunk. When the chunk is full it is sealed: returned (for the
 * caller to send to its `device-history` actor) and indexed, the oldest index entry dropped
 * beyond `chunks`. Returns `null` otherwise.
 */
export function record(
  h: DeviceHistory,
  ts: number,
  sensor: string,
  value: number,
  config: HistoryConfig,
): SealedChunk | null {
  const open = h.open;
  let i = open.names.indexOf(sensor);
  if (i < 0) i = open.names.push(sensor) - 1;
  if (open.t.length === 0) open.b = ts;
  open.t.push(ts - open.b);
  open.s.push(i);
  open.v.push(value);
  if (open.t.length < config.chunkSize) return null;
  let from = Infinity, to = -Infinity;
  for (const x of open.t) {
    if (x < from) from = x;
    if (x > to) to = x;
  }
  from += open.b;
  to += open.b;
  const chunk: SealedChunk = { seq: h.seq, from, to, ...open };
  h.index.push([h.seq, from, to]);
  if (h.index.length > config.chunks) h.index.splice(0, h.index.length - config.chunks);
  h.seq++;
  h.open = emptyReadings();
  return chunk;
}

/** The id of the `device-history` actor holding chunk `seq` of a device. */
export function chunkActorId(device: string, seq: number, config: HistoryConfig): string {
  return `${device}.${seq % config.chunks}`;
}

/** The sealed chunks whose time range meets the query's. */
export function chunksFor(h: DeviceHistory, query: HistoryQuery): number[] {
  const out: number[] = [];
  for (const [seq, from, to] of h.index) {
    if (to >= query.from && from <= query.to) out.push(seq);
  }
  return out;
}

/** The readings of `r` that match the query, pushed onto `out`. */
export function select(r: Readings, query: HistoryQuery, out: HistoryItem[]): void {
  const wanted = query.sensor === undefined ? -1 : r.names.indexOf(query.sensor);
  if (query.sensor !== undefined && wanted < 0) return;
  for (let i = 0; i < r.t.length; i++) {
    const ts = r.t[i]! + r.b;
    if (ts < query.from || ts > query.to) continue;
    if (wanted >= 0 && r.s[i] !== wanted) continue;
    out.push({ ts, sensor: r.names[r.s[i]!]!, value: r.v[i]! });
  }
}

/**
 * Merges answers: sorted by time (then sensor), the first `limit` kept.
 * @returns the items and whether more matched
 */
export function merge(
  items: HistoryItem[],
  limit: number,
): { items: HistoryItem[]; truncated: boolean } {
  items.sort((a, b) => a.ts - b.ts || (a.sensor < b.sensor ? -1 : a.sensor > b.sensor ? 1 : 0));
  return items.length > limit
    ? { items: items.slice(0, limit), truncated: true }
    : { items, truncated: false };
}
