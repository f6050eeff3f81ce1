/**
 * The alert book: one event-sourced actor per alert source (type `alert-book`, id the source,
 * e.g. `device/robot-1`), a thin handler over `alert.ts` and `rules.ts`. Its journal is the
 * source's alert history and feeds the cross-source index (`alert_index.ts`).
 *
 * Announcements — `raised`, `escalated`, `acknowledged`, `cleared` — go out once durable: on
 * the `alerts` topic (keyed by the source's entity id, so `?device=robot-1` filters them) and
 * to the webhooks the rules route them to.
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../runtime/mod.ts";
import { ALERT_BOOK, type AlertSignal } from "../contracts.ts";
import {
  type Alert,
  type AlertBook,
  type AlertEventName,
  applyBookEvent,
  type BookEvent,
  checkSignal,
  emptyBook,
  entityOf,
  lookup,
  raise,
} from "./alert.ts";
import { resolveAlertsConfig, type ResolvedAlertsConfig } from "./config.ts";
import { asJson } from "../shared/json.ts";
import { applyRules } from "./rules.ts";
import { ALERT_WEBHOOK } from "./webhook.ts";

/** What a `raise` did. */
export type RaiseResult =
  | { readonly outcome: "raised" | "merged"; readonly id: string; readonly rules: string[] }
  | { readonly outcome: "suppressed"; readonly rules: string[] };

/** What an operator's ack or clear did. */
export type OperatorResult =
  | { readonly result: "done" | "unchanged"; readonly alert: Alert }
  | { readonly result: "cleared"; readonly alert: Alert | null }
  | { readonly result: "not_found" };

/** The body of an announcement (SSE `alerts` event data and webhook body). */
export interface Announcement {
  readonly event: AlertEventName;
  readonly alert: Alert;
}

type Ctx = ActorContext<AlertBook, BookEvent>;

/** The alert book actor type, for a configuration. */
export function alertBookActor(config: ResolvedAlertsConfig) {
  const announce = (
    ctx: Ctx,
    event: AlertEventName,
    alert: Alert,
    webhooks?: readonly string[],
  ) => {
    const body: Announcement = { event, alert: { ...alert } };
    ctx.emit("alerts", asJson(body), entityOf(alert.source));
    const routes = webhooks ?? applyRules(config.rules, alert).webhooks[event];
    for (const name of routes) ctx.tell({ type: ALERT_WEBHOOK, id: name }, "enqueue", body);
  };

  return defineActor({
    name: ALERT_BOOK,
    initialState: emptyBook,
    handlers: {
      /** A source reports a condition: raised, merged into the open alert, or suppressed. */
      raise(ctx: Ctx, signal: AlertSignal): RaiseResult {
        const checked = checkSignal(ctx.id, signal, ctx.now());
        const outcome = applyRules(config.rules, { ...checked, source: ctx.id });
        if (outcome.suppressed) return { outcome: "suppressed", rules: [...outcome.matched] };
        const before = ctx.state.open[checked.type]?.severity;
        const event = raise(ctx.state, ctx.id, { ...checked, severity: outcome.severity });
        ctx.persist(event);
        const alert = ctx.state.open[checked.type]!;
        if (event.kind === "raised") {
          announce(ctx, "raised", alert, outcome.webhooks.raised);
          return { outcome: "raised", id: alert.id, rules: [...outcome.matched] };
        }
        if (alert.severity !== before) {
          announce(ctx, "escalated", alert, outcome.webhooks.escalated);
        }
        return { outcome: "merged", id: alert.id, rules: [...outcome.matched] };
      },
      /** The source says the condition ended: its open alert of `type`, if any, is cleared. */
      resolve(ctx: Ctx, msg: { type: string; at?: number }): string | null {
        const open = ctx.state.open[msg?.type];
        if (open === undefined) return null;
        const at = typeof msg.at === "number" && Number.isFinite(msg.at) ? msg.at : ctx.now();
        ctx.persist({ kind: "cleared", id: open.id, at, by: "source" });
        announce(ctx, "cleared", open);
        return open.id;
      },
      /** An operator acknowledges an alert (raised → acknowledged). */
      ack(ctx: Ctx, msg: { id: string }): OperatorResult {
        const found = lookup(ctx.state, msg.id);
        if (found.found === "none") return { result: "not_found" };
        if (found.found === "cleared") return { result: "cleared", alert: copy(found.alert) };
        if (found.alert.status === "acknowledged") {
          return { result: "unchanged", alert: { ...found.alert } };
        }
        const alert = found.alert;
        ctx.persist({ kind: "acknowledged", id: alert.id, at: ctx.now() });
        announce(ctx, "acknowledged", alert);
        return { result: "done", alert: { ...alert } };
      },
      /** An operator clears an alert (raised or acknowledged → cleared); clearing twice is fine. */
      clear(ctx: Ctx, msg: { id: string }): OperatorResult {
        const found = lookup(ctx.state, msg.id);
        if (found.found === "none") return { result: "not_found" };
        if (found.found === "cleared") {
          return found.alert === null
            ? { result: "cleared", alert: null }
            : { result: "unchanged", alert: { ...found.alert } };
        }
        const alert = found.alert;
        ctx.persist({ kind: "cleared", id: alert.id, at: ctx.now(), by: "operator" });
        announce(ctx, "cleared", alert);
        return { result: "done", alert: { ...alert } };
      },
    },
    queries: {
      /** The open alerts and the recent cleared ones. */
      alerts(ctx: Ctx): { open: Alert[]; closed: Alert[] } {
        return {
          open: Object.values(ctx.state.open).map((a) => ({ ...a })),
          closed: ctx.state.closed.map((a) => ({ ...a })),
        };
      },
    },
    apply(state: AlertBook, event: BookEvent) {
      applyBookEvent(state, event, config.closedPerSource);
    },
    options: { persistence: "journal", passivateAfter: "PT10M", snapshotEvery: 100 },
  });
}

function copy(alert: Alert | null): Alert | null {
  return alert === null ? null : { ...alert };
}

/**
 * The alert book actor type with the default configuration, for typing refs (the registered
 * one may be configured differently; refs resolve the type by name).
 */
export const alertBook = alertBookActor(resolveAlertsConfig());
