/**
 * What goes to a device, and what the `commands` event topic carries.
 *
 * Messages to a device — a command, or its desired state — are events on the `commands` topic
 * keyed by the device id. In cluster mode the NATS event bus also publishes each one on the
 * device's command subject `cmd.<deviceId>` (MQTT topic `cmd/<deviceId>`; see the `forward`
 * option of `JetStreamEventBus`, set in node/cluster.ts), where the device — and, with the
 * shipped permissions, only the device — listens. In embedded mode the topic is followed over
 * SSE (`GET /api/events?topics=commands&device=<id>`).
 *
 * The same topic also carries each change of a command's status and each device report that
 * changed nothing; those stay on the event bus (devices do not get them).
 *
 * @module
 */
import type { ActorContext, JsonValue } from "../../runtime/mod.ts";
import type { CommandParams, CommandRecord, CommandStatus, IgnoredReason } from "./command_log.ts";

/** The event topic of messages to devices and of command status changes. */
export const COMMANDS_TOPIC = "commands";

/** The actor type keeping a device's commands (same id as the device, so same partition). */
export const DEVICE_COMMANDS = "device-commands";

/** The NATS subject a device reads its commands from. */
export function commandSubject(deviceId: string): string {
  return `cmd.${deviceId}`;
}

/** A command, as a device receives it. */
export interface CommandMessage {
  readonly kind: "command";
  readonly device: string;
  readonly commandId: string;
  readonly name: string;
  readonly params: CommandParams;
  /** After this (epoch ms) the command is expired: the device must not execute it. */
  readonly expiresAt: number;
  /** 1 for the first send, more for a re-send (the same command, the same id). */
  readonly attempt: number;
}

/** The desired state, as a device receives it: the whole state, never a replay of changes. */
export interface DesiredMessage {
  readonly kind: "desired";
  readonly device: string;
  /** The whole desired state. */
  readonly desired: { readonly [key: string]: JsonValue };
  /** The desired keys that differ from what the device reports. */
  readonly delta: { readonly [key: string]: JsonValue };
  /** Increases by one with every change: a device applies only a version above its own. */
  readonly version: number;
}

/** What is pushed to a device. */
export type DeviceMessage = CommandMessage | DesiredMessage;

/** A command changed status (creation included); on the event bus only. */
export interface CommandStatusEvent {
  readonly kind: "status";
  readonly device: string;
  readonly commandId: string;
  readonly name: string;
  readonly status: CommandStatus;
  /** When it took this status (epoch ms). */
  readonly at: number;
  readonly expiresAt: number;
  readonly attempts: number;
  readonly result?: JsonValue;
  readonly error?: string;
}

/** A device's report changed nothing (unknown or final command, repeated `delivered`). */
export interface ReportIgnoredEvent {
  readonly kind: "ignored";
  readonly device: string;
  readonly commandId: string;
  readonly reason: IgnoredReason;
}

/** Everything on the {@link COMMANDS_TOPIC}. */
export type CommandsEvent = DeviceMessage | CommandStatusEvent | ReportIgnoredEvent;

type Emitter = Pick<ActorContext<unknown>, "emit">;

/**
 * Pushes a message to a device: once the sender's state change is durable (it is an effect of
 * the handler), as an event on {@link COMMANDS_TOPIC}, which cluster mode also publishes on
 * {@link commandSubject}.
 */
export function publishToDevice(ctx: Emitter, message: DeviceMessage): void {
  ctx.emit(COMMANDS_TOPIC, message as unknown as JsonValue, message.device);
}

/** Sends a command to its device. */
export function sendCommand(ctx: Emitter, device: string, record: CommandRecord): void {
  publishToDevice(ctx, {
    kind: "command",
    device,
    commandId: record.id,
    name: record.name,
    params: record.params,
    expiresAt: record.expiresAt,
    attempt: record.attempts,
  });
}

/** Announces a command's new status on the event bus. */
export function announceStatus(ctx: Emitter, device: string, record: CommandRecord): void {
  const at = record.completedAt ??
    (record.status === "delivered" ? record.deliveredAt! : record.createdAt);
  const event: CommandStatusEvent = {
    kind: "status",
    device,
    commandId: record.id,
    name: record.name,
    status: record.status,
    at,
    expiresAt: record.expiresAt,
    attempts: record.attempts,
    ...(record.result === undefined ? {} : { result: record.result }),
    ...(record.error === undefined ? {} : { error: record.error }),
  };
  ctx.emit(COMMANDS_TOPIC, event as unknown as JsonValue, device);
}

/** Announces a report that changed nothing. */
export function announceIgnored(
  ctx: Emitter,
  device: string,
  commandId: string,
  reason: IgnoredReason,
): void {
  const event: ReportIgnoredEvent = { kind: "ignored", device, commandId, reason };
  ctx.emit(COMMANDS_TOPIC, event as unknown as JsonValue, device);
}

/**
 * The subject an event of the {@link COMMANDS_TOPIC} also goes out on: the device's command
 * subject for a message to the device, `null` for the rest.
 */
export function deviceSubjectOf(event: { key: string | null; data: JsonValue }): string | null {
  if (event.key === null || typeof event.data !== "object" || event.data === null) return null;
  const kind = (event.data as { kind?: unknown }).kind;
  return kind === "command" || kind === "desired" ? commandSubject(event.key) : null;
}
