/**
 * The fraud model's input: five numbers derived from a transaction and the card's history at
 * the terminal. The training script (`tools/train_fraud_model.ts`) and the terminal use this
 * one function, so the model sees in service exactly what it was trained on.
 *
 * @module
 */

/** Names of the features, in the order of the model's input columns. */
export const FEATURE_NAMES = [
  "log_amount",
  "hour_sin",
  "hour_cos",
  "log_recent_count",
  "log_amount_ratio",
] as const;

/** What the features are computed from. */
export interface FeatureInput {
  /** KRW. */
  readonly amount: number;
  /** Local time of day in the terminal's time zone, in hours: 0 ≤ h < 24 (5:30 → 5.5). */
  readonly localHours: number;
  /** Uses of the card within the velocity window, this one included (≥ 1). */
  readonly recentCount: number;
  /** Mean amount of the card's earlier uses at the terminal, `null` when there are none. */
  readonly priorMean: number | null;
}

/**
 * The model's feature vector:
 * - `log_amount`: ln(1 + amount);
 * - `hour_sin`, `hour_cos`: the time of day on the unit circle (23:59 is next to 00:00);
 * - `log_recent_count`: ln(recent uses of the card, this one included);
 * - `log_amount_ratio`: ln((1 + amount) / (1 + mean earlier amount)), 0 without history.
 *
 * @example
 * ```ts
 * fraudFeatures({ amount: 30_000, localHours: 14.5, recentCount: 1, priorMean: null });
 * ```
 */
export function fraudFeatures(input: FeatureInput): number[] {
  const angle = (2 * Math.PI * input.localHours) / 24;
  const logAmount = Math.log1p(input.amount);
  return [
    logAmount,
    Math.sin(angle),
    Math.cos(angle),
    Math.log(Math.max(1, input.recentCount)),
    input.priorMean === null ? 0 : logAmount - Math.log1p(input.priorMean),
  ];
}
