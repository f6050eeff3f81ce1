/**
 * The cap on live actors (`maxActiveActors`): when more actors are in memory than the cap, the
 * least recently used *idle* ones are passivated first — through the normal passivation path
 * (passivation.ts), so their state is durable before they go and their reminders, kept in the
 * store, wake them again. A node with more actors than memory degrades to activation churn
 * instead of running out of memory, and no message is lost: a busy actor (messages queued, a
 * handler running, its state loading, changes not yet durable) is never evicted.
 *
 * The cap is soft: when every actor is busy an activation still proceeds, and the node is over
 * the cap until commits settle ({@link ActorCap.enforce} runs again then).
 *
 * Recency is an intrusive doubly linked list through the activations (two fields each): the
 * dispatcher moves an actor to the tail each time it runs it (O(1), no allocation), so the
 * head is the least recently used. Evictions look at a bounded number of entries per call; a
 * busy actor met on the way moves to the tail (it is in use), so the next call looks further.
 *
 * @module
 */
import type { Activation } from "./activation.ts";
import { STOPPED } from "./activation.ts";
import type { Counter } from "./metrics.ts";
import { isPassivatable } from "./passivation.ts";

/** Most actors one {@link ActorCap.enforce} call evicts. */
const EVICT_PER_CALL = 64;
/** Most entries one {@link ActorCap.enforce} call looks at. */
const LOOK_PER_CALL = 256;

/** What {@link ActorCap} runs on. */
export interface ActorCapOptions {
  /** Most actors in memory (all types together) before idle ones are evicted; ≥ 1. */
  readonly max: number;
  /** Passivates `a` (which calls {@link ActorCap.removed} as every drop does). */
  passivate(a: Activation): void;
  /** Evictions, by actor type. */
  readonly evictions: Counter;
}

/** Keeps the activations in recency order and evicts the least recently used idle ones. */
export class ActorCap {
  /** Most actors in memory before idle ones are evicted. */
  readonly max: number;
  readonly #o: ActorCapOptions;
  #head: Activation | null = null;
  #tail: Activation | null = null;
  #size = 0;
  #evicting = false;

  constructor(options: ActorCapOptions) {
    this.#o = options;
    this.max = options.max;
  }

  /** Actors in memory now. */
  get size(): number {
    return this.#size;
  }

  /** A new activation: the most recently used; over the cap, idle ones make room. */
  added(a: Activation): void {
    this.#append(a);
    this.#size++;
    if (this.#size > this.max) this.enforce();
  }

  /** `a` was used (the dispatcher runs it): it becomes the most recently used. */
  touch(a: Activation): void {
    if (a === this.#tail || (a.flags & STOPPED) !== 0) return;
    this.#unlink(a);
    this.#append(a);
  }

  /** `a` left memory (passivated, evicted, released). */
  removed(a: Activation): void {
    if (a.lruPrev === null && this.#head !== a) return; // not tracked
    this.#unlink(a);
    this.#size--;
  }

  /**
   * Evicts least recently used idle actors until the node is within the cap, looking at a
   * bounded number of them; busy ones met on the way become the most recently used.
   */
  enforce(): void {
    if (this.#size <= this.max || this.#evicting) return;
    this.#evicting = true; // onPassivate may send, and so activate: no nested eviction
    try {
      let excess = Math.min(this.#size - this.max, EVICT_PER_CALL);
      let look = Math.min(this.#size, LOOK_PER_CALL);
      while (excess > 0 && look-- > 0 && this.#head !== null) {
        const a = this.#head;
        if (isPassivatable(a)) {
          this.#o.passivate(a);
          this.#o.evictions.labels(a.t.name).inc();
          excess--;
        } else {
          this.touch(a);
        }
      }
    } finally {
      this.#evicting = false;
    }
  }

  #append(a: Activation): void {
    a.lruPrev = this.#tail;
    a.lruNext = null;
    if (this.#tail === null) this.#head = a;
    else this.#tail.lruNext = a;
    this.#tail = a;
  }

  #unlink(a: Activation): void {
    const prev = a.lruPrev, next = a.lruNext;
    if (prev === null) this.#head = next;
    else prev.lruNext = next;
    if (next === null) this.#tail = prev;
    else next.lruPrev = prev;
    a.lruPrev = null;
    a.lruNext = null;
  }
}
