/**
 * Deadlines of pending asks, on as few timers as possible.
 *
 * Every `ask` has a deadline, and nearly every ask is answered long before it. One timer per
 * ask (set, then cleared) costs more than the rest of a fast ask together; here asks with the
 * same timeout share one queue — their deadlines come in the order they were set — and one
 * timer per queue, armed for its earliest live deadline. Answering an ask only blanks its slot
 * (the reply is released at once; a number stays until the queue passes it), so the cost per
 * ask is a few array writes and the timers fire about once per timeout period, not per ask.
 * A queue whose last entry is answered clears its timer, so nothing stays armed while idle.
 *
 * @module
 */
import type { Clock, TimerHandle } from "./clock.ts";

/** What a queue holds: something that can time out. */
export interface Expiring {
  /** Called once at the deadline, unless {@link Deadlines.cancel} came first. */
  expire(): void;
}

/** The deadlines of one timeout length, in the order they were set. */
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #emptied: () => void;
  #due: number[] = [];
  #items: (Expiring | null)[] = [];
  /** Position of `#due[0]` among every entry this queue ever held. */
  #base = 0;
  #head = 0;
  #timer: TimerHandle | null = null;
  #live = 0;

  constructor(clock: Clock, emptied: () => void) {
    this.#clock = clock;
    this.#emptied = emptied;
  }

  get live(): number {
    return this.#live;
  }

  /** Adds `item`, due at `due` (no earlier than the queue's last); returns its position. */
  add(item: Expiring, due: number): number {
    const seq = this.#base + this.#items.length;
    this.#due.push(due);
    this.#items.push(item);
    this.#live++;
    if (this.#timer === null) this.#arm(due);
    return seq;
  }

  /** Cancels the entry at `seq`; one that expired or was cancelled is left alone. */
  cancel(seq: number): void {
    const i = seq - this.#base;
    if (i < this.#head || i >= this.#items.length || this.#items[i] === null) return;
    this.#items[i] = null;
    if (--this.#live === 0) {
      // Nothing left to time: no timer stays armed (it would keep a process alive).
      if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
      this.#reset();
      this.#emptied();
    }
  }

  #reset(): void {
    this.#base += this.#items.length;
    this.#due = [];
    this.#items = [];
    this.#head = 0;
  }

  /** Clears the timer and expires what is left at once (the clock's owner is stopping). */
  close(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    const left: Expiring[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item !== null && item !== undefined) left.push(item);
    }
    this.#reset();
    this.#live = 0;
    for (const item of left) item.expire();
  }

  #arm(due: number): void {
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, due - this.#clock.now()));
  }

  #fire = (): void => {
    this.#timer = null;
    const now = this.#clock.now();
    const items = this.#items;
    const due = this.#due;
    let expired: Expiring[] | null = null;
    let head = this.#head;
    while (head < items.length) {
      const item = items[head] as Expiring | null;
      if (item === null) {
        head++;
        continue;
      }
      if (due[head]! > now) break;
      items[head++] = null;
      this.#live--;
      (expired ??= []).push(item);
    }
    this.#head = head;
    if (head === items.length) {
      this.#reset();
      this.#emptied();
    } else {
      if (head > 1024 && head * 2 > items.length) {
        this.#due = due.slice(head);
        this.#items = items.slice(head);
        this.#base += head;
        this.#head = 0;
      }
      this.#arm(this.#due[this.#head]!);
    }
    // Last: an expiry may add to this queue.
    if (expired !== null) { for (const item of expired) item.expire(); }
  };
}

/** Deadlines on one clock: a queue and a timer per timeout length. */
export class Deadlines {
  readonly clock: Clock;
  #queues = new Map<number, DeadlineQueue>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /**
   * The queue of deadlines `timeoutMs` (whole milliseconds, rounded up) from now. Add to it at
   * once: its entries must come in deadline order.
   */
  queue(timeoutMs: number): DeadlineQueue {
    const ms = Math.ceil(timeoutMs);
    let queue = this.#queues.get(ms);
    if (queue === undefined) {
      // Dropped once empty, so odd timeout lengths do not pile up queues.
      const created = new DeadlineQueue(this.clock, () => {
        if (this.#queues.get(ms) === created && created.live === 0) this.#queues.delete(ms);
      });
      queue = created;
      this.#queues.set(ms, queue);
    }
    return queue;
  }

  /** Stops every timer; deadlines still pending expire now. */
  close(): void {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    for (const q of queues) q.close();
  }

  /** Deadlines set and neither expired nor cancelled. */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.live;
    return n;
  }
}
