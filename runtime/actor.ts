/**
 * Actor definitions: one object per actor type, naming its initial state, its message
 * handlers and its options. The runtime activates an actor of the type on its first message.
 *
 * @module
 */
import type { Duration } from "./duration.ts";
import { ConfigError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Schedule } from "./schedule.ts";
import type { JsonValue } from "./store.ts";
import type { SupervisionPolicy } from "./supervisor.ts";

/**
 * How an actor's state is kept:
 * - `"snapshot"`: the whole state is written (group-committed) after the messages that changed it;
 * - `"journal"`: handlers record events with `ctx.persist`, the definition's `apply` folds them
 *   into state, events are appended to a journal and the state is rebuilt by replay from the
 *   last snapshot (event sourcing);
 * - `"none"`: state lives in memory only and starts from `initialState` on every activation.
 */
export type Persistence = "snapshot" | "journal" | "none";

/** What a sender meets at a full mailbox: an awaited send, or a `MailboxFullError`. */
export type Overflow = "backpressure" | "reject";

/** Bounds of an actor's mailbox. */
export interface MailboxOptions {
  /** Most messages queued at once. @default 1000 */
  readonly capacity?: number;
  /** @default "backpressure" */
  readonly overflow?: Overflow;
}

/** Options of an actor type. */
export interface ActorOptions {
  /** @default "snapshot" */
  readonly persistence?: Persistence;
  /** Idle time after which the actor is passivated (state flushed, memory freed); `null`: never. @default "PT10M" */
  readonly passivateAfter?: Duration | null;
  readonly mailbox?: MailboxOptions;
  /** How the actor's supervisor treats its crashes. Defaults: see `DEFAULT_POLICY`. */
  readonly supervision?: Partial<SupervisionPolicy>;
  /** For journaled actors: write a snapshot every this many events. @default 100 */
  readonly snapshotEvery?: number;
  /**
   * Journaled actors: delete the journal's events once a snapshot covers them, so storage stays
   * proportional to the events since the last snapshot (projections start from the snapshot,
   * see `ProjectionDefinition.seed`). `false` keeps every event: an audit trail, growing
   * without bound. @default true
   */
  readonly compact?: boolean;
  /** Deadline of `ask` when the caller gives none. @default "PT5S" */
  readonly askTimeout?: Duration;
}

/** A target for `ctx.tell`: an actor reference or a `{type, id}` pair. */
export interface Address {
  readonly type: string;
  readonly id: string;
}

/** When an in-memory timer fires: once `after` a delay, or `every` period. */
export type TimerSchedule = { readonly after: Duration } | { readonly every: Duration };

/** What a reminder delivers to its actor when it fires. */
export interface ReminderTick {
  readonly name: string;
  readonly data: JsonValue;
  /** When this firing was due (epoch ms). */
  readonly due: number;
  /** Firings that fell due while nothing ran (downtime), coalesced into this one. */
  readonly missed: number;
}

/**
 * The context a handler receives. `state` may be mutated in place or replaced.
 *
 * Guarantees: handlers of one actor run one at a time, in message arrival order. For
 * persisted actors, everything a command handler does besides changing state — replies,
 * `emit`, `tell`, `setReminder` — takes effect only once the state change is durable; if the
 * handler throws, none of it happens and the state is restored from the store. A query (and
 * `onActivate`) changes nothing durable, so its effects take effect at once.
 */
export interface ActorContext<S, E = never> {
  /** The actor type's name. */
  readonly type: string;
  /** The actor's id within its type. */
  readonly id: string;
  /** The actor's state; mutate it or assign a new value. */
  state: S;
  /** Durable version: snapshot version, or event count for journaled actors. 0 when new. */
  readonly version: number;
  /** The system clock's time (epoch ms). */
  now(): number;
  /** Publishes an event on the system's event bus (SSE, NATS events stream). */
  emit(topic: string, data: JsonValue, key?: string): void;
  /** Journaled actors: records an event; `apply` folds it into `state` at once. */
  persist(event: E): void;
  /** Sends a message to another actor (fire-and-forget). */
  tell(target: Address, kind: string, payload?: unknown): void;
  /** Starts (or replaces) an in-memory timer that sends `kind` to this actor; gone on passivation. */
  setTimer(name: string, schedule: TimerSchedule, kind: string, payload?: unknown): void;
  /** Stops an in-memory timer. */
  cancelTimer(name: string): void;
  /**
   * Sets (or replaces) a durable reminder. It survives passivation and restarts of the process,
   * re-activates the actor when due, and coalesces firings missed during downtime into one
   * {@link ReminderTick} carrying the missed count. Delivered as message `kind` (default `"reminder"`).
   */
  setReminder(
    name: string,
    schedule: Schedule,
    options?: { readonly kind?: string; readonly data?: JsonValue },
  ): void;
  /** Removes a durable reminder. */
  cancelReminder(name: string): void;
  /** A logger whose lines name this actor. */
  readonly log: Logger;
}

/** A message handler: gets the context and the message, returns the reply (or a promise of it). */
// deno-lint-ignore no-explicit-any
export type Handler<S, E = never> = (ctx: ActorContext<S, E>, msg: any) => unknown;

/** Handlers by message kind. */
export type Handlers<S, E = never> = Record<string, Handler<S, E>>;

/** The definition of an actor type. Create it with {@link defineActor}. */
export interface ActorDefinition<
  S,
  H extends Handlers<S, E> = Handlers<S, never>,
  Q extends Handlers<S, E> = Handlers<S, never>,
  E = never,
> {
  /** Unique type name; with an id it addresses an actor: `type/id`. */
  readonly name: string;
  /** The state of an actor that has never been persisted. */
  readonly initialState: (id: string) => S;
  /** Commands: may change state, which is persisted before their reply and effects go out. */
  readonly handlers: H;
  /** Queries: read state and reply at once; changes they make are not persisted. */
  readonly queries?: Q;
  /**
   * Journaled actors: folds one event of actor `id` into the state (mutate it, or return the
   * new state). Runs when a command persists the event, and again when an activation replays
   * the journal: it must decide the same way both times (no clock, no randomness).
   */
  apply?(state: S, event: E, id: string): S | void;
  /** Runs after the state is loaded, on activation and after each restart (set timers here). */
  onActivate?(ctx: ActorContext<S, E>): void;
  /** Runs before an idle actor is passivated. */
  onPassivate?(ctx: ActorContext<S, E>): void;
  readonly options?: ActorOptions;
}

/** Any actor definition, whatever its state, messages and events. */
// deno-lint-ignore no-explicit-any
export type AnyActorDefinition = ActorDefinition<any, any, any, any>;

/**
 * Every message an actor definition accepts, commands and queries alike. (A definition without
 * queries infers them as the unconstrained record type, which must not widen the result.)
 */
export type MessagesOf<D> = D extends ActorDefinition<infer _S, infer H, infer Q, infer _E>
  ? string extends keyof Q ? H : H & Q
  : never;

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Declares an actor type. Checks the definition and returns it unchanged, typed.
 *
 * @example
 * ```ts
 * const counter = defineActor({
 *   name: "counter",
 *   initialState: () => ({ count: 0 }),
 *   handlers: {
 *     add(ctx, n: number) {
 *       ctx.state.count += n;
 *       return ctx.state.count;
 *     },
 *   },
 *   queries: { get: (ctx) => ctx.state.count },
 * });
 * ```
 */
export function defineActor<
  S,
  H extends Handlers<S, E>,
  Q extends Handlers<S, E>,
  E = never,
>(definition: ActorDefinition<S, H, Q, E>): ActorDefinition<S, H, Q, E> {
  const { name, handlers, queries = {}, options = {} } = definition;
  if (!NAME.test(name)) {
    throw new ConfigError(
      `actor type name ${JSON.stringify(name)} must start with a letter and hold only letters, ` +
        `digits, "_" or "-" (at most 64)`,
    );
  }
  for (const kind of Object.keys(queries)) {
    if (Object.hasOwn(handlers, kind)) {
      throw new ConfigError(
        `actor type ${name}: ${JSON.stringify(kind)} is both a handler and a query`,
      );
    }
  }
  if (options.persistence === "journal" && definition.apply === undefined) {
    throw new ConfigError(
      `actor type ${name} is journaled and needs an apply(state, event) function`,
    );
  }
  const capacity = options.mailbox?.capacity;
  if (capacity !== undefined && (!Number.isInteger(capacity) || capacity < 1)) {
    throw new ConfigError(`actor type ${name}: mailbox capacity must be a positive integer`);
  }
  return definition;
}
