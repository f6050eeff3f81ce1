/**
 * The payments area's configuration: the rules of every terminal's decisions (the fraud rules
 * and the decision thresholds), per-terminal overrides, how much a terminal remembers, how
 * often it resends forwards, and the fraud model — each with its default, checked once at
 * start.
 *
 * @module
 */
import { ConfigError } from "../../runtime/mod.ts";
import { type DecisionRules, DEFAULT_DECISION_RULES } from "./decision.ts";
import { defaultFraudModel, type FraudScorer } from "./fraud_model.ts";
import { DEFAULT_FRAUD_RULES, type FraudRules } from "./fraud_rules.ts";

/** Every rule of a terminal's decisions: the fraud rules and the decision thresholds. */
export interface PaymentRules extends FraudRules, DecisionRules {}

/**
 * The default rules: amounts above 500,000 KRW add 0.3 to the fraud score (above 1,000,000:
 * 0.5 instead), local hours 23:00–06:00 add 0.2, more than 5 uses of a card within an hour add
 * 0.4; a score above 0.8 rejects; an offline terminal approves up to 50,000 KRW and holds at
 * most 1,000 offline approvals.
 */
export const DEFAULT_PAYMENT_RULES: PaymentRules = Object.freeze({
  ...DEFAULT_FRAUD_RULES,
  ...DEFAULT_DECISION_RULES,
});

/** Configuration of this area: every threshold and weight, each with its default. */
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
