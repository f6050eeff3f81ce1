/**
 * Counters: the worked example of CONTRIBUTING.md — an area with one actor type, its pure
 * logic, its errors and configuration. `actors()` gives the configured definitions to register.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../../runtime/mod.ts";
import { type CountersConfig, resolveCountersConfig } from "./config.ts";
import { counterActor } from "./counter.ts";

export { type CountersConfig, DEFAULT_COUNTERS, resolveCountersConfig } from "./config.ts";
export { COUNTER, counter, counterActor, type CounterView } from "./counter.ts";
export { addTo, type CounterState, emptyCounter } from "./counter_state.ts";
export { CounterFullError } from "./errors.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<CountersConfig> = {}): AnyActorDefinition[] {
  return [counterActor(resolveCountersConfig(config))];
}
