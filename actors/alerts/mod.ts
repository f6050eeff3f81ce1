/**
 * Alerts and analytics (SPEC §3.4): the alert books with their lifecycle, dedup, rules and
 * webhook channel; the cross-source alert index; event-time watermarks and window
 * aggregations; the per-minute transaction rollups.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { alertBook } from "./book.ts";
import { type AlertsConfig, resolveAlertsConfig } from "./config.ts";
import { txRollupActor } from "./tx_rollup.ts";
import { webhookActor } from "./webhook.ts";

export type { AlertsConfig, ResolvedAlertsConfig, RollupConfig, WebhookConfig } from "./config.ts";
export { DEFAULT_ROLLUP, resolveAlertsConfig } from "./config.ts";
export * from "./alert.ts";
export { alertBook, type Announcement, type OperatorResult, type RaiseResult } from "./book.ts";
export * from "./alert_index.ts";
export type { AlertRule, Comparison, RuleAction, RuleCondition } from "./rules.ts";
export { ALERT_WEBHOOK, webhookActor, type WebhookStatus } from "./webhook.ts";
export { type RollupView, txRollupActor } from "./tx_rollup.ts";
export type { Rollup } from "./rollup.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<AlertsConfig> = {}): AnyActorDefinition[] {
  const resolved = resolveAlertsConfig(config);
  return [alertBook(resolved), webhookActor(resolved), txRollupActor(resolved)];
}
