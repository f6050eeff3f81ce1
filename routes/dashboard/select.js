// @ts-check
/**
 * What the views show, derived from the fleet: a device's readings and their threshold marks,
 * the summaries and key figures, the levels that colour meters. Pure, like the store it reads.
 *
 * @module
 */
import { fmtAgo, fmtCount, fmtNumber, placeOf } from "./format.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./store.js").Device} Device */
/** @typedef {import("./alert_store.js").Alert} Alert */
/** @typedef {"ok" | "warn" | "bad"} Level */

/**
 * A reading as a device's row shows it.
 * @typedef {object} ReadingView
 * @property {string} sensor
 * @property {number} value
 * @property {number} ts
 * @property {boolean} outside outside the device's threshold for this sensor
 */

const SEVERITIES = new Set(["low", "medium", "high", "critical"]);

/**
 * A device's readings, by sensor name with the coordinates last (they are on the map), each
 * marked when outside its threshold; `sig` changes exactly when a value or a mark does, and
 * `values` when a value does.
 * @param {Device} d
 * @returns {{ readings: ReadingView[], sig: string, values: string }}
 */
export function readingsOf(d) {
  const readings = Object.entries(d.reported).sort(([a], [b]) => sensorOrder(a, b))
    .map(([sensor, { value, ts }]) => {
      const range = d.thresholds[sensor];
      const outside = range !== undefined &&
        ((range.min !== undefined && value < range.min) ||
          (range.max !== undefined && value > range.max));
      return { sensor, value, ts, outside };
    });
  const values = readings.map((r) => `${r.sensor}=${r.value}`);
  return {
    readings,
    sig: readings.map((r, i) => `${values[i]}${r.outside ? "!" : ""}`).join("|"),
    values: values.join("|"),
  };
}

/**
 * By name, with coordX and coordY after every other sensor.
 * @param {string} a
 * @param {string} b
 */
export function sensorOrder(a, b) {
  const ca = a === "coordX" || a === "coordY";
  const cb = b === "coordX" || b === "coordY";
  if (ca !== cb) return ca ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What a device is and where: "robot · Warehouse A", either part alone, or "".
 * @param {Device} d
 */
export function deviceKind(d) {
  return [d.type, placeOf(d.location)].filter(Boolean).join(" · ");
}

/**
 * The colour of a data quality score (percent): ok from 90, warn from 70, bad below.
 * @param {number} pct
 * @returns {Level}
 */
export function qualityLevel(pct) {
  return pct >= 90 ? "ok" : pct >= 70 ? "warn" : "bad";
}

/**
 * The colour of a node's usage against its limit: bad at the limit, warn from 80 % of it.
 * @param {number} value
 * @param {number} limit
 * @returns {Level}
 */
export function usageLevel(value, limit) {
  return value >= limit ? "bad" : value >= limit * 0.8 ? "warn" : "ok";
}

/**
 * The severity an alert's badge is coloured as: an unknown one as low.
 * @param {string} severity
 */
export function severityClass(severity) {
  return SEVERITIES.has(severity) ? severity : "low";
}

/**
 * The alerts card's summary: how many are raised and how many open; "" for none open.
 * @param {readonly Alert[]} open
 */
export function alertSummary(open) {
  if (open.length === 0) return "";
  const raised = open.filter((a) => a.status === "raised").length;
  return `${raised} to acknowledge · ${open.length} open`;
}

/**
 * The nodes card's summary: "2 of 3 active"; "" for no nodes.
 * @param {Fleet} fleet
 */
export function nodeSummary(fleet) {
  if (fleet.nodes.size === 0) return "";
  return `${activeNodes(fleet)} of ${fleet.nodes.size} active`;
}

/** @param {Fleet} fleet */
function activeNodes(fleet) {
  let active = 0;
  for (const n of fleet.nodes.values()) if (n.status === "active") active++;
  return active;
}

/**
 * The key figures at the top of the page, by the id of the element that shows each.
 * @param {Fleet} fleet
 * @returns {Record<string, string>}
 */
export function kpiTexts(fleet) {
  let online = 0;
  for (const d of fleet.devices.values()) if (d.status === "online") online++;
  let open = 0;
  let critical = 0;
  for (const a of fleet.alerts.values()) {
    if (a.status === "cleared") continue;
    open++;
    if (a.severity === "critical" || a.severity === "high") critical++;
  }
  const p = fleet.payments;
  const decided = p.approved + p.rejected + p.pending;
  const parts = [];
  if (p.approved > 0) parts.push(`${p.approved} approved`);
  if (p.pending > 0) parts.push(`${p.pending} pending`);
  if (p.rejected > 0) parts.push(`${p.rejected} rejected`);
  return {
    "kpi-online": fmtCount(online),
    "kpi-devices": `/ ${fmtCount(fleet.devices.size)}`,
    "kpi-robots": fmtCount(fleet.robots.size),
    "kpi-alerts": fmtCount(open + fleet.unlistedOpen),
    "kpi-alerts-detail": critical > 0 ? `${critical} high or critical` : "",
    "kpi-nodes": fmtCount(activeNodes(fleet)),
    "kpi-nodes-total": `/ ${fmtCount(fleet.nodes.size)}`,
    "kpi-pay": fmtCount(decided),
    "kpi-pay-detail": decided === 0 ? "none yet" : parts.join(" · "),
  };
}

/** @typedef {"connecting" | "live" | "reconnecting" | "down"} Connection */

/**
 * The words for the stream's state; `retryIn` (ms) tells when a down stream tries again.
 * @param {Connection} state
 * @param {number} [retryIn]
 */
export function connectionText(state, retryIn) {
  switch (state) {
    case "live":
      return "Live";
    case "connecting":
      return "Connecting…";
    case "reconnecting":
      return "Reconnecting…";
    case "down":
      return retryIn ? `Offline · retrying in ${Math.round(retryIn / 1000)} s` : "Offline";
  }
}

/**
 * A site link as `GET /api/sites` gives it.
 * @typedef {object} SiteLink
 * @property {string} site
 * @property {"hub" | "site"} role
 * @property {"connected" | "disconnected" | "unknown"} link
 * @property {number | null} since
 * @property {number} uplinkLagMessages
 * @property {number} uplinkLagSeconds
 * @property {number} downlinkPending
 */

/**
 * What the sites card shows of a link at `now`: its state and colour, the uplink lag, the
 * downlink backlog and since when the link is in its state.
 * @param {SiteLink} link
 * @param {number} now
 * @returns {{ state: string, tone: "ok" | "bad" | "grey", lag: string, pending: string, since: string }}
 */
export function siteFigures(link, now) {
  const tone = link.link === "connected" ? "ok" : link.link === "disconnected" ? "bad" : "grey";
  const state = link.link === "connected"
    ? "Connected"
    : link.link === "disconnected"
    ? "Disconnected"
    : "Unknown";
  const lag = link.uplinkLagMessages === 0
    ? "uplink in sync"
    : `uplink ${fmtCount(link.uplinkLagMessages)} behind (${fmtNumber(link.uplinkLagSeconds)} s)`;
  const pending = link.downlinkPending === 0
    ? "downlink applied"
    : `downlink ${fmtCount(link.downlinkPending)} pending`;
  const since = link.since === null ? "" : `since ${fmtAgo(link.since, now)}`;
  return { state, tone, lag, pending, since };
}
