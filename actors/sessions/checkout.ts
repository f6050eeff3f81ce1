/**
 * Smart-store checkout: inventory check (unavailable items listed), total =
 * Σ price × quantity, and the approval rule — a total above 100,000 with a credit score below
 * 0.3 needs approval; anything else is approved. Pure functions; the inventory actor
 * (`inventory.ts`) applies them so that a checkout is all-or-nothing.
 *
 * @module
 */
import { z } from "zod";
import { ENTITY_ID } from "../shared/ids.ts";
import { parseOrThrow } from "../shared/validation.ts";
import type { ResolvedSessionsConfig } from "./config.ts";

/** One line of a basket. */
export interface CheckoutItem {
  readonly sku: string;
  /** Unit price. */
  readonly price: number;
  readonly quantity: number;
}

/** A validated checkout request. */
export interface CheckoutRequest {
  /** Makes the request idempotent: a retry with the same id gets the first result. */
  readonly checkoutId?: string;
  readonly items: readonly CheckoutItem[];
}

/** A sku short of what the basket asks. */
export interface Shortage {
  readonly sku: string;
  readonly requested: number;
  readonly available: number;
}

/** The decision on a basket. */
export interface CheckoutDecision {
  /** `inventory_error`: some items are short, nothing was taken. */
  readonly status: "approved" | "approval_required" | "inventory_error";
  /** Σ price × quantity, rounded to cents. */
  readonly total: number;
  readonly unavailable: readonly Shortage[];
}

/** The body's shape, for error messages. */
export const CHECKOUT_SHAPE =
  '{"checkoutId"?: string, "items": [{"sku": string, "price": number >= 0, "quantity": integer >= 1}, ...]}';

/** Lines a checkout body may hold at most (the configured `maxItems` may be lower). */
export const MAX_LINES = 1000;

/** A checkout body (`POST /api/sessions/:id/checkout`) of at most `maxItems` lines. */
export function checkoutSchema(maxItems: number = MAX_LINES) {
  return z.strictObject({
    checkoutId: z.string().regex(ENTITY_ID, "1-128 letters, digits, _ or -").optional().describe(
      "makes the checkout idempotent: a retry gets the first result",
    ),
    items: z.array(z.strictObject({
      sku: z.string().regex(ENTITY_ID, "skus hold 1-128 letters, digits, _ or -"),
      price: z.number().min(0).max(1e12).describe("unit price"),
      quantity: z.number().int("a whole number").min(1).max(1_000_000),
    })).min(1, "a checkout needs at least one item").max(maxItems, `at most ${maxItems} items`),
  });
}

/** A checkout body of at most {@link MAX_LINES} lines. */
export const CHECKOUT_SCHEMA = checkoutSchema();

/** Validates a checkout body. @throws {ValidationError} listing every problem */
export function parseCheckout(body: unknown, maxItems = MAX_LINES): CheckoutRequest {
  const schema = maxItems === MAX_LINES ? CHECKOUT_SCHEMA : checkoutSchema(maxItems);
  return parseOrThrow(schema, body, `the body must look like ${CHECKOUT_SHAPE}`);
}

/** Quantities asked per sku (a sku may appear on several lines). */
export function requestedBySku(items: readonly CheckoutItem[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of items) out.set(i.sku, (out.get(i.sku) ?? 0) + i.quantity);
  return out;
}

/** Σ price × quantity, rounded to cents (so 0.1 × 3 is 0.3). */
export function totalOf(items: readonly CheckoutItem[]): number {
  const total = items.reduce((sum, i) => sum + i.price * i.quantity, 0);
  return Math.round(total * 100) / 100;
}

/**
 * Decides a checkout. `available(sku)` is the stock (0 for an unknown sku); `creditScore` the
 * customer's.
 */
export function decideCheckout(
  items: readonly CheckoutItem[],
  available: (sku: string) => number,
  creditScore: number,
  c: ResolvedSessionsConfig["checkout"],
): CheckoutDecision {
  const total = totalOf(items);
  const unavailable: Shortage[] = [];
  for (const [sku, requested] of requestedBySku(items)) {
    const stock = available(sku);
    if (requested > stock) unavailable.push({ sku, requested, available: stock });
  }
  if (unavailable.length > 0) return { status: "inventory_error", total, unavailable };
  const needsApproval = total > c.approvalTotal && creditScore < c.minCreditScore;
  return { status: needsApproval ? "approval_required" : "approved", total, unavailable };
}
