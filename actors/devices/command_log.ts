/**
 * The commands of one device as a durable state machine — pure functions over plain JSON, which
 * the `device-commands` actor (`device_commands.ts`) keeps and persists.
 *
 * A command is `pending` (stored, not confirmed by the device) → `delivered` (the device said
 * it has it) → `succeeded` | `failed` (the device's result); `expired` when its time to live
 * passes before a final status; `cancelled` when a client cancels it before. The last four are
 * final: a final command never changes again.
 *
 * What goes out is told to a {@link CommandSink}: every change of status (creation included),
 * every (re-)send to the device, every report that changed nothing. Sending is at least once —
 * on creation and on (re)connection while the device is online, then with backoff until the
 * device says it has the command; the device executes a command id at most once, so the two
 * together are exactly once in effect.
 *
 * Bounds: at most `maxOpen` commands not final per device; final ones are kept for `retention`
 * and at most `keepFinal` of them (the oldest go first). A command id given by the client makes
 * the send idempotent for as long as the command is kept.
 *
 * @module
 */
import { type JsonValue, NotFoundError } from "../../runtime/mod.ts";
import { jsonEqual } from "../shared/json.ts";
import { CommandConflictError, CommandFinalError, TooManyCommandsError } from "./errors.ts";

/** Every status of a command, the final ones last. */
export const COMMAND_STATUSES = [
  "pending",
  "delivered",
  "succeeded",
  "failed",
  "expired",
  "cancelled",
] as const;

/** A command's status. */
export type CommandStatus = typeof COMMAND_STATUSES[number];

/** What a device may report about a command. */
export const REPORT_STATUSES = ["delivered", "succeeded", "failed"] as const;

/** A status a device reports. */
export type ReportStatus = typeof REPORT_STATUSES[number];

/** Why a report changed nothing: no such command, a final one, or `delivered` said twice. */
export const IGNORED_REASONS = ["unknown", "final", "duplicate"] as const;

/** Why a report changed nothing. */
export type IgnoredReason = typeof IGNORED_REASONS[number];

/** Longest time to live of a command: 7 days. */
export const MAX_TTL_MS = 7 * 86_400_000;

/** Whether a status is final (never changes again). */
export function isFinal(status: CommandStatus): boolean {
  return status !== "pending" && status !== "delivered";
}

/** Resolved settings of a device's commands (`DevicesConfig.commands`, in milliseconds). */
export interface CommandLimits {
  readonly maxOpen: number;
  readonly keepFinal: number;
  readonly retention: number;
  readonly defaultTtl: number;
  readonly resendInitial: number;
  readonly resendMax: number;
}

/** Parameters of a command: a JSON object. */
export type CommandParams = { readonly [key: string]: JsonValue };

/** One command, as kept (plain JSON). */
export interface CommandRecord {
  readonly id: string;
  readonly name: string;
  readonly params: CommandParams;
  /** Time to live, ms. */
  readonly ttl: number;
  status: CommandStatus;
  readonly createdAt: number;
  readonly expiresAt: number;
  deliveredAt: number | null;
  completedAt: number | null;
  /** The device's result (`succeeded`, `failed`). */
  result?: JsonValue;
  /** The device's error message (`failed`). */
  error?: string;
  /** Times sent to the device. */
  attempts: number;
  /** When to send it again (pending, device online); `null`: not planned. */
  resendAt: number | null;
  /** The wait before {@link resendAt}; the next one is twice as long, up to the maximum. */
  retryIn: number;
}

/** The commands of one device, oldest first, and their delivery bookkeeping. */
export interface CommandLog {
  commands: CommandRecord[];
  /** Whether the device is online: connected, by its hello or its telemetry. */
  online: boolean;
  /** Due time of the expiry reminder as set; `null`: none set. */
  expiryAt: number | null;
  /** Due time of the re-send reminder as set; `null`: none set. */
  resendAt: number | null;
}

/** Where the effects of a change go. */
export interface CommandSink {
  /** A command changed status (its creation, as `pending`, included). */
  changed(record: CommandRecord): void;
  /** A command is to be sent to the device (again); `attempts` counts this send. */
  send(record: CommandRecord): void;
  /** A report changed nothing. */
  ignored(commandId: string, reason: IgnoredReason): void;
}

/** A command to create. */
export interface NewCommand {
  /** Chosen by the client: makes the send idempotent. */
  readonly commandId?: string;
  readonly name: string;
  readonly params?: CommandParams;
  /** Time to live, ms (at most {@link MAX_TTL_MS}); the configured default when absent. */
  readonly ttl?: number;
}

/** A device's report on a command. */
export interface CommandReport {
  readonly commandId: string;
  readonly status: ReportStatus;
  readonly result?: JsonValue;
  readonly error?: string;
}

/** A command as the API shows it. */
export interface CommandView {
  readonly commandId: string;
  readonly name: string;
  readonly params: CommandParams;
  readonly status: CommandStatus;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly deliveredAt?: number;
  readonly completedAt?: number;
  readonly result?: JsonValue;
  readonly error?: string;
  readonly attempts: number;
}

/** The log of a device that never had a command. */
export function emptyLog(): CommandLog {
  return { commands: [], online: false, expiryAt: null, resendAt: null };
}

/** The command with this id, or `undefined`. */
export function findCommand(log: CommandLog, id: string): CommandRecord | undefined {
  return log.commands.find((c) => c.id === id);
}

/** Commands not final. */
export function openCount(log: CommandLog): number {
  let n = 0;
  for (const c of log.commands) if (!isFinal(c.status)) n++;
  return n;
}

/**
 * Creates a command — or, for a `commandId` already kept with the same name, params and time to
 * live, finds it (`created: false`). Sends it at once when the device is online.
 * @param newId makes an id when the client gave none
 * @throws {CommandConflictError} the id is kept with another body
 * @throws {TooManyCommandsError} `maxOpen` commands are not final yet
 */
export function createCommand(
  log: CommandLog,
  device: string,
  input: NewCommand,
  now: number,
  limits: CommandLimits,
  sink: CommandSink,
  newId: () => string,
): { record: CommandRecord; created: boolean } {
  const params = input.params ?? {};
  const ttl = Math.min(input.ttl ?? limits.defaultTtl, MAX_TTL_MS);
  if (input.commandId !== undefined) {
    const kept = findCommand(log, input.commandId);
    if (kept !== undefined) {
      if (kept.name === input.name && kept.ttl === ttl && jsonEqual(kept.params, params)) {
        return { record: kept, created: false };
      }
      throw new CommandConflictError(device, input.commandId);
    }
  }
  if (openCount(log) >= limits.maxOpen) throw new TooManyCommandsError(device, limits.maxOpen);
  let id = input.commandId;
  while (id === undefined || findCommand(log, id) !== undefined) id = newId();
  const record: CommandRecord = {
    id,
    name: input.name,
    params,
    ttl,
    status: "pending",
    createdAt: now,
    expiresAt: now + ttl,
    deliveredAt: null,
    completedAt: null,
    attempts: 0,
    resendAt: null,
    retryIn: limits.resendInitial,
  };
  log.commands.push(record);
  sink.changed(record);
  if (log.online) send(record, now, limits.resendInitial, sink);
  return { record, created: true };
}

/** Sends a command and plans the next send `wait` ms later. */
function send(record: CommandRecord, now: number, wait: number, sink: CommandSink): void {
  record.attempts++;
  record.retryIn = wait;
  record.resendAt = now + wait;
  sink.send(record);
}

/** Moves a command to a new status (a final one completes it). */
function transition(
  record: CommandRecord,
  status: CommandStatus,
  now: number,
  sink: CommandSink,
): void {
  record.status = status;
  if (status !== "pending") record.resendAt = null;
  if (isFinal(status)) record.completedAt = now;
  sink.changed(record);
}

/**
 * Applies a device's report: `delivered` confirms a pending command; `succeeded` and `failed`
 * complete a pending or delivered one (with its `result` and `error`). A report on an unknown
 * or final command, or a second `delivered`, changes nothing and is told as ignored.
 */
export function reportCommand(
  log: CommandLog,
  report: CommandReport,
  now: number,
  sink: CommandSink,
): { record: CommandRecord | null; ignored: IgnoredReason | null } {
  const record = findCommand(log, report.commandId);
  const ignore = (reason: IgnoredReason) => {
    sink.ignored(report.commandId, reason);
    return { record: record ?? null, ignored: reason };
  };
  if (record === undefined) return ignore("unknown");
  if (isFinal(record.status)) return ignore("final");
  if (report.status === "delivered") {
    if (record.status === "delivered") return ignore("duplicate");
    record.deliveredAt = now;
    transition(record, "delivered", now, sink);
    return { record, ignored: null };
  }
  // A result also says the device has it.
  record.deliveredAt ??= now;
  if (report.result !== undefined) record.result = report.result;
  if (report.error !== undefined) record.error = report.error;
  transition(record, report.status, now, sink);
  return { record, ignored: null };
}

/**
 * Cancels a command that is not final.
 * @throws {NotFoundError} no such command
 * @throws {CommandFinalError} it is final already
 */
export function cancelCommand(
  log: CommandLog,
  device: string,
  id: string,
  now: number,
  sink: CommandSink,
): CommandRecord {
  const record = findCommand(log, id);
  if (record === undefined) throw commandNotFound(device, id);
  if (isFinal(record.status)) throw new CommandFinalError(device, id, record.status);
  transition(record, "cancelled", now, sink);
  return record;
}

/** The error for a command that is not kept. */
export function commandNotFound(device: string, id: string): NotFoundError {
  return new NotFoundError(
    `device ${device} has no command ${id} (never sent, or no longer kept)`,
  );
}

/** Expires every command not final whose time to live has passed, as of its expiry time. */
export function expireDue(log: CommandLog, now: number, sink: CommandSink): void {
  for (const record of log.commands) {
    if (!isFinal(record.status) && record.expiresAt <= now) {
      transition(record, "expired", record.expiresAt, sink);
    }
  }
}

/**
 * The device is (re)connected: every pending command is sent again at once, then with backoff
 * from the initial wait. `always` false: only if it was offline (nothing is sent to a device
 * already known to be online).
 */
export function connect(
  log: CommandLog,
  now: number,
  limits: CommandLimits,
  sink: CommandSink,
  always: boolean,
): void {
  if (log.online && !always) return;
  log.online = true;
  for (const record of log.commands) {
    if (record.status === "pending") send(record, now, limits.resendInitial, sink);
  }
}

/** The device went offline: nothing is re-sent until it connects again. */
export function disconnect(log: CommandLog): void {
  log.online = false;
  for (const record of log.commands) record.resendAt = null;
}

/** Sends again each pending command whose re-send is due, waiting twice as long next time. */
export function resendDue(
  log: CommandLog,
  now: number,
  limits: CommandLimits,
  sink: CommandSink,
): void {
  if (!log.online) return;
  for (const record of log.commands) {
    if (record.status === "pending" && record.resendAt !== null && record.resendAt <= now) {
      send(record, now, Math.min(record.retryIn * 2, limits.resendMax), sink);
    }
  }
}

/**
 * Forgets final commands completed more than `retention` ago, and the oldest final ones beyond
 * the last `keepFinal`.
 */
export function prune(log: CommandLog, now: number, limits: CommandLimits): void {
  let finals = 0;
  for (const c of log.commands) if (isFinal(c.status)) finals++;
  let excess = finals - limits.keepFinal;
  const oldest = now - limits.retention;
  log.commands = log.commands.filter((c) => {
    if (!isFinal(c.status)) return true;
    if (excess > 0) {
      excess--;
      return false;
    }
    return c.completedAt! >= oldest;
  });
}

/** When the next command expires; `null` when none is open. */
export function nextExpiry(log: CommandLog): number | null {
  let next: number | null = null;
  for (const c of log.commands) {
    if (!isFinal(c.status) && (next === null || c.expiresAt < next)) next = c.expiresAt;
  }
  return next;
}

/** When the next re-send is due; `null` when none is planned. */
export function nextResend(log: CommandLog): number | null {
  let next: number | null = null;
  for (const c of log.commands) {
    if (c.status === "pending" && c.resendAt !== null && (next === null || c.resendAt < next)) {
      next = c.resendAt;
    }
  }
  return next;
}

/**
 * A command as the API shows it at `now`: one whose time to live has passed shows as expired
 * even before its expiry was processed (so a device polling for pending commands never gets it).
 */
export function commandView(record: CommandRecord, now: number): CommandView {
  const lapsed = !isFinal(record.status) && record.expiresAt <= now;
  const completedAt = lapsed ? record.expiresAt : record.completedAt;
  return {
    commandId: record.id,
    name: record.name,
    params: record.params,
    status: lapsed ? "expired" : record.status,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    ...(record.deliveredAt === null ? {} : { deliveredAt: record.deliveredAt }),
    ...(completedAt === null ? {} : { completedAt }),
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error === undefined ? {} : { error: record.error }),
    attempts: record.attempts,
  };
}

/** A page of commands: which, how many, after which. */
export interface CommandQuery {
  readonly status?: CommandStatus;
  readonly limit: number;
  /** The `next` of the previous page: commands created before this one. */
  readonly after?: string;
}

/**
 * A page of commands, newest first; `next` is the id to pass as `after` for the next page
 * (`null` on the last). Final commands past their retention are not shown even before they are
 * pruned; an `after` no longer kept gives an empty last page.
 */
export function listCommands(
  log: CommandLog,
  query: CommandQuery,
  now: number,
  limits: CommandLimits,
): { items: CommandView[]; next: string | null } {
  let start = log.commands.length - 1;
  if (query.after !== undefined) {
    const i = log.commands.findIndex((c) => c.id === query.after);
    if (i < 0) return { items: [], next: null };
    start = i - 1;
  }
  const items: CommandView[] = [];
  const oldest = now - limits.retention;
  for (let i = start; i >= 0; i--) {
    const view = commandView(log.commands[i]!, now);
    if (view.completedAt !== undefined && view.completedAt < oldest) continue;
    if (query.status !== undefined && view.status !== query.status) continue;
    if (items.length === query.limit) return { items, next: items.at(-1)!.commandId };
    items.push(view);
  }
  return { items, next: null };
}
