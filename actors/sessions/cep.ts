/**
 * The four complex event patterns of a customer, as incremental matchers over the
 * customer's events in event-time order (the customer actor feeds them only events the
 * watermark has made final, so out-of-order arrival within the allowed lateness does not
 * change a result). Pure functions over small, bounded state: each matcher keeps only what can
 * still complete a match within its window.
 *
 * Windows are inclusive: "within 5 min" holds when the last event is at most 5 min after the
 * first. After a match the events it used are consumed (skip past the last event), so a burst
 * of 10 rapid logins is two matches, not six.
 *
 * - RAPID_LOGIN_ATTEMPTS: `count` (5) logins within `within` (5 min).
 * - ESCALATING_AMOUNTS: `count` (4) consecutive transactions (other event types in between
 *   do not break the chain, other transactions do), the first above `first` (1,000), each next
 *   above `factor` (1.5) × the previous — exactly 1.5 × does not continue it — the last within
 *   `within` (10 min) of the first. A chain that grows too old drops its oldest links.
 * - GEOGRAPHICAL_IMPOSSIBILITY: two consecutive logins carrying a location whose haversine
 *   distance over the time between them is above `maxSpeedKmh` (1,000; exactly 1,000 is
 *   possible). Logins without a location are skipped.
 * - SUSPICIOUS_TRANSACTION_PATTERN: a transaction above `large` (10,000) followed — not
 *   necessarily directly — by `count` (10) transactions below `small` (100), the last within
 *   `within` (1 h) of the large one.
 *
 * @module
 */
import type { JsonValue } from "../../runtime/mod.ts";
import type { ResolvedSessionsConfig } from "./config.ts";
import type { CustomerEvent } from "./event.ts";
import { haversineKm, speedKmh } from "../shared/geo.ts";

/** The pattern names, which are also the alert types they raise. */
export type PatternName =
  | "RAPID_LOGIN_ATTEMPTS"
  | "ESCALATING_AMOUNTS"
  | "GEOGRAPHICAL_IMPOSSIBILITY"
  | "SUSPICIOUS_TRANSACTION_PATTERN";

/** A completed pattern. */
export interface PatternMatch {
  readonly pattern: PatternName;
  /** The pattern's risk value. */
  readonly risk: number;
  /** Event time of the event that completed it. */
  readonly at: number;
  readonly message: string;
  /** The events it matched (times and the relevant values). */
  readonly data: JsonValue;
}

/** Partial matches. */
export interface CepState {
  /** Times of recent logins. */
  logins: number[];
  /** The last login that carried a location. */
  lastLocated: { ts: number; lat: number; lon: number } | null;
  /** The current escalating chain of transactions. */
  chain: { ts: number; amount: number }[];
  /** Large transactions waiting for small ones, with how many followed so far. */
  larges: { ts: number; amount: number; smalls: number }[];
}

/** Large transactions waiting at once, at most (the oldest are given up). */
export const MAX_LARGES = 100;

/** No partial matches. */
export function emptyCep(): CepState {
  return { logins: [], lastLocated: null, chain: [], larges: [] };
}

/** Feeds one event (in event-time order) and returns the patterns it completes. */
export function feedCep(
  cep: CepState,
  ev: CustomerEvent,
  config: ResolvedSessionsConfig["patterns"],
): PatternMatch[] {
  const out: PatternMatch[] = [];
  if (ev.type === "login") {
    const rapid = rapidLogins(cep, ev, config.rapidLogins);
    if (rapid !== null) out.push(rapid);
    const travel = impossibleTravel(cep, ev, config.impossibleTravel);
    if (travel !== null) out.push(travel);
  } else if (ev.type === "transaction" && ev.amount !== undefined) {
    const chain = escalation(cep, ev.ts, ev.amount, config.escalatingAmounts);
    if (chain !== null) out.push(chain);
    const burst = largeThenSmall(cep, ev.ts, ev.amount, config.largeThenSmall);
    if (burst !== null) out.push(burst);
  }
  return out;
}

function rapidLogins(
  cep: CepState,
  ev: CustomerEvent,
  c: ResolvedSessionsConfig["patterns"]["rapidLogins"],
): PatternMatch | null {
  cep.logins.push(ev.ts);
  while (ev.ts - cep.logins[0]! > c.withinMs) cep.logins.shift();
  if (cep.logins.length < c.count) return null;
  const times = cep.logins;
  cep.logins = [];
  return {
    pattern: "RAPID_LOGIN_ATTEMPTS",
    risk: c.risk,
    at: ev.ts,
    message: `${times.length} logins within ${((ev.ts - times[0]!) / 1000).toFixed(1)} s`,
    data: { risk: c.risk, logins: times },
  };
}

function impossibleTravel(
  cep: CepState,
  ev: CustomerEvent,
  c: ResolvedSessionsConfig["patterns"]["impossibleTravel"],
): PatternMatch | null {
  if (ev.lat === undefined || ev.lon === undefined) return null;
  const last = cep.lastLocated;
  cep.lastLocated = { ts: ev.ts, lat: ev.lat, lon: ev.lon };
  if (last === null) return null;
  const km = haversineKm(last, { lat: ev.lat, lon: ev.lon });
  const kmh = speedKmh(km, ev.ts - last.ts);
  if (!(kmh > c.maxSpeedKmh)) return null;
  const shown = Number.isFinite(kmh) ? `${Math.round(kmh)} km/h` : "no time at all";
  return {
    pattern: "GEOGRAPHICAL_IMPOSSIBILITY",
    risk: c.risk,
    at: ev.ts,
    message: `impossible travel: ${km.toFixed(1)} km in ${
      ((ev.ts - last.ts) / 3_600_000).toFixed(3)
    } h (${shown})`,
    data: {
      risk: c.risk,
      from: last,
      to: { ts: ev.ts, lat: ev.lat, lon: ev.lon },
      distanceKm: km,
      speedKmh: Number.isFinite(kmh) ? kmh : null,
    },
  };
}

function escalation(
  cep: CepState,
  ts: number,
  amount: number,
  c: ResolvedSessionsConfig["patterns"]["escalatingAmounts"],
): PatternMatch | null {
  const last = cep.chain.at(-1);
  if (last !== undefined && amount > c.factor * last.amount) {
    cep.chain.push({ ts, amount });
    // Links after the first are above factor × (something above `first`): any can start a chain.
    while (ts - cep.chain[0]!.ts > c.withinMs) cep.chain.shift();
  } else {
    cep.chain = amount > c.first ? [{ ts, amount }] : [];
  }
  if (cep.chain.length < c.count) return null;
  const links = cep.chain;
  cep.chain = [];
  return {
    pattern: "ESCALATING_AMOUNTS",
    risk: c.risk,
    at: ts,
    message: `${links.length} escalating transactions: ${links.map((l) => l.amount).join(" → ")}`,
    data: { risk: c.risk, transactions: links },
  };
}

function largeThenSmall(
  cep: CepState,
  ts: number,
  amount: number,
  c: ResolvedSessionsConfig["patterns"]["largeThenSmall"],
): PatternMatch | null {
  cep.larges = cep.larges.filter((l) => ts - l.ts <= c.withinMs);
  if (amount > c.large) {
    cep.larges.push({ ts, amount, smalls: 0 });
    if (cep.larges.length > MAX_LARGES) cep.larges.shift();
    return null;
  }
  if (!(amount < c.small)) return null;
  for (const l of cep.larges) l.smalls++;
  const done = cep.larges.find((l) => l.smalls >= c.count);
  if (done === undefined) return null;
  cep.larges = [];
  return {
    pattern: "SUSPICIOUS_TRANSACTION_PATTERN",
    risk: c.risk,
    at: ts,
    message: `a transaction of ${done.amount} followed by ${done.smalls} under ${c.small} ` +
      `within ${Math.round((ts - done.ts) / 60_000)} min`,
    data: {
      risk: c.risk,
      large: { ts: done.ts, amount: done.amount },
      smalls: done.smalls,
      last: ts,
    },
  };
}
