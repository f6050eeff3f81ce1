/**
 * Customer sessions: the customer session actor with its event-time patterns, session windows
 * and risk assessment; customer profiles; the smart-store inventory and checkout. Every
 * threshold and weight is in {@link SessionsConfig} (`config.ts`).
 *
 * The actor definitions exported here are configured with the defaults: they type refs
 * (`system.ref(session, id).ask("view")` is a `SessionView | null`); {@link actors} gives the
 * configured ones to register.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { resolveSessionsConfig, type SessionsConfig } from "./config.ts";
import { inventoryActor } from "./inventory.ts";
import { sessionActor } from "./session.ts";

export type {
  AnomalyConfig,
  CheckoutConfig,
  PatternsConfig,
  ResolvedSessionsConfig,
  RiskConfig,
  SessionLimits,
  SessionsConfig,
} from "./config.ts";
export { DEFAULT_SESSIONS, resolveSessionsConfig } from "./config.ts";
export {
  checkSkew,
  type CustomerEvent,
  customerEvent,
  EVENT_SCHEMA,
  EVENT_SHAPE,
  parseEvent,
} from "./event.ts";
export { type CustomerProfile, parseProfile, PROFILE_SCHEMA, PROFILE_SHAPE } from "./profile.ts";
export {
  CHECKOUT_SCHEMA,
  CHECKOUT_SHAPE,
  type CheckoutItem,
  type CheckoutRequest,
  parseCheckout,
} from "./checkout.ts";
export type { PatternMatch, PatternName } from "./cep.ts";
export type { RiskAssessment } from "./risk.ts";
export type { SessionSummary } from "./session_window.ts";
export { InventoryFullError } from "./errors.ts";
export {
  type CheckoutCommand,
  type CheckoutResult,
  INVENTORY,
  inventory,
  INVENTORY_ID,
  inventoryActor,
} from "./inventory.ts";
export {
  type CheckoutRecord,
  type EventReceipt,
  SESSION,
  session,
  sessionActor,
  type SessionView,
  severityOf,
} from "./session.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<SessionsConfig> = {}): AnyActorDefinition[] {
  const resolved = resolveSessionsConfig(config);
  return [sessionActor(resolved), inventoryActor(resolved)];
}
