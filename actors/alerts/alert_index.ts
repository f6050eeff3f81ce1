/**
 * The alert index: every source's alerts in one view, folded from the alert books' journals
 * by a projection (`system.project`), for `GET /api/alerts` across sources. An alert's id
 * names its book (`device.robot-1.3` → `device/robot-1`), so acknowledging or clearing goes
 * straight to the book; the index follows once the change is durable.
 *
 * Bounded: open alerts are bounded by dedup (one per source and type); of the cleared ones the
 * index keeps the most recent {@link INDEX_HISTORY}. The books' journals are compacted behind
 * their snapshots: a book's events before its last snapshot are gone, and the index starts from
 * the book's state there instead (its open alerts and the cleared ones it keeps).
 *
 * Embedded mode sees every book's events. In a cluster, a node's projection is fed the events
 * its own actors commit and catches up from the journal only on gaps — the index then needs
 * the runtime to tail journals of other nodes (see the report of issue 4).
 *
 * @module
 */
import type { ActorSystem, Projection, ProjectionDefinition } from "../../runtime/mod.ts";
import { ALERT_BOOK, type Severity } from "../contracts.ts";
import {
  type Alert,
  type AlertBook,
  type AlertStatus,
  applyClear,
  applyRepeat,
  type BookEvent,
  entityOf,
  parseAlertId,
  rank,
} from "./alert.ts";

/** Cleared alerts the index keeps, across sources. */
export const INDEX_HISTORY = 10_000;

/** The index view (in memory; rebuilt from the journals at start). */
export interface AlertIndexView {
  readonly byId: Map<string, Alert>;
  /** Ids of cleared alerts, in the order they were cleared. */
  readonly cleared: string[];
}

/** The projection folding alert-book events into the index. */
export function alertIndexDefinition(
  history = INDEX_HISTORY,
): ProjectionDefinition<AlertIndexView, BookEvent> {
  return {
    name: "alert-index",
    source: ALERT_BOOK,
    initial: () => ({ byId: new Map(), cleared: [] }),
    seed(view, state) {
      const book = state as unknown as AlertBook;
      for (const alert of Object.values(book.open)) view.byId.set(alert.id, { ...alert });
      for (const alert of book.closed) {
        if (!view.byId.has(alert.id)) view.cleared.push(alert.id);
        view.byId.set(alert.id, { ...alert });
      }
      while (view.cleared.length > history) view.byId.delete(view.cleared.shift()!);
    },
    apply(view, event) {
      if (event.kind === "raised") {
        view.byId.set(event.alert.id, { ...event.alert });
        return;
      }
      const alert = view.byId.get(event.id);
      if (alert === undefined) return;
      switch (event.kind) {
        case "repeated":
          applyRepeat(alert, event);
          return;
        case "acknowledged":
          if (alert.status === "raised") {
            alert.status = "acknowledged";
            alert.acknowledgedAt = event.at;
          }
          return;
        case "cleared":
          if (alert.status === "cleared") return;
          applyClear(alert, event);
          view.cleared.push(alert.id);
          while (view.cleared.length > history) view.byId.delete(view.cleared.shift()!);
      }
    },
  };
}

const indexes = new WeakMap<ActorSystem, Promise<Projection<AlertIndexView, BookEvent>>>();

/**
 * The alert index of a system: created on first use (from the journals, so it may be created
 * after the system started) and shared afterwards. Resolves once the initial rebuild is done.
 */
export function alertIndex(system: ActorSystem): Promise<Projection<AlertIndexView, BookEvent>> {
  let index = indexes.get(system);
  if (index === undefined) {
    const projection = system.project(alertIndexDefinition());
    index = projection.rebuild().then(() => projection);
    indexes.set(system, index);
  }
  return index;
}

/** Filters of an index query; absent ones match everything. */
export interface AlertQuery {
  /** The entity a source is about: `robot-1` matches `device/robot-1` (and `terminal/robot-1`). */
  readonly device?: string;
  /** Exact sources. */
  readonly source?: readonly string[];
  readonly status?: readonly AlertStatus[];
  readonly severity?: readonly Severity[];
  readonly minSeverity?: Severity;
  readonly type?: readonly string[];
  readonly limit: number;
  readonly offset: number;
}

/** A page of alerts, newest raised first. */
export interface AlertPage {
  readonly alerts: Alert[];
  /** Matching alerts in all. */
  readonly total: number;
  /** The offset of the next page, or `null` on the last. */
  readonly next: number | null;
}

/** Queries the index. */
export function queryAlerts(view: AlertIndexView, q: AlertQuery): AlertPage {
  const hits: Alert[] = [];
  for (const a of view.byId.values()) {
    if (q.device !== undefined && entityOf(a.source) !== q.device) continue;
    if (q.source !== undefined && !q.source.includes(a.source)) continue;
    if (q.status !== undefined && !q.status.includes(a.status)) continue;
    if (q.severity !== undefined && !q.severity.includes(a.severity)) continue;
    if (q.minSeverity !== undefined && rank(a.severity) < rank(q.minSeverity)) continue;
    if (q.type !== undefined && !q.type.includes(a.type)) continue;
    hits.push(a);
  }
  hits.sort(newestFirst);
  const page = hits.slice(q.offset, q.offset + q.limit).map((a) => ({ ...a }));
  const end = q.offset + page.length;
  return { alerts: page, total: hits.length, next: end < hits.length ? end : null };
}

function newestFirst(a: Alert, b: Alert): number {
  if (a.raisedAt !== b.raisedAt) return b.raisedAt - a.raisedAt;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return (parseAlertId(b.id)?.n ?? 0) - (parseAlertId(a.id)?.n ?? 0);
}
