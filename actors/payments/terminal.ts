/**
 * The payment terminal actor: one per terminal, event-sourced — every change is an event in its
 * journal (`terminal_state.ts`), which is the terminal's audit trail — and a thin handler over
 * the pure functions of this folder.
 *
 * A payment goes: idempotency check → card status from the cache → fraud score (the rules and
 * the ONNX model, the larger wins; `terminal_decision.ts`) → decision → one `payment_decided`
 * event → once durable: the reply, a `payments` event, the transaction rollup, a
 * `fraud_detected` alert when so decided, and the forward to the terminal's `payment-gateway`
 * (see `outbox.ts`).
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
  NotFoundError,
  type ReminderTick,
  ValidationError,
} from "../../runtime/mod.ts";
import { raiseAlert, recordTransaction } from "../contracts.ts";
import { canonicalTimeZone } from "../shared/time_zone.ts";
import { type ResolvedPaymentsConfig, resolvePaymentsConfig } from "./config.ts";
import type { CardStatus } from "./decision.ts";
import { IdempotencyConflictError } from "./errors.ts";
import { roundScore } from "./fraud_rules.ts";
import { recall } from "./idempotency.ts";
import { FORWARD_BATCH, type ForwardItem, GATEWAY, TERMINAL } from "./outbox.ts";
import {
  checkPaymentCommand,
  type DecidedPayment,
  type PaymentCommand,
  paymentFingerprint,
  type PaymentReply,
  type PaymentResult,
  resultOf,
} from "./payment.ts";
import type { TerminalSettings } from "./requests.ts";
import { decideAtTerminal, scorePayment } from "./terminal_decision.ts";
import {
  applyTerminalEvent,
  emptyTerminal,
  type TerminalEvent,
  type TerminalState,
  type TerminalView,
  terminalView,
} from "./terminal_state.ts";

/** Cards per `cards_replaced` / `cards_added` event: about 30 KB of JSON. */
export const CARDS_PER_EVENT = 500;

/** Name of the reminder that resends unacknowledged forwards. */
export const FORWARD_REMINDER = "forward";

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

/** A `payment.decided` event's data (topic `payments`). */
export type DecidedEvent = PaymentResult & {
  readonly type: "payment.decided";
  readonly terminal: string;
  readonly amount: number;
  readonly currency: string;
  readonly ts: number;
};

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
        checkPaymentCommand(cmd);
        requireRegistered(ctx);
        const s = ctx.state;
        const prior = recall(s.seen, cmd.transactionId);
        if (prior !== undefined) {
          if (prior.h !== paymentFingerprint(cmd)) {
            throw new IdempotencyConflictError(
              `transaction ${cmd.transactionId} was already decided with another amount, currency ` +
                `or card; a retry must repeat the request unchanged, a new payment needs a new id`,
            );
          }
          return { result: prior.r, replayed: true };
        }
        const rules = config.rulesFor(ctx.id);
        const { rule, features } = scorePayment(s, cmd, rules);
        const decide = (modelScore: number | null): PaymentReply =>
          conclude(ctx, decideAtTerminal(s, cmd, rule, modelScore, rules, ctx.now()));
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
      /**
       * The decisions the terminal still remembers (its idempotency window), oldest first, as
       * the `payment.decided` events that announced them: an edge site publishes them again
       * at start, so a decision whose event a crash lost still reaches the hub (which keeps
       * one per transaction id).
       */
      decided(ctx: Ctx): DecidedEvent[] {
        const seen = ctx.state.seen;
        return seen.order.flatMap((tx) => {
          const m = seen.byId[tx];
          if (m === undefined) return [];
          // The fingerprint is "amount|currency|card" (paymentFingerprint).
          const [amount, currency] = m.h.split("|");
          return [{
            type: "payment.decided" as const,
            terminal: ctx.id,
            ...m.r,
            amount: Number(amount),
            currency: currency ?? "",
            ts: m.at, // when decided: the payment's own time is not remembered
          }];
        });
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
      // The journal is the terminal's audit trail: every decision and settlement, kept.
      compact: false,
      askTimeout: "PT15S",
    },
  });
}

/**
 * The terminal actor type with the default configuration, for typing refs (the registered one
 * may be configured differently; refs resolve the type by name).
 */
export const terminal = terminalActor(resolvePaymentsConfig());
