/**
 * Alerts and their lifecycle: raised → acknowledged → cleared, one open alert per
 * (source, type). Pure functions over an {@link AlertBook}, the alerts of one source, written
 * as events (the book is event-sourced: its journal is the alert history).
 *
 * Dedup: while an alert of a type is open (raised or acknowledged), a repeat signal is merged
 * into it — `count` grows, `lastAt`, `message` and `data` follow the latest signal, and the
 * severity is escalated to the repeat's when that is higher (never lowered). Escalation keeps
 * the status (an acknowledged alert stays acknowledged) but is announced like a raise.
 *
 * @module
 */
import { type AlertSignal, SEVERITIES, type Severity } from "../contracts.ts";
import { type JsonValue, ValidationError } from "../../runtime/mod.ts";

/** Where an alert is in its lifecycle. */
export type AlertStatus = "raised" | "acknowledged" | "cleared";

/** The lifecycle statuses, in order. */
export const STATUSES: readonly AlertStatus[] = ["raised", "acknowledged", "cleared"];

/** An alert as kept, listed and sent. */
export interface Alert {
  /** `<source type>.<source id>.<n>`: URL-safe, names the source's book and the n-th alert. */
  readonly id: string;
  /** The reporting actor, `type/id`. */
  readonly source: string;
  readonly type: string;
  severity: Severity;
  status: AlertStatus;
  /** The latest signal's message. */
  message: string;
  /** The latest signal's data. */
  data: JsonValue;
  /** When the first signal was observed (epoch ms). */
  readonly raisedAt: number;
  /** Signals merged into this alert, the first included. */
  count: number;
  /** When the latest signal was observed. */
  lastAt: number;
  acknowledgedAt: number | null;
  clearedAt: number | null;
  /** `"source"`: the condition ended (a device back online); `"operator"`: cleared by hand. */
  clearedBy: "source" | "operator" | null;
}

/** The alerts of one source: the open ones by type, and the most recent cleared ones. */
export interface AlertBook {
  /** Number of the last alert raised (ids end with it). */
  seq: number;
  /** Open alerts (raised or acknowledged) by type. */
  open: Record<string, Alert>;
  /** Cleared alerts, oldest first, at most the configured number. */
  closed: Alert[];
}

/** What the book journals. */
export type BookEvent =
  | { readonly kind: "raised"; readonly alert: Alert }
  | {
    readonly kind: "repeated";
    readonly id: string;
    readonly at: number;
    readonly severity: Severity;
    readonly message: string;
    readonly data: JsonValue;
  }
  | { readonly kind: "acknowledged"; readonly id: string; readonly at: number }
  | {
    readonly kind: "cleared";
    readonly id: string;
    readonly at: number;
    readonly by: "source" | "operator";
  };

/** What a lifecycle change is announced as (SSE `alerts` topic, webhooks). */
export type AlertEventName = "raised" | "escalated" | "acknowledged" | "cleared";

/** The announcement names, for rule validation. */
export const ALERT_EVENTS: readonly AlertEventName[] = [
  "raised",
  "escalated",
  "acknowledged",
  "cleared",
];

/** Sources: `<actor type>/<actor id>`, e.g. `device/robot-1`, `session/c-42`. */
export const SOURCE = /^[A-Za-z][A-Za-z0-9_-]{0,63}\/[A-Za-z0-9_-]{1,128}$/;
/** Alert types: a letter, then letters, digits, `_`, `-` or `.`, at most 64. */
export const ALERT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Alert ids: `<source type>.<source id>.<n>`, e.g. `device.robot-1.3`. */
export const ALERT_ID =
  /^([A-Za-z][A-Za-z0-9_-]{0,63})\.([A-Za-z0-9_-]{1,128})\.([1-9][0-9]{0,14})$/;
/** Longest message kept. */
export const MAX_MESSAGE = 1000;
/** Largest `data` kept, as JSON text. */
export const MAX_DATA = 16_384;

/** An empty book. */
export function emptyBook(): AlertBook {
  return { seq: 0, open: {}, closed: [] };
}

/** The id of the `n`-th alert of `source`. */
export function alertId(source: string, n: number): string {
  const slash = source.indexOf("/");
  return `${source.slice(0, slash)}.${source.slice(slash + 1)}.${n}`;
}

/** The source and number an alert id names, or `null` for a malformed id. */
export function parseAlertId(id: string): { source: string; n: number } | null {
  const m = ALERT_ID.exec(id);
  return m === null ? null : { source: `${m[1]}/${m[2]}`, n: Number(m[3]) };
}

/** The entity a source is about (`device/robot-1` → `robot-1`): the SSE key and `?device=`. */
export function entityOf(source: string): string {
  return source.slice(source.indexOf("/") + 1);
}

/** Severity rank: low 0 … critical 3. */
export function rank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Is `value` one of the severities? */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && (SEVERITIES as readonly string[]).includes(value);
}

/** A signal checked and completed: its source is the book's, `at` filled in. */
export interface Signal {
  readonly type: string;
  readonly severity: Severity;
  readonly message: string;
  readonly data: JsonValue;
  readonly at: number;
}

/**
 * Checks a signal that reached the book of `source` (from another area, so defensively) and
 * fills in `at` with the receive time.
 * @throws {ValidationError} listing what is wrong
 */
export function checkSignal(source: string, signal: AlertSignal, now: number): Signal {
  const issues: { path: string; message: string }[] = [];
  if (!SOURCE.test(source)) {
    issues.push({ path: "source", message: "sources look like <type>/<id>, e.g. device/robot-1" });
  }
  const s = (signal ?? {}) as Partial<AlertSignal>;
  if (typeof s.type !== "string" || !ALERT_TYPE.test(s.type)) {
    issues.push({ path: "type", message: "a letter, then letters, digits, _ . or - (1-64)" });
  }
  if (!isSeverity(s.severity)) {
    issues.push({ path: "severity", message: `one of ${SEVERITIES.join(", ")}` });
  }
  if (typeof s.message !== "string") issues.push({ path: "message", message: "a string" });
  if (s.at !== undefined && (typeof s.at !== "number" || !Number.isFinite(s.at))) {
    issues.push({ path: "at", message: "epoch milliseconds" });
  }
  const data = s.data ?? null;
  if (JSON.stringify(data).length > MAX_DATA) {
    issues.push({ path: "data", message: `at most ${MAX_DATA} characters of JSON` });
  }
  if (issues.length > 0) throw new ValidationError(`invalid alert signal for ${source}`, issues);
  return {
    type: s.type!,
    severity: s.severity!,
    message: s.message!.slice(0, MAX_MESSAGE),
    data,
    at: s.at ?? now,
  };
}

/**
 * The event a signal makes: a new alert, or a repeat merged into the open one of its type.
 * `severity` is the signal's after the rules (see `rules.ts`).
 */
export function raise(book: AlertBook, source: string, signal: Signal): BookEvent {
  const open = book.open[signal.type];
  if (open !== undefined) {
    return {
      kind: "repeated",
      id: open.id,
      at: signal.at,
      severity: rank(signal.severity) > rank(open.severity) ? signal.severity : open.severity,
      message: signal.message,
      data: signal.data,
    };
  }
  return {
    kind: "raised",
    alert: {
      id: alertId(source, book.seq + 1),
      source,
      type: signal.type,
      severity: signal.severity,
      status: "raised",
      message: signal.message,
      data: signal.data,
      raisedAt: signal.at,
      count: 1,
      lastAt: signal.at,
      acknowledgedAt: null,
      clearedAt: null,
      clearedBy: null,
    },
  };
}

/** The open alert with this id, if any. */
export function findOpen(book: AlertBook, id: string): Alert | undefined {
  return Object.values(book.open).find((a) => a.id === id);
}

/** What an operator's ack or clear finds. */
export type Lookup =
  | { readonly found: "open"; readonly alert: Alert }
  | { readonly found: "cleared"; readonly alert: Alert | null }
  | { readonly found: "none" };

/**
 * Finds an alert by id. An alert this book numbered but no longer keeps (cleared and pushed
 * out of `closed`) is known to be cleared, without details.
 */
export function lookup(book: AlertBook, id: string): Lookup {
  const open = findOpen(book, id);
  if (open !== undefined) return { found: "open", alert: open };
  const closed = book.closed.find((a) => a.id === id);
  if (closed !== undefined) return { found: "cleared", alert: closed };
  const n = parseAlertId(id)?.n;
  return n !== undefined && n <= book.seq ? { found: "cleared", alert: null } : { found: "none" };
}

/**
 * Folds an event into a book (the journal's `apply`). `keepClosed` bounds the cleared alerts
 * kept in the book's state; the journal keeps them all.
 */
export function applyBookEvent(book: AlertBook, event: BookEvent, keepClosed: number): void {
  switch (event.kind) {
    case "raised": {
      book.seq = Math.max(book.seq, parseAlertId(event.alert.id)?.n ?? book.seq);
      book.open[event.alert.type] = { ...event.alert };
      return;
    }
    case "repeated": {
      const alert = findOpen(book, event.id);
      if (alert === undefined) return;
      applyRepeat(alert, event);
      return;
    }
    case "acknowledged": {
      const alert = findOpen(book, event.id);
      if (alert === undefined || alert.status !== "raised") return;
      alert.status = "acknowledged";
      alert.acknowledgedAt = event.at;
      return;
    }
    case "cleared": {
      const alert = findOpen(book, event.id);
      if (alert === undefined) return;
      delete book.open[alert.type];
      applyClear(alert, event);
      book.closed.push(alert);
      if (book.closed.length > keepClosed) book.closed.splice(0, book.closed.length - keepClosed);
      return;
    }
  }
}

/** Applies a repeat to an alert (shared with the index). */
export function applyRepeat(alert: Alert, event: BookEvent & { kind: "repeated" }): void {
  alert.count++;
  alert.lastAt = Math.max(alert.lastAt, event.at);
  alert.severity = event.severity;
  alert.message = event.message;
  alert.data = event.data;
}

/** Applies a clear to an alert (shared with the index). */
export function applyClear(alert: Alert, event: BookEvent & { kind: "cleared" }): void {
  alert.status = "cleared";
  alert.clearedAt = event.at;
  alert.clearedBy = event.by;
}
