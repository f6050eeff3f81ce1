/**
 * The device actor: one per device, holding its digital twin. A thin handler over the pure
 * functions of `telemetry.ts`.
 *
 * @module
 */
import { defineActor } from "../../runtime/mod.ts";
import { applyTelemetry, type DeviceTwin, emptyTwin, type TelemetryRecord } from "./telemetry.ts";

/** A device's twin as the API shows it. */
export interface DeviceView extends DeviceTwin {
  readonly id: string;
}

/** The device actor type. */
export const device = defineActor({
  name: "device",
  initialState: emptyTwin,
  handlers: {
    /** Applies a validated telemetry record; replies once it is durable. */
    telemetry(ctx, record: TelemetryRecord) {
      applyTelemetry(ctx.state, record, ctx.now());
      ctx.emit("telemetry", { device: ctx.id, ts: record.ts, readings: record.readings }, ctx.id);
      return { device: ctx.id, messageCount: ctx.state.messageCount };
    },
  },
  queries: {
    /** The twin, or `null` for a device that has never sent telemetry. */
    twin(ctx): DeviceView | null {
      return ctx.state.lastSeen === null ? null : { id: ctx.id, ...ctx.state };
    },
  },
  options: { persistence: "snapshot", passivateAfter: "PT10M" },
});
