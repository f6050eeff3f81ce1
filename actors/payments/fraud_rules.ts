/**
 * The rule-based part of the fraud score: large amounts, night-time in the
 * terminal's time zone, and many uses of one card within an hour. Pure functions.
 *
 * @module
 */
/** Weights and thresholds of the fraud rules. Defaults: {@link DEFAULT_FRAUD_RULES}. */
export interface FraudRules {
  /** An amount above this (KRW) adds {@link FraudRules.highAmountWeight}. */
  readonly highAmount: number;
  readonly highAmountWeight: number;
  /** An amount above this (KRW) adds {@link FraudRules.veryHighAmountWeight} instead. */
  readonly veryHighAmount: number;
  readonly veryHighAmountWeight: number;
  /** Night starts at this local hour (inclusive)… */
  readonly nightFrom: number;
  /** …and ends at this local hour (exclusive); `nightFrom > nightUntil` wraps past midnight. */
  readonly nightUntil: number;
  readonly nightWeight: number;
  /** Length of the velocity window, ms: uses of the card with a timestamp in `(ts - window, ts]`. */
  readonly velocityWindowMs: number;
  /** More uses than this within the window (the current one included) add the weight. */
  readonly velocityLimit: number;
  readonly velocityWeight: number;
}

/**
 * The default rules: > 500,000 KRW +0.3, > 1,000,000 +0.5 instead, local hour < 6 or ≥ 23 +0.2,
 * more than 5 uses of the card within 1 h +0.4.
 */
export const DEFAULT_FRAUD_RULES: FraudRules = Object.freeze({
  highAmount: 500_000,
  highAmountWeight: 0.3,
  veryHighAmount: 1_000_000,
  veryHighAmountWeight: 0.5,
  nightFrom: 23,
  nightUntil: 6,
  nightWeight: 0.2,
  velocityWindowMs: 3_600_000,
  velocityLimit: 5,
  velocityWeight: 0.4,
});

/** Which rules fired, in the order they are checked. */
export type FraudRuleHit = "high_amount" | "very_high_amount" | "night_time" | "card_velocity";

/** What the rules look at. */
export interface FraudRuleInput {
  /** KRW. */
  readonly amount: number;
  /** The transaction's local hour (0–23) in the terminal's time zone. */
  readonly localHour: number;
  /** Uses of the card within the velocity window, this one included. */
  readonly recentCount: number;
}

/** The rule score, in [0, 1], and the rules behind it. */
export interface RuleScore {
  readonly score: number;
  readonly hits: FraudRuleHit[];
}

/**
 * Scores a transaction by the rules: the weights of the rules that fire, summed and capped
 * at 1. The sum is rounded to 6 decimals so that 0.3 + 0.2 + 0.4 reads 0.9, not
 * 0.9000000000000001.
 *
 * @example
 * ```ts
 * ruleScore({ amount: 600_000, localHour: 23, recentCount: 1 }, DEFAULT_FRAUD_RULES);
 * // { score: 0.5, hits: ["high_amount", "night_time"] }
 * ```
 */
export function ruleScore(
  input: FraudRuleInput,
  rules: FraudRules = DEFAULT_FRAUD_RULES,
): RuleScore {
  const hits: FraudRuleHit[] = [];
  let score = 0;
  if (input.amount > rules.veryHighAmount) {
    score += rules.veryHighAmountWeight;
    hits.push("very_high_amount");
  } else if (input.amount > rules.highAmount) {
    score += rules.highAmountWeight;
    hits.push("high_amount");
  }
  if (isNight(input.localHour, rules)) {
    score += rules.nightWeight;
    hits.push("night_time");
  }
  if (input.recentCount > rules.velocityLimit) {
    score += rules.velocityWeight;
    hits.push("card_velocity");
  }
  return { score: Math.min(1, Math.max(0, roundScore(score, 6))), hits };
}

/** Whether a local hour (0–23) is night by the rules' window (which may wrap past midnight). */
export function isNight(
  hour: number,
  rules: Pick<FraudRules, "nightFrom" | "nightUntil">,
): boolean {
  const { nightFrom: from, nightUntil: until } = rules;
  if (from === until) return false;
  return from > until ? hour >= from || hour < until : hour >= from && hour < until;
}

/** Rounds a score to `digits` decimals (scores are shown and compared at that precision). */
export function roundScore(score: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(score * f) / f;
}
