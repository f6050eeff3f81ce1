/**
 * Per-sensor analytics of a device: each reading is checked against its sensor's
 * thresholds, joins the sensor's 60 s window, is scored against it (z-score → anomaly score)
 * and updates the trend of the window's last values. What deserves an alert comes back as
 * {@link Signal}s — on transitions only (a sensor entering a violation, a rapid trend or an
 * anomaly), so a device stuck outside its range raises one alert, not one per reading.
 *
 * @module
 */
import { outside, type ThresholdRange } from "./thresholds.ts";
import { rapidity, type Trend, type TrendConfig, trendOf } from "./trend.ts";
import {
  advance,
  emptyWindow,
  insert,
  moments,
  type SensorWindow,
  statsOf,
  type WindowConfig,
  type WindowStats,
} from "./window.ts";
import { absZ, type AnomalyConfig, anomalyLevel, anomalyScore } from "./zscore.ts";

/** Settings of the analytics. */
export interface AnalyticsConfig {
  readonly window: WindowConfig;
  readonly trend: TrendConfig;
  readonly anomaly: AnomalyConfig;
}

/** One sensor's analytics state (plain JSON, part of the device's state). */
export interface SensorAnalytics {
  w: SensorWindow;
  trend: Trend;
  /** Anomaly score of the last reading that joined the window. */
  score: number;
  /** Newest event time seen (any reading, in the window or not); `null` before the first. */
  last: number | null;
  /** The newest reading is outside its thresholds. */
  out: boolean;
  /** The current trend is rapid: +1 up, -1 down, 0 no. */
  rapid: -1 | 0 | 1;
  /** Anomaly level of the last scored reading: 0, 1 high, 2 critical. */
  level: 0 | 1 | 2;
}

/** Something about a reading that may deserve an alert. */
export type Signal =
  | {
    readonly kind: "threshold";
    readonly sensor: string;
    readonly value: number;
    readonly ts: number;
    readonly range: ThresholdRange;
    /** The reading is older than the sensor's newest (it raises, but changes no state). */
    readonly late: boolean;
  }
  | {
    readonly kind: "threshold_ok";
    readonly sensor: string;
    readonly value: number;
    readonly ts: number;
  }
  | {
    readonly kind: "rapid";
    readonly sensor: string;
    readonly trend: Trend;
    readonly value: number;
    readonly ts: number;
  }
  | {
    readonly kind: "anomaly";
    readonly sensor: string;
    readonly score: number;
    readonly z: number;
    readonly level: 1 | 2;
    readonly value: number;
    readonly ts: number;
  };

/** What the API shows of a sensor's analytics. */
export interface SensorAnalyticsView {
  readonly trend: Trend;
  readonly anomalyScore: number;
  readonly window: WindowStats;
}

/** A sensor with no readings yet. */
export function emptyAnalytics(): SensorAnalytics {
  return {
    w: emptyWindow(),
    trend: "stable",
    score: 0,
    last: null,
    out: false,
    rapid: 0,
    level: 0,
  };
}

/**
 * Analyses one reading and pushes what deserves an alert onto `signals`.
 *
 * - Thresholds: the newest reading decides whether the sensor is in violation; entering a
 *   violation signals `threshold`, leaving it `threshold_ok`. A late reading outside its range
 *   signals `threshold` (unless the sensor is in violation already) but changes no state.
 * - A reading within the window's span is scored against the window as it stands before the
 *   reading joins it — once that window holds `anomaly.minValues` values — then joins it; the
 *   trend is that of the window's last values. A reading older than the window's span is too
 *   late for it: only its thresholds are checked.
 * - `rapid` is signalled when the trend turns rapid (or flips direction), `anomaly` when the
 *   anomaly level rises above that of the previous scored reading.
 *
 * Work per reading: O(1) besides the trend's fit over `trend.values` points (and an insertion
 * in the middle of the window for a late reading).
 */
export function observe(
  a: SensorAnalytics,
  sensor: string,
  ts: number,
  value: number,
  range: ThresholdRange | undefined,
  config: AnalyticsConfig,
  signals: Signal[],
): void {
  const isOut = outside(value, range);
  if (a.last === null || ts >= a.last) {
    a.last = ts;
    if (isOut && !a.out) {
      signals.push({ kind: "threshold", sensor, value, ts, range: range!, late: false });
    } else if (!isOut && a.out) signals.push({ kind: "threshold_ok", sensor, value, ts });
    a.out = isOut;
  } else if (isOut && !a.out) {
    signals.push({ kind: "threshold", sensor, value, ts, range: range!, late: true });
  }

  const w = a.w;
  if (!advance(w, ts, config.window.span)) return;
  const m = moments(w);
  let score = 0, z = 0;
  if (m.n >= config.anomaly.minValues) {
    z = absZ(value, m.mean, m.std);
    score = anomalyScore(z, config.anomaly);
  }
  insert(w, ts, value, config.window.maxValues);
  a.score = score;
  const level = anomalyLevel(score, config.anomaly);
  if (level > a.level) {
    signals.push({ kind: "anomaly", sensor, score, z, level: level as 1 | 2, value, ts });
  }
  a.level = level;

  const trend = trendOf(w.t, w.v, config.trend);
  const r = rapidity(trend);
  if (r !== 0 && r !== a.rapid) signals.push({ kind: "rapid", sensor, trend, value, ts });
  a.rapid = r;
  a.trend = trend;
}

/** The API's view of a sensor's analytics. */
export function viewOf(a: SensorAnalytics): SensorAnalyticsView {
  return { trend: a.trend, anomalyScore: a.score, window: statsOf(a.w) };
}
