/**
 * Pushing to a device: commands to a device are published on its command subject, and so are
 * changes of its desired state.
 *
 * A push is an event on the `commands` topic keyed by the device id
 * (`GET /api/events?topics=commands&device=<id>` follows a device's commands). In cluster mode
 * the NATS event bus also publishes each one on the device's command subject `cmd.<deviceId>`
 * (see the `forward` option of `JetStreamEventBus`, set in node/cluster.ts), where the device
 * — and, with the shipped permissions, only the device — listens.
 *
 * @module
 */
import type { ActorContext, JsonValue } from "../../runtime/mod.ts";

/** The event topic of pushes to devices. */
export const COMMANDS_TOPIC = "commands";

/** The NATS subject a device reads its commands from. */
export function commandSubject(deviceId: string): string {
  return `cmd.${deviceId}`;
}

/** What is pushed to a device. */
export type DeviceMessage =
  | {
    readonly kind: "command";
    readonly device: string;
    readonly commandId: string;
    readonly name: string;
    readonly params: JsonValue;
    readonly at: number;
  }
  | {
    readonly kind: "desired";
    readonly device: string;
    /** The whole desired state after the change. */
    readonly desired: JsonValue;
    /** The desired keys that differ from what the device reports. */
    readonly delta: JsonValue;
    readonly version: number;
    readonly at: number;
  };

/**
 * Pushes a message to a device: once the sender's state change is durable (it is an effect of
 * the handler), as an event on {@link COMMANDS_TOPIC}, which cluster mode also publishes on
 * {@link commandSubject}.
 */
export function publishToDevice(
  ctx: Pick<ActorContext<unknown>, "emit">,
  message: DeviceMessage,
): void {
  ctx.emit(COMMANDS_TOPIC, message as unknown as JsonValue, message.device);
}
