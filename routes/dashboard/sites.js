// @ts-check
/**
 * The edge sites card: each site link as the node serving the page sees it (`GET /api/sites`,
 * polled every few seconds) — connected or not and since when, how far the hub is behind the
 * site's changes, what the site has not applied of the hub's decisions. Hidden on a node that
 * is neither at a site nor at a hub.
 *
 * @module
 */
import { $, el, placeInOrder, setText } from "./dom.js";
import { siteFigures } from "./select.js";

/** @typedef {import("./select.js").SiteLink} SiteLink */

/**
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {HTMLElement} role
 * @property {HTMLElement} state
 * @property {HTMLElement} lag
 * @property {HTMLElement} pending
 * @property {HTMLElement} since
 */

/** How often the links are asked for, ms. */
export const SITES_POLL_MS = 3000;

/**
 * @param {(method: string, path: string) => Promise<unknown>} request
 */
export function createSiteList(request) {
  /** @type {Map<string, Item>} */
  const items = new Map();
  /** @type {SiteLink[]} */
  let links = [];
  let last = 0;
  let asking = false;

  /**
   * @param {string} site
   * @returns {Item}
   */
  function createItem(site) {
    const li = el("li", "node site");
    li.dataset.site = site;
    const head = el("div", "node-head");
    const role = el("span", "tier");
    const state = el("span", "pill grey");
    head.append(el("span", "node-id", site), role, state);
    const foot = el("div", "node-foot");
    const lag = el("span");
    const pending = el("span");
    const since = el("span");
    foot.append(lag, pending, since);
    li.append(head, foot);
    /** @type {Item} */
    const item = { li, role, state, lag, pending, since };
    items.set(site, item);
    return item;
  }

  /** @param {number} now */
  function render(now) {
    $("sites-card").hidden = links.length === 0;
    placeInOrder(
      $("sites"),
      links.map((link) => {
        const item = items.get(link.site) ?? createItem(link.site);
        const f = siteFigures(link, now);
        item.li.dataset.link = link.link;
        setText(item.role, link.role === "hub" ? "followed" : "this site");
        item.state.className = `pill ${f.tone}`;
        setText(item.state, f.state);
        setText(item.lag, f.lag);
        setText(item.pending, f.pending);
        setText(item.since, f.since);
        return item.li;
      }),
    );
    const down = links.filter((l) => l.link !== "connected").length;
    setText($("sites-summary"), down === 0 ? `${links.length} linked` : `${down} disconnected`);
  }

  return {
    /**
     * Asks for the links when it is time, and redraws the relative times.
     * @param {number} now
     */
    tick(now) {
      if (!asking && now - last >= SITES_POLL_MS) {
        asking = true;
        last = now;
        request("GET", "/api/sites").then((body) => {
          const page = /** @type {{ items?: SiteLink[] }} */ (body);
          links = Array.isArray(page?.items) ? page.items : [];
        }).catch(() => {/* shown as it was; asked again at the next poll */}).finally(() => {
          asking = false;
          render(Date.now());
        });
      }
      render(now);
    },
    /** The links shown (for tests). */
    links: () => links,
  };
}
