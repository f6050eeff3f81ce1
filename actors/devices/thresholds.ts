/**
 * Sensor thresholds: the range a sensor's values are expected in; a value outside
 * raises a `threshold_violation` alert. Defaults per sensor, overridden per device type, then
 * per device.
 *
 * @module
 */

/** An inclusive range; a missing bound is open. */
export interface ThresholdRange {
  readonly min?: number;
  readonly max?: number;
}

/** Thresholds by sensor name. */
export type Thresholds = Readonly<Record<string, ThresholdRange>>;

/** The default thresholds: temperature −10–50, humidity 0–100, vibration 0–1000, door 0–1. */
export const DEFAULT_THRESHOLDS: Thresholds = {
  temperature: { min: -10, max: 50 },
  humidity: { min: 0, max: 100 },
  vibration: { min: 0, max: 1000 },
  door_sensor: { min: 0, max: 1 },
};

/**
 * Whether `value` lies outside `range`. The bounds themselves are inside: with [-10, 50], 50 is
 * fine and 50.0001 a violation.
 */
export function outside(value: number, range: ThresholdRange | undefined): boolean {
  if (range === undefined) return false;
  return (range.min !== undefined && value < range.min) ||
    (range.max !== undefined && value > range.max);
}

/**
 * Layers threshold maps: later layers win per sensor, and within a sensor per bound (a device
 * that sets only `max` keeps its type's `min`).
 *
 * @example
 * ```ts
 * mergeThresholds(DEFAULT_THRESHOLDS, { temperature: { max: 80 } }).temperature;
 * // { min: -10, max: 80 }
 * ```
 */
export function mergeThresholds(...layers: (Thresholds | undefined)[]): Thresholds {
  const out: Record<string, ThresholdRange> = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [sensor, range] of Object.entries(layer)) {
      const base = out[sensor];
      out[sensor] = base === undefined ? { ...range } : { ...base, ...range };
    }
  }
  return out;
}
