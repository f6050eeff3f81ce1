/**
 * The transaction rollup actor (`tx-rollup/all`): terminals `record` every payment outcome
 * (`contracts.recordTransaction`); the actor keeps one tumbling window per minute of event
 * time, and when the watermark passes a minute's end (at most `outOfOrderness` after the last
 * transaction, thanks to the idle advance) it emits the minute's rollup on the `payments` topic
 * (`{kind: "rollup", ...}`) and applies the alert rules of `rollup.ts`: HIGH_FAILURE_RATE and
 * LOW_THROUGHPUT are raised on a bad minute and cleared by the next good one.
 *
 * Minutes without transactions between busy ones, and up to `idleWindows` after the last
 * one, are emitted as empty rollups (throughput 0 is what LOW_THROUGHPUT is for); then the
 * actor goes quiet until transactions come back. Late transactions within the allowed lateness
 * update their minute, which is emitted again with `late: true`; later ones are counted as
 * dropped.
 *
 * @module
 */
import { type ActorContext, defineActor } from "../../runtime/mod.ts";
import {
  clearAlert,
  raiseAlert,
  TRANSACTION_ROLLUP,
  type TransactionRecord,
} from "../contracts.ts";
import { resolveAlertsConfig, type ResolvedAlertsConfig, type ResolvedRollup } from "./config.ts";
import { asJson } from "../shared/json.ts";
import { judge, ROLLUP, type Rollup, type RollupAcc, rollupOf } from "./rollup.ts";
import {
  advance,
  emptyWatermark,
  observe,
  reachesAt,
  type Watermark,
  watermarkAt,
} from "../shared/watermark.ts";
import {
  addEvent,
  type AddOutcome,
  emptyWindows,
  fireWindows,
  nextExpiry,
  nextFiring,
  openResults,
  type WindowSet,
} from "../shared/windows.ts";

/** The rollup actor's state. */
export interface RollupState {
  wm: Watermark;
  windows: WindowSet<RollupAcc>;
  /** End of the last window emitted in order (empty or not), or `null` before the first. */
  closedUntil: number | null;
  /** Empty windows emitted since the last busy one. */
  idleStreak: number;
  /** The latest rollups, oldest first. */
  recent: Rollup[];
  records: number;
  /** Records refused as malformed. */
  rejected: number;
}

/** What the rollup actor shows. */
export interface RollupView {
  readonly watermark: number | null;
  readonly recent: readonly Rollup[];
  /** Windows not closed yet, provisional. */
  readonly open: readonly Rollup[];
  readonly records: number;
  readonly late: number;
  readonly dropped: number;
  readonly rejected: number;
}

type Ctx = ActorContext<RollupState>;

const STATUSES = new Set(["approved", "approved_offline", "rejected", "pending"]);

function emptyState(): RollupState {
  return {
    wm: emptyWatermark(),
    windows: emptyWindows(),
    closedUntil: null,
    idleStreak: 0,
    recent: [],
    records: 0,
    rejected: 0,
  };
}

/** Is this a well-formed record? (It comes from another area: checked, never trusted.) */
export function isTransactionRecord(r: unknown): r is TransactionRecord {
  const x = r as Partial<TransactionRecord> | null;
  return typeof x === "object" && x !== null &&
    typeof x.transactionId === "string" && typeof x.terminal === "string" &&
    x.terminal.length > 0 && x.terminal.length <= 128 &&
    typeof x.status === "string" && STATUSES.has(x.status) &&
    typeof x.method === "string" && x.method.length > 0 && x.method.length <= 32 &&
    typeof x.amount === "number" && Number.isFinite(x.amount) &&
    typeof x.ts === "number" && Number.isFinite(x.ts);
}

/** The rollup actor type, for a configuration. */
export function txRollupActor(config: ResolvedAlertsConfig) {
  const rc = config.rollup;

  const publish = (ctx: Ctx, r: Rollup) => {
    ctx.emit("payments", asJson({ kind: "rollup", ...r }));
    const recent = ctx.state.recent;
    const i = recent.findIndex((x) => x.start === r.start);
    if (i >= 0) recent[i] = r;
    else {
      recent.push(r);
      recent.sort((a, b) => a.start - b.start);
      if (recent.length > rc.keepWindows) recent.splice(0, recent.length - rc.keepWindows);
    }
    alerts(ctx, r, rc);
  };

  const empty = (ctx: Ctx, start: number) => {
    publish(ctx, rollupOf(start, start + rc.windowMs, ROLLUP.create(), false, rc));
    ctx.state.idleStreak++;
  };

  /** Empty windows from `closedUntil` up to `until` (event time), as many as allowed. */
  const fill = (ctx: Ctx, until: number) => {
    const s = ctx.state;
    if (s.closedUntil === null) return;
    while (s.closedUntil + rc.windowMs <= until && s.idleStreak < rc.idleWindows) {
      empty(ctx, s.closedUntil);
      s.closedUntil += rc.windowMs;
    }
    if (s.closedUntil + rc.windowMs <= until) {
      s.closedUntil = Math.floor(until / rc.windowMs) * rc.windowMs;
    }
  };

  const step = (ctx: Ctx) => {
    const s = ctx.state;
    const now = ctx.now();
    const w = advance(s.wm, now, rc.outOfOrdernessMs);
    for (const f of fireWindows(s.windows, ROLLUP, w, rc.allowedLatenessMs)) {
      // A window before `closedUntil` was emitted already (busy or empty): this is an update.
      const update = s.closedUntil !== null && f.start < s.closedUntil;
      if (!update) {
        fill(ctx, f.start);
        s.closedUntil = f.end;
        s.idleStreak = 0;
      }
      publish(ctx, rollupOf(f.start, f.end, f.result, f.late || update, rc));
    }
    if (w !== null) fill(ctx, w);
    arm(ctx);
  };

  const arm = (ctx: Ctx) => {
    const s = ctx.state;
    const candidates = [
      nextFiring(s.windows),
      nextExpiry(s.windows, rc.allowedLatenessMs),
      s.closedUntil !== null && s.idleStreak < rc.idleWindows ? s.closedUntil + rc.windowMs : null,
    ].filter((t): t is number => t !== null);
    if (candidates.length === 0) return ctx.cancelTimer("tick");
    const now = ctx.now();
    const at = reachesAt(s.wm, Math.min(...candidates), now, rc.outOfOrdernessMs);
    if (at === null) return ctx.cancelTimer("tick");
    ctx.setTimer("tick", { after: Math.max(1, at - now) }, "tick");
  };

  return defineActor({
    name: TRANSACTION_ROLLUP,
    initialState: emptyState,
    handlers: {
      /** A transaction outcome from a terminal. */
      record(ctx: Ctx, r: TransactionRecord): AddOutcome | "rejected" {
        const s = ctx.state;
        if (!isTransactionRecord(r)) {
          s.rejected++;
          ctx.log.warn("malformed transaction record refused", { record: String(r) });
          return "rejected";
        }
        s.records++;
        const now = ctx.now();
        const lag = rc.outOfOrdernessMs;
        const before = watermarkAt(s.wm, now, lag);
        const w = before !== null && r.ts < before ? before : observe(s.wm, r.ts, now, lag);
        const outcome = addEvent(
          s.windows,
          { kind: "tumbling", size: rc.windowMs },
          ROLLUP,
          r.ts,
          r,
          w,
          rc.allowedLatenessMs,
        );
        step(ctx);
        return outcome;
      },
      /** The watermark timer. */
      tick(ctx: Ctx) {
        step(ctx);
      },
    },
    queries: {
      view(ctx: Ctx): RollupView {
        const s = ctx.state;
        return {
          watermark: watermarkAt(s.wm, ctx.now(), rc.outOfOrdernessMs),
          recent: s.recent,
          open: openResults(s.windows, ROLLUP).map((r) =>
            rollupOf(r.start, r.end, r.result, r.late, rc)
          ),
          records: s.records,
          late: s.windows.late,
          dropped: s.windows.dropped,
          rejected: s.rejected,
        };
      },
    },
    onActivate(ctx: Ctx) {
      arm(ctx);
    },
    options: { persistence: "snapshot", passivateAfter: "PT1H" },
  });
}

/** Raises or clears the rollup alerts for one window. */
function alerts(ctx: Ctx, r: Rollup, rc: ResolvedRollup): void {
  const source = `${ctx.type}/${ctx.id}`;
  const verdict = judge(r, rc);
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  if (verdict.highFailureRate) {
    raiseAlert(ctx, {
      source,
      type: "HIGH_FAILURE_RATE",
      severity: rc.failureSeverity,
      message: `failure rate ${pct(r.failureRate)} (${r.failed} of ${r.count}) above ${
        pct(rc.failureRateAbove)
      } in the minute from ${new Date(r.start).toISOString()}`,
      data: {
        start: r.start,
        end: r.end,
        failureRate: r.failureRate,
        failed: r.failed,
        count: r.count,
      },
      at: r.end,
    });
  } else if (!r.late && r.count >= rc.failureMinTransactions) {
    // Only a minute with a rate (enough transactions) says the failures are over.
    clearAlert(ctx, source, "HIGH_FAILURE_RATE", r.end);
  }
  if (verdict.lowThroughput) {
    raiseAlert(ctx, {
      source,
      type: "LOW_THROUGHPUT",
      severity: rc.throughputSeverity,
      message: `throughput ${r.throughput} transactions/min below ${rc.throughputBelow} in the ` +
        `minute from ${new Date(r.start).toISOString()}`,
      data: { start: r.start, end: r.end, throughput: r.throughput, count: r.count },
      at: r.end,
    });
  } else if (!r.late) clearAlert(ctx, source, "LOW_THROUGHPUT", r.end);
}

/** The rollup actor type with the default configuration, for typing refs (id `ROLLUP_ID`). */
export const txRollup = txRollupActor(resolveAlertsConfig());
