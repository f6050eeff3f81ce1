/**
 * Injectable time. Everything in the runtime that waits (passivation, timers, reminders,
 * restart backoff, ask deadlines) goes through a {@link Clock}, so tests drive time with a
 * {@link ManualClock} instead of sleeping.
 *
 * @module
 */

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = number | ReturnType<typeof setTimeout>;

/** A source of the current time and of one-shot timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Calls `fn` once, no earlier than `ms` milliseconds from now. Timers that fall due at the
   * same instant fire in the order they were set.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; cancelling a fired or unknown timer does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Wall-clock time and real timers. Timers do not keep the process alive on their own
 * (`Deno.unrefTimer`): a running server is kept alive by its listener, and a finished
 * script is not held open by a passivation sweep.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = setTimeout(fn, Math.max(0, ms));
    // Deno's timers are numbers; the type says otherwise once Node's types are loaded.
    Deno.unrefTimer(id as unknown as number);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as number);
  }
}

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. {@link ManualClock.advance} fires every timer that
 * falls due, in due order, with `now()` set to each timer's due time while it runs.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * let fired = 0;
 * clock.setTimeout(() => fired++, 1000);
 * clock.advance(999); // fired === 0
 * clock.advance(1);   // fired === 1
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];

  /** @param start the initial time in epoch milliseconds. @default 0 */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { id: this.#nextId++, due: this.#now + Math.max(0, ms), fn };
    // Keep the list sorted by (due, id): insertion after every timer due no later.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.due > timer.due) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers that have not fired yet. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Due time of the earliest pending timer, or `undefined`. */
  get nextDue(): number | undefined {
    return this.#timers[0]?.due;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order (including timers that those
   * timers set, if they fall due within the window).
   */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `time` (epoch ms), firing due timers in order. */
  advanceTo(time: number): void {
    if (time < this.#now) {
      throw new RangeError(`cannot move a clock backwards (${time} < ${this.#now})`);
    }
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.due > time) break;
      this.#timers.shift();
      this.#now = next.due;
      next.fn();
    }
    this.#now = time;
  }

  /** Sets the time without firing anything, as a process would see it after downtime. */
  jumpTo(time: number): void {
    this.#now = time;
  }
}
