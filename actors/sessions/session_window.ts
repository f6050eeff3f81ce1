/**
 * Session windows of a customer: events separated by less than the inactivity gap
 * (30 min) form one session — two events exactly 30 min apart start a new one. A session's
 * summary: event count, duration (first to last event), unique pages, event-type distribution,
 * and an anomaly score:
 *
 * - more than 1,000 events: +0.3 (`MANY_EVENTS`);
 * - longer than 1 h: +0.2 (`LONG_SESSION`);
 * - more than 100 API calls and no page view: +0.5 (`API_WITHOUT_PAGE_VIEWS`);
 *
 * capped at 1. An {@link Aggregator} for session windows (`shared/windows.ts`).
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
import type { Aggregator } from "../shared/windows.ts";
import type { ResolvedSessionsConfig } from "./config.ts";
import type { CustomerEvent } from "./event.ts";

/** A session's accumulated events. */
export interface SessionAcc {
  first: number;
  last: number;
  count: number;
  /** Events by type (at most the configured number of names; then `other`). */
  types: Record<string, number>;
  /** Distinct pages (exact up to 256, then HyperLogLog: see `distinct.ts`). */
  pages: Distinct;
}

/** A session as shown and emitted. */
export interface SessionSummary {
  readonly start: number;
  /** Time of the last event. */
  readonly end: number;
  readonly durationMs: number;
  readonly eventCount: number;
  readonly uniquePages: number;
  readonly eventTypes: Readonly<Record<string, number>>;
  readonly anomalyScore: number;
  readonly anomalyFactors: readonly string[];
}

const aggregators = new WeakMap<
  ResolvedSessionsConfig,
  Aggregator<CustomerEvent, SessionAcc, SessionSummary>
>();

/** The session aggregator, for a configuration (one per configuration, reused). */
export function sessionAggregator(
  config: ResolvedSessionsConfig,
): Aggregator<CustomerEvent, SessionAcc, SessionSummary> {
  let agg = aggregators.get(config);
  if (agg === undefined) {
    agg = makeAggregator(config);
    aggregators.set(config, agg);
  }
  return agg;
}

function makeAggregator(
  config: ResolvedSessionsConfig,
): Aggregator<CustomerEvent, SessionAcc, SessionSummary> {
  const countType = (types: Record<string, number>, type: string, n: number) => {
    const name = Object.hasOwn(types, type) || Object.keys(types).length < config.limits.eventTypes
      ? type
      : "other";
    types[name] = (types[name] ?? 0) + n;
  };
  return {
    create: () => ({
      first: Infinity,
      last: -Infinity,
      count: 0,
      types: {},
      pages: emptyDistinct(),
    }),
    add(acc, ev) {
      acc.first = Math.min(acc.first, ev.ts);
      acc.last = Math.max(acc.last, ev.ts);
      acc.count++;
      countType(acc.types, ev.type, 1);
      if (ev.page !== undefined) acc.pages = addKey(acc.pages, ev.page);
      return acc;
    },
    merge(a, b) {
      const types = { ...a.types };
      for (const [t, n] of Object.entries(b.types)) countType(types, t, n);
      return {
        first: Math.min(a.first, b.first),
        last: Math.max(a.last, b.last),
        count: a.count + b.count,
        types,
        pages: mergeDistinct(a.pages, b.pages),
      };
    },
    result: (acc) => summarize(acc, config.anomaly),
  };
}

/** The summary of a session, with its anomaly score. */
export function summarize(
  acc: SessionAcc,
  anomaly: ResolvedSessionsConfig["anomaly"],
): SessionSummary {
  const durationMs = acc.count === 0 ? 0 : acc.last - acc.first;
  const { score, factors } = anomalyScore(acc.count, durationMs, acc.types, anomaly);
  return {
    start: acc.first,
    end: acc.last,
    durationMs,
    eventCount: acc.count,
    uniquePages: estimate(acc.pages),
    eventTypes: { ...acc.types },
    anomalyScore: score,
    anomalyFactors: factors,
  };
}

/** The anomaly score of a session and the parts that make it up. */
export function anomalyScore(
  count: number,
  durationMs: number,
  types: Readonly<Record<string, number>>,
  c: ResolvedSessionsConfig["anomaly"],
): { score: number; factors: string[] } {
  let score = 0;
  const factors: string[] = [];
  if (count > c.maxEvents) {
    score += c.manyEventsWeight;
    factors.push("MANY_EVENTS");
  }
  if (durationMs > c.maxDurationMs) {
    score += c.longSessionWeight;
    factors.push("LONG_SESSION");
  }
  if ((types["api_call"] ?? 0) > c.maxApiCallsWithoutPageView && (types["page_view"] ?? 0) === 0) {
    score += c.botWeight;
    factors.push("API_WITHOUT_PAGE_VIEWS");
  }
  // Weights are tenths: keep 0.3 + 0.5 from reading 0.8000000000000002.
  return { score: Math.min(1, Math.round(score * 1e6) / 1e6), factors };
}
