/**
 * Messages that could not be processed are never dropped silently: each is recorded here
 * (the most recent ones, in a bounded ring), counted in `flotilla_dead_letters_total` and
 * published as a `system` event.
 *
 * @module
 */

/** Why a message became a dead letter. */
export type DeadLetterReason =
  | "crashed" // its handler threw an unexpected error
  | "rejected" // its handler refused it (a client error) and no one was waiting for the answer
  | "unknown_message" // the actor type has no handler of that kind
  | "undeliverable"; // it could not reach its actor (mailbox full for a timer, say)

/** One message that could not be processed. */
export interface DeadLetter {
  /** `type/id` of the target actor. */
  readonly actor: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly reason: DeadLetterReason;
  /** The error, as text. */
  readonly error: string;
  /** When (epoch ms). */
  readonly time: number;
}

/** A bounded record of recent dead letters. */
export class DeadLetters {
  #ring: DeadLetter[] = [];
  #capacity: number;
  #total = 0;

  /** @param capacity how many recent dead letters to keep. @default 1000 */
  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  /** Every dead letter since the system started. */
  get total(): number {
    return this.#total;
  }

  add(letter: DeadLetter): void {
    this.#total++;
    this.#ring.push(letter);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
  }

  /** The most recent dead letters, oldest first. */
  recent(limit = this.#capacity): DeadLetter[] {
    return this.#ring.slice(-limit);
  }
}
