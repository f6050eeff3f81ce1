/**
 * The customer session actor (`session/<customer id>`): the customer's profile, its
 * events in event time (`activity.ts`), the complex event patterns, session windows, risk
 * assessments of its transactions and checkouts. A thin handler over pure functions.
 *
 * A pattern match raises its alert (`contracts.raiseAlert`, source `session/<id>`, severity
 * from its risk) and is emitted on the `sessions` topic (`{kind: "pattern"}`), as is every
 * closed session (`{kind: "session"}`) and every assessment that requires review
 * (`{kind: "review_required"}`). A timer moves the watermark while the customer is idle, so
 * nothing waits for a next event; it is re-armed on activation (the actor stays active longer
 * than a session gap, `passivateAfter`).
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../runtime/mod.ts";
import { raiseAlert, type Severity } from "../contracts.ts";
import { asJson } from "../shared/json.ts";
import { watermarkAt } from "../shared/watermark.ts";
import {
  type Activity,
  emptyActivity,
  ingest,
  nextWake,
  openSessions,
  type Progress,
  progress,
} from "./activity.ts";
import type { PatternMatch } from "./cep.ts";
import { type ResolvedSessionsConfig, resolveSessionsConfig } from "./config.ts";
import { checkSkew, type CustomerEvent } from "./event.ts";
import type { CheckoutResult } from "./inventory.ts";
import type { CustomerProfile } from "./profile.ts";
import { assessRisk, type RiskAssessment } from "./risk.ts";
import type { SessionSummary } from "./session_window.ts";

/** The customer session actor type's name (alert sources are `session/<id>`). */
export const SESSION = "session";

/** An assessment, with what it assessed. */
export interface AssessmentRecord extends RiskAssessment {
  readonly kind: "transaction" | "checkout";
  readonly amount: number;
  /** Event time of the transaction, or the checkout's decision time. */
  readonly ts: number;
}

/** A customer's state. */
export interface CustomerState {
  profile: CustomerProfile | null;
  activity: Activity;
  assessments: AssessmentRecord[];
  checkouts: CheckoutRecord[];
}

/** A checkout as the customer keeps it: the inventory's result and the risk of its total. */
export interface CheckoutRecord extends CheckoutResult {
  /** `null` without a profile, or for a basket refused for want of stock. */
  readonly risk: RiskAssessment | null;
}

/** What `POST /api/sessions/:id/events` answers. */
export interface EventReceipt {
  readonly customer: string;
  /** `late`: below the watermark; counted and otherwise ignored. */
  readonly status: "accepted" | "late";
  readonly watermark: number | null;
  /** For a transaction of a customer with a profile. */
  readonly risk?: RiskAssessment;
}

/** What `GET /api/sessions/:id` shows. */
export interface SessionView {
  readonly customer: string;
  readonly watermark: number | null;
  readonly events: number;
  readonly late: number;
  /** Events waiting for the watermark before the patterns see them. */
  readonly pending: number;
  /** Sessions still open (provisional summaries). */
  readonly current: readonly SessionSummary[];
  readonly closed: readonly SessionSummary[];
  readonly matches: readonly (PatternMatch & { severity: Severity })[];
  readonly assessments: readonly AssessmentRecord[];
  readonly checkouts: readonly CheckoutRecord[];
  readonly profile: CustomerProfile | null;
}

type Ctx = ActorContext<CustomerState>;

/** The severity of a match with risk `risk`. */
export function severityOf(risk: number, s: ResolvedSessionsConfig["severities"]): Severity {
  return risk >= s.critical
    ? "critical"
    : risk >= s.high
    ? "high"
    : risk >= s.medium
    ? "medium"
    : "low";
}

/** The customer session actor type, for a configuration. */
export function sessionActor(config: ResolvedSessionsConfig) {
  const announce = (ctx: Ctx, p: Progress) => {
    for (const m of p.matches) {
      const severity = severityOf(m.risk, config.severities);
      raiseAlert(ctx, {
        source: `${SESSION}/${ctx.id}`,
        type: m.pattern,
        severity,
        message: m.message,
        data: m.data,
        at: m.at,
      });
      ctx.emit("sessions", { kind: "pattern", customer: ctx.id, severity, ...m }, ctx.id);
    }
    for (const s of p.closed) {
      ctx.emit("sessions", asJson({ kind: "session", customer: ctx.id, ...s }), ctx.id);
    }
  };

  const arm = (ctx: Ctx) => {
    const now = ctx.now();
    const at = nextWake(ctx.state.activity, now, config);
    if (at === null) ctx.cancelTimer("watermark");
    else ctx.setTimer("watermark", { after: Math.max(1, at - now) }, "tick");
  };

  const assess = (ctx: Ctx, kind: AssessmentRecord["kind"], amount: number, ts: number) => {
    const profile = ctx.state.profile;
    if (profile === null) return undefined;
    const risk = assessRisk(amount, ts, profile, config.risk);
    const list = ctx.state.assessments;
    list.push({ kind, amount, ts, ...risk });
    if (list.length > config.limits.assessments) list.shift();
    if (risk.reviewRequired) {
      ctx.emit(
        "sessions",
        asJson({
          kind: "review_required",
          customer: ctx.id,
          subject: kind,
          amount,
          ts,
          ...risk,
        }),
        ctx.id,
      );
    }
    return risk;
  };

  return defineActor({
    name: SESSION,
    initialState: (): CustomerState => ({
      profile: null,
      activity: emptyActivity(),
      assessments: [],
      checkouts: [],
    }),
    handlers: {
      /** One validated event. */
      event(ctx: Ctx, ev: CustomerEvent): EventReceipt {
        const now = ctx.now();
        checkSkew(ev, now, config.maxClockSkewMs);
        const result = ingest(ctx.state.activity, ev, now, config);
        announce(ctx, result);
        arm(ctx);
        const receipt = {
          customer: ctx.id,
          status: result.status,
          watermark: ctx.state.activity.wm.value,
        };
        if (ev.type !== "transaction" || ev.amount === undefined) return receipt;
        const risk = assess(ctx, "transaction", ev.amount, ev.ts);
        return risk === undefined ? receipt : { ...receipt, risk };
      },
      /** The watermark timer: the customer has been idle. */
      tick(ctx: Ctx) {
        announce(ctx, progress(ctx.state.activity, ctx.now(), config));
        arm(ctx);
      },
      /** Sets the customer's profile. */
      setProfile(ctx: Ctx, profile: CustomerProfile): CustomerProfile {
        ctx.state.profile = profile;
        return profile;
      },
      /** Records a checkout the inventory decided, and assesses its total. */
      checkedOut(ctx: Ctx, result: CheckoutResult): RiskAssessment | null {
        const list = ctx.state.checkouts;
        const known = list.find((c) => c.checkoutId === result.checkoutId);
        if (known !== undefined) return known.risk;
        const risk = result.status === "inventory_error"
          ? null
          : assess(ctx, "checkout", result.total, result.at) ?? null;
        list.push({ ...result, risk });
        if (list.length > config.limits.checkouts) list.shift();
        return risk;
      },
    },
    queries: {
      /** The customer as `GET /api/sessions/:id` shows it, or `null` for one never seen. */
      view(ctx: Ctx): SessionView | null {
        const s = ctx.state;
        const a = s.activity;
        if (a.events === 0 && a.late === 0 && s.profile === null && s.checkouts.length === 0) {
          return null;
        }
        return {
          customer: ctx.id,
          watermark: watermarkAt(a.wm, ctx.now(), config.outOfOrdernessMs),
          events: a.events,
          late: a.late,
          pending: a.pending.length,
          current: openSessions(a, config),
          closed: a.closed,
          matches: a.matches.map((m) => ({
            ...m,
            severity: severityOf(m.risk, config.severities),
          })),
          assessments: s.assessments,
          checkouts: s.checkouts,
          profile: s.profile,
        };
      },
      /** The profile, or `null`. */
      profile(ctx: Ctx): CustomerProfile | null {
        return ctx.state.profile;
      },
    },
    onActivate(ctx: Ctx) {
      arm(ctx);
    },
    options: { persistence: "snapshot", passivateAfter: config.passivateAfterMs },
  });
}

/**
 * The customer session actor type with the default configuration, for typing refs (the
 * registered one may be configured differently; refs resolve the type by name).
 */
export const session = sessionActor(resolveSessionsConfig());
