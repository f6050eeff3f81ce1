/**
 * How a terminal decides a payment from what it knows — its time zone, connectivity, card
 * status cache, the card's recent uses and its offline queue — in two pure steps around the
 * fraud model, which the terminal runs in between (asynchronously, inside its turn):
 *
 * 1. {@link scorePayment}: the rule score and the model's features;
 * 2. {@link decideAtTerminal}: fraud score = max(rule score, model score) rounded to 4
 *    decimals, the decision (`decision.ts`), the offline approval code, and everything decided
 *    as the body of the `payment_decided` event.
 *
 * @module
 */
import { localTime } from "../shared/time_zone.ts";
import { cardActivity } from "./card_history.ts";
import type { PaymentRules } from "./config.ts";
import { decidePayment, offlineApprovalCode } from "./decision.ts";
import { fraudFeatures } from "./fraud_features.ts";
import { roundScore, type RuleScore, ruleScore } from "./fraud_rules.ts";
import type { DecidedPayment, PaymentCommand } from "./payment.ts";
import type { TerminalState } from "./terminal_state.ts";

/** What a decision reads of a terminal's state. */
export type TerminalFacts = Pick<
  TerminalState,
  "timezone" | "online" | "cards" | "history" | "outbox" | "offlineApprovals"
>;

/** The rules' verdict on a payment, and the model's input. */
export interface PaymentScoring {
  readonly rule: RuleScore;
  /** The fraud model's feature vector (`fraud_features.ts`). */
  readonly features: number[];
}

/** Scores a payment by the rules, and computes the model's features, at the terminal. */
export function scorePayment(
  terminal: TerminalFacts,
  cmd: PaymentCommand,
  rules: PaymentRules,
): PaymentScoring {
  const local = localTime(cmd.ts, terminal.timezone);
  const activity = cardActivity(terminal.history, cmd.card, cmd.ts, rules.velocityWindowMs);
  return {
    rule: ruleScore({
      amount: cmd.amount,
      localHour: local.hour,
      recentCount: activity.recentCount,
    }, rules),
    features: fraudFeatures({
      amount: cmd.amount,
      localHours: local.hour + local.minute / 60,
      recentCount: activity.recentCount,
      priorMean: activity.priorMean,
    }),
  };
}

/**
 * Decides a payment: everything the `payment_decided` event records.
 * @param modelScore the model's score, or `null` when it could not run (the rules decide alone)
 * @param at the terminal's clock now (epoch ms)
 */
export function decideAtTerminal(
  terminal: TerminalFacts,
  cmd: PaymentCommand,
  rule: RuleScore,
  modelScore: number | null,
  rules: PaymentRules,
  at: number,
): DecidedPayment {
  const fraudScore = roundScore(Math.max(rule.score, modelScore ?? 0));
  const cardStatus = Object.hasOwn(terminal.cards, cmd.card) ? terminal.cards[cmd.card]! : null;
  const offlineQueued = terminal.outbox.items.filter((i) => i.kind === "settle").length;
  const decision = decidePayment({
    cardStatus,
    fraudScore,
    online: terminal.online,
    amount: cmd.amount,
    offlineQueued,
  }, rules);
  return {
    transactionId: cmd.transactionId,
    amount: cmd.amount,
    currency: cmd.currency,
    card: cmd.card,
    ts: cmd.ts,
    status: decision.status,
    reason: decision.reason,
    fraudScore,
    ruleScore: rule.score,
    ruleHits: rule.hits,
    modelScore: modelScore === null ? null : roundScore(modelScore, 6),
    approvalCode: decision.status === "approved_offline"
      ? offlineApprovalCode(terminal.offlineApprovals + 1)
      : null,
    forward: decision.forward,
    priority: decision.priority,
    at,
  };
}
