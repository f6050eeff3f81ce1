/**
 * The pending answer to an `ask`: settles once, with the reply, the handler's error, or a
 * `TimeoutError` at the deadline — whichever comes first.
 *
 * @module
 */
import type { Clock, TimerHandle } from "./clock.ts";
import { TimeoutError } from "./errors.ts";

/** A reply slot carried in a mailbox next to its message. */
export class PendingReply {
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
  #timer: TimerHandle | null = null;
  #clock: Clock;

  constructor(clock: Clock, timeoutMs: number, what: () => string) {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#clock = clock;
    if (Number.isFinite(timeoutMs)) {
      this.#timer = clock.setTimeout(() => {
        this.#timer = null;
        this.reject(new TimeoutError(`no reply from ${what()} within ${timeoutMs} ms`));
      }, timeoutMs);
    }
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
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
