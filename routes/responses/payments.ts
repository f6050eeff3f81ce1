/**
 * Response schemas of the payment terminal routes.
 *
 * @module
 */
import { z } from "zod";
import { SITE_FIELDS } from "./sites.ts";
import { CARD_STATUSES } from "../../actors/payments/mod.ts";
import { count, epochMs, maybeEpochMs } from "./common.ts";

const STATUSES = ["approved", "approved_offline", "rejected", "pending"] as const;
const REASONS = [
  "card_blocked",
  "card_expired",
  "fraud_detected",
  "offline_limit_exceeded",
  "offline_queue_full",
] as const;

const cardCounts = z.object(
  Object.fromEntries(CARD_STATUSES.map((s) => [s, count])) as Record<
    (typeof CARD_STATUSES)[number],
    typeof count
  >,
).describe("cards in the terminal's cache, by status");

/** A terminal as the API shows it. */
export const TERMINAL = z.object({
  id: z.string(),
  timezone: z.string(),
  online: z.boolean(),
  cards: cardCounts,
  counts: z.object({
    approved: count,
    approved_offline: count,
    rejected: count,
    pending: count,
    total: count,
  }),
  offlineQueue: z.object({
    count,
    amount: z.number(),
    items: z.array(z.object({
      transactionId: z.string(),
      amount: z.number(),
      currency: z.string(),
      approvalCode: z.string().nullable(),
      ts: epochMs,
    })),
  }).describe("offline approvals not yet acknowledged by the gateway"),
  outbox: z.object({ pending: count, lastSeq: count, ackedSeq: count }),
  updatedAt: maybeEpochMs,
  ...SITE_FIELDS,
});

/** `PUT /api/terminals/:id/cards`. */
export const CARDS_RESULT = z.object({ terminal: z.string(), cards: cardCounts });

/** `POST /api/terminals/:id/payments`. */
export const PAYMENT_RESULT = z.object({
  transactionId: z.string(),
  status: z.enum(STATUSES),
  reason: z.enum(REASONS).optional().describe("why it was rejected"),
  fraudScore: z.number().min(0).max(1),
  approvalCode: z.string().optional().describe("offline approvals only"),
});
