/**
 * A customer's activity in event time: the watermark (`shared/watermark.ts`, 5 s allowed
 * out-of-orderness, advancing with processing time when the customer is idle), the events
 * waiting for it, the pattern matchers (`cep.ts`) and the session windows
 * (`session_window.ts`). Pure functions; the customer actor calls them and turns their outputs
 * into alerts and events.
 *
 * An arriving event below the watermark is late: counted, and otherwise ignored. An on-time
 * event joins its session window at once and waits in `pending` until the watermark passes it;
 * then the pattern matchers see it, in event-time order (ties broken by content), so the
 * matches do not depend on the order of arrival within the allowed out-of-orderness.
 *
 * @module
 */
import {
  advance,
  emptyWatermark,
  isLate,
  observe,
  reachesAt,
  type Watermark,
} from "../shared/watermark.ts";
import {
  addEvent,
  emptyWindows,
  fireWindows,
  nextFiring,
  openResults,
  type WindowSet,
} from "../shared/windows.ts";
import { type CepState, emptyCep, feedCep, type PatternMatch } from "./cep.ts";
import type { ResolvedSessionsConfig } from "./config.ts";
import { compareEvents, type CustomerEvent } from "./event.ts";
import { type SessionAcc, sessionAggregator, type SessionSummary } from "./session_window.ts";

/** A customer's event-time state. */
export interface Activity {
  wm: Watermark;
  /** On-time events the watermark has not passed yet, in processing order. */
  pending: CustomerEvent[];
  cep: CepState;
  /** Open session windows. */
  sessions: WindowSet<SessionAcc>;
  /** Closed sessions, oldest first (bounded). */
  closed: SessionSummary[];
  /** Pattern matches, oldest first (bounded). */
  matches: PatternMatch[];
  /** Events accepted (on time). */
  events: number;
  /** Events refused as late. */
  late: number;
}

/** What a step produced: matches and sessions to announce. */
export interface Progress {
  readonly matches: PatternMatch[];
  readonly closed: SessionSummary[];
}

/** A customer that has sent nothing. */
export function emptyActivity(): Activity {
  return {
    wm: emptyWatermark(),
    pending: [],
    cep: emptyCep(),
    sessions: emptyWindows(),
    closed: [],
    matches: [],
    events: 0,
    late: 0,
  };
}

/** Takes one event at processing time `now`. */
export function ingest(
  a: Activity,
  ev: CustomerEvent,
  now: number,
  c: ResolvedSessionsConfig,
): Progress & { status: "accepted" | "late" } {
  const lag = c.outOfOrdernessMs;
  if (isLate(a.wm, ev.ts, now, lag)) {
    a.late++;
    return { status: "late", ...progress(a, now, c) };
  }
  a.events++;
  const w = observe(a.wm, ev.ts, now, lag);
  let i = a.pending.length;
  while (i > 0 && compareEvents(a.pending[i - 1]!, ev) > 0) i--;
  a.pending.splice(i, 0, ev);
  addEvent(
    a.sessions,
    { kind: "session", gap: c.sessionGapMs },
    sessionAggregator(c),
    ev.ts,
    ev,
    w,
    0,
  );
  // A flood of events within the lag must not grow state without bound: make the oldest final.
  const overflow = a.pending.length - c.limits.pending;
  if (overflow > 0) a.wm.value = Math.max(a.wm.value ?? -Infinity, a.pending[overflow - 1]!.ts + 1);
  return { status: "accepted", ...progress(a, now, c) };
}

/**
 * Moves the watermark to processing time `now`: events it passes go through the pattern
 * matchers, sessions it closes are summarized.
 */
export function progress(a: Activity, now: number, c: ResolvedSessionsConfig): Progress {
  const w = advance(a.wm, now, c.outOfOrdernessMs);
  const matches: PatternMatch[] = [];
  if (w === null) return { matches, closed: [] };
  let n = 0;
  while (n < a.pending.length && a.pending[n]!.ts < w) n++;
  for (const ev of a.pending.splice(0, n)) matches.push(...feedCep(a.cep, ev, c.patterns));
  const closed = fireWindows(a.sessions, sessionAggregator(c), w, 0).map((r) => r.result);
  keep(a.matches, matches, c.limits.matches);
  keep(a.closed, closed, c.limits.closedSessions);
  return { matches, closed };
}

/**
 * The processing time at which something will be due if no event arrives (a pending event
 * becoming final, a session closing), or `null` when nothing waits.
 */
export function nextWake(a: Activity, now: number, c: ResolvedSessionsConfig): number | null {
  const targets: number[] = [];
  if (a.pending.length > 0) targets.push(a.pending[0]!.ts + 1);
  const session = nextFiring(a.sessions);
  if (session !== null) targets.push(session);
  if (targets.length === 0) return null;
  return reachesAt(a.wm, Math.min(...targets), now, c.outOfOrdernessMs);
}

/** The sessions still open (provisional summaries), oldest first. */
export function openSessions(a: Activity, c: ResolvedSessionsConfig): SessionSummary[] {
  return openResults(a.sessions, sessionAggregator(c)).map((r) => r.result);
}

function keep<T>(list: T[], add: readonly T[], max: number): void {
  list.push(...add);
  if (list.length > max) list.splice(0, list.length - max);
}
