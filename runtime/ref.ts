/**
 * Actor references: how callers address an actor (`type/id`) and send it messages. A
 * reference is cheap and may be kept; it caches the activation it last reached and resolves
 * a new one transparently after passivation.
 *
 * @module
 */
import type { Activation, ActorType } from "./activation.ts";
import type { Duration } from "./duration.ts";

/** The message a handler takes. */
export type MessageOf<F> = F extends (ctx: never, msg: infer M) => unknown ? M : never;

/** What a handler's reply resolves to. */
export type ReplyOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** The message argument: optional for handlers that take none (or an optional one). */
export type MessageArg<F> = F extends (ctx: never) => unknown ? [msg?: MessageOf<F>]
  : [msg: MessageOf<F>];

/** The handlers of an actor whose type is not known statically: any kind, any message. */
// deno-lint-ignore no-explicit-any
export type AnyMessages = Record<string, (ctx: never, msg?: any) => unknown>;

/** Options of an `ask`. */
export interface AskOptions {
  /** Deadline; the actor type's `askTimeout` when absent. */
  readonly timeout?: Duration;
}

/** What a reference needs from the system. */
export interface RefHost {
  tellRef(ref: ActorRef, kind: string, payload: unknown): void | Promise<void>;
  askRef(ref: ActorRef, kind: string, payload: unknown, options?: AskOptions): Promise<unknown>;
}

/**
 * A reference to the actor `type/id`, typed by its handlers and queries `M`.
 *
 * @example
 * ```ts
 * const ref = system.ref(counter, "a");
 * ref.tell("add", 2);
 * const n = await ref.ask("get"); // 2
 * ```
 */
export class ActorRef<M extends AnyMessages = AnyMessages> {
  readonly type: string;
  readonly id: string;
  /** @internal */
  readonly t: ActorType;
  /** @internal the activation last reached; re-resolved once stopped. */
  act: Activation | null = null;
  #host: RefHost;

  /** @internal use `system.ref()`. */
  constructor(host: RefHost, t: ActorType, id: string) {
    this.#host = host;
    this.t = t;
    this.type = t.name;
    this.id = id;
  }

  /** `type/id`. */
  get path(): string {
    return `${this.type}/${this.id}`;
  }

  /**
   * Sends a message without waiting for it to be processed. Messages from one sender to one
   * actor are processed in the order sent.
   *
   * @returns nothing when the message was queued; a promise when the mailbox is full and its
   * policy is backpressure — await it before sending more (it resolves once queued).
   * @throws {MailboxFullError} when the mailbox is full and its policy is `"reject"`.
   */
  tell<K extends keyof M & string>(kind: K, ...msg: MessageArg<M[K]>): void | Promise<void>;
  // One implementation without a rest parameter: no array allocated per message.
  tell(kind: string, msg?: unknown): void | Promise<void> {
    return this.#host.tellRef(this as ActorRef, kind, msg);
  }

  /**
   * Sends a message and waits for the handler's reply. For a command of a persisted actor the
   * reply comes once the state change it caused is durable.
   *
   * @throws {TimeoutError} past the deadline (the message may still be processed later).
   * @throws {ActorCrashedError} when the handler crashed on this message.
   */
  ask<K extends keyof M & string>(
    kind: K,
    ...args: [...MessageArg<M[K]>, options?: AskOptions]
  ): Promise<ReplyOf<M[K]>> {
    // An ask allocates its reply anyway; the rest array is noise next to it.
    return this.#host.askRef(
      this as ActorRef,
      kind,
      args[0],
      args[1] as AskOptions | undefined,
    ) as Promise<
      ReplyOf<M[K]>
    >;
  }
}
