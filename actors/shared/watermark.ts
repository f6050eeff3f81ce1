/**
 * Event-time watermarks: how far event time has certainly progressed, for windows, complex
 * event patterns and sessions. Pure functions over plain data.
 *
 * With `lag` the allowed out-of-orderness, `M` the largest event time seen and `A` the
 * processing time at which `M` was seen:
 *
 * - while events flow, the watermark is `W = M − lag` (bounded out-of-orderness);
 * - when no newer event arrives for `lag` of processing time, the watermark advances with
 *   processing time: `W = M + (now − A − lag)` for `now ≥ A + lag` — so after `lag` of
 *   silence everything seen is final, and an idle source never holds a result back;
 * - the watermark never goes back.
 *
 * An event is **late** when its time is below the watermark (`ts < W`); an event exactly
 * `lag` older than the newest is on time. Results over `[start, end)` are complete once
 * `W ≥ end`. In processing terms: an event is on time when it arrives at most `lag` later,
 * relative to the newest event, than its event time says.
 *
 * @module
 */

/** A watermark's state. */
export interface Watermark {
  /** The largest event time seen (epoch ms), or `null` before the first event. */
  max: number | null;
  /** The processing time at which `max` was seen. */
  maxSeenAt: number;
  /** The watermark as last computed (it never goes back), or `null` before the first event. */
  value: number | null;
}

/** A watermark that has seen nothing. */
export function emptyWatermark(): Watermark {
  return { max: null, maxSeenAt: 0, value: null };
}

/** The watermark at processing time `now`, or `null` before the first event. */
export function watermarkAt(wm: Watermark, now: number, lag: number): number | null {
  if (wm.max === null) return wm.value;
  let w = wm.max - lag;
  if (now >= wm.maxSeenAt + lag) w = Math.max(w, wm.max + (now - wm.maxSeenAt - lag));
  return wm.value === null ? w : Math.max(w, wm.value);
}

/** Moves the watermark to processing time `now` and returns it. */
export function advance(wm: Watermark, now: number, lag: number): number | null {
  wm.value = watermarkAt(wm, now, lag);
  return wm.value;
}

/** Is an event at `ts` late at processing time `now`? */
export function isLate(wm: Watermark, ts: number, now: number, lag: number): boolean {
  const w = watermarkAt(wm, now, lag);
  return w !== null && ts < w;
}

/**
 * Records an on-time event (call {@link isLate} first) and moves the watermark to `now`.
 * Returns the new watermark.
 */
export function observe(wm: Watermark, ts: number, now: number, lag: number): number {
  // The watermark reached so far stays: take it before moving the maximum.
  wm.value = watermarkAt(wm, now, lag);
  if (wm.max === null || ts > wm.max) {
    wm.max = ts;
    wm.maxSeenAt = now;
  }
  return advance(wm, now, lag)!;
}

/**
 * The processing time at which the watermark reaches `eventTime` if no newer event arrives
 * (at or before `now` when it already has), or `null` when it never will (nothing seen yet).
 */
export function reachesAt(
  wm: Watermark,
  eventTime: number,
  now: number,
  lag: number,
): number | null {
  const w = watermarkAt(wm, now, lag);
  if (w !== null && w >= eventTime) return now;
  if (wm.max === null) return null;
  return Math.max(now, wm.maxSeenAt + lag + Math.max(0, eventTime - wm.max));
}
