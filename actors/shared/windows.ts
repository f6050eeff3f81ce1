/**
 * Window aggregations over event time: tumbling, sliding (hopping) and session windows with
 * allowed lateness, over any mergeable {@link Aggregator} — the per-minute transaction rollups
 * and a customer's session windows use them. Pure functions over plain data; the watermark
 * comes from `watermark.ts`.
 *
 * Semantics (as Flink's, with `W` the watermark and windows half-open `[start, end)`):
 * - a window **fires** once `W ≥ end`, with `late: false`;
 * - an event below the watermark (`ts < W`) is **late**; it still updates each of its windows
 *   while `W < end + allowedLateness` — a window that had fired fires again with the update,
 *   `late: true` — and is **dropped** (counted, nothing changes) once all its windows are past
 *   that point;
 * - session windows: an event opens `[ts, ts + gap)`, merged with every window it overlaps,
 *   so two events exactly `gap` apart are in different sessions.
 *
 * @module
 */

/** Which windows an event belongs to (sizes in ms). */
export type WindowSpec =
  | { readonly kind: "tumbling"; readonly size: number }
  | { readonly kind: "sliding"; readonly size: number; readonly slide: number }
  | { readonly kind: "session"; readonly gap: number };

/** How a window's values are accumulated; `add` and `merge` may mutate and return `acc`. */
export interface Aggregator<V, A, R> {
  create(): A;
  add(acc: A, value: V): A;
  merge(a: A, b: A): A;
  result(acc: A): R;
}

/** One window. */
export interface Window<A> {
  readonly start: number;
  readonly end: number;
  acc: A;
  /** Its current contents have been emitted. */
  fired: boolean;
  /** Results emitted so far. */
  firings: number;
  /** It holds an event that was late when it arrived. */
  hasLate: boolean;
}

/** The windows of one stream. */
export interface WindowSet<A> {
  /** Live windows, by start (session windows never overlap). */
  windows: Window<A>[];
  /** Late events accepted (they updated their windows). */
  late: number;
  /** Events too late for every window they belong to. */
  dropped: number;
}

/** A window's result. */
export interface WindowResult<R> {
  readonly start: number;
  readonly end: number;
  readonly result: R;
  /** An update after a first result, or a window holding late events. */
  readonly late: boolean;
}

/** What adding an event did. */
export type AddOutcome = "on_time" | "late" | "dropped";

/** No windows. */
export function emptyWindows<A>(): WindowSet<A> {
  return { windows: [], late: 0, dropped: 0 };
}

/**
 * The `[start, end)` windows an event at `ts` belongs to (tumbling and sliding windows are
 * aligned to the epoch; a session event's own window is `[ts, ts + gap)`).
 */
export function assignWindows(spec: WindowSpec, ts: number): [number, number][] {
  switch (spec.kind) {
    case "tumbling": {
      const start = Math.floor(ts / spec.size) * spec.size;
      return [[start, start + spec.size]];
    }
    case "sliding": {
      const out: [number, number][] = [];
      const last = Math.floor(ts / spec.slide) * spec.slide;
      for (let start = last; start > ts - spec.size; start -= spec.slide) {
        out.push([start, start + spec.size]);
      }
      return out.reverse();
    }
    case "session":
      return [[ts, ts + spec.gap]];
  }
}

/**
 * Adds an event at `ts` to its windows, given the watermark `w` (`null`: none yet). Fire
 * afterwards with {@link fireWindows}: updated windows that had fired fire again.
 */
export function addEvent<V, A, R>(
  set: WindowSet<A>,
  spec: WindowSpec,
  agg: Aggregator<V, A, R>,
  ts: number,
  value: V,
  w: number | null,
  allowedLateness: number,
): AddOutcome {
  const expired = (end: number) => w !== null && end + allowedLateness <= w;
  const late = w !== null && ts < w;
  if (spec.kind === "session") {
    let start = ts, end = ts + spec.gap;
    if (expired(end)) {
      set.dropped++;
      return "dropped";
    }
    let acc = agg.add(agg.create(), value);
    let firings = 0, hasLate = late;
    const kept: Window<A>[] = [];
    for (const win of set.windows) {
      if (win.start < end && start < win.end) {
        acc = win.start <= ts ? agg.merge(win.acc, acc) : agg.merge(acc, win.acc);
        start = Math.min(start, win.start);
        end = Math.max(end, win.end);
        firings = Math.max(firings, win.firings);
        hasLate ||= win.hasLate;
      } else kept.push(win);
    }
    const merged: Window<A> = { start, end, acc, fired: false, firings, hasLate };
    kept.splice(insertionPoint(kept, start), 0, merged);
    set.windows = kept;
  } else {
    const live = assignWindows(spec, ts).filter(([, end]) => !expired(end));
    if (live.length === 0) {
      set.dropped++;
      return "dropped";
    }
    for (const [start, end] of live) {
      let win = set.windows.find((x) => x.start === start && x.end === end);
      if (win === undefined) {
        win = { start, end, acc: agg.create(), fired: false, firings: 0, hasLate: false };
        set.windows.splice(insertionPoint(set.windows, start), 0, win);
      }
      win.acc = agg.add(win.acc, value);
      win.fired = false;
      win.hasLate ||= late;
    }
  }
  if (late) set.late++;
  return late ? "late" : "on_time";
}

/**
 * Emits the result of every window complete at watermark `w` whose contents have not been
 * emitted, oldest first, and forgets windows past their allowed lateness.
 */
export function fireWindows<V, A, R>(
  set: WindowSet<A>,
  agg: Aggregator<V, A, R>,
  w: number | null,
  allowedLateness: number,
): WindowResult<R>[] {
  if (w === null) return [];
  const out: WindowResult<R>[] = [];
  for (const win of set.windows) {
    if (win.fired || w < win.end) continue;
    out.push({
      start: win.start,
      end: win.end,
      result: agg.result(win.acc),
      late: win.firings > 0 || win.hasLate,
    });
    win.fired = true;
    win.firings++;
  }
  set.windows = set.windows.filter((win) => !(win.fired && win.end + allowedLateness <= w));
  return out;
}

/** The event time at which the next result is due (the earliest unfired end), or `null`. */
export function nextFiring<A>(set: WindowSet<A>): number | null {
  let next: number | null = null;
  for (const win of set.windows) {
    if (!win.fired && (next === null || win.end < next)) next = win.end;
  }
  return next;
}

/**
 * The event time at which the next window is forgotten (the earliest fired end plus the
 * lateness), or `null`.
 */
export function nextExpiry<A>(set: WindowSet<A>, allowedLateness: number): number | null {
  let next: number | null = null;
  for (const win of set.windows) {
    const at = win.end + allowedLateness;
    if (win.fired && (next === null || at < next)) next = at;
  }
  return next;
}

/** Provisional results of the windows not complete yet, oldest first. */
export function openResults<V, A, R>(
  set: WindowSet<A>,
  agg: Aggregator<V, A, R>,
): WindowResult<R>[] {
  return set.windows.filter((win) => !win.fired).map((win) => ({
    start: win.start,
    end: win.end,
    result: agg.result(win.acc),
    late: win.firings > 0 || win.hasLate,
  }));
}

function insertionPoint<A>(windows: readonly Window<A>[], start: number): number {
  let i = windows.length;
  while (i > 0 && windows[i - 1]!.start > start) i--;
  return i;
}
