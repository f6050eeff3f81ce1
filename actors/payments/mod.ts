/**
 * Payments: the payment terminal — an event-sourced actor whose journal is the audit trail —
 * deciding card payments by its card status cache, a fraud score (rules and an ONNX model) and
 * its connectivity; and the payment gateway each terminal forwards to, effectively once. Every
 * threshold and weight is in {@link PaymentsConfig} (`config.ts`).
 *
 * The actor definitions exported here are configured with the defaults: they type refs
 * (`system.ref(terminal, id).ask("view")` is a `TerminalView | null`); {@link actors} gives the
 * configured ones to register.
 *
 * @module
 */
import type { AnyActorDefinition } from "../../runtime/mod.ts";
import { type PaymentsConfig, resolvePaymentsConfig } from "./config.ts";
import { gateway } from "./gateway.ts";
import { terminalActor } from "./terminal.ts";

export { CARD_KEY_ENV, CardHasher, DEV_CARD_KEY, MIN_CARD_KEY_LENGTH } from "./card_hash.ts";
export {
  DEFAULT_PAYMENT_RULES,
  DEFAULT_PAYMENTS_LIMITS,
  type PaymentRules,
  type PaymentsConfig,
  type ResolvedPaymentsConfig,
  resolvePaymentsConfig,
} from "./config.ts";
export {
  CARD_STATUSES,
  type CardStatus,
  decidePayment,
  type Decision,
  type DecisionRules,
  DEFAULT_DECISION_RULES,
  type ForwardKind,
  type PaymentStatus,
  type RejectReason,
} from "./decision.ts";
export { IdempotencyConflictError } from "./errors.ts";
export { FEATURE_NAMES, fraudFeatures } from "./fraud_features.ts";
export {
  defaultFraudModel,
  FRAUD_MODEL_URL,
  type FraudScorer,
  OnnxFraudModel,
  SharedFraudModel,
} from "./fraud_model.ts";
export { DEFAULT_FRAUD_RULES, type FraudRules, roundScore, ruleScore } from "./fraud_rules.ts";
export { gateway, type GatewayEvent, type GatewayState } from "./gateway.ts";
export { type ForwardItem, GATEWAY, TERMINAL } from "./outbox.ts";
export type { DecidedPayment, PaymentCommand, PaymentReply, PaymentResult } from "./payment.ts";
export {
  type CardEntry,
  CARDS_SCHEMA,
  parseCardList,
  parsePaymentRequest,
  parseTerminalSettings,
  PAYMENT_SCHEMA,
  type PaymentRequest,
  paymentRequest,
  SETTINGS_SCHEMA,
  type TerminalSettings,
} from "./requests.ts";
export { type DecidedEvent, terminal, terminalActor } from "./terminal.ts";
export type { TerminalEvent, TerminalState, TerminalView } from "./terminal_state.ts";

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<PaymentsConfig> = {}): AnyActorDefinition[] {
  return [terminalActor(resolvePaymentsConfig(config)), gateway];
}
