/**
 * Passivation: idle actors leave memory. A sweep on the clock drops every actor idle for its
 * type's `passivateAfter` with nothing queued, running, unflushed or waiting to be replayed (and
 * never an actor pinned in a named supervision tree); its state is safe in the store, and the
 * next message activates it again from there.
 *
 * @module
 */
import {
  type Activation,
  type ActorType,
  COMMITTING,
  DIRTY,
  IN_COMMIT_QUEUE,
  LOADING,
  PINNED,
  SCHEDULED,
  STOPPED,
  UNRUNNABLE,
} from "./activation.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { describeError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** An actor with any of these is not idle: it has (or may soon have) work. */
const NOT_PASSIVATABLE = UNRUNNABLE | SCHEDULED | DIRTY | IN_COMMIT_QUEUE | COMMITTING | PINNED;

/**
 * Whether `a` may leave memory now: nothing queued, running, loading, unflushed, in flight or
 * waiting to be replayed, and not pinned in a named supervision tree.
 */
export function isPassivatable(a: Activation): boolean {
  return (a.flags & NOT_PASSIVATABLE) === 0 && (a.mailbox === null || a.mailbox.size === 0) &&
    !a.ext?.replay;
}

/** What dropping an actor needs from the rest of the system. */
export interface PassivationHost {
  /** Stops the actor's timers. */
  cancelTimers(a: Activation): void;
  /** The actor leaves memory (maybe with a write in flight: see loader.ts). */
  dropped(a: Activation): void;
}

/** What {@link Passivation} runs on. */
export interface PassivationOptions {
  /** The registered types by name (the system's own map). */
  readonly types: ReadonlyMap<string, ActorType>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often to sweep, ms; `null`: half the shortest passivation time, 1 s … 60 s. */
  readonly sweepIntervalMs: number | null;
  readonly host: PassivationHost;
}

/** Sweeps for idle actors and drops them from memory. */
export class Passivation {
  readonly #o: PassivationOptions;
  #sweepTimer: TimerHandle | null = null;

  constructor(options: PassivationOptions) {
    this.#o = options;
  }

  /** Starts sweeping (the interval is fixed by the types registered by now). */
  start(): void {
    this.#arm();
  }

  /** Stops sweeping. */
  stop(): void {
    if (this.#sweepTimer !== null) this.#o.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = null;
  }

  #arm(): void {
    let interval = this.#o.sweepIntervalMs;
    if (interval === null) {
      let shortest = Infinity;
      for (const t of this.#o.types.values()) shortest = Math.min(shortest, t.passivateAfterMs);
      interval = Math.min(60_000, Math.max(1000, shortest / 2));
    }
    this.#sweepTimer = this.#o.clock.setTimeout(() => {
      this.#sweep();
      this.#arm();
    }, interval);
  }

  /** Passivates every actor idle for longer than its type's passivation time. */
  #sweep(): void {
    const now = this.#o.clock.now();
    for (const t of this.#o.types.values()) {
      if (t.passivateAfterMs === Infinity) continue;
      for (const a of t.activations.values()) {
        if (now - a.lastActive >= t.passivateAfterMs && isPassivatable(a)) this.passivate(a);
      }
    }
  }

  /** Drops an activation from memory (its durable state stays in the store). */
  passivate(a: Activation): void {
    // Dropped with a write in flight (a partition given up in a hurry): a new activation of
    // the actor waits for that write.
    this.#o.host.dropped(a);
    const t = a.t;
    if (t.def.onPassivate !== undefined && (a.flags & LOADING) === 0) {
      try {
        t.def.onPassivate(a);
      } catch (error) {
        this.#o.logger.warn("onPassivate threw", {
          actor: a.childName,
          error: describeError(error),
        });
      }
    }
    this.#o.host.cancelTimers(a);
    a.flags |= STOPPED;
    t.activations.delete(a.id);
    t.active.value--;
    t.passivated.value++;
  }
}
