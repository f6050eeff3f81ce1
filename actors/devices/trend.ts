/**
 * Trend of a sensor: the least-squares slope of its last values, classified as
 * rapidly increasing, increasing, stable, decreasing or rapidly decreasing.
 *
 * @module
 */

/** A trend class. */
export type Trend =
  | "rapidly_increasing"
  | "increasing"
  | "stable"
  | "decreasing"
  | "rapidly_decreasing";

/**
 * What the slope is measured against:
 * - `"index"`: the position of each value (0, 1, 2, …), so the slope is in units per reading —
 *   the default, whatever the sampling rate;
 * - `"seconds"`: the value's event time in seconds, so the slope is in units per second and
 *   does not depend on how often the device reports.
 */
export type TrendAxis = "index" | "seconds";

/** How trends are computed, with their defaults. */
export interface TrendConfig {
  /** How many of the newest values the slope is fitted to. @default 10 */
  readonly values: number;
  /** Fewer values in the window than this: `"stable"` (no fit). @default 5 */
  readonly minValues: number;
  /** @default "index" */
  readonly axis: TrendAxis;
  /** A slope above this (below its negative) is rapid. @default 1 */
  readonly rapid: number;
  /** A slope above this (below its negative) is a trend at all. @default 0.1 */
  readonly slope: number;
}

/**
 * The default trend rules: the slope of the last 10 values (stable with fewer than 5), by
 * index; above 1 per reading is rapid, above 0.1 a trend.
 */
export const DEFAULT_TREND: TrendConfig = {
  values: 10,
  minValues: 5,
  axis: "index",
  rapid: 1,
  slope: 0.1,
};

/**
 * The least-squares slope of the points `(x[i], y[i])` for `i` in `[from, to)`; 0 when fewer
 * than two points or when every `x` is the same.
 *
 * `x` may be `null` to use the index (0, 1, 2, …) as the abscissa. Allocates nothing.
 *
 * @example
 * ```ts
 * slope(null, [1, 2, 3], 0, 3); // 1
 * ```
 */
export function slope(
  x: readonly number[] | null,
  y: readonly number[],
  from: number,
  to: number,
  xScale = 1,
): number {
  const n = to - from;
  if (n < 2) return 0;
  // Centre both axes on their first point: the sums stay small, so no precision is lost to
  // epoch-millisecond abscissae.
  const x0 = x === null ? 0 : x[from]!;
  const y0 = y[from]!;
  let sx = 0, sy = 0, sxy = 0, sxx = 0;
  for (let i = from; i < to; i++) {
    const xi = x === null ? i - from : (x[i]! - x0) / xScale;
    const yi = y[i]! - y0;
    sx += xi;
    sy += yi;
    sxy += xi * yi;
    sxx += xi * xi;
  }
  const den = n * sxx - sx * sx;
  if (den === 0) return 0;
  return (n * sxy - sx * sy) / den;
}

/**
 * Classifies a slope: above `rapid` rapidly increasing, above `slope` increasing, below
 * `-rapid` rapidly decreasing, below `-slope` decreasing, else stable. Boundaries are stable
 * or the milder class: a slope of exactly 1 is `"increasing"`, exactly 0.1 `"stable"`.
 */
export function classifySlope(value: number, config: TrendConfig = DEFAULT_TREND): Trend {
  if (value > config.rapid) return "rapidly_increasing";
  if (value > config.slope) return "increasing";
  if (value < -config.rapid) return "rapidly_decreasing";
  if (value < -config.slope) return "decreasing";
  return "stable";
}

/**
 * The trend of a series sorted by time: the slope of its last `config.values` values,
 * classified; `"stable"` with fewer than `config.minValues` values.
 *
 * @param ts event times (epoch ms), used on the `"seconds"` axis
 * @param values the values, same length as `ts`
 * @example
 * ```ts
 * trendOf([0, 1000, 2000, 3000, 4000], [1, 3, 5, 7, 9]); // "rapidly_increasing" (2 per reading)
 * ```
 */
export function trendOf(
  ts: readonly number[],
  values: readonly number[],
  config: TrendConfig = DEFAULT_TREND,
): Trend {
  const n = values.length;
  if (n < config.minValues || n < 2) return "stable";
  const from = Math.max(0, n - config.values);
  const s = config.axis === "index"
    ? slope(null, values, from, n)
    : slope(ts, values, from, n, 1000);
  return classifySlope(s, config);
}

/** +1 for a rapidly increasing trend, -1 for rapidly decreasing, 0 otherwise. */
export function rapidity(trend: Trend): -1 | 0 | 1 {
  return trend === "rapidly_increasing" ? 1 : trend === "rapidly_decreasing" ? -1 : 0;
}
