// @ts-check
/**
 * The REST snapshots the page starts from, and falls back to when the stream cannot fill a gap
 * (devices, open alerts, edge nodes), and the device twins (quality score, thresholds,
 * battery) fetched in the background.
 *
 * @module
 */
import { messageOf, toast } from "./dom.js";
import { MAX_ALERTS } from "./alert_store.js";

/** @typedef {import("./store.js").Fleet} Fleet */
/** @typedef {import("./store.js").DeviceData} DeviceData */
/** @typedef {import("./alert_store.js").AlertData} AlertData */
/** @typedef {import("./store.js").EdgeNode} EdgeNode */
/** @typedef {(method: string, path: string) => Promise<unknown>} Request */

/** Items asked for per page of a listing. */
const PAGE = 500;
/** Devices loaded at most. */
const MAX_DEVICES = 5000;
/** Edge nodes loaded at most. */
const MAX_NODES = 20 * PAGE;
/** Twins asked for at once. */
const TWINS_AT_ONCE = 3;

/**
 * What the snapshots are merged into.
 * @typedef {object} SnapshotSink
 * @property {(v: DeviceData, askedAt: number) => void} device a device summary
 * @property {(page: { items: AlertData[], total?: number }, askedAt: number) => void}
 *   openAlerts the page of open alerts
 * @property {(n: EdgeNode) => void} node
 */

/**
 * Loads the snapshots, once at a time.
 * @param {object} deps
 * @param {Request} deps.request
 * @param {<T>(what: string, call: () => Promise<T>) => Promise<T>} deps.withAuth
 * @param {SnapshotSink} deps.sink
 * @param {(id: string) => void} deps.wantTwin asks for a device's twin
 * @param {() => Iterable<string>} deps.deviceIds every device known
 */
export function createSnapshots({ request, withAuth, sink, wantTwin, deviceIds }) {
  /** @type {Promise<void> | null} */
  let loading = null;

  /**
   * Calls `each` with every item of a listing (`?limit=&after=`, following `next`), up to
   * about `max` of them.
   * @template T
   * @param {string} path
   * @param {number} max
   * @param {(item: T) => void} each
   */
  async function list(path, max, each) {
    /** @type {string | null} */
    let after = null;
    let loaded = 0;
    for (;;) {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (after !== null) q.set("after", after);
      const page = /** @type {{ items: T[], next?: string | null }} */ (
        await request("GET", `${path}?${q}`)
      );
      for (const item of page.items) each(item);
      loaded += page.items.length;
      if (page.next === null || page.next === undefined || loaded >= max) return;
      after = page.next;
    }
  }

  /** @param {number} askedAt */
  async function loadDevices(askedAt) {
    await list(
      "/api/devices",
      MAX_DEVICES,
      (/** @type {DeviceData} */ v) => sink.device(v, askedAt),
    );
    for (const id of deviceIds()) wantTwin(id);
  }

  async function loadAlerts() {
    const askedAt = Date.now();
    const page = /** @type {{ items: AlertData[], total?: number }} */ (
      await request("GET", `/api/alerts?status=open&limit=${MAX_ALERTS}`)
    );
    sink.openAlerts(page, askedAt);
  }

  /**
   * Loads the snapshots (asking for the token if reading needs one); a load under way is
   * joined, not repeated. A failure shows, and is not thrown.
   * @returns {Promise<void>}
   */
  function reload() {
    loading ??= (async () => {
      const askedAt = Date.now();
      try {
        await withAuth("Reading", () =>
          Promise.all([
            loadDevices(askedAt),
            loadAlerts(),
            list("/api/edge-nodes", MAX_NODES, sink.node),
          ]));
      } catch (error) {
        toast(`Could not load the fleet: ${messageOf(error)}`);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  return { reload };
}

/**
 * Twins asked for in the background: a few at a time, each device at most every few seconds
 * (less often in a large fleet: every 100 ms per device known).
 * @param {object} deps
 * @param {Fleet} deps.fleet
 * @param {Request} deps.request
 * @param {(twin: DeviceData, askedAt: number) => void} deps.merge
 */
export function createTwins({ fleet, request, merge }) {
  /** @type {Set<string>} */
  const wanted = new Set();
  let inFlight = 0;
  let timer = 0;

  function pump() {
    const every = Math.max(5000, fleet.devices.size * 100);
    const now = Date.now();
    let waiting = false;
    for (const id of wanted) {
      if (inFlight >= TWINS_AT_ONCE) return;
      const d = fleet.devices.get(id);
      if (d === undefined) {
        wanted.delete(id);
        continue;
      }
      if (now - d.twinAt < every) {
        waiting = true;
        continue;
      }
      wanted.delete(id);
      d.twinAt = now;
      inFlight++;
      request("GET", `/api/devices/${encodeURIComponent(id)}`)
        .then((twin) => merge(/** @type {DeviceData} */ (twin), now))
        .catch(() => {/* the next telemetry asks again */})
        .finally(() => {
          inFlight--;
          pump();
        });
    }
    if (waiting && timer === 0) {
      timer = setTimeout(() => {
        timer = 0;
        pump();
      }, 1000);
    }
  }

  return {
    /**
     * Asks for the twin of device `id`, when it is due.
     * @param {string} id
     */
    want(id) {
      wanted.add(id);
      pump();
    },
  };
}
