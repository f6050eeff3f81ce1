/**
 * Mean and deviation of a stream's last ~N values in constant memory: the values are summed
 * into buckets of `N / buckets` (count, sum, sum of squares); when the newest bucket is full a
 * new one starts and the oldest goes. The statistics then cover the last `N - N/buckets + 1` to
 * `N` values — with the defaults (1000 values, 10 buckets) the last 901 to 1000 — in 30
 * numbers instead of 1000. The data quality check "statistical anomaly" (|z| > 3.5 against a
 * sensor's last 1000 values) keeps one per sensor.
 *
 * @module
 */
import { varianceOf } from "./zscore.ts";

/**
 * Buckets as plain JSON: `b` holds `[count, sum, sumSq]` per bucket, oldest first, flat; sums
 * are of `x - k`, `k` being the stream's first value, so that large values close together do
 * not lose their spread to rounding.
 */
export interface RollingStats {
  k: number;
  b: number[];
}

/** An empty stream. */
export function emptyRolling(): RollingStats {
  return { k: 0, b: [] };
}

/**
 * Adds a value. `size` is the bucket size, `buckets` the most buckets kept (`size * buckets`
 * values at most).
 */
export function rollingAdd(r: RollingStats, x: number, size: number, buckets: number): void {
  const b = r.b;
  if (b.length === 0) {
    r.k = x;
    b.push(0, 0, 0);
  } else if (b[b.length - 3]! >= size) {
    if (b.length >= buckets * 3) b.splice(0, 3);
    b.push(0, 0, 0);
  }
  const d = x - r.k;
  const i = b.length - 3;
  b[i]! += 1;
  b[i + 1]! += d;
  b[i + 2]! += d * d;
}

/** Count, mean and population standard deviation of the values covered. */
export function rollingMoments(r: RollingStats): { n: number; mean: number; std: number } {
  const b = r.b;
  let n = 0, s = 0, q = 0;
  for (let i = 0; i < b.length; i += 3) {
    n += b[i]!;
    s += b[i + 1]!;
    q += b[i + 2]!;
  }
  if (n === 0) return { n: 0, mean: 0, std: 0 };
  return { n, mean: r.k + s / n, std: Math.sqrt(varianceOf(n, s, q)) };
}
