/**
 * Numeric window statistics: count, sum, min, max, avg, p50/p95/p99 (`quantiles.ts`) and an
 * approximate distinct count (`distinct.ts`) — an {@link Aggregator} for `windows.ts`.
 *
 * @module
 */
import {
  addKey,
  type Distinct,
  emptyDistinct,
  estimate,
  mergeDistinct,
} from "../shared/distinct.ts";
import { addValue, emptyQuantiles, mergeQuantiles, quantile, type Quantiles } from "./quantiles.ts";
import type { Aggregator } from "../shared/windows.ts";

/** One observation: a value, and optionally the key it counts as for distinct counts. */
export interface Observation {
  readonly value: number;
  /** What distinct counts count; the value itself when absent. */
  readonly key?: string;
}

/** The accumulated statistics of a window. */
export interface StatsAcc {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  q: Quantiles;
  d: Distinct;
}

/** A window's statistics. */
export interface Stats {
  readonly count: number;
  readonly sum: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly avg: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Approximate number of distinct keys (see `distinct.ts` for the error). */
  readonly distinct: number;
}

/** Empty statistics. */
export function emptyStats(): StatsAcc {
  return { count: 0, sum: 0, min: null, max: null, q: emptyQuantiles(), d: emptyDistinct() };
}

/** Adds an observation (non-finite values are ignored). */
export function addObservation(acc: StatsAcc, o: Observation): StatsAcc {
  if (!Number.isFinite(o.value)) return acc;
  acc.count++;
  acc.sum += o.value;
  acc.min = acc.min === null ? o.value : Math.min(acc.min, o.value);
  acc.max = acc.max === null ? o.value : Math.max(acc.max, o.value);
  acc.q = addValue(acc.q, o.value);
  acc.d = addKey(acc.d, o.key ?? String(o.value));
  return acc;
}

/** Merges two accumulators. */
export function mergeStats(a: StatsAcc, b: StatsAcc): StatsAcc {
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
    max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
    q: mergeQuantiles(a.q, b.q),
    d: mergeDistinct(a.d, b.d),
  };
}

/** The statistics of an accumulator. */
export function statsOf(acc: StatsAcc): Stats {
  return {
    count: acc.count,
    sum: acc.sum,
    min: acc.min,
    max: acc.max,
    avg: acc.count === 0 ? null : acc.sum / acc.count,
    p50: quantile(acc.q, 0.5),
    p95: quantile(acc.q, 0.95),
    p99: quantile(acc.q, 0.99),
    distinct: estimate(acc.d),
  };
}

/** The statistics aggregator for `windows.ts`. */
export const STATS: Aggregator<Observation, StatsAcc, Stats> = {
  create: emptyStats,
  add: addObservation,
  merge: mergeStats,
  result: statsOf,
};
