/**
 * A payment terminal's state: its journal's events (the audit trail), their fold, and the
 * terminal as the API shows it. Pure functions; the `terminal` actor (`terminal.ts`) persists
 * the events.
 *
 * @module
 */
import { type CardUse, recordUse } from "./card_history.ts";
import type { ResolvedPaymentsConfig } from "./config.ts";
import type { CardStatus, PaymentStatus } from "./decision.ts";
import { emptyMemory, type IdempotencyMemory, remember } from "./idempotency.ts";
import { acknowledge, emptyOutbox, enqueue, type Outbox } from "./outbox.ts";
import {
  type DecidedPayment,
  paymentFingerprint,
  type PaymentResult,
  resultOf,
} from "./payment.ts";

/** The terminal's journal: its audit trail. */
export type TerminalEvent =
  | {
    readonly type: "configured";
    readonly timezone: string;
    readonly online: boolean;
    readonly at: number;
  }
  | {
    readonly type: "cards_replaced";
    readonly cards: Record<string, CardStatus>;
    readonly at: number;
  }
  /** More cards of the same replacement (a large cache update is split over several events). */
  | {
    readonly type: "cards_added";
    readonly cards: Record<string, CardStatus>;
    readonly at: number;
  }
  | { readonly type: "payment_decided"; readonly payment: DecidedPayment }
  | { readonly type: "forward_acked"; readonly upTo: number; readonly at: number };

/** Payment counts by status. */
export type StatusCounts = Record<PaymentStatus, number>;

/** A terminal's state: the fold of its journal. Plain JSON, bounded. */
export interface TerminalState {
  /** Whether `PUT /api/terminals/:id` has been seen. */
  registered: boolean;
  timezone: string;
  online: boolean;
  /** Card status cache by keyed card hash. */
  cards: Record<string, CardStatus>;
  /** Recent card uses (velocity rule, model features). */
  history: CardUse[];
  /** Decided transaction ids, for idempotent retries. */
  seen: IdempotencyMemory<PaymentResult>;
  /** Forwards not yet acknowledged by the gateway (offline approvals among them). */
  outbox: Outbox;
  /** Offline approvals so far (numbers the approval codes). */
  offlineApprovals: number;
  counts: StatusCounts;
  /** Terminal clock of the last change (epoch ms). */
  updatedAt: number | null;
}

/** A terminal as `GET /api/terminals/:id` shows it. */
export interface TerminalView {
  readonly id: string;
  readonly timezone: string;
  readonly online: boolean;
  readonly cards: Record<CardStatus, number>;
  readonly counts: StatusCounts & { readonly total: number };
  /** Offline approvals held for store-and-forward, not yet acknowledged by the gateway. */
  readonly offlineQueue: {
    readonly count: number;
    readonly amount: number;
    readonly items: readonly {
      transactionId: string;
      amount: number;
      currency: string;
      approvalCode: string | null;
      ts: number;
    }[];
  };
  /** Every forward not yet acknowledged (offline approvals, authorizations, reviews). */
  readonly outbox: {
    readonly pending: number;
    readonly lastSeq: number;
    readonly ackedSeq: number;
  };
  readonly updatedAt: number | null;
}

/** The state of a terminal never configured. */
export function emptyTerminal(): TerminalState {
  return {
    registered: false,
    timezone: "UTC",
    online: false,
    cards: {},
    history: [],
    seen: emptyMemory(),
    outbox: emptyOutbox(),
    offlineApprovals: 0,
    counts: { approved: 0, approved_offline: 0, rejected: 0, pending: 0 },
    updatedAt: null,
  };
}

/** Folds one event into a terminal's state (the journal replays through this). */
export function applyTerminalEvent(
  state: TerminalState,
  event: TerminalEvent,
  config: Pick<
    ResolvedPaymentsConfig,
    "idempotencyWindowMs" | "idempotencyMaxEntries" | "historyMs" | "historyMaxEntries"
  >,
): void {
  switch (event.type) {
    case "configured":
      state.registered = true;
      state.timezone = event.timezone;
      state.online = event.online;
      state.updatedAt = event.at;
      return;
    case "cards_replaced":
      state.cards = { ...event.cards };
      state.updatedAt = event.at;
      return;
    case "cards_added":
      Object.assign(state.cards, event.cards);
      state.updatedAt = event.at;
      return;
    case "forward_acked":
      acknowledge(state.outbox, event.upTo);
      state.updatedAt = event.at;
      return;
    case "payment_decided": {
      const p = event.payment;
      remember(
        state.seen,
        p.transactionId,
        { r: resultOf(p), h: paymentFingerprint(p), at: p.at },
        {
          windowMs: config.idempotencyWindowMs,
          maxEntries: config.idempotencyMaxEntries,
        },
      );
      recordUse(state.history, { c: p.card, t: p.ts, a: p.amount }, {
        historyMs: config.historyMs,
        maxEntries: config.historyMaxEntries,
      });
      state.counts[p.status]++;
      if (p.approvalCode !== null) state.offlineApprovals++;
      if (p.forward !== null) {
        enqueue(state.outbox, {
          kind: p.forward,
          priority: p.priority ?? "normal",
          transactionId: p.transactionId,
          amount: p.amount,
          currency: p.currency,
          card: p.card,
          ts: p.ts,
          status: p.status,
          fraudScore: p.fraudScore,
          approvalCode: p.approvalCode,
        });
      }
      state.updatedAt = p.at;
    }
  }
}

/** The terminal as the API shows it. */
export function terminalView(id: string, s: TerminalState): TerminalView {
  const cards: Record<CardStatus, number> = { valid: 0, blocked: 0, expired: 0 };
  for (const status of Object.values(s.cards)) cards[status]++;
  const queued = s.outbox.items.filter((i) => i.kind === "settle");
  const c = s.counts;
  return {
    id,
    timezone: s.timezone,
    online: s.online,
    cards,
    counts: { ...c, total: c.approved + c.approved_offline + c.rejected + c.pending },
    offlineQueue: {
      count: queued.length,
      amount: queued.reduce((sum, i) => sum + i.amount, 0),
      items: queued.map((i) => ({
        transactionId: i.transactionId,
        amount: i.amount,
        currency: i.currency,
        approvalCode: i.approvalCode,
        ts: i.ts,
      })),
    },
    outbox: {
      pending: s.outbox.items.length,
      lastSeq: s.outbox.nextSeq - 1,
      ackedSeq: s.outbox.ackedSeq,
    },
    updatedAt: s.updatedAt,
  };
}
