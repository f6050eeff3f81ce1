/**
 * The payment gateway actor: where a terminal forwards what leaves it — online payments for
 * final approval (priority high), offline approvals for settlement (store-and-forward), fraud
 * rejections for review. One gateway actor per terminal, with the terminal's id, so a
 * terminal's forwards stay in order and the gateway's memory of them is one sequence number
 * (see `outbox.ts`).
 *
 * It is event-sourced: its journal is the record of what was handed on, each forward exactly
 * once, and each accepted forward is published as a `payments` event (`payment.forwarded`) —
 * the hand-off point for the acquirer or review queue outside Flotilla.
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../runtime/mod.ts";
import type { ForwardKind } from "./decision.ts";
import { accept, type ForwardItem, GATEWAY, TERMINAL } from "./outbox.ts";

/** Forwards the gateway lists in its view. */
export const GATEWAY_RECENT = 50;

/** A gateway's state. */
export interface GatewayState {
  /** Highest forward sequence number accepted from the terminal. */
  lastSeq: number;
  /** Forwards accepted, by kind. */
  accepted: Record<ForwardKind, number>;
  /** The latest accepted forwards (at most {@link GATEWAY_RECENT}), oldest first. */
  recent: ForwardItem[];
  /** Resent forwards it skipped as duplicates. */
  duplicates: number;
}

/**
 * The gateway's journal: one event per accepted forward (a journal event must fit one store
 * value, so a large flush is never one event).
 */
export type GatewayEvent =
  | { readonly type: "forwarded"; readonly item: ForwardItem; readonly at: number }
  | { readonly type: "duplicates_skipped"; readonly count: number; readonly at: number };

type Ctx = ActorContext<GatewayState, GatewayEvent>;

/** A gateway that has accepted nothing. */
export function emptyGateway(): GatewayState {
  return {
    lastSeq: 0,
    accepted: { authorize: 0, settle: 0, review: 0 },
    recent: [],
    duplicates: 0,
  };
}

/** Folds one event into a gateway's state. */
export function applyGatewayEvent(state: GatewayState, event: GatewayEvent): void {
  if (event.type === "duplicates_skipped") {
    state.duplicates += event.count;
    return;
  }
  const item = event.item;
  state.lastSeq = item.seq;
  state.accepted[item.kind]++;
  state.recent.push(item);
  if (state.recent.length > GATEWAY_RECENT) state.recent.shift();
}

/** The gateway actor type (it takes no configuration). */
export const gateway = defineActor({
  name: GATEWAY,
  initialState: emptyGateway,
  apply(state: GatewayState, event: GatewayEvent) {
    applyGatewayEvent(state, event);
  },
  handlers: {
    /**
     * Accepts the next forwards in sequence, skips those already accepted, and acknowledges
     * (cumulatively) the highest number accepted — also when nothing was new, so a terminal
     * whose acknowledgement was lost learns it now.
     */
    forward(ctx: Ctx, msg: { items: ForwardItem[] }) {
      const items = Array.isArray(msg?.items) ? msg.items : [];
      const { fresh, duplicates } = accept(ctx.state.lastSeq, items);
      for (const item of fresh) ctx.persist({ type: "forwarded", item, at: ctx.now() });
      if (duplicates > 0) {
        ctx.persist({ type: "duplicates_skipped", count: duplicates, at: ctx.now() });
      }
      for (const item of fresh) {
        ctx.emit("payments", {
          type: "payment.forwarded",
          terminal: ctx.id,
          seq: item.seq,
          kind: item.kind,
          priority: item.priority,
          transactionId: item.transactionId,
          status: item.status,
          amount: item.amount,
          currency: item.currency,
          fraudScore: item.fraudScore,
          approvalCode: item.approvalCode,
          ts: item.ts,
        }, ctx.id);
      }
      ctx.tell({ type: TERMINAL, id: ctx.id }, "forwardAck", { upTo: ctx.state.lastSeq });
      return { accepted: fresh.length, duplicates, lastSeq: ctx.state.lastSeq };
    },
  },
  queries: {
    view: (ctx: Ctx) => ({ terminal: ctx.id, ...ctx.state }),
  },
  // The journal is the settlement ledger (an audit trail): kept whole, never compacted.
  options: { persistence: "journal", passivateAfter: "PT10M", snapshotEvery: 100, compact: false },
});
