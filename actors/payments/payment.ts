/**
 * A payment at a terminal, as data: the command the terminal receives (validated, its card
 * already hashed), everything the terminal decided about it (the body of its journal event),
 * and the result a client gets — the first time and on every retry alike.
 *
 * @module
 */
import { ValidationError } from "../../runtime/mod.ts";
import type { ForwardKind, PaymentStatus, Priority, RejectReason } from "./decision.ts";
import type { FraudRuleHit } from "./fraud_rules.ts";

/** What a client gets for a payment, first time and every retry alike. */
export interface PaymentResult {
  readonly transactionId: string;
  readonly status: PaymentStatus;
  readonly reason?: RejectReason;
  /** max(rule score, model score), rounded to 4 decimals. */
  readonly fraudScore: number;
  /** Offline approvals only. */
  readonly approvalCode?: string;
}

/** The `pay` reply: the result, and whether it is a retry's (nothing was decided anew). */
export interface PaymentReply {
  readonly result: PaymentResult;
  readonly replayed: boolean;
}

/** A payment as the terminal receives it: validated, its card already hashed. */
export interface PaymentCommand {
  readonly transactionId: string;
  readonly amount: number;
  readonly currency: string;
  /** Keyed hash of the card token (see `card_hash.ts`). */
  readonly card: string;
  readonly ts: number;
}

/** Everything decided about a payment: the `payment_decided` event's body. */
export interface DecidedPayment extends PaymentCommand {
  readonly status: PaymentStatus;
  readonly reason: RejectReason | null;
  readonly fraudScore: number;
  readonly ruleScore: number;
  readonly ruleHits: FraudRuleHit[];
  /** `null` when the model could not be run (the rules alone decided). */
  readonly modelScore: number | null;
  readonly approvalCode: string | null;
  readonly forward: ForwardKind | null;
  readonly priority: Priority | null;
  /** Terminal clock when decided (epoch ms). */
  readonly at: number;
}

/** The reply a decided payment gets. */
export function resultOf(p: DecidedPayment): PaymentResult {
  return {
    transactionId: p.transactionId,
    status: p.status,
    ...(p.reason === null ? {} : { reason: p.reason }),
    fraudScore: p.fraudScore,
    ...(p.approvalCode === null ? {} : { approvalCode: p.approvalCode }),
  };
}

/** What must match for a repeated transaction id to be a retry: amount, currency and card. */
export function paymentFingerprint(
  p: Pick<PaymentCommand, "amount" | "currency" | "card">,
): string {
  return `${p.amount}|${p.currency}|${p.card}`;
}

/**
 * Checks a payment command that reached a terminal (it is validated at the edge; this guards
 * the actor against a malformed message).
 * @throws {ValidationError} when a field is missing or of the wrong kind
 */
export function checkPaymentCommand(cmd: PaymentCommand): void {
  const ok = typeof cmd === "object" && cmd !== null && typeof cmd.transactionId === "string" &&
    Number.isSafeInteger(cmd.amount) && cmd.amount > 0 && typeof cmd.currency === "string" &&
    typeof cmd.card === "string" && cmd.card.length > 0 && Number.isFinite(cmd.ts);
  if (!ok) {
    throw new ValidationError("a payment command needs transactionId, amount, currency, card, ts");
  }
}
