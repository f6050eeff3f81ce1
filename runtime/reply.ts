/**
 * The pending answer to an `ask`: settles once, with the reply, the handler's error, or a
 * `TimeoutError` at the deadline — whichever comes first.
 *
 * @module
 */
import type { DeadlineQueue, Deadlines, Expiring } from "./deadlines.ts";
import { TimeoutError } from "./errors.ts";

/** A reply slot carried in a mailbox next to its message. */
export class PendingReply implements Expiring {
  readonly promise: Promise<unknown>;
  settled = false;
  /**
   * For a message from a durable transport: its source (a stream, say) and position there.
   * An actor that has already applied that position of that source acknowledges the message
   * without applying it again.
   */
  source: string | null = null;
  seq = 0;
  #resolve: (value: unknown) => void;
  #reject: (error: unknown) => void;
  #deadline: DeadlineQueue | null = null;
  #slot = 0;
  #timeoutMs: number;
  #what: () => string;

  /**
   * @param deadlines where the deadline is kept (no timer of its own: see deadlines.ts)
   * @param timeoutMs `Infinity` for none
   * @param what names the actor, for the timeout's message
   */
  constructor(deadlines: Deadlines, timeoutMs: number, what: () => string) {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timeoutMs = timeoutMs;
    this.#what = what;
    if (Number.isFinite(timeoutMs)) {
      const queue = deadlines.queue(timeoutMs);
      this.#slot = queue.add(this, deadlines.clock.now() + timeoutMs);
      this.#deadline = queue;
    }
  }

  /** The deadline passed. */
  expire(): void {
    this.#deadline = null;
    this.reject(new TimeoutError(`no reply from ${this.#what()} within ${this.#timeoutMs} ms`));
  }

  resolve(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop();
    this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#stop();
    this.#reject(error);
  }

  #stop(): void {
    if (this.#deadline !== null) this.#deadline.cancel(this.#slot);
    this.#deadline = null;
  }
}
