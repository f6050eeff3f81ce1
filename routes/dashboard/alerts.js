// @ts-check
/**
 * The alerts feed: open alerts, then the most recent cleared ones, newest first, each item
 * built once and updated in place; a raised alert is acknowledged with its button (asking for
 * the token when the node wants one).
 *
 * @module
 */
import { ApiError } from "./api.js";
import { $, el, messageOf, placeInOrder, setText, toast } from "./dom.js";
import { fmtAgo, fmtTime, humanize } from "./format.js";
import { alertSummary, severityClass } from "./select.js";
import { alertFeed, setPending } from "./alert_store.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./alert_store.js").Alert} Alert */
/** @typedef {import("./alert_store.js").AlertData} AlertData */

/**
 * The parts of an alert's item that change.
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {HTMLElement} badge
 * @property {HTMLElement} titleText
 * @property {HTMLElement} count
 * @property {HTMLElement} message
 * @property {HTMLElement} device
 * @property {HTMLElement} when
 * @property {HTMLElement} action
 * @property {string} shown the status (and pending) the action shows
 */

/**
 * @param {object} deps
 * @param {Fleet} deps.fleet
 * @param {(method: string, path: string) => Promise<unknown>} deps.request
 * @param {<T>(what: string, call: () => Promise<T>) => Promise<T>} deps.withAuth
 * @param {(a: AlertData) => void} deps.merge merges an alert the server sent
 * @param {() => void} deps.changed marks the feed for redrawing
 */
export function createAlertsFeed({ fleet, request, withAuth, merge, changed }) {
  /** @type {Map<string, Item>} */
  const items = new Map();
  const list = $("alerts");

  /**
   * @param {Alert} a
   * @returns {Item}
   */
  function createItem(a) {
    const li = el("li", "alert");
    li.dataset.alertId = a.id;
    const badge = el("span", "badge");
    const main = el("div", "alert-main");
    const title = el("div", "alert-title");
    const titleText = el("span");
    const count = el("span", "count");
    title.append(titleText, count);
    const message = el("p", "alert-message");
    const meta = el("div", "alert-meta");
    const device = el("span", "alert-device");
    const when = el("span");
    const action = el("span", "alert-action");
    meta.append(device, when, action);
    main.append(title, message, meta);
    li.append(badge, main);
    const item = { li, badge, titleText, count, message, device, when, action, shown: "" };
    items.set(a.id, item);
    return item;
  }

  /**
   * @param {Item} item
   * @param {Alert} a
   */
  function update(item, a) {
    item.li.dataset.status = a.status;
    item.li.dataset.severity = a.severity;
    item.badge.className = `badge sev-${severityClass(a.severity)}`;
    setText(item.badge, a.severity);
    setText(item.titleText, humanize(a.type));
    setText(item.count, a.count > 1 ? `×${a.count}` : "");
    item.count.hidden = !(a.count > 1);
    setText(item.message, a.message);
    const slash = a.source.indexOf("/");
    setText(item.device, slash >= 0 ? a.source.slice(slash + 1) : a.source);
    item.device.title = a.source;
    setText(item.when, fmtAgo(a.lastAt, Date.now()));
    item.when.title = `raised ${fmtTime(a.raisedAt)}`;
    const shown = `${a.status}|${a.pending}`;
    if (item.shown === shown) return;
    item.shown = shown;
    if (a.status === "raised") {
      const button = el("button", "ack", a.pending ? "Acknowledging…" : "Acknowledge");
      button.type = "button";
      button.disabled = a.pending;
      button.addEventListener("click", () => acknowledge(a.id));
      item.action.replaceChildren(button);
    } else if (a.status === "acknowledged") {
      const pill = el("span", "pill info", "Acknowledged");
      if (a.acknowledgedAt) pill.title = fmtTime(a.acknowledgedAt);
      item.action.replaceChildren(pill);
    } else {
      item.action.replaceChildren(el("span", "pill grey", "Cleared"));
    }
  }

  /** @param {string} id */
  async function acknowledge(id) {
    if (!setPending(fleet, id, true)) return;
    changed();
    const path = `/api/alerts/${encodeURIComponent(id)}`;
    try {
      const updated = await withAuth(
        "Acknowledging an alert",
        () => request("POST", `${path}/ack`),
      );
      setPending(fleet, id, false);
      changed();
      merge(/** @type {AlertData} */ (updated));
    } catch (error) {
      setPending(fleet, id, false);
      changed();
      if (error instanceof ApiError && error.status === 409) {
        toast("That alert was cleared in the meantime.");
        request("GET", path).then((a) => merge(/** @type {AlertData} */ (a)), () => {});
      } else {
        toast(`Could not acknowledge: ${messageOf(error)}`);
      }
    }
  }

  return {
    render() {
      const { listed, open } = alertFeed(fleet);
      const keep = new Set(listed.map((a) => a.id));
      for (const [id, item] of items) {
        if (!keep.has(id)) {
          item.li.remove();
          items.delete(id);
        }
      }
      placeInOrder(
        list,
        listed.map((a) => {
          const item = items.get(a.id) ?? createItem(a);
          update(item, a);
          return item.li;
        }),
      );
      $("alerts-empty").hidden = open.length > 0;
      setText($("alerts-summary"), alertSummary(open));
    },
    /**
     * Updates the "when" of every alert to `now`.
     * @param {number} now
     */
    tick(now) {
      for (const [id, item] of items) {
        const a = fleet.alerts.get(id);
        if (a !== undefined) setText(item.when, fmtAgo(a.lastAt, now));
      }
    },
  };
}
