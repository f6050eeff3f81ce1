/**
 * A bounded FIFO of messages for one actor: a ring buffer of (kind, payload, reply) triples.
 *
 * Messages are stored flat, three slots each, so enqueueing allocates nothing; the buffer
 * grows by doubling up to the actor's bound. Dequeuing writes the message into the
 * `kind`/`payload`/`reply` fields instead of returning a fresh object.
 *
 * @module
 */

/** Starting room, in messages; most actors never hold more than a few at once. */
const INITIAL_ROOM = 4;

/** A message waiting for room in a full mailbox (backpressure), with the sender's wake-up. */
export interface Waiter<R> {
  readonly kind: string;
  readonly payload: unknown;
  readonly reply: R | null;
  readonly wake: () => void;
}

/** A ring buffer of messages; `R` is the type of a reply handle. */
export class Mailbox<R> {
  /** Kind of the message last taken by {@link Mailbox.shift}. */
  kind = "";
  /** Payload of the message last taken by {@link Mailbox.shift}. */
  payload: unknown = undefined;
  /** Reply handle of the message last taken by {@link Mailbox.shift}, `null` for a tell. */
  reply: R | null = null;
  /** Senders waiting for room, oldest first; `null` when none wait. */
  waiters: Waiter<R>[] | null = null;

  #slots: unknown[] = new Array(INITIAL_ROOM * 3);
  #room = INITIAL_ROOM; // always a power of two, so `& (room - 1)` wraps an index
  #head = 0;
  #size = 0;

  /** Number of queued messages. */
  get size(): number {
    return this.#size;
  }

  /** Appends a message at the tail. The caller enforces the bound. */
  push(kind: string, payload: unknown, reply: R | null): void {
    if (this.#size === this.#room) this.#grow();
    const at = ((this.#head + this.#size) & (this.#room - 1)) * 3;
    const slots = this.#slots;
    slots[at] = kind;
    slots[at + 1] = payload;
    slots[at + 2] = reply;
    this.#size++;
  }

  /**
   * Takes the oldest message into `kind`, `payload` and `reply`.
   * @returns false when the mailbox is empty.
   */
  shift(): boolean {
    if (this.#size === 0) return false;
    const at = this.#head * 3;
    const slots = this.#slots;
    this.kind = slots[at] as string;
    this.payload = slots[at + 1];
    this.reply = slots[at + 2] as R | null;
    // Drop references so a processed payload can be collected.
    slots[at + 1] = undefined;
    slots[at + 2] = undefined;
    this.#head = (this.#head + 1) & (this.#room - 1);
    this.#size--;
    return true;
  }

  /** Forgets the message last taken by {@link Mailbox.shift}. */
  release(): void {
    this.payload = undefined;
    this.reply = null;
  }

  #grow(): void {
    const room = this.#room * 2;
    const slots = new Array(room * 3);
    for (let i = 0; i < this.#size; i++) {
      const from = ((this.#head + i) & (this.#room - 1)) * 3;
      slots[i * 3] = this.#slots[from];
      slots[i * 3 + 1] = this.#slots[from + 1];
      slots[i * 3 + 2] = this.#slots[from + 2];
    }
    this.#slots = slots;
    this.#room = room;
    this.#head = 0;
  }
}
