/**
 * The payment terminal actor (SPEC §3.3): one per terminal, event-sourced — every change is an
 * event in its journal, which is the terminal's audit trail — and a thin handler over the pure
 * functions of this folder.
 *
 * A payment goes: idempotency check → card status from the cache → fraud score (the rules and
 * the ONNX model, the larger wins) → decision → one `payment_decided` event → once durable: the
 * reply, a `payments` event, the transaction rollup, a `fraud_detected` alert when so decided,
 * and the forward to the terminal's `payment-gateway` (see `outbox.ts`).
 *
 * The payment handler is asynchronous while the model runs (the terminal waits, turn-based;
 * other actors do not): the model's features come from the terminal's own state — its time
 * zone and the card's recent uses — so scoring belongs inside the turn that decides.
 *
 * @module
 */
import {
  type ActorContext,
  defineActor,
  FlotillaError,
  NotFoundError,
  type ReminderTick,
  ValidationError,
} from "../../runtime/mod.ts";
import { raiseAlert, recordTransaction } from "../contracts.ts";
import { cardActivity, type CardUse, recordUse } from "./card_history.ts";
import {
  type CardStatus,
  decidePayment,
  type ForwardKind,
  offlineApprovalCode,
  type PaymentStatus,
  type Priority,
  type RejectReason,
} from "./decision.ts";
import { fraudFeatures } from "./fraud_features.ts";
import { canonicalTimeZone, localTime } from "../shared/time_zone.ts";
import { type FraudRuleHit, roundScore, ruleScore } from "./fraud_rules.ts";
import { emptyMemory, type IdempotencyMemory, recall, remember } from "./idempotency.ts";
import type { ResolvedPaymentsConfig } from "./mod.ts";
import {
  acknowledge,
  emptyOutbox,
  enqueue,
  FORWARD_BATCH,
  type ForwardItem,
  GATEWAY,
  type Outbox,
  TERMINAL,
} from "./outbox.ts";
import type { TerminalSettings } from "./requests.ts";

/** Cards per `cards_replaced` / `cards_added` event: about 30 KB of JSON. */
export const CARDS_PER_EVENT = 500;

/** Name of the reminder that resends unacknowledged forwards. */
export const FORWARD_REMINDER = "forward";

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

/** A transaction id reused with another amount, currency or card. */
export class IdempotencyConflictError extends FlotillaError {
  constructor(message: string) {
    super("idempotency_conflict", 409, message);
    this.name = "IdempotencyConflictError";
  }
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
      remember(state.seen, p.transactionId, { r: resultOf(p), h: fingerprint(p), at: p.at }, {
        windowMs: config.idempotencyWindowMs,
        maxEntries: config.idempotencyMaxEntries,
      });
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

/** What must match for a repeated transaction id to be a retry. */
function fingerprint(p: Pick<PaymentCommand, "amount" | "currency" | "card">): string {
  return `${p.amount}|${p.currency}|${p.card}`;
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

type Ctx = ActorContext<TerminalState, TerminalEvent>;

function requireRegistered(ctx: Ctx): void {
  if (!ctx.state.registered) {
    throw new NotFoundError(
      `terminal ${ctx.id} is not registered; PUT /api/terminals/${ctx.id} {"timezone", "online"} first`,
    );
  }
}

/** Sends every unacknowledged forward to the gateway (it skips what it already has). */
function sendOutbox(ctx: Ctx): void {
  const items = ctx.state.outbox.items;
  if (items.length > 0) sendItems(ctx, items);
}

function sendItems(ctx: Ctx, items: readonly ForwardItem[]): void {
  for (let i = 0; i < items.length; i += FORWARD_BATCH) {
    // Copies: the gateway must not share objects with this actor's state.
    const batch = items.slice(i, i + FORWARD_BATCH).map((item) => ({ ...item }));
    ctx.tell({ type: GATEWAY, id: ctx.id }, "forward", { items: batch });
  }
}

function checkPayment(cmd: PaymentCommand): void {
  const ok = typeof cmd === "object" && cmd !== null && typeof cmd.transactionId === "string" &&
    Number.isSafeInteger(cmd.amount) && cmd.amount > 0 && typeof cmd.currency === "string" &&
    typeof cmd.card === "string" && cmd.card.length > 0 && Number.isFinite(cmd.ts);
  if (!ok) {
    throw new ValidationError("a payment command needs transactionId, amount, currency, card, ts");
  }
}

/** The terminal actor type, configured. */
export function terminalActor(config: ResolvedPaymentsConfig) {
  const retry = { every: config.forwardRetryMs };

  /** Persists the decision and lets the world know, once durable. */
  function conclude(ctx: Ctx, decided: DecidedPayment): PaymentReply {
    const outboxBefore = ctx.state.outbox.items.length;
    ctx.persist({ type: "payment_decided", payment: decided });
    const result = resultOf(decided);
    ctx.emit("payments", {
      type: "payment.decided",
      terminal: ctx.id,
      ...result,
      amount: decided.amount,
      currency: decided.currency,
      ts: decided.ts,
    }, ctx.id);
    recordTransaction(ctx, {
      transactionId: decided.transactionId,
      terminal: ctx.id,
      status: decided.status,
      method: "card",
      amount: decided.amount,
      ts: decided.ts,
    });
    if (decided.reason === "fraud_detected") {
      raiseAlert(ctx, {
        source: `${TERMINAL}/${ctx.id}`,
        type: "fraud_detected",
        severity: "high",
        message: `payment ${decided.transactionId} of ${decided.amount} KRW rejected: ` +
          `fraud score ${decided.fraudScore} (rules ${decided.ruleScore}, model ${
            decided.modelScore === null ? "unavailable" : roundScore(decided.modelScore)
          }); forwarded for review`,
        data: {
          transactionId: decided.transactionId,
          amount: decided.amount,
          fraudScore: decided.fraudScore,
          ruleScore: decided.ruleScore,
          ruleHits: decided.ruleHits,
          modelScore: decided.modelScore,
        },
        at: decided.ts,
      });
    }
    const outbox = ctx.state.outbox.items;
    if (decided.forward !== null && ctx.state.online) {
      sendItems(ctx, [outbox[outbox.length - 1]!]);
      if (outboxBefore === 0) ctx.setReminder(FORWARD_REMINDER, retry, { kind: "retryForward" });
    }
    return { result, replayed: false };
  }

  return defineActor({
    name: TERMINAL,
    initialState: emptyTerminal,
    apply(state: TerminalState, event: TerminalEvent) {
      applyTerminalEvent(state, event, config);
    },
    handlers: {
      /**
       * Registers or updates the terminal. Coming back online flushes the offline queue: every
       * unacknowledged forward goes to the gateway, and a retry reminder keeps resending until
       * the gateway has acknowledged them all.
       */
      configure(ctx: Ctx, settings: TerminalSettings): TerminalView {
        if (
          typeof settings?.online !== "boolean" || typeof settings.timezone !== "string" ||
          canonicalTimeZone(settings.timezone) !== settings.timezone
        ) {
          throw new ValidationError("terminal settings need a canonical IANA timezone and online");
        }
        const s = ctx.state;
        const wasOnline = s.registered && s.online;
        const changed = !s.registered || s.timezone !== settings.timezone ||
          s.online !== settings.online;
        if (changed) {
          ctx.persist({
            type: "configured",
            timezone: settings.timezone,
            online: settings.online,
            at: ctx.now(),
          });
          ctx.emit("payments", {
            type: "terminal.updated",
            terminal: ctx.id,
            timezone: settings.timezone,
            online: settings.online,
          }, ctx.id);
        }
        if (settings.online && !wasOnline && s.outbox.items.length > 0) {
          ctx.emit("payments", {
            type: "terminal.flushing",
            terminal: ctx.id,
            forwards: s.outbox.items.length,
            offlineApprovals: s.outbox.items.filter((i) => i.kind === "settle").length,
          }, ctx.id);
          sendOutbox(ctx);
          ctx.setReminder(FORWARD_REMINDER, retry, { kind: "retryForward" });
        } else if (!settings.online && wasOnline) {
          ctx.cancelReminder(FORWARD_REMINDER);
        }
        return terminalView(ctx.id, ctx.state);
      },

      /**
       * Replaces the card status cache (keys: keyed card hashes), in events of at most
       * {@link CARDS_PER_EVENT} cards each (a journal event must fit one store value).
       */
      replaceCards(ctx: Ctx, msg: { cards: Record<string, CardStatus> }) {
        if (typeof msg?.cards !== "object" || msg.cards === null) {
          throw new ValidationError("a card cache update needs cards: {<card hash>: status}");
        }
        requireRegistered(ctx);
        const entries = Object.entries(msg.cards);
        const at = ctx.now();
        ctx.persist({
          type: "cards_replaced",
          cards: Object.fromEntries(entries.slice(0, CARDS_PER_EVENT)),
          at,
        });
        for (let i = CARDS_PER_EVENT; i < entries.length; i += CARDS_PER_EVENT) {
          const cards = Object.fromEntries(entries.slice(i, i + CARDS_PER_EVENT));
          ctx.persist({ type: "cards_added", cards, at });
        }
        return { terminal: ctx.id, cards: terminalView(ctx.id, ctx.state).cards };
      },

      /**
       * Decides a payment; a retry of a decided transaction id gets the first result and
       * changes nothing. Asynchronous only while the model runs.
       * @throws {NotFoundError} for a terminal not registered
       * @throws {IdempotencyConflictError} for an id reused with other payment details
       */
      pay(ctx: Ctx, cmd: PaymentCommand): PaymentReply | Promise<PaymentReply> {
        checkPayment(cmd);
        requireRegistered(ctx);
        const s = ctx.state;
        const prior = recall(s.seen, cmd.transactionId);
        if (prior !== undefined) {
          if (prior.h !== fingerprint(cmd)) {
            throw new IdempotencyConflictError(
              `transaction ${cmd.transactionId} was already decided with another amount, currency ` +
                `or card; a retry must repeat the request unchanged, a new payment needs a new id`,
            );
          }
          return { result: prior.r, replayed: true };
        }
        const rules = config.rulesFor(ctx.id);
        const local = localTime(cmd.ts, s.timezone);
        const activity = cardActivity(s.history, cmd.card, cmd.ts, rules.velocityWindowMs);
        const rule = ruleScore({
          amount: cmd.amount,
          localHour: local.hour,
          recentCount: activity.recentCount,
        }, rules);
        const features = fraudFeatures({
          amount: cmd.amount,
          localHours: local.hour + local.minute / 60,
          recentCount: activity.recentCount,
          priorMean: activity.priorMean,
        });
        const decide = (modelScore: number | null): PaymentReply => {
          const fraudScore = roundScore(Math.max(rule.score, modelScore ?? 0));
          const cardStatus = Object.hasOwn(s.cards, cmd.card) ? s.cards[cmd.card]! : null;
          const offlineQueued = s.outbox.items.filter((i) => i.kind === "settle").length;
          const decision = decidePayment({
            cardStatus,
            fraudScore,
            online: s.online,
            amount: cmd.amount,
            offlineQueued,
          }, rules);
          return conclude(ctx, {
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
              ? offlineApprovalCode(s.offlineApprovals + 1)
              : null,
            forward: decision.forward,
            priority: decision.priority,
            at: ctx.now(),
          });
        };
        return config.scorer.score(features).then(decide, (error) => {
          // The rules still apply; a payment is not refused because the model is unavailable.
          ctx.log.error("fraud model failed; deciding by the rules alone", {
            transactionId: cmd.transactionId,
            error: error instanceof Error ? error.message : String(error),
          });
          return decide(null);
        });
      },

      /** The gateway has accepted every forward up to `upTo`. */
      forwardAck(ctx: Ctx, msg: { upTo: number }) {
        const outbox = ctx.state.outbox;
        if (!Number.isSafeInteger(msg?.upTo) || msg.upTo <= outbox.ackedSeq) return;
        ctx.persist({
          type: "forward_acked",
          upTo: Math.min(msg.upTo, outbox.nextSeq - 1),
          at: ctx.now(),
        });
        if (ctx.state.outbox.items.length === 0) ctx.cancelReminder(FORWARD_REMINDER);
      },

      /** The retry reminder: resend what the gateway has not acknowledged. */
      retryForward(ctx: Ctx, _tick: ReminderTick) {
        const s = ctx.state;
        if (s.outbox.items.length === 0 || !s.online) ctx.cancelReminder(FORWARD_REMINDER);
        else sendOutbox(ctx);
      },
    },
    queries: {
      /** The terminal, or `null` when it was never registered. */
      view(ctx: Ctx): TerminalView | null {
        return ctx.state.registered ? terminalView(ctx.id, ctx.state) : null;
      },
    },
    /**
     * After a crash the retry reminder may be missing (it is written just after the state):
     * whenever the terminal is activated with forwards outstanding, it re-arms the reminder
     * and resends.
     */
    onActivate(ctx: Ctx) {
      const s = ctx.state;
      if (s.registered && s.online && s.outbox.items.length > 0) {
        ctx.setReminder(FORWARD_REMINDER, retry, { kind: "retryForward" });
        sendOutbox(ctx);
      }
    },
    options: {
      persistence: "journal",
      passivateAfter: "PT10M",
      snapshotEvery: 100,
      askTimeout: "PT15S",
    },
  });
}
