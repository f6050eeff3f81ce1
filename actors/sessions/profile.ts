/**
 * Customer profiles (`PUT /api/customers/:id`): credit limit, risk and credit scores, and
 * optionally the customer's time zone (for the UNUSUAL_TIME rule).
 *
 * @module
 */
import { z } from "zod";
import { timeZoneName } from "../shared/time_zone.ts";
import { parseOrThrow } from "../shared/validation.ts";

/** A customer's profile. */
export interface CustomerProfile {
  /** Credit limit, in the currency's unit. */
  readonly creditLimit: number;
  /** Risk score 0–1 (above 0.7 is HIGH_RISK_USER). */
  readonly riskScore: number;
  /** Credit score 0–1 (below 0.3 needs approval for large checkouts). */
  readonly creditScore: number;
  /** IANA time zone; the configured default when absent. */
  readonly timezone?: string;
}

/** The body's shape, for error messages. */
export const PROFILE_SHAPE =
  '{"creditLimit": number >= 0, "riskScore": 0..1, "creditScore": 0..1, "timezone"?: IANA zone}';

/** A customer profile body (`PUT /api/customers/:id`). */
export const PROFILE_SCHEMA = z.strictObject({
  creditLimit: z.number().min(0).max(1e15),
  riskScore: z.number().min(0).max(1),
  creditScore: z.number().min(0).max(1),
  timezone: timeZoneName.optional(),
});

/** Validates a profile body. @throws {ValidationError} listing every problem */
export function parseProfile(body: unknown): CustomerProfile {
  return parseOrThrow(PROFILE_SCHEMA, body, `the body must look like ${PROFILE_SHAPE}`);
}
