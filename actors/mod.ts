/**
 * Flotilla's domain actors and their pure logic, one folder per area: devices and edge nodes,
 * payments, customer sessions, alerts; and the hub's read replicas of edge sites' actors. Cross-area messages go through `contracts.ts`.
 *
 * @module
 */
import type { ActorSystem } from "../runtime/mod.ts";
import * as alerts from "./alerts/mod.ts";
import * as devices from "./devices/mod.ts";
import * as payments from "./payments/mod.ts";
import * as sessions from "./sessions/mod.ts";
import * as sites from "./sites/mod.ts";

/** Deployment configuration of the domain: per area, what differs from the area's defaults. */
export interface DomainConfig {
  readonly devices?: Partial<devices.DevicesConfig>;
  readonly payments?: Partial<payments.PaymentsConfig>;
  readonly sessions?: Partial<sessions.SessionsConfig>;
  readonly alerts?: Partial<alerts.AlertsConfig>;
}

/** Registers every domain actor type with `system`. */
export function registerActors(system: ActorSystem, config: DomainConfig = {}): ActorSystem {
  for (
    const definition of [
      ...devices.actors(config.devices),
      ...payments.actors(config.payments),
      ...sessions.actors(config.sessions),
      ...alerts.actors(config.alerts),
      ...sites.actors(),
    ]
  ) {
    system.register(definition);
  }
  return system;
}
