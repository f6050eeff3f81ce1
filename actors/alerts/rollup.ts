/**
 * Per-minute transaction rollups, the operational view of payments: counts by status and by
 * method, failure rate, throughput and amount statistics of each window, and the two alert
 * rules over them. Pure functions; `tx_rollup.ts` is the actor.
 *
 * - **failure** = a transaction whose status is one of `failedStatuses` (default: `rejected`;
 *   `pending` and `approved_offline` are not failures — they may still succeed);
 *   failure rate = failures / transactions; above 5 % → `HIGH_FAILURE_RATE`, critical.
 * - **throughput** = transactions per minute (a window's count scaled to one minute);
 *   below 100 → `LOW_THROUGHPUT`, a warning (severity `medium`).
 *
 * @module
 */
import type { TransactionRecord } from "../contracts.ts";
import type { ResolvedRollup } from "./config.ts";
import {
  addObservation,
  emptyStats,
  mergeStats,
  type Stats,
  type StatsAcc,
  statsOf,
} from "./stats.ts";
import type { Aggregator } from "../shared/windows.ts";

/** Distinct payment methods counted by name; further ones are counted as `other`. */
export const MAX_METHODS = 32;

/** A window's accumulated transactions. */
export interface RollupAcc {
  count: number;
  byStatus: Record<string, number>;
  byMethod: Record<string, number>;
  /** Amounts; its distinct count counts terminals. */
  amount: StatsAcc;
}

/** A closed window's rollup, as emitted on the `payments` topic. */
export interface Rollup {
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byMethod: Readonly<Record<string, number>>;
  readonly failed: number;
  /** failed / count (0 for an empty window). */
  readonly failureRate: number;
  /** Transactions per minute. */
  readonly throughput: number;
  readonly amount: Omit<Stats, "distinct">;
  /** Approximate number of distinct terminals. */
  readonly terminals: number;
  /** An update of a window already emitted, or a window holding late transactions. */
  readonly late: boolean;
}

/** What a rollup says about the alert rules. */
export interface RollupVerdict {
  readonly highFailureRate: boolean;
  readonly lowThroughput: boolean;
}

/** The rollup aggregator for `windows.ts`. */
export const ROLLUP: Aggregator<TransactionRecord, RollupAcc, RollupAcc> = {
  create: () => ({ count: 0, byStatus: {}, byMethod: {}, amount: emptyStats() }),
  add(acc, r) {
    acc.count++;
    acc.byStatus[r.status] = (acc.byStatus[r.status] ?? 0) + 1;
    const method = Object.hasOwn(acc.byMethod, r.method) ||
        Object.keys(acc.byMethod).length < MAX_METHODS
      ? r.method
      : "other";
    acc.byMethod[method] = (acc.byMethod[method] ?? 0) + 1;
    acc.amount = addObservation(acc.amount, { value: r.amount, key: r.terminal });
    return acc;
  },
  merge(a, b) {
    const out = ROLLUP.create();
    out.count = a.count + b.count;
    for (const src of [a, b]) {
      for (const [k, v] of Object.entries(src.byStatus)) {
        out.byStatus[k] = (out.byStatus[k] ?? 0) + v;
      }
      for (const [k, v] of Object.entries(src.byMethod)) {
        out.byMethod[k] = (out.byMethod[k] ?? 0) + v;
      }
    }
    out.amount = mergeStats(a.amount, b.amount);
    return out;
  },
  result: (acc) => acc,
};

/** The rollup of a window. */
export function rollupOf(
  start: number,
  end: number,
  acc: RollupAcc,
  late: boolean,
  config: ResolvedRollup,
): Rollup {
  const failed = config.failedStatuses.reduce((n, s) => n + (acc.byStatus[s] ?? 0), 0);
  const { distinct, ...amount } = statsOf(acc.amount);
  return {
    start,
    end,
    count: acc.count,
    byStatus: { ...acc.byStatus },
    byMethod: { ...acc.byMethod },
    failed,
    failureRate: acc.count === 0 ? 0 : failed / acc.count,
    throughput: (acc.count * 60_000) / (end - start),
    amount,
    terminals: distinct,
    late,
  };
}

/** Applies the alert rules to a rollup. */
export function judge(r: Rollup, config: ResolvedRollup): RollupVerdict {
  return {
    highFailureRate: r.count >= config.failureMinTransactions &&
      r.failureRate > config.failureRateAbove,
    lowThroughput: r.throughput < config.throughputBelow,
  };
}
