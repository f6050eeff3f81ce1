/**
 * The applied-command log: what each command of a persisted actor left behind until its state
 * change is durable — the message, its reply slot, its result, its sequence number and the
 * effects it held back. The committer releases an entry's reply and effects once the write that
 * holds its state lands; a restart takes the entries back to apply them again.
 *
 * A log is one flat array, {@link LOG_STRIDE} slots per command in the order the commands were
 * applied: appending an entry allocates nothing beyond the array's own growth, which matters on
 * the dispatch path. The accessors below are the only place that knows the slots' order and
 * types; an entry is addressed by its offset `at` (0, LOG_STRIDE, 2·LOG_STRIDE, …).
 *
 * @example
 * ```ts
 * for (let at = 0; at < log.length; at += LOG_STRIDE) logReply(log, at)?.resolve(logResult(log, at));
 * ```
 *
 * @module
 */
import type { Address } from "./actor.ts";
import type { ReminderRecord } from "./reminders.ts";
import type { PendingReply } from "./reply.ts";
import type { JsonValue } from "./store.ts";

/** An effect deferred until the state change that caused it is durable. */
export type Effect =
  | {
    readonly kind: "emit";
    readonly topic: string;
    readonly data: JsonValue;
    readonly key: string | null;
  }
  | {
    readonly kind: "tell";
    readonly to: Address;
    readonly message: string;
    readonly payload: unknown;
  }
  | {
    readonly kind: "reminder";
    readonly name: string;
    /** The reminder's store key. */
    readonly key: string;
    readonly record: ReminderRecord | null;
  };

/** An applied-command log: {@link LOG_STRIDE} slots per command (read it with the accessors). */
export type CommandLog = unknown[];

/** Slots per command in a {@link CommandLog}. */
export const LOG_STRIDE = 6;

const KIND = 0, PAYLOAD = 1, REPLY = 2, RESULT = 3, SEQ = 4, EFFECTS = 5;

/** Appends the entry of one applied command. */
export function logCommand(
  log: CommandLog,
  kind: string,
  payload: unknown,
  reply: PendingReply | null,
  result: unknown,
  seq: number,
  effects: Effect[] | null,
): void {
  log.push(kind, payload, reply, result, seq, effects);
}

/** The message kind of the entry at `at`. */
export function logKind(log: CommandLog, at: number): string {
  return log[at + KIND] as string;
}

/** The message payload of the entry at `at`. */
export function logPayload(log: CommandLog, at: number): unknown {
  return log[at + PAYLOAD];
}

/** Who waits for the entry's reply (`null`: a `tell`). */
export function logReply(log: CommandLog, at: number): PendingReply | null {
  return log[at + REPLY] as PendingReply | null;
}

/** What the command's handler returned. */
export function logResult(log: CommandLog, at: number): unknown {
  return log[at + RESULT];
}

/** The command's sequence number (the actor's `seq` once it was applied). */
export function logSeq(log: CommandLog, at: number): number {
  return log[at + SEQ] as number;
}

/** The effects the command held back, in the order it made them (`null`: none). */
export function logEffects(log: CommandLog, at: number): Effect[] | null {
  return log[at + EFFECTS] as Effect[] | null;
}
