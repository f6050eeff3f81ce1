/**
 * Flotilla's domain actors and their pure logic.
 *
 * @module
 */
import type { ActorSystem } from "../runtime/mod.ts";
import { device } from "./device.ts";

export { device, type DeviceView } from "./device.ts";
export * from "./telemetry.ts";

/** Registers every domain actor type with `system`. */
export function registerActors(system: ActorSystem): ActorSystem {
  return system.register(device);
}
