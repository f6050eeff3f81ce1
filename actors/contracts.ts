/**
 * Messages between the areas of the domain: how a device, a terminal or a customer session
 * raises and clears alerts, and how terminals feed the per-minute transaction rollups. An area
 * depends on these contracts, never on another area's actors.
 *
 * @module
 */
import type { ActorContext, JsonValue } from "../runtime/mod.ts";

/** Alert severities, least to most severe. */
export const SEVERITIES = ["low", "medium", "high", "critical"] as const;

/** Severity of an alert. */
export type Severity = (typeof SEVERITIES)[number];

/** What a source reports to raise an alert. */
export interface AlertSignal {
  /** The reporting actor, `type/id` (e.g. `device/robot-1`). */
  readonly source: string;
  /** E.g. `threshold_violation`, `device_offline`, `fraud_detected`, `RAPID_LOGIN_ATTEMPTS`. */
  readonly type: string;
  readonly severity: Severity;
  readonly message: string;
  readonly data?: JsonValue;
  /** When the condition was observed (epoch ms); the receive time when absent. */
  readonly at?: number;
}

/** The actor type keeping the alerts of one source (id: the source). */
export const ALERT_BOOK = "alert-book";

/** Anything that can send: a handler's context. */
export type Sender = Pick<ActorContext<unknown, unknown>, "tell">;

/**
 * Raises an alert. While an alert of the same type is open for the source, a repeat is merged
 * into it (counted), not raised twice.
 */
export function raiseAlert(ctx: Sender, signal: AlertSignal): void {
  ctx.tell({ type: ALERT_BOOK, id: signal.source }, "raise", signal);
}

/** Clears the open alert of `type` for `source`, if any (a device back online, say). */
export function clearAlert(ctx: Sender, source: string, type: string, at?: number): void {
  ctx.tell({ type: ALERT_BOOK, id: source }, "resolve", at === undefined ? { type } : { type, at });
}

/** A payment's outcome, for the per-minute rollups. */
export interface TransactionRecord {
  readonly transactionId: string;
  /** The terminal's id. */
  readonly terminal: string;
  readonly status: "approved" | "approved_offline" | "rejected" | "pending";
  /** Payment method, e.g. `card`. */
  readonly method: string;
  readonly amount: number;
  /** Event time of the transaction (epoch ms). */
  readonly ts: number;
}

/** The actor type aggregating transactions per minute (one actor, id {@link ROLLUP_ID}). */
export const TRANSACTION_ROLLUP = "tx-rollup";
/** The id of the rollup actor. */
export const ROLLUP_ID = "all";

/** Records a transaction outcome in the rollups. */
export function recordTransaction(ctx: Sender, record: TransactionRecord): void {
  ctx.tell({ type: TRANSACTION_ROLLUP, id: ROLLUP_ID }, "record", record);
}
