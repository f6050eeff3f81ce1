/**
 * Z-scores and the anomaly score derived from them: how many standard deviations a
 * value lies from the mean of the values before it.
 *
 * @module
 */

/** How anomaly scores are computed and alerted, with their defaults. */
export interface AnomalyConfig {
  /** The window must hold at least this many values before a new one is scored. @default 10 */
  readonly minValues: number;
  /** Anomaly score = min(|z| / scale, 1). @default 3 */
  readonly scale: number;
  /** A score above this raises `pattern_anomaly`, severity high. @default 0.8 */
  readonly alertAbove: number;
  /** A score above this makes the alert critical. @default 0.9 */
  readonly criticalAbove: number;
}

/**
 * The default anomaly rules: a value is scored once 10 are in the window, its score is |z| / 3
 * capped at 1, above 0.8 it is alerted, above 0.9 as critical.
 */
export const DEFAULT_ANOMALY: AnomalyConfig = {
  minValues: 10,
  scale: 3,
  alertAbove: 0.8,
  criticalAbove: 0.9,
};

/**
 * The population variance from a count, a sum and a sum of squares (all of values minus a
 * common shift), or 0 when the difference is lost in rounding: a window of equal values must
 * have no spread, not a spread of 1e-17 that would make every later value infinitely unusual.
 */
export function varianceOf(n: number, sum: number, sumSq: number): number {
  if (n < 2) return 0;
  const meanSq = sumSq / n;
  const m = sum / n;
  const v = meanSq - m * m;
  return v <= meanSq * 1e-12 ? 0 : v;
}

/**
 * |z| of `x` against a mean and standard deviation; 0 when the deviation is 0 (a constant
 * history gives no basis to call a value unusual).
 */
export function absZ(x: number, mean: number, std: number): number {
  if (!(std > 0)) return 0;
  return Math.abs(x - mean) / std;
}

/**
 * The anomaly score of a |z|: min(|z| / scale, 1), in [0, 1].
 *
 * @example
 * ```ts
 * anomalyScore(1.5); // 0.5
 * anomalyScore(9);   // 1
 * ```
 */
export function anomalyScore(z: number, config: AnomalyConfig = DEFAULT_ANOMALY): number {
  if (!(z > 0)) return 0;
  return Math.min(z / config.scale, 1);
}

/** The alert level of a score: 0 none, 1 high (above `alertAbove`), 2 critical (above `criticalAbove`). */
export function anomalyLevel(score: number, config: AnomalyConfig = DEFAULT_ANOMALY): 0 | 1 | 2 {
  if (score > config.criticalAbove) return 2;
  if (score > config.alertAbove) return 1;
  return 0;
}
