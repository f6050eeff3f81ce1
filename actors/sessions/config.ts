/**
 * Configuration of the customer sessions area: event-time settings, the four complex event
 * patterns, session windows and their anomaly score, risk assessment, checkout. Every threshold
 * has a default ({@link DEFAULT_SESSIONS}); a deployment overrides any part, field by field.
 *
 * @module
 */
import { ConfigError, type Duration, toMillis } from "../../runtime/mod.ts";
import { checkCount, checkRange } from "../shared/config_checks.ts";
import { isTimeZone } from "../shared/time_zone.ts";

/** A pattern's alert: its risk value becomes the alert's data and decides its severity. */
interface Risky {
  /** Risk value of a match, 0–1. */
  readonly risk: number;
}

/** 5 logins within 5 min (risk 0.8). */
export interface RapidLoginsConfig extends Risky {
  readonly count: number;
  readonly within: Duration;
}

/** A > 1,000 then each next > 1.5 × previous, 4 in 10 min (risk 0.85). */
export interface EscalatingAmountsConfig extends Risky {
  /** The first amount must be above this. */
  readonly first: number;
  /** Each next amount must be above this times the previous. */
  readonly factor: number;
  readonly count: number;
  readonly within: Duration;
}

/** Impossible travel between logins: faster than 1,000 km/h (risk 0.95). */
export interface ImpossibleTravelConfig extends Risky {
  readonly maxSpeedKmh: number;
}

/** One transaction > 10,000 followed by 10 under 100 within 1 h (risk 0.9). */
export interface LargeThenSmallConfig extends Risky {
  readonly large: number;
  readonly small: number;
  readonly count: number;
  readonly within: Duration;
}

/** The four patterns. */
export interface PatternsConfig {
  readonly rapidLogins: Partial<RapidLoginsConfig>;
  readonly escalatingAmounts: Partial<EscalatingAmountsConfig>;
  readonly impossibleTravel: Partial<ImpossibleTravelConfig>;
  readonly largeThenSmall: Partial<LargeThenSmallConfig>;
}

/**
 * Session anomaly score parts: more than 1,000 events +0.3, longer than 1 h +0.2, more than 100
 * API calls and no page view +0.5.
 */
export interface AnomalyConfig {
  readonly maxEvents: number;
  readonly manyEventsWeight: number;
  readonly maxDuration: Duration;
  readonly longSessionWeight: number;
  readonly maxApiCallsWithoutPageView: number;
  readonly botWeight: number;
}

/**
 * Risk assessment with the customer profile: a high amount +30, a high-risk customer +40,
 * unusual hours +20; capped at 100, review above 50.
 */
export interface RiskConfig {
  /** An amount above this share of the credit limit is HIGH_AMOUNT. */
  readonly highAmountRatio: number;
  readonly highAmountPoints: number;
  /** A profile risk score above this is HIGH_RISK_USER. */
  readonly highRiskScore: number;
  readonly highRiskPoints: number;
  /** UNUSUAL_TIME: local hours `from`–`to`, both inclusive (0–6: 00:00 to 06:59). */
  readonly unusualHours: { readonly from: number; readonly to: number };
  readonly unusualTimePoints: number;
  readonly cap: number;
  /** A score above this requires review. */
  readonly reviewAbove: number;
  /** The time zone of a customer whose profile names none. */
  readonly timeZone: string;
}

/** Smart-store checkout: a total above 100,000 with a credit score below 0.3 needs approval. */
export interface CheckoutConfig {
  readonly approvalTotal: number;
  readonly minCreditScore: number;
  /** Credit score of a customer without a profile (the seed's local-cache default). */
  readonly defaultCreditScore: number;
  readonly maxItems: number;
  /** Skus the inventory holds at most. */
  readonly maxSkus: number;
}

/** What each customer keeps (state stays bounded). */
export interface SessionLimits {
  readonly closedSessions: number;
  readonly matches: number;
  readonly assessments: number;
  readonly checkouts: number;
  /** Events waiting for the watermark; beyond, the oldest are made final early. */
  readonly pending: number;
  /** Event types counted by name in a session; further ones count as `other`. */
  readonly eventTypes: number;
}

/** Configuration of this area: every threshold and weight, each with its default. */
export interface SessionsConfig {
  /** Allowed out-of-orderness of a customer's events. @default "PT5S" */
  readonly outOfOrderness: Duration;
  /** Inactivity that ends a session. @default "PT30M" */
  readonly sessionGap: Duration;
  /** Events stamped further than this ahead of the server's clock are refused. @default "PT1H" */
  readonly maxClockSkew: Duration;
  readonly patterns: Partial<PatternsConfig>;
  /** Risk at or above which a match is critical / high / medium (else low). */
  readonly severities: Partial<{ critical: number; high: number; medium: number }>;
  readonly anomaly: Partial<AnomalyConfig>;
  readonly risk: Partial<RiskConfig>;
  readonly checkout: Partial<CheckoutConfig>;
  readonly limits: Partial<SessionLimits>;
  /** Idle time before a customer actor is passivated (longer than the session gap). @default "PT1H" */
  readonly passivateAfter: Duration;
}

/** The configuration in milliseconds, every default filled in. */
export interface ResolvedSessionsConfig {
  readonly outOfOrdernessMs: number;
  readonly sessionGapMs: number;
  readonly maxClockSkewMs: number;
  readonly patterns: {
    readonly rapidLogins: { count: number; withinMs: number; risk: number };
    readonly escalatingAmounts: {
      first: number;
      factor: number;
      count: number;
      withinMs: number;
      risk: number;
    };
    readonly impossibleTravel: { maxSpeedKmh: number; risk: number };
    readonly largeThenSmall: {
      large: number;
      small: number;
      count: number;
      withinMs: number;
      risk: number;
    };
  };
  readonly severities: { critical: number; high: number; medium: number };
  readonly anomaly: Omit<AnomalyConfig, "maxDuration"> & { readonly maxDurationMs: number };
  readonly risk: RiskConfig;
  readonly checkout: CheckoutConfig;
  readonly limits: SessionLimits;
  readonly passivateAfterMs: number;
}

/** The defaults of every setting (durations as ISO-8601). */
export const DEFAULT_SESSIONS = {
  outOfOrderness: "PT5S",
  sessionGap: "PT30M",
  maxClockSkew: "PT1H",
  patterns: {
    rapidLogins: { count: 5, within: "PT5M", risk: 0.8 },
    escalatingAmounts: { first: 1000, factor: 1.5, count: 4, within: "PT10M", risk: 0.85 },
    impossibleTravel: { maxSpeedKmh: 1000, risk: 0.95 },
    largeThenSmall: { large: 10_000, small: 100, count: 10, within: "PT1H", risk: 0.9 },
  },
  severities: { critical: 0.9, high: 0.7, medium: 0.4 },
  anomaly: {
    maxEvents: 1000,
    manyEventsWeight: 0.3,
    maxDuration: "PT1H",
    longSessionWeight: 0.2,
    maxApiCallsWithoutPageView: 100,
    botWeight: 0.5,
  },
  risk: {
    highAmountRatio: 0.8,
    highAmountPoints: 30,
    highRiskScore: 0.7,
    highRiskPoints: 40,
    unusualHours: { from: 0, to: 6 },
    unusualTimePoints: 20,
    cap: 100,
    reviewAbove: 50,
    timeZone: "UTC",
  },
  checkout: {
    approvalTotal: 100_000,
    minCreditScore: 0.3,
    defaultCreditScore: 0.5,
    maxItems: 100,
    maxSkus: 10_000,
  },
  limits: {
    closedSessions: 20,
    matches: 50,
    assessments: 20,
    checkouts: 20,
    pending: 10_000,
    eventTypes: 64,
  },
  passivateAfter: "PT1H",
} as const satisfies { [K in keyof SessionsConfig]: unknown };

/**
 * Fills in defaults (field by field) and checks everything.
 * @throws {ConfigError} naming the setting that is wrong
 */
export function resolveSessionsConfig(
  config: Partial<SessionsConfig> = {},
): ResolvedSessionsConfig {
  const d = DEFAULT_SESSIONS;
  const p = config.patterns ?? {};
  const rl = { ...d.patterns.rapidLogins, ...p.rapidLogins };
  const ea = { ...d.patterns.escalatingAmounts, ...p.escalatingAmounts };
  const it = { ...d.patterns.impossibleTravel, ...p.impossibleTravel };
  const ls = { ...d.patterns.largeThenSmall, ...p.largeThenSmall };
  const an = { ...d.anomaly, ...config.anomaly };
  const rk = { ...d.risk, ...config.risk };
  const co = { ...d.checkout, ...config.checkout };
  const li = { ...d.limits, ...config.limits };
  const sv = { ...d.severities, ...config.severities };
  const risk = (v: number, what: string) => checkRange(v, 0, 1, `sessions.patterns.${what}.risk`);
  const num = (v: number, what: string) => checkRange(v, 0, 1e15, `sessions.${what}`);
  const hour = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 0 || v > 23) {
      throw new ConfigError(`sessions.risk.unusualHours.${what} must be an hour 0-23, got ${v}`);
    }
    return v;
  };
  checkTimeZone(rk.timeZone, "sessions.risk.timeZone");
  const gap = toMillis(config.sessionGap ?? d.sessionGap, "sessions.sessionGap");
  if (gap <= 0) throw new ConfigError("sessions.sessionGap must be positive");
  return {
    outOfOrdernessMs: toMillis(
      config.outOfOrderness ?? d.outOfOrderness,
      "sessions.outOfOrderness",
    ),
    sessionGapMs: gap,
    maxClockSkewMs: toMillis(config.maxClockSkew ?? d.maxClockSkew, "sessions.maxClockSkew"),
    patterns: {
      rapidLogins: {
        count: checkCount(rl.count, 1, "sessions.patterns.rapidLogins.count"),
        withinMs: toMillis(rl.within, "sessions.patterns.rapidLogins.within"),
        risk: risk(rl.risk, "rapidLogins"),
      },
      escalatingAmounts: {
        first: num(ea.first, "patterns.escalatingAmounts.first"),
        factor: checkRange(ea.factor, 1, 1e6, "sessions.patterns.escalatingAmounts.factor"),
        count: checkCount(ea.count, 2, "sessions.patterns.escalatingAmounts.count"),
        withinMs: toMillis(ea.within, "sessions.patterns.escalatingAmounts.within"),
        risk: risk(ea.risk, "escalatingAmounts"),
      },
      impossibleTravel: {
        maxSpeedKmh: num(it.maxSpeedKmh, "patterns.impossibleTravel.maxSpeedKmh"),
        risk: risk(it.risk, "impossibleTravel"),
      },
      largeThenSmall: {
        large: num(ls.large, "patterns.largeThenSmall.large"),
        small: num(ls.small, "patterns.largeThenSmall.small"),
        count: checkCount(ls.count, 1, "sessions.patterns.largeThenSmall.count"),
        withinMs: toMillis(ls.within, "sessions.patterns.largeThenSmall.within"),
        risk: risk(ls.risk, "largeThenSmall"),
      },
    },
    severities: {
      critical: checkRange(sv.critical, 0, 1, "sessions.severities.critical"),
      high: checkRange(sv.high, 0, 1, "sessions.severities.high"),
      medium: checkRange(sv.medium, 0, 1, "sessions.severities.medium"),
    },
    anomaly: {
      maxEvents: checkCount(an.maxEvents, 0, "sessions.anomaly.maxEvents"),
      manyEventsWeight: checkRange(an.manyEventsWeight, 0, 1, "sessions.anomaly.manyEventsWeight"),
      maxDurationMs: toMillis(an.maxDuration, "sessions.anomaly.maxDuration"),
      longSessionWeight: checkRange(
        an.longSessionWeight,
        0,
        1,
        "sessions.anomaly.longSessionWeight",
      ),
      maxApiCallsWithoutPageView: checkCount(
        an.maxApiCallsWithoutPageView,
        0,
        "sessions.anomaly.maxApiCallsWithoutPageView",
      ),
      botWeight: checkRange(an.botWeight, 0, 1, "sessions.anomaly.botWeight"),
    },
    risk: {
      highAmountRatio: num(rk.highAmountRatio, "risk.highAmountRatio"),
      highAmountPoints: num(rk.highAmountPoints, "risk.highAmountPoints"),
      highRiskScore: checkRange(rk.highRiskScore, 0, 1, "sessions.risk.highRiskScore"),
      highRiskPoints: num(rk.highRiskPoints, "risk.highRiskPoints"),
      unusualHours: {
        from: hour(rk.unusualHours.from, "from"),
        to: hour(rk.unusualHours.to, "to"),
      },
      unusualTimePoints: num(rk.unusualTimePoints, "risk.unusualTimePoints"),
      cap: num(rk.cap, "risk.cap"),
      reviewAbove: num(rk.reviewAbove, "risk.reviewAbove"),
      timeZone: rk.timeZone,
    },
    checkout: {
      approvalTotal: num(co.approvalTotal, "checkout.approvalTotal"),
      minCreditScore: checkRange(co.minCreditScore, 0, 1, "sessions.checkout.minCreditScore"),
      defaultCreditScore: checkRange(
        co.defaultCreditScore,
        0,
        1,
        "sessions.checkout.defaultCreditScore",
      ),
      maxItems: checkCount(co.maxItems, 1, "sessions.checkout.maxItems"),
      maxSkus: checkCount(co.maxSkus, 1, "sessions.checkout.maxSkus"),
    },
    limits: {
      closedSessions: checkCount(li.closedSessions, 0, "sessions.limits.closedSessions"),
      matches: checkCount(li.matches, 0, "sessions.limits.matches"),
      assessments: checkCount(li.assessments, 0, "sessions.limits.assessments"),
      checkouts: checkCount(li.checkouts, 0, "sessions.limits.checkouts"),
      pending: checkCount(li.pending, 1, "sessions.limits.pending"),
      eventTypes: checkCount(li.eventTypes, 1, "sessions.limits.eventTypes"),
    },
    passivateAfterMs: toMillis(
      config.passivateAfter ?? d.passivateAfter,
      "sessions.passivateAfter",
    ),
  };
}

/** Checks an IANA time zone name. @throws {ConfigError} */
export function checkTimeZone(zone: string, what: string): string {
  if (!isTimeZone(zone)) {
    throw new ConfigError(`${what} ${JSON.stringify(zone)} is not an IANA time zone`);
  }
  return zone;
}
