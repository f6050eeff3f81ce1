// @ts-check
/**
 * The alerts of the fleet and their reducers: an alert only moves forward (raised →
 * acknowledged → cleared, repeats counted), whatever order the snapshot and the stream tell of
 * it in; the feed lists the open ones and the most recent cleared ones. Pure, like the rest of
 * the store.
 *
 * @module
 */

/** @typedef {import("./store.js").Fleet} Fleet */

/** Alerts listed at most: the open ones first, then the most recently raised cleared ones. */
export const MAX_ALERTS = 150;
/** Cleared alerts listed at most. */
const CLEARED_LISTED = 20;
/** An alert moves forward only: raised → acknowledged → cleared. */
const STATUS_RANK = Object.freeze({ raised: 0, acknowledged: 1, cleared: 2 });

/** @typedef {"raised" | "acknowledged" | "cleared"} AlertStatus */

/**
 * An alert as the API and the stream send it.
 * @typedef {object} AlertData
 * @property {string} id
 * @property {string} source the reporting actor, `type/id`
 * @property {string} type
 * @property {string} severity low, medium, high or critical
 * @property {AlertStatus} status
 * @property {string} message
 * @property {number} raisedAt
 * @property {number} lastAt when its latest signal came
 * @property {number} count signals merged into it
 * @property {number | null} [acknowledgedAt]
 */

/**
 * An alert as the page keeps it.
 * @typedef {AlertData & { pending: boolean, seenAt: number }} Alert `pending`: an acknowledgement
 *   is on its way; `seenAt`: when the page last heard of it
 */

/**
 * Merges an alert heard of at `now`, unless the page knows a later state of it (further in
 * raised → acknowledged → cleared, or a later or larger repeat). An acknowledgement on its way
 * stays pending.
 * @param {Fleet} fleet
 * @param {AlertData | null | undefined} a
 * @param {number} now
 * @returns {boolean} whether it was taken
 */
export function mergeAlert(fleet, a, now) {
  if (!a || typeof a.id !== "string") return false;
  const mine = fleet.alerts.get(a.id);
  if (mine !== undefined) {
    const older = STATUS_RANK[a.status] < STATUS_RANK[mine.status] ||
      (a.status === mine.status && (a.lastAt < mine.lastAt || a.count < mine.count));
    if (older) return false;
  }
  fleet.alerts.set(a.id, { ...a, pending: mine?.pending ?? false, seenAt: now });
  return true;
}

/**
 * The snapshot of open alerts (one page of them and their total), asked for at `askedAt` and
 * answered at `now`: merged, the open ones beyond the page counted, and the open alerts it no
 * longer lists and not heard of since forgotten (they closed while the page was away).
 * @param {Fleet} fleet
 * @param {{ items: AlertData[], total?: number }} page
 * @param {number} askedAt
 * @param {number} now
 */
export function mergeOpenAlerts(fleet, page, askedAt, now) {
  for (const alert of page.items) mergeAlert(fleet, alert, now);
  fleet.unlistedOpen = Math.max(0, (page.total ?? 0) - page.items.length);
  const open = new Set(page.items.map((a) => a.id));
  for (const [id, a] of fleet.alerts) {
    if (a.status !== "cleared" && !open.has(id) && a.seenAt < askedAt) fleet.alerts.delete(id);
  }
}

/**
 * Marks whether an acknowledgement of alert `id` is on its way.
 * @param {Fleet} fleet
 * @param {string} id
 * @param {boolean} pending
 * @returns {boolean} false when the alert is unknown, or already so
 */
export function setPending(fleet, id, pending) {
  const a = fleet.alerts.get(id);
  if (a === undefined || a.pending === pending) return false;
  a.pending = pending;
  return true;
}

/**
 * The alerts to list, newest raised first: every open one and the 20 most recently raised
 * cleared ones, at most MAX_ALERTS. Cleared alerts left off the list are forgotten.
 * @param {Fleet} fleet
 * @returns {{ listed: Alert[], open: Alert[] }}
 */
export function alertFeed(fleet) {
  const all = [...fleet.alerts.values()].sort(alertOrder);
  const open = all.filter((a) => a.status !== "cleared");
  const cleared = all.filter((a) => a.status === "cleared").slice(0, CLEARED_LISTED);
  const listed = [...open, ...cleared].sort(alertOrder).slice(0, MAX_ALERTS);
  const keep = new Set(listed.map((a) => a.id));
  for (const [id, a] of fleet.alerts) {
    if (!keep.has(id) && a.status === "cleared") fleet.alerts.delete(id);
  }
  return { listed, open };
}

/**
 * Newest raised first; by id among alerts raised at once.
 * @param {Alert} a
 * @param {Alert} b
 */
function alertOrder(a, b) {
  return b.raisedAt - a.raisedAt || (a.id < b.id ? -1 : 1);
}
