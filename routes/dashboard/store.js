// @ts-check
/**
 * The fleet as this page knows it (devices, alerts, edge nodes, robots on the map, payment
 * counts) and the reducers that merge what the server says into it (those of the alerts are in
 * `alert_store.js`). Pure: no DOM, no network,
 * no clock (the present is passed in), so Deno tests run them as they are.
 *
 * Facts arrive out of order: a REST snapshot asked for before a stream event may answer after
 * it. Every merge keeps the newer fact, and says whether anything changed, so that the caller
 * redraws only what did.
 *
 * @module
 */

/** Positions kept behind each robot on the map. */
export const TRAIL = 40;

/** @typedef {string | { lat: number, lon: number }} Place a name, or a position */
/** @typedef {"online" | "offline"} Presence */
/** @typedef {{ value: number, ts: number }} Reading a sensor's value and when it was taken */
/** @typedef {{ min?: number, max?: number }} Range a sensor's threshold */

/**
 * A device as the page shows it.
 * @typedef {object} Device
 * @property {string} id
 * @property {string | null} type
 * @property {Place | null} location
 * @property {Presence} status
 * @property {number | null} lastSeen epoch ms of its latest telemetry
 * @property {number} messageCount
 * @property {number | null} battery percent
 * @property {Record<string, Reading>} reported the latest reading of each sensor
 * @property {number | null} quality the twin's data quality score, 0..1
 * @property {Record<string, Range>} thresholds from the twin
 * @property {number} twinAt when its twin was last asked for (0: never)
 * @property {number} eventAt when the stream last said something of it (0: never)
 */

/**
 * A device as the API lists it (a summary) or returns it (the twin, with quality and
 * thresholds). Everything but the id may be missing.
 * @typedef {object} DeviceData
 * @property {string} id
 * @property {string | null} [type]
 * @property {Place | null} [location]
 * @property {string} [status]
 * @property {number} [lastSeen]
 * @property {number} [messageCount]
 * @property {number | null} [battery]
 * @property {Record<string, Reading>} [reported]
 * @property {{ score?: number } | null} [quality]
 * @property {Record<string, Range>} [thresholds]
 */

/**
 * A `telemetry` event: readings of a device, or a change of its presence.
 * @typedef {object} TelemetryEvent
 * @property {string} device
 * @property {number} ts when the readings were taken (epoch ms)
 * @property {Record<string, number>} [readings]
 * @property {string} [status]
 */

/**
 * An edge node as the API and the stream send it.
 * @typedef {object} EdgeNode
 * @property {string} id
 * @property {string} [tier]
 * @property {"active" | "inactive"} status
 * @property {{ cpu: number, memory: number, storage: number, load: number } | null} [metrics]
 *   the latest heartbeat's, percent (and load)
 * @property {{ cpu: number, memory: number, storage: number }} [limits] percent
 * @property {string[]} [capabilities]
 * @property {number | null} [lastHeartbeat]
 * @property {number} [heartbeats]
 * @property {number | null} [statusSince]
 */

/**
 * A device on the map: where it is, where it is drawn (easing towards it), where it was.
 * @typedef {object} Robot
 * @property {string} id
 * @property {number} x
 * @property {number} y
 * @property {number} drawX
 * @property {number} drawY
 * @property {[number, number][]} trail earlier positions, oldest first, at most TRAIL
 * @property {Presence} status
 */

/**
 * A `payments` event; only `payment.decided` ones are counted.
 * @typedef {{ type?: string, status?: string }} PaymentEvent
 */

/**
 * Everything the page knows.
 * @typedef {object} Fleet
 * @property {Map<string, Device>} devices
 * @property {Map<string, import("./alert_store.js").Alert>} alerts
 * @property {Map<string, EdgeNode>} nodes
 * @property {Map<string, Robot>} robots the devices that report coordX and coordY
 * @property {{ approved: number, rejected: number, pending: number }} payments decided since
 *   the page opened
 * @property {number} unlistedOpen open alerts beyond the first page of the snapshot
 */

/**
 * An empty fleet.
 * @returns {Fleet}
 */
export function createFleet() {
  return {
    devices: new Map(),
    alerts: new Map(),
    nodes: new Map(),
    robots: new Map(),
    payments: { approved: 0, rejected: 0, pending: 0 },
    unlistedOpen: 0,
  };
}

/**
 * The device `id`, added (offline, nothing reported) when it is new.
 * @param {Fleet} fleet
 * @param {string} id
 * @returns {Device}
 */
export function deviceFor(fleet, id) {
  let d = fleet.devices.get(id);
  if (d === undefined) {
    d = {
      id,
      type: null,
      location: null,
      status: "offline",
      lastSeen: null,
      messageCount: 0,
      battery: null,
      reported: {},
      quality: null,
      thresholds: {},
      twinAt: 0,
      eventAt: 0,
    };
    fleet.devices.set(id, d);
  }
  return d;
}

/**
 * Merges a device summary, or its twin (`full`: quality and thresholds too), that was asked
 * for at `askedAt`. Counters and times only grow; each reading is kept if it is not older;
 * the status is taken only if no stream event came since it was asked for.
 * @param {Fleet} fleet
 * @param {DeviceData | null | undefined} v
 * @param {boolean} full
 * @param {number} askedAt
 * @returns {Device | null} the device, or null when `v` is not one
 */
export function mergeDevice(fleet, v, full, askedAt) {
  if (!v || typeof v.id !== "string") return null;
  const d = deviceFor(fleet, v.id);
  d.type = v.type ?? d.type;
  if (v.location !== undefined) d.location = v.location;
  if (d.eventAt <= askedAt && (v.status === "online" || v.status === "offline")) {
    d.status = v.status;
  }
  if (typeof v.lastSeen === "number") d.lastSeen = Math.max(d.lastSeen ?? 0, v.lastSeen);
  if (typeof v.messageCount === "number") {
    d.messageCount = Math.max(d.messageCount, v.messageCount);
  }
  if (v.battery !== undefined && v.battery !== null) d.battery = v.battery;
  for (const [sensor, r] of Object.entries(v.reported ?? {})) keepReading(d, sensor, r);
  if (full) {
    if (v.quality && typeof v.quality.score === "number") d.quality = v.quality.score;
    d.thresholds = v.thresholds ?? d.thresholds;
  }
  trackRobot(fleet, d);
  return d;
}

/**
 * A `telemetry` event, received at `now`: readings (the device is online, seen now, one more
 * message) or a change of its presence.
 * @param {Fleet} fleet
 * @param {TelemetryEvent | null} ev
 * @param {number} now
 * @returns {{ device: Device, readings: boolean } | null} the device and whether the event held
 *   readings; null when `ev` is not a telemetry event
 */
export function applyTelemetry(fleet, ev, now) {
  if (ev === null || typeof ev.device !== "string") return null;
  const d = deviceFor(fleet, ev.device);
  d.eventAt = now;
  const readings = Boolean(ev.readings) && typeof ev.readings === "object";
  if (readings) {
    for (const [sensor, value] of Object.entries(ev.readings ?? {})) {
      keepReading(d, sensor, { value, ts: ev.ts });
    }
    d.lastSeen = now;
    d.messageCount++;
    d.status = "online";
  } else if (ev.status === "online" || ev.status === "offline") {
    d.status = ev.status;
  }
  trackRobot(fleet, d);
  return { device: d, readings };
}

/**
 * Keeps `reading` as `sensor`'s latest unless the device has a newer one.
 * @param {Device} d
 * @param {string} sensor
 * @param {Reading} reading
 */
function keepReading(d, sensor, reading) {
  const mine = d.reported[sensor];
  if (mine === undefined || reading.ts >= mine.ts) d.reported[sensor] = reading;
}

/**
 * Follows `d` on the map once it reports coordX and coordY: its position, its presence, and a
 * trail of its last TRAIL positions.
 * @param {Fleet} fleet
 * @param {Device} d
 * @returns {Robot | null} the robot; null for a device without coordinates
 */
export function trackRobot(fleet, d) {
  const x = d.reported.coordX?.value;
  const y = d.reported.coordY?.value;
  if (typeof x !== "number" || typeof y !== "number") return null;
  let r = fleet.robots.get(d.id);
  if (r === undefined) {
    r = { id: d.id, x, y, drawX: x, drawY: y, trail: [], status: d.status };
    fleet.robots.set(d.id, r);
  }
  r.status = d.status;
  if (r.x !== x || r.y !== y) {
    r.trail.push([r.x, r.y]);
    if (r.trail.length > TRAIL) r.trail.shift();
    r.x = x;
    r.y = y;
  }
  return r;
}

/**
 * Merges an edge node unless the page knows a later state of it (more heartbeats, or as many
 * and a later status change).
 * @param {Fleet} fleet
 * @param {EdgeNode | null | undefined} n
 * @returns {boolean} whether it was taken
 */
export function mergeNode(fleet, n) {
  if (!n || typeof n.id !== "string") return false;
  const mine = fleet.nodes.get(n.id);
  if (mine !== undefined) {
    const older = (n.heartbeats ?? 0) < (mine.heartbeats ?? 0) ||
      ((n.heartbeats ?? 0) === (mine.heartbeats ?? 0) &&
        (n.statusSince ?? 0) < (mine.statusSince ?? 0));
    if (older) return false;
  }
  fleet.nodes.set(n.id, n);
  return true;
}

/**
 * Counts a decided payment: approved (online or offline), rejected, or anything else as
 * pending.
 * @param {Fleet} fleet
 * @param {PaymentEvent | null} ev
 * @returns {boolean} whether it was a decision
 */
export function applyPayment(fleet, ev) {
  if (ev === null || ev.type !== "payment.decided") return false;
  const p = fleet.payments;
  if (ev.status === "approved" || ev.status === "approved_offline") p.approved++;
  else if (ev.status === "rejected") p.rejected++;
  else p.pending++;
  return true;
}
