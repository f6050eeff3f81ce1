/**
 * Alerts and analytics: the alert books with their lifecycle, dedup, rules and webhook channel;
 * the cross-source alert index; the per-minute transaction rollups. Every threshold is in
 * {@link AlertsConfig} (`config.ts`). Other areas raise and clear alerts and record
 * transactions through `actors/contracts.ts`, never through this module.
 *
 * The actor definitions exported here are configured with the defaults: they type refs
 * (`system.ref(alertBook, source).ask("ack", { id })` is an `OperatorResult`); {@link actors}
 * gives the configured ones to register.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { alertBookActor } from "./alert_book.ts";
import { type AlertsConfig, resolveAlertsConfig } from "./config.ts";
import { txRollupActor } from "./tx_rollup.ts";
import { webhookActor } from "./webhook.ts";

export {
  type AlertsConfig,
  DEFAULT_ROLLUP,
  resolveAlertsConfig,
  type ResolvedAlertsConfig,
  type RollupConfig,
  type WebhookConfig,
} from "./config.ts";
export { AlertClearedError } from "./errors.ts";
export {
  type Alert,
  ALERT_EVENTS,
  ALERT_ID,
  ALERT_TYPE,
  type AlertEventName,
  type AlertStatus,
  parseAlertId,
  SOURCE,
  STATUSES,
} from "./alert.ts";
export {
  alertBook,
  alertBookActor,
  type Announcement,
  type OperatorResult,
  type RaiseResult,
} from "./alert_book.ts";
export {
  alertIndex,
  alertIndexDefinition,
  type AlertIndexView,
  type AlertPage,
  type AlertQuery,
  queryAlerts,
} from "./alert_index.ts";
export type { AlertRule, Comparison, RuleAction, RuleCondition } from "./rules.ts";
export { ALERT_WEBHOOK, webhook, webhookActor, type WebhookStatus } from "./webhook.ts";
export { type RollupView, txRollup, txRollupActor } from "./tx_rollup.ts";
export type { Rollup } from "./rollup.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<AlertsConfig> = {}): AnyActorDefinition[] {
  const resolved = resolveAlertsConfig(config);
  return [alertBookActor(resolved), webhookActor(resolved), txRollupActor(resolved)];
}
