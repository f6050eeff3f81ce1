/**
 * The webhook actor: one per configured webhook (id: its name), owning a durable outbox of
 * alert announcements. It POSTs them as JSON, one at a time, oldest first; a failed attempt
 * is retried after an exponential backoff by a durable reminder, so retries survive
 * passivation and restarts. Delivery is at least once (see `outbox.ts`).
 *
 * Each request carries `Content-Type: application/json`, `X-Flotilla-Delivery: <webhook>:<n>`
 * (the same on every retry of one delivery) and `X-Flotilla-Event` (raised, escalated,
 * acknowledged, cleared), plus the webhook's configured headers.
 *
 * @module
 */
import {
  type ActorContext,
  defineActor,
  describeError,
  type JsonValue,
} from "../../runtime/mod.ts";
import { resolveAlertsConfig, type ResolvedAlertsConfig, type ResolvedWebhook } from "./config.ts";
import {
  due,
  emptyOutbox,
  enqueue,
  failed,
  nextDue,
  type Outbox,
  retryable,
  succeeded,
} from "./outbox.ts";

/** The webhook actor type's name. */
export const ALERT_WEBHOOK = "alert-webhook";

/** Deliveries attempted per flush before the actor lets other messages in. */
const FLUSH_BATCH = 20;

/** What the webhook actor reports about itself. */
export interface WebhookStatus {
  readonly webhook: string;
  readonly pending: number;
  readonly delivered: number;
  /** The earliest pending attempt (epoch ms), or `null`. */
  readonly nextAttemptAt: number | null;
  readonly failed: Outbox["failed"];
}

type Ctx = ActorContext<Outbox>;

/** The webhook actor type, for a configuration. */
export function webhookActor(config: ResolvedAlertsConfig) {
  const send = async (ctx: Ctx, hook: ResolvedWebhook): Promise<void> => {
    for (const d of due(ctx.state, ctx.now(), FLUSH_BATCH)) {
      const body = d.body as { event?: unknown };
      try {
        const res = await config.fetch(hook.url, {
          method: "POST",
          headers: {
            ...hook.headers,
            "Content-Type": "application/json",
            "X-Flotilla-Delivery": `${ctx.id}:${d.id}`,
            "X-Flotilla-Event": typeof body.event === "string" ? body.event : "alert",
          },
          body: JSON.stringify(d.body),
          signal: AbortSignal.timeout(hook.timeoutMs),
        });
        await res.body?.cancel();
        if (res.ok) succeeded(ctx.state, d.id);
        else {
          failed(
            ctx.state,
            d.id,
            `HTTP ${res.status}`,
            !retryable(res.status),
            ctx.now(),
            hook.backoff,
          );
        }
      } catch (error) {
        failed(ctx.state, d.id, describeError(error), false, ctx.now(), hook.backoff);
      }
    }
  };

  const arm = (ctx: Ctx): void => {
    const next = nextDue(ctx.state);
    if (next === null) ctx.cancelReminder("retry");
    else if (next <= ctx.now()) {
      if (!ctx.state.flushQueued) {
        ctx.state.flushQueued = true;
        ctx.tell({ type: ctx.type, id: ctx.id }, "flush");
      }
    } else ctx.setReminder("retry", { at: next }, { kind: "flush" });
  };

  return defineActor({
    name: ALERT_WEBHOOK,
    initialState: emptyOutbox,
    handlers: {
      /** Queues an announcement and asks for a flush (once the queueing is durable). */
      enqueue(ctx: Ctx, body: JsonValue) {
        const hook = config.webhooks[ctx.id];
        if (hook === undefined) {
          ctx.log.warn("announcement for an unconfigured webhook dropped", { webhook: ctx.id });
          return null;
        }
        const d = enqueue(ctx.state, body, ctx.now(), hook.outboxLimit);
        arm(ctx);
        return d.id;
      },
      /** Sends what is due; what failed waits for its backoff (a durable reminder). */
      async flush(ctx: Ctx) {
        ctx.state.flushQueued = false;
        const hook = config.webhooks[ctx.id];
        if (hook === undefined) return;
        await send(ctx, hook);
        arm(ctx);
      },
    },
    queries: {
      status(ctx: Ctx): WebhookStatus {
        return {
          webhook: ctx.id,
          pending: ctx.state.pending.length,
          delivered: ctx.state.delivered,
          nextAttemptAt: nextDue(ctx.state),
          failed: ctx.state.failed,
        };
      },
    },
    options: { persistence: "snapshot", passivateAfter: "PT10M" },
  });
}

/** The webhook actor type with the default configuration (no webhooks), for typing refs. */
export const webhook = webhookActor(resolveAlertsConfig());
