/**
 * Devices (SPEC §3.1): the device twin, its telemetry, analytics and data quality; and edge
 * nodes (SPEC §3.2) with routing.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { device } from "./device.ts";

export { device, type DeviceView } from "./device.ts";
export * from "./telemetry.ts";

/** Configuration of this area: every threshold and weight, defaulting to SPEC §3. */
// deno-lint-ignore no-empty-interface
export interface DevicesConfig {}

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(_config: Partial<DevicesConfig> = {}): AnyActorDefinition[] {
  return [device];
}
