/**
 * Payments (SPEC §3.3, payment parts): the payment terminal — an event-sourced actor whose
 * journal is the audit trail — deciding card payments by its card status cache, a fraud score
 * (rules and an ONNX model) and its connectivity; and the payment gateway each terminal
 * forwards to, effectively once.
 *
 * @module
 */
import { type AnyActorDefinition, ConfigError } from "../../runtime/mod.ts";
import { type DecisionRules, DEFAULT_DECISION_RULES } from "./decision.ts";
import { defaultFraudModel, type FraudScorer } from "./fraud_model.ts";
import { DEFAULT_FRAUD_RULES, type FraudRules } from "./fraud_rules.ts";
import { gatewayActor } from "./gateway.ts";
import { terminalActor } from "./terminal.ts";

export * from "./card_hash.ts";
export * from "./card_history.ts";
export * from "./decision.ts";
export * from "./fraud_features.ts";
export * from "./fraud_model.ts";
export * from "./fraud_rules.ts";
export * from "./gateway.ts";
export * from "./idempotency.ts";
export * from "./outbox.ts";
export * from "./requests.ts";
export * from "./terminal.ts";

/** Every rule of a terminal's decisions: the fraud rules and the decision thresholds. */
export interface PaymentRules extends FraudRules, DecisionRules {}

/** SPEC §3.3's values. */
export const DEFAULT_PAYMENT_RULES: PaymentRules = Object.freeze({
  ...DEFAULT_FRAUD_RULES,
  ...DEFAULT_DECISION_RULES,
});

/** Configuration of this area: every threshold and weight, defaulting to SPEC §3. */
export interface PaymentsConfig {
  /** Rules of every terminal (any subset; the rest from {@link DEFAULT_PAYMENT_RULES}). */
  readonly rules: Partial<PaymentRules>;
  /** Per-terminal overrides of {@link PaymentsConfig.rules}, by terminal id. */
  readonly terminals: Readonly<Record<string, Partial<PaymentRules>>>;
  /** How long a terminal remembers a transaction id for idempotent retries, ms. @default 24 h */
  readonly idempotencyWindowMs: number;
  /** Most transaction ids a terminal remembers (the oldest forgotten first). @default 2000 */
  readonly idempotencyMaxEntries: number;
  /** Card uses a terminal keeps for the velocity rule and the model, ms. @default 24 h */
  readonly historyMs: number;
  /** Most card uses a terminal keeps. @default 500 */
  readonly historyMaxEntries: number;
  /** How often a terminal resends unacknowledged forwards while online, ms. @default 30 s */
  readonly forwardRetryMs: number;
  /** The fraud model. @default the committed ONNX model, loaded once per process */
  readonly scorer: FraudScorer;
}

/** A complete, checked configuration. */
export interface ResolvedPaymentsConfig extends Omit<PaymentsConfig, "rules"> {
  readonly rules: PaymentRules;
  /** The rules of one terminal: its overrides over the common rules. */
  rulesFor(terminal: string): PaymentRules;
}

/** Defaults of everything but the rules. */
export const DEFAULT_PAYMENTS_LIMITS = Object.freeze({
  idempotencyWindowMs: 86_400_000,
  idempotencyMaxEntries: 2000,
  historyMs: 86_400_000,
  historyMaxEntries: 500,
  forwardRetryMs: 30_000,
});

/**
 * Fills in the defaults and checks every number.
 * @throws {ConfigError} naming the setting that is wrong
 */
export function resolvePaymentsConfig(
  config: Partial<PaymentsConfig> = {},
): ResolvedPaymentsConfig {
  const rules = checkRules({ ...DEFAULT_PAYMENT_RULES, ...config.rules }, "payments.rules");
  const terminals: Record<string, PaymentRules> = {};
  for (const [id, overrides] of Object.entries(config.terminals ?? {})) {
    terminals[id] = checkRules({ ...rules, ...overrides }, `payments.terminals.${id}`);
  }
  const resolved = {
    ...DEFAULT_PAYMENTS_LIMITS,
    ...withoutUndefined({
      idempotencyWindowMs: config.idempotencyWindowMs,
      idempotencyMaxEntries: config.idempotencyMaxEntries,
      historyMs: config.historyMs,
      historyMaxEntries: config.historyMaxEntries,
      forwardRetryMs: config.forwardRetryMs,
    }),
  };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigError(`payments.${name} must be a positive whole number, got ${value}`);
    }
  }
  return {
    ...resolved,
    rules,
    terminals,
    scorer: config.scorer ?? defaultFraudModel(),
    rulesFor: (terminal) => Object.hasOwn(terminals, terminal) ? terminals[terminal]! : rules,
  };
}

function checkRules(rules: PaymentRules, where: string): PaymentRules {
  const fail = (name: string, what: string) => {
    throw new ConfigError(
      `${where}.${name} must be ${what}, got ${rules[name as keyof PaymentRules]}`,
    );
  };
  for (const [name, value] of Object.entries(rules)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      fail(name, "a non-negative number");
    }
  }
  for (
    const name of ["highAmountWeight", "veryHighAmountWeight", "nightWeight", "velocityWeight"]
  ) {
    if (rules[name as keyof PaymentRules] > 1) fail(name, "a weight from 0 to 1");
  }
  if (rules.fraudThreshold > 1) fail("fraudThreshold", "a score from 0 to 1");
  for (const name of ["nightFrom", "nightUntil"]) {
    const v = rules[name as keyof PaymentRules];
    if (!Number.isInteger(v) || v > 24) fail(name, "a whole hour from 0 to 24");
  }
  if (rules.veryHighAmount < rules.highAmount) fail("veryHighAmount", "at least highAmount");
  if (rules.velocityWindowMs <= 0) fail("velocityWindowMs", "positive");
  return Object.freeze({ ...rules });
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The actor types of this area, configured (defaults for whatever `config` leaves out). */
export function actors(config: Partial<PaymentsConfig> = {}): AnyActorDefinition[] {
  const resolved = resolvePaymentsConfig(config);
  return [terminalActor(resolved), gatewayActor()];
}
