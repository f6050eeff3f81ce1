// @ts-check
/**
 * Changes are batched and drawn together: on the next animation frame, at most every 150 ms,
 * so that under a flood of events the page lays the table out once per batch instead of once
 * per event.
 *
 * @module
 */

/** Least time between two renderings, ms. */
const FLUSH_MS = 150;
/** Hidden tabs get no animation frames: they still render, this often at most. */
const HIDDEN_MS = 250;

/**
 * What draws each part of the page.
 * @typedef {object} Views
 * @property {(ids: ReadonlySet<string>) => void} devices redraws these devices' rows
 * @property {() => void} alerts
 * @property {() => void} nodes
 * @property {() => void} kpis
 */

/**
 * Marks parts of the page to redraw; every change counts in the key figures too.
 * @param {Views} views
 */
export function createRenderer(views) {
  /** @type {Set<string>} */
  const devices = new Set();
  const dirty = { alerts: false, nodes: false, kpis: false };
  let pending = false;
  let lastFlush = -Infinity;
  let frame = 0;
  let frameTimer = 0;

  function schedule() {
    dirty.kpis = true;
    if (pending) return;
    pending = true;
    const wait = Math.max(0, lastFlush + FLUSH_MS - performance.now());
    setTimeout(() => {
      frame = requestAnimationFrame(flush);
      frameTimer = setTimeout(flush, HIDDEN_MS);
    }, wait);
  }

  function flush() {
    if (!pending) return;
    pending = false;
    lastFlush = performance.now();
    cancelAnimationFrame(frame);
    clearTimeout(frameTimer);
    frame = 0;
    if (devices.size > 0) {
      views.devices(devices);
      devices.clear();
    }
    if (dirty.alerts) {
      dirty.alerts = false;
      views.alerts();
    }
    if (dirty.nodes) {
      dirty.nodes = false;
      views.nodes();
    }
    if (dirty.kpis) {
      dirty.kpis = false;
      views.kpis();
    }
  }

  return {
    /** @param {string} id */
    device(id) {
      devices.add(id);
      schedule();
    },
    alerts() {
      dirty.alerts = true;
      schedule();
    },
    nodes() {
      dirty.nodes = true;
      schedule();
    },
    kpis: schedule,
  };
}
