/**
 * The sliding window of one sensor's recent readings in event time (60 s by default), kept
 * as plain arrays sorted by timestamp, with running sums so the mean and deviation cost O(1)
 * per reading instead of a pass over the window.
 *
 * The window spans `(newest - span, newest]`, `newest` being the newest event time seen, and
 * holds at most `maxValues` readings (the oldest go first), so its size is bounded whatever
 * the device's rate.
 *
 * @module
 */

import { varianceOf } from "./zscore.ts";

/** Bounds of a window. */
export interface WindowConfig {
  /** Span in event time, milliseconds. @default 60000 */
  readonly span: number;
  /** Most readings kept; at a higher rate the window covers less than `span`. @default 120 */
  readonly maxValues: number;
}

/** The default window: 60 s, at most 120 readings (2 per second). */
export const DEFAULT_WINDOW: WindowConfig = { span: 60_000, maxValues: 120 };

/**
 * A window as plain JSON. Event times are kept relative to `b` (a few digits instead of 13 in
 * the JSON the store writes on every message). `s` and `q` are the sum and the sum of squares
 * of `v[i] - k`: the shift `k` (a value of the window) keeps them small, so the variance does
 * not drown in rounding when values are large and close together.
 */
export interface SensorWindow {
  /** Event times minus `b`, ascending. */
  t: number[];
  /** Base of the event times (epoch ms). */
  b: number;
  /** Values, in the order of `t`. */
  v: number[];
  k: number;
  s: number;
  q: number;
  /** Removals since the sums were last recomputed exactly. */
  r: number;
}

/** Summary statistics of a window (population standard deviation); `null`s when empty. */
export interface WindowStats {
  readonly count: number;
  readonly mean: number | null;
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

/** Removals after which the running sums are recomputed, so rounding cannot accumulate. */
const RESUM_AFTER = 1024;
/** Relative times are rebased once the oldest is this far from the base (10 min). */
const REBASE_AFTER = 600_000;

/** An empty window. */
export function emptyWindow(): SensorWindow {
  return { t: [], b: 0, v: [], k: 0, s: 0, q: 0, r: 0 };
}

/** The window's event times (epoch ms), ascending. */
export function timesOf(w: SensorWindow): number[] {
  return w.t.map((x) => x + w.b);
}

/**
 * Moves the window's end to `ts` when `ts` is newer than anything in it, evicting readings
 * that fall out of the span. Returns whether a reading at `ts` belongs in the window (a
 * reading at or before `newest - span` is too late for it).
 */
export function advance(w: SensorWindow, ts: number, span: number): boolean {
  const n = w.t.length;
  if (n === 0) return true;
  const at = ts - w.b;
  const newest = w.t[n - 1]!;
  if (at <= newest) return at > newest - span;
  let drop = 0;
  const cut = at - span;
  while (drop < n && w.t[drop]! <= cut) drop++;
  if (drop > 0) remove(w, drop);
  return true;
}

/**
 * Inserts a reading at its place in time (a late reading goes between its neighbours; equal
 * timestamps keep arrival order), then evicts the oldest beyond `maxValues`. Call
 * {@link advance} first. O(1) for a reading in time order.
 */
export function insert(w: SensorWindow, ts: number, value: number, maxValues: number): void {
  const { t, v } = w;
  if (t.length === 0) {
    w.b = ts;
    w.k = value;
    w.s = 0;
    w.q = 0;
    w.r = 0;
  }
  const at = ts - w.b;
  if (t.length === 0 || at >= t[t.length - 1]!) {
    t.push(at);
    v.push(value);
  } else {
    let lo = 0, hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    t.splice(lo, 0, at);
    v.splice(lo, 0, value);
  }
  const d = value - w.k;
  w.s += d;
  w.q += d * d;
  if (t.length > maxValues) remove(w, t.length - maxValues);
  const first = t[0]!;
  if (first < 0 || first >= REBASE_AFTER) {
    for (let i = 0; i < t.length; i++) t[i]! -= first;
    w.b += first;
  }
}

function remove(w: SensorWindow, count: number): void {
  for (let i = 0; i < count; i++) {
    const d = w.v[i]! - w.k;
    w.s -= d;
    w.q -= d * d;
  }
  w.t.splice(0, count);
  w.v.splice(0, count);
  w.r += count;
  if (w.t.length === 0) {
    w.s = 0;
    w.q = 0;
    w.r = 0;
  } else if (w.r >= RESUM_AFTER) resum(w);
}

/** Recomputes the running sums exactly, shifted by the current first value. */
export function resum(w: SensorWindow): void {
  const k = w.v[0] ?? 0;
  let s = 0, q = 0;
  for (const x of w.v) {
    const d = x - k;
    s += d;
    q += d * d;
  }
  w.k = k;
  w.s = s;
  w.q = q;
  w.r = 0;
}

/** Count, mean and population standard deviation, in O(1). */
export function moments(w: SensorWindow): { n: number; mean: number; std: number } {
  const n = w.t.length;
  if (n === 0) return { n: 0, mean: 0, std: 0 };
  return { n, mean: w.k + w.s / n, std: Math.sqrt(varianceOf(n, w.s, w.q)) };
}

/** The window's summary for the API (min and max by a pass over it: only on reads). */
export function statsOf(w: SensorWindow): WindowStats {
  const n = w.v.length;
  if (n === 0) return { count: 0, mean: null, std: null, min: null, max: null };
  let min = Infinity, max = -Infinity;
  for (const x of w.v) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const { mean, std } = moments(w);
  return { count: n, mean, std, min, max };
}
