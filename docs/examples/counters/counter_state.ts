/**
 * A counter's state and the rule that changes it, as pure functions: no actor, no clock, no
 * store — what the unit tests of an area exercise directly.
 *
 * @module
 */
import { CounterFullError } from "./errors.ts";

/** What a counter keeps. */
export interface CounterState {
  count: number;
  /** When it last changed (epoch ms); `null` before the first addition. */
  changedAt: number | null;
}

/** A counter that has never been added to. */
export function emptyCounter(): CounterState {
  return { count: 0, changedAt: null };
}

/**
 * Adds `n` to the counter at time `now`.
 * @throws {CounterFullError} when the count would pass `max`; the state is left unchanged
 */
export function addTo(state: CounterState, n: number, max: number, now: number): void {
  if (state.count + n > max) throw new CounterFullError(max, state.count);
  state.count += n;
  state.changedAt = now;
}
