// @ts-check
/**
 * The edge nodes, by id: status, tier, CPU, memory and storage against their limits, load,
 * capabilities and the last heartbeat; each item built once and updated in place.
 *
 * @module
 */
import { $, el, placeInOrder, setText } from "./dom.js";
import { fmtAgo, fmtNumber, humanize } from "./format.js";
import { nodeSummary, usageLevel } from "./select.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./store.js").EdgeNode} EdgeNode */

/** The resources a node reports in percent, each shown as a meter. */
const RESOURCES = /** @type {const} */ (["cpu", "memory", "storage"]);
/** @typedef {typeof RESOURCES[number]} Resource */

/** @typedef {{ valueText: HTMLElement, meter: HTMLElement, bar: HTMLElement }} Meter */

/**
 * The parts of a node's item that change.
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {HTMLElement} tier
 * @property {HTMLElement} status
 * @property {Record<Resource, Meter>} meters
 * @property {HTMLElement} load
 * @property {HTMLElement} caps
 * @property {HTMLElement} beat
 * @property {EdgeNode | null} node the node shown
 */

/** @param {Fleet} fleet */
export function createNodeList(fleet) {
  /** @type {Map<string, Item>} */
  const items = new Map();
  const list = $("nodes");

  /**
   * @param {string} id
   * @returns {Item}
   */
  function createItem(id) {
    const li = el("li", "node");
    li.dataset.nodeId = id;
    const head = el("div", "node-head");
    const tier = el("span", "tier");
    const status = el("span", "pill grey");
    head.append(el("span", "node-id", id), tier, status);
    const box = el("div", "meters");
    /**
     * @param {Resource} key
     * @returns {Meter}
     */
    const gauge = (key) => {
      const valueText = el("span", "", "—");
      const label = el("div", "meter-label");
      label.append(el("span", "", key === "cpu" ? "CPU" : humanize(key)), valueText);
      const meter = el("div", "meter");
      const bar = el("span");
      meter.append(bar);
      const part = el("div");
      part.append(label, meter);
      box.append(part);
      return { valueText, meter, bar };
    };
    const meters = { cpu: gauge("cpu"), memory: gauge("memory"), storage: gauge("storage") };
    const foot = el("div", "node-foot");
    const load = el("span");
    const caps = el("span");
    const beat = el("span");
    foot.append(load, caps, beat);
    li.append(head, box, foot);
    /** @type {Item} */
    const item = { li, tier, status, meters, load, caps, beat, node: null };
    items.set(id, item);
    return item;
  }

  /**
   * @param {Item} item
   * @param {EdgeNode} n
   */
  function update(item, n) {
    item.node = n;
    item.li.dataset.status = n.status;
    setText(item.tier, n.tier ?? "edge");
    const active = n.status === "active";
    item.status.className = `pill ${active ? "ok" : "grey"}`;
    setText(item.status, active ? "Active" : "Inactive");
    for (const key of RESOURCES) {
      const m = item.meters[key];
      const value = n.metrics ? n.metrics[key] : null;
      const limit = n.limits ? n.limits[key] : 100;
      if (typeof value !== "number") {
        setText(m.valueText, "—");
        m.bar.style.width = "0";
        continue;
      }
      setText(m.valueText, `${Math.round(value)}%`);
      m.valueText.title = `limit ${limit}%`;
      m.bar.style.width = `${Math.max(0, Math.min(100, value))}%`;
      m.meter.dataset.level = usageLevel(value, limit);
    }
    setText(item.load, n.metrics ? `load ${fmtNumber(n.metrics.load)}` : "no heartbeat yet");
    const caps = Array.isArray(n.capabilities) ? n.capabilities : [];
    setText(item.caps, caps.join(", "));
    beat(item, Date.now());
  }

  /**
   * @param {Item} item
   * @param {number} now
   */
  function beat(item, now) {
    const at = item.node?.lastHeartbeat;
    setText(item.beat, at ? `heartbeat ${fmtAgo(at, now)}` : "");
  }

  return {
    render() {
      const ids = [...fleet.nodes.keys()].sort();
      placeInOrder(
        list,
        ids.map((id) => {
          const item = items.get(id) ?? createItem(id);
          update(item, /** @type {EdgeNode} */ (fleet.nodes.get(id)));
          return item.li;
        }),
      );
      $("nodes-empty").hidden = ids.length > 0;
      setText($("nodes-summary"), nodeSummary(fleet));
    },
    /**
     * Updates the heartbeat times to `now`.
     * @param {number} now
     */
    tick(now) {
      for (const item of items.values()) if (item.node?.lastHeartbeat) beat(item, now);
    },
  };
}
