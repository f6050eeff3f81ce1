// @ts-check
/**
 * Where what the server says (stream events, snapshots, twins, answers to actions) meets the
 * page: merged into the fleet by the store's reducers, and what changed marked for redrawing.
 *
 * @module
 */
import { mergeAlert, mergeOpenAlerts } from "./alert_store.js";
import { applyCommandEvent } from "./command_store.js";
import { applyPayment, applyTelemetry, mergeDevice, mergeNode } from "./store.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./store.js").Device} Device */
/** @typedef {import("./store.js").DeviceData} DeviceData */
/** @typedef {import("./alert_store.js").AlertData} AlertData */
/** @typedef {import("./store.js").EdgeNode} EdgeNode */
/** @typedef {import("./store.js").TelemetryEvent} TelemetryEvent */
/** @typedef {import("./store.js").PaymentEvent} PaymentEvent */

/**
 * What is told of each change.
 * @typedef {object} Changes
 * @property {(id: string) => void} device a device's row (and the figures)
 * @property {() => void} alerts the alerts feed (and the figures)
 * @property {() => void} nodes the edge nodes (and the figures)
 * @property {() => void} kpis the figures alone
 * @property {() => void} robots the map
 * @property {(at: number) => void} telemetry one telemetry message came, at `at` (epoch ms)
 * @property {(id: string) => void} wantTwin the device's twin is worth asking for
 * @property {(id: string) => void} commands a device's commands
 */

/**
 * @param {Fleet} fleet
 * @param {import("./command_store.js").CommandBook} book the devices' commands
 * @param {Changes} changes
 */
export function createSync(fleet, book, changes) {
  /** @param {Device} d */
  function changed(d) {
    if (fleet.robots.has(d.id)) changes.robots();
    changes.device(d.id);
  }

  return {
    /**
     * A device summary or (`full`) twin, asked for at `askedAt`.
     * @param {DeviceData} v
     * @param {boolean} full
     * @param {number} askedAt
     */
    device(v, full, askedAt) {
      const d = mergeDevice(fleet, v, full, askedAt);
      if (d !== null) changed(d);
    },
    /** @param {TelemetryEvent} ev */
    telemetry(ev) {
      const now = Date.now();
      const result = applyTelemetry(fleet, ev, now);
      if (result === null) return;
      if (result.readings) {
        changes.telemetry(now);
        changes.wantTwin(result.device.id);
      }
      changed(result.device);
    },
    /** @param {AlertData | null | undefined} a */
    alert(a) {
      if (mergeAlert(fleet, a, Date.now())) changes.alerts();
    },
    /**
     * The page of open alerts asked for at `askedAt`.
     * @param {{ items: AlertData[], total?: number }} page
     * @param {number} askedAt
     */
    openAlerts(page, askedAt) {
      mergeOpenAlerts(fleet, page, askedAt, Date.now());
      changes.alerts();
    },
    /** @param {EdgeNode} n */
    node(n) {
      if (mergeNode(fleet, n)) changes.nodes();
    },
    /** @param {PaymentEvent} ev */
    payment(ev) {
      if (applyPayment(fleet, ev)) changes.kpis();
    },
    /** @param {import("./command_store.js").CommandEvent} ev */
    command(ev) {
      const device = applyCommandEvent(book, ev);
      if (device !== null) changes.commands(device);
    },
  };
}
