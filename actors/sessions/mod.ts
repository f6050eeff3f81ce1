/**
 * The sessions area of the domain actors.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";

/** Configuration of this area: every threshold and weight, defaulting to SPEC §3. */
// deno-lint-ignore no-empty-interface
export interface SessionsConfig {}

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(_config: Partial<SessionsConfig> = {}): AnyActorDefinition[] {
  return [];
}
