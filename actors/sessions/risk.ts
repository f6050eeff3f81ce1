/**
 * Risk assessment of an amount against the customer's profile:
 *
 * - amount above 80 % of the credit limit: +30 `HIGH_AMOUNT`;
 * - profile risk score above 0.7: +40 `HIGH_RISK_USER`;
 * - local hour 0–6 in the customer's time zone: +20 `UNUSUAL_TIME` — both ends inclusive, as
 *   in the seed (`0 <= hour <= 6`), so 06:59 is unusual and 07:00 is not;
 *
 * capped at 100; review required above 50 (so 50 itself needs none).
 *
 * @module
 */
import { localTime } from "../shared/time_zone.ts";
import type { ResolvedSessionsConfig } from "./config.ts";
import type { CustomerProfile } from "./profile.ts";

/** The result of an assessment. */
export interface RiskAssessment {
  /** 0–100. */
  readonly score: number;
  readonly factors: readonly string[];
  readonly reviewRequired: boolean;
  /** The local hour the time rule looked at. */
  readonly hour: number;
}

/** Is `hour` within `from`–`to` (inclusive; a range like 22–5 wraps past midnight)? */
export function inHours(hour: number, hours: { from: number; to: number }): boolean {
  return hours.from <= hours.to
    ? hour >= hours.from && hour <= hours.to
    : hour >= hours.from || hour <= hours.to;
}

/** Assesses an amount at event time `ts` for a customer with `profile`. */
export function assessRisk(
  amount: number,
  ts: number,
  profile: CustomerProfile,
  c: ResolvedSessionsConfig["risk"],
): RiskAssessment {
  let score = 0;
  const factors: string[] = [];
  if (amount > profile.creditLimit * c.highAmountRatio) {
    score += c.highAmountPoints;
    factors.push("HIGH_AMOUNT");
  }
  if (profile.riskScore > c.highRiskScore) {
    score += c.highRiskPoints;
    factors.push("HIGH_RISK_USER");
  }
  const hour = localTime(ts, profile.timezone ?? c.timeZone).hour;
  if (inHours(hour, c.unusualHours)) {
    score += c.unusualTimePoints;
    factors.push("UNUSUAL_TIME");
  }
  const capped = Math.min(score, c.cap);
  return { score: capped, factors, reviewRequired: capped > c.reviewAbove, hour };
}
