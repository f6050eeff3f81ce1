/**
 * Errors raised by the Flotilla runtime.
 *
 * Every error carries a stable machine-readable `code` (used as the problem type in HTTP
 * responses) and an HTTP `status` that a route should answer with. `cause` is kept so the
 * original failure is never hidden from logs, but the `message` is safe to show a client.
 *
 * @module
 */

/** One issue found while validating input: where (a JSON path) and what was wrong. */
export interface FieldIssue {
  /** Dotted path into the input, `""` for the input as a whole. */
  readonly path: string;
  /** What was wrong at that path, in words a client can act on. */
  readonly message: string;
}

/**
 * The base of every error the runtime raises on purpose.
 *
 * @example
 * ```ts
 * try {
 *   await ref.ask("get", {});
 * } catch (e) {
 *   if (e instanceof FlotillaError) console.log(e.code, e.status);
 * }
 * ```
 */
export class FlotillaError extends Error {
  /** Stable identifier of the failure, e.g. `"mailbox_full"`. */
  readonly code: string;
  /** The HTTP status that describes this failure to a client. */
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FlotillaError";
    this.code = code;
    this.status = status;
  }
}

/** An `ask` got no reply before its deadline. The message may still be processed later. */
export class TimeoutError extends FlotillaError {
  constructor(message: string, options?: ErrorOptions) {
    super("timeout", 504, message, options);
    this.name = "TimeoutError";
  }
}

/** A mailbox was at its bound and its overflow policy is `"reject"` (or too many senders wait). */
export class MailboxFullError extends FlotillaError {
  constructor(message: string, options?: ErrorOptions) {
    super("mailbox_full", 503, message, options);
    this.name = "MailboxFullError";
  }
}

/** The handler of a message threw; the message was dead-lettered and the actor restarted. */
export class ActorCrashedError extends FlotillaError {
  constructor(message: string, options?: ErrorOptions) {
    super("actor_crashed", 500, message, options);
    this.name = "ActorCrashedError";
  }
}

/** A compare-and-set write found another version than the one it expected. */
export class ConflictError extends FlotillaError {
  /** The version the writer expected. */
  readonly expectedVersion: number;
  /** The version the store holds. */
  readonly actualVersion: number;

  constructor(key: string, expectedVersion: number, actualVersion: number) {
    super(
      "version_conflict",
      409,
      `write to ${JSON.stringify(key)} expected version ${expectedVersion} but the store holds ` +
        `version ${actualVersion}: another writer won; reload and retry`,
    );
    this.name = "ConflictError";
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A store could not be reached or refused a write for a reason other than a conflict. */
export class StoreError extends FlotillaError {
  constructor(message: string, options?: ErrorOptions) {
    super("store_unavailable", 503, message, options);
    this.name = "StoreError";
  }
}

/**
 * A write was refused because its partition's fence is held by a newer owner: this node lost
 * the partition (a lease that expired while it was paused, say). The write did not happen; the
 * new owner redelivers what this one had not made durable. Never retried.
 */
export class FencedError extends StoreError {
  /** The token the write carried, and the one the store holds. */
  readonly token: number;
  readonly heldToken: number;

  /** `heldToken` -1: refused here, the partition is not held (its lease was lost). */
  constructor(fenceKey: string, token: number, heldToken: number) {
    super(
      heldToken < 0
        ? `write refused: this node no longer holds the partition of fence ${
          JSON.stringify(fenceKey)
        } (its lease was lost)`
        : `write refused by fence ${JSON.stringify(fenceKey)}: it carries token ${token}, the ` +
          `store holds ${heldToken} (a newer owner took the partition over)`,
    );
    this.name = "FencedError";
    this.token = token;
    this.heldToken = heldToken;
  }
}

/**
 * The store holds less than it acknowledged: a partition's fence record shows older positions
 * than the owner saw stored (a Redis that lost the tail of its log in a crash, a restore from
 * an old backup). Data loss, not another writer: the write was refused, and the owner repairs
 * the partition from the stream.
 */
export class StoreRegressedError extends StoreError {
  /** What the record holds, per source, and what the owner knew was stored. */
  readonly held: Readonly<Record<string, number>>;
  readonly known: Readonly<Record<string, number>>;

  constructor(
    fenceKey: string,
    held: Readonly<Record<string, number>>,
    known: Readonly<Record<string, number>>,
  ) {
    super(
      `the store went back in time at ${JSON.stringify(fenceKey)}: it holds positions ` +
        `${JSON.stringify(held)}, but ${JSON.stringify(known)} were stored before (data loss)`,
    );
    this.name = "StoreRegressedError";
    this.held = held;
    this.known = known;
  }
}

/** A message named a handler its actor type does not have. */
export class UnknownMessageError extends FlotillaError {
  constructor(type: string, kind: string) {
    super(
      "unknown_message",
      400,
      `actor type ${JSON.stringify(type)} has no handler for message ${JSON.stringify(kind)}`,
    );
    this.name = "UnknownMessageError";
  }
}

/** A reference named an actor type that was never registered with the system. */
export class UnknownActorTypeError extends FlotillaError {
  constructor(type: string) {
    super(
      "unknown_actor_type",
      404,
      `no actor type ${JSON.stringify(type)} is registered; call system.register() first`,
    );
    this.name = "UnknownActorTypeError";
  }
}

/** The system is shutting down and accepts no new messages. */
export class ShutdownError extends FlotillaError {
  constructor(message = "the actor system is shutting down and accepts no new messages") {
    super("shutting_down", 503, message);
    this.name = "ShutdownError";
  }
}

/** Input failed validation; `issues` lists every problem found, not only the first. */
export class ValidationError extends FlotillaError {
  /** Every problem found in the input. */
  readonly issues: readonly FieldIssue[];

  constructor(message: string, issues: readonly FieldIssue[] = []) {
    super("invalid_input", 400, message);
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** A resource does not exist. */
export class NotFoundError extends FlotillaError {
  constructor(message: string) {
    super("not_found", 404, message);
    this.name = "NotFoundError";
  }
}

/** Configuration (environment or options) is invalid; the message names the setting. */
export class ConfigError extends FlotillaError {
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_config", 500, message, options);
    this.name = "ConfigError";
  }
}

/** Describes any thrown value as text for logs and dead letters. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
