/**
 * Response schemas of the customer session, checkout, inventory and customer routes.
 *
 * @module
 */
import { z } from "zod";
import { SEVERITIES } from "../../actors/contracts.ts";
import { anyJson, count, epochMs } from "./common.ts";

const risk = z.object({
  score: z.number().min(0).max(100),
  factors: z.array(z.string()),
  reviewRequired: z.boolean(),
  hour: z.number().int().min(0).max(23).describe("the local hour the time rule looked at"),
});

/** A customer profile as stored. */
export const PROFILE = z.object({
  creditLimit: z.number(),
  riskScore: z.number(),
  creditScore: z.number(),
  timezone: z.string().optional(),
});

/** `PUT|GET /api/customers/:id`. */
export const CUSTOMER = PROFILE.extend({ customer: z.string() });

/** `POST /api/sessions/:id/events`. */
export const EVENT_RECEIPT = z.object({
  customer: z.string(),
  status: z.enum(["accepted", "late"]).describe("late: below the watermark, counted and ignored"),
  watermark: epochMs.nullable(),
  risk: risk.optional().describe("for a transaction of a customer with a profile"),
});

const shortage = z.object({ sku: z.string(), requested: count, available: count });

const checkout = z.object({
  status: z.enum(["approved", "approval_required", "inventory_error"]),
  total: z.number(),
  unavailable: z.array(shortage),
  checkoutId: z.string(),
  customer: z.string(),
  creditScore: z.number(),
  at: epochMs,
  applied: z.boolean().describe("the stock was decremented (approved checkouts only)"),
  risk: risk.nullable(),
});

/** `POST /api/sessions/:id/checkout`. */
export const CHECKOUT_RESULT = checkout.extend({
  replayed: z.boolean().describe("a retry of a checkout id already decided: its first result"),
});

const summary = z.object({
  start: epochMs,
  end: epochMs,
  durationMs: z.number(),
  eventCount: count,
  uniquePages: count,
  eventTypes: z.record(z.string(), count),
  anomalyScore: z.number(),
  anomalyFactors: z.array(z.string()),
});

/** `GET /api/sessions/:id`. */
export const SESSION = z.object({
  customer: z.string(),
  watermark: epochMs.nullable(),
  events: count,
  late: count,
  pending: count.describe("events waiting for the watermark"),
  current: z.array(summary).describe("sessions still open (provisional)"),
  closed: z.array(summary),
  matches: z.array(z.object({
    pattern: z.string(),
    risk: z.number(),
    at: epochMs,
    message: z.string(),
    data: anyJson,
    severity: z.enum(SEVERITIES),
  })),
  assessments: z.array(risk.extend({
    kind: z.enum(["transaction", "checkout"]),
    amount: z.number(),
    ts: epochMs,
  })),
  checkouts: z.array(checkout),
  profile: PROFILE.nullable(),
});

/** `PUT|GET /api/inventory/:sku`. */
export const STOCK = z.object({ sku: z.string(), available: count });
