/**
 * The `device-commands` actor: one per device (the same id, so the same partition and node as
 * the device actor), owning the device's commands (`command_log.ts`), their expiry and re-send
 * reminders, and whether the device is connected.
 *
 * Why a companion of the device actor rather than part of it: the twin is rewritten on every
 * reading, and it should not carry up to 200 command records into each of those writes. The
 * device actor tells this one only of transitions — the device came online or went offline —
 * and only once the device has had a command; hellos and reports come here straight from the
 * ingest stream, durably and exactly once in effect.
 *
 * Everything sent out — a command to the device, a status change, an ignored report — is an
 * event on the `commands` topic, released only once the change is durable. TTL expiry and
 * re-sends are durable reminders: they survive restarts, re-activate a passivated actor, and
 * move with the partition when its node dies. Time comes from the actor's clock.
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../runtime/mod.ts";
import {
  cancelCommand,
  type CommandLimits,
  type CommandLog,
  type CommandQuery,
  type CommandReport,
  type CommandSink,
  type CommandStatus,
  type CommandView,
  commandView,
  connect,
  createCommand,
  disconnect,
  emptyLog,
  expireDue,
  findCommand,
  type IgnoredReason,
  listCommands,
  type NewCommand,
  nextExpiry,
  nextResend,
  prune,
  reportCommand,
  resendDue,
} from "./command_log.ts";
import { announceIgnored, announceStatus, DEVICE_COMMANDS, sendCommand } from "./commands.ts";
import { type ResolvedDevicesConfig, resolveDevicesConfig } from "./config.ts";
import { device } from "./device.ts";

/** A device's hello: it is (re)connected, and the desired-state version it has, if any. */
export interface Hello {
  readonly desiredVersion?: number;
}

/** The reply to a new command: what `POST /api/devices/:id/commands` answers. */
export interface CreatedCommand {
  readonly commandId: string;
  readonly status: CommandStatus;
  readonly expiresAt: number;
  /** `false`: the command id was known, with the same body (an idempotent retry). */
  readonly created: boolean;
}

/** The reply to a report: the command as it is now, or why the report changed nothing. */
export interface ReportOutcome {
  readonly command: CommandView | null;
  readonly ignored: IgnoredReason | null;
}

const EXPIRE = "expire";
const RESEND = "resend";

type Ctx = ActorContext<CommandLog>;

/** The sink of a handler: status changes, sends and ignored reports as events of the device. */
function sinkOf(ctx: Ctx): CommandSink {
  return {
    changed: (record) => announceStatus(ctx, ctx.id, record),
    send: (record) => sendCommand(ctx, ctx.id, record),
    ignored: (commandId, reason) => announceIgnored(ctx, ctx.id, commandId, reason),
  };
}

/** Sets, moves or cancels the two reminders so they are due when the log next needs them. */
function syncReminders(ctx: Ctx): void {
  const log = ctx.state;
  const expiry = nextExpiry(log);
  if (expiry !== log.expiryAt) {
    if (expiry === null) ctx.cancelReminder(EXPIRE);
    else ctx.setReminder(EXPIRE, { at: expiry }, { kind: EXPIRE });
    log.expiryAt = expiry;
  }
  const resend = log.online ? nextResend(log) : null;
  if (resend !== log.resendAt) {
    if (resend === null) ctx.cancelReminder(RESEND);
    else ctx.setReminder(RESEND, { at: resend }, { kind: RESEND });
    log.resendAt = resend;
  }
}

/**
 * The `device-commands` actor type, configured. Register the result of `actors()`
 * (actors/mod.ts); refs can use {@link deviceCommands} for typing.
 */
export function deviceCommandsActor(cfg: ResolvedDevicesConfig) {
  const limits: CommandLimits = cfg.commands;

  /** Runs `change` between the expiry of what is due and the pruning and reminders after. */
  function step<T>(ctx: Ctx, change: (log: CommandLog, sink: CommandSink, now: number) => T): T {
    const log = ctx.state;
    const now = ctx.now();
    const sink = sinkOf(ctx);
    expireDue(log, now, sink);
    const out = change(log, sink, now);
    prune(log, now, limits);
    syncReminders(ctx);
    return out;
  }

  return defineActor({
    name: DEVICE_COMMANDS,
    initialState: emptyLog,
    handlers: {
      /**
       * Creates a command (or finds the one a client's `commandId` names, same body) and sends
       * it when the device is online. `deviceOnline`: the device actor's view of it.
       */
      create(ctx, msg: { command: NewCommand; deviceOnline: boolean }): CreatedCommand {
        return step(ctx, (log, sink, now) => {
          if (msg.deviceOnline) log.online = true;
          const { record, created } = createCommand(
            log,
            ctx.id,
            msg.command,
            now,
            limits,
            sink,
            () => crypto.randomUUID(),
          );
          const view = commandView(record, now);
          return {
            commandId: view.commandId,
            status: view.status,
            expiresAt: view.expiresAt,
            created,
          };
        });
      },
      /** A device's report (from the ingest stream, or over HTTP). */
      report(ctx, report: CommandReport): ReportOutcome {
        return step(ctx, (log, sink, now) => {
          const { record, ignored } = reportCommand(log, report, now, sink);
          return { command: record === null ? null : commandView(record, now), ignored };
        });
      },
      /** Cancels a command not final yet. @throws NotFoundError, CommandFinalError */
      cancel(ctx, msg: { commandId: string }): CommandView {
        return step(
          ctx,
          (log, sink, now) =>
            commandView(cancelCommand(log, ctx.id, msg.commandId, now, sink), now),
        );
      },
      /**
       * The device says it is (re)connected: every pending command goes out again, and the
       * device actor sends the desired state if the device's version is behind.
       */
      hello(ctx, hello: Hello) {
        step(ctx, (log, sink, now) => connect(log, now, limits, sink, true));
        ctx.tell({ type: device.name, id: ctx.id }, "syncDesired", hello);
      },
      /** From the device actor: the device came online (its first telemetry after a silence). */
      deviceOnline(ctx) {
        step(ctx, (log, sink, now) => connect(log, now, limits, sink, false));
      },
      /** From the device actor: the device went offline. */
      deviceOffline(ctx) {
        step(ctx, (log) => disconnect(log));
      },
      /** The expiry reminder. */
      expire(ctx) {
        // It fired, so it is set no more; the step sets the next one.
        ctx.state.expiryAt = null;
        step(ctx, () => {});
      },
      /** The re-send reminder. */
      resend(ctx) {
        ctx.state.resendAt = null;
        step(ctx, (log, sink, now) => resendDue(log, now, limits, sink));
      },
    },
    queries: {
      /** A page of commands, newest first. */
      list(ctx, query: CommandQuery) {
        return listCommands(ctx.state, query, ctx.now(), limits);
      },
      /** One command, or `null`. */
      get(ctx, msg: { commandId: string }): CommandView | null {
        const record = findCommand(ctx.state, msg.commandId);
        if (record === undefined) return null;
        const view = commandView(record, ctx.now());
        const forgotten = view.completedAt !== undefined &&
          view.completedAt < ctx.now() - limits.retention;
        return forgotten ? null : view;
      },
    },
    options: { persistence: "snapshot", passivateAfter: cfg.passivateAfter },
  });
}

/** The `device-commands` actor type with the default configuration, for typing refs. */
export const deviceCommands = deviceCommandsActor(resolveDevicesConfig());
