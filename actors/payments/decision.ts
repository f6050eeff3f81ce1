/**
 * The payment decision, in order: the card's status in the terminal's cache,
 * the fraud score, the offline limit, and online authorization. A pure function.
 *
 * @module
 */

/** A card's status in a terminal's local cache. */
export const CARD_STATUSES = ["valid", "blocked", "expired"] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

/** Outcomes of a payment request. */
export type PaymentStatus = "approved" | "approved_offline" | "rejected" | "pending";

/** Why a payment was rejected. */
export type RejectReason =
  | "card_blocked"
  | "card_expired"
  | "fraud_detected"
  | "offline_limit_exceeded"
  | "offline_queue_full";

/**
 * What is forwarded to the payment gateway: an online payment for final approval, an offline
 * approval for settlement (store-and-forward), a fraud rejection for review.
 */
export type ForwardKind = "authorize" | "settle" | "review";

/** Priority a forwarded payment asks for. */
export type Priority = "high" | "normal";

/** Thresholds of the decision. Defaults: {@link DEFAULT_DECISION_RULES}. */
export interface DecisionRules {
  /** A fraud score above this rejects the payment (`fraud_detected`). */
  readonly fraudThreshold: number;
  /** Largest amount (KRW, inclusive) an offline terminal approves on its own. */
  readonly offlineLimit: number;
  /** Most offline approvals a terminal holds unsent; beyond, it rejects (`offline_queue_full`). */
  readonly offlineQueueLimit: number;
}

/**
 * The default thresholds: a fraud score above 0.8 rejects; an offline terminal approves up to
 * 50,000 KRW and holds at most 1,000 offline approvals.
 */
export const DEFAULT_DECISION_RULES: DecisionRules = Object.freeze({
  fraudThreshold: 0.8,
  offlineLimit: 50_000,
  offlineQueueLimit: 1000,
});

/** What the decision looks at. */
export interface DecisionInput {
  /** The card's status in the terminal's cache, `null` when the cache does not know it. */
  readonly cardStatus: CardStatus | null;
  readonly fraudScore: number;
  readonly online: boolean;
  /** KRW. */
  readonly amount: number;
  /** Offline approvals the terminal holds, not yet forwarded. */
  readonly offlineQueued: number;
}

/** The outcome, and what to forward. */
export interface Decision {
  readonly status: PaymentStatus;
  readonly reason: RejectReason | null;
  readonly forward: ForwardKind | null;
  readonly priority: Priority | null;
}

/**
 * Decides a payment:
 * 1. a card the cache knows as blocked or expired is rejected (`card_blocked`,
 *    `card_expired`); a card the cache does not know goes on (the cache lists exceptions);
 * 2. a fraud score above the threshold is rejected (`fraud_detected`) and forwarded for review;
 * 3. an offline terminal approves up to the offline limit (`approved_offline`, forwarded for
 *    settlement once it is back online) and rejects above it (`offline_limit_exceeded`);
 * 4. an online terminal forwards the payment for final approval with priority high
 *    (`pending`).
 *
 * @example
 * ```ts
 * decidePayment({ cardStatus: null, fraudScore: 0.1, online: false, amount: 50_000, offlineQueued: 0 });
 * // { status: "approved_offline", reason: null, forward: "settle", priority: "normal" }
 * ```
 */
export function decidePayment(
  input: DecisionInput,
  rules: DecisionRules = DEFAULT_DECISION_RULES,
): Decision {
  if (input.cardStatus === "blocked") return rejected("card_blocked");
  if (input.cardStatus === "expired") return rejected("card_expired");
  if (input.fraudScore > rules.fraudThreshold) {
    return { status: "rejected", reason: "fraud_detected", forward: "review", priority: "normal" };
  }
  if (!input.online) {
    if (input.amount > rules.offlineLimit) return rejected("offline_limit_exceeded");
    if (input.offlineQueued >= rules.offlineQueueLimit) return rejected("offline_queue_full");
    return { status: "approved_offline", reason: null, forward: "settle", priority: "normal" };
  }
  return { status: "pending", reason: null, forward: "authorize", priority: "high" };
}

function rejected(reason: RejectReason): Decision {
  return { status: "rejected", reason, forward: null, priority: null };
}

/**
 * The approval code of a terminal's `n`-th offline approval: `OFF-` and six digits (more
 * once a terminal passes a million). Unique per terminal; the gateway knows the terminal.
 */
export function offlineApprovalCode(n: number): string {
  return `OFF-${String(n).padStart(6, "0")}`;
}
