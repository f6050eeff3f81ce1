// @ts-check
/**
 * The Flotilla live dashboard: plain browser modules, no dependencies, no build step. This one
 * wires the others together and starts the page.
 *
 * Data flow: REST snapshots (devices, open alerts, edge nodes; `snapshots.js`) and the SSE
 * stream `GET /api/events` (`stream.js`: topics telemetry, alerts, nodes, payments, commands)
 * are merged into the fleet and the devices' commands by the stores' reducers (`sync.js`,
 * `store.js`, `command_store.js`); the views redraw what changed, batched (`render.js`). Everything from the server reaches the DOM as text or data attributes,
 * never as HTML.
 *
 * @module
 */
import { request } from "./api.js";
import { onThemeChange } from "./canvas.js";
import { $, setText } from "./dom.js";
import { createAlertsFeed } from "./alerts.js";
import { createCommandBook } from "./command_store.js";
import { createDevicePanel } from "./device_panel.js";
import { createDevicesTable } from "./devices.js";
import { createMap } from "./map.js";
import { createNodeList } from "./nodes.js";
import { createRenderer } from "./render.js";
import { kpiTexts } from "./select.js";
import { createSnapshots, createTwins } from "./snapshots.js";
import { createFleet } from "./store.js";
import { createStream } from "./stream.js";
import { createSync } from "./sync.js";
import { createSiteList } from "./sites.js";
import { createThroughput } from "./throughput.js";
import { createAuth } from "./token.js";

const fleet = createFleet();
const book = createCommandBook();
const auth = createAuth({
  saved: (changed) => {
    if (changed || !stream.isOpen()) stream.connect(true);
  },
  forgotten: () => stream.connect(true),
});
/**
 * @param {string} method
 * @param {string} path
 */
const call = (method, path) => request(method, path, auth.token());

/** Test hook: when each device row first appeared, where the map draws each robot, etc. */
const hook = {
  /** @type {Record<string, number>} device id → Date.now() when its row was inserted */
  seen: {},
  markers: () => map.markers(),
  connection: () => stream.state(),
  lastEventId: () => stream.lastEventId(),
  hasToken: () => auth.token() !== null,
  sites: () => sites.links(),
};
Object.defineProperty(globalThis, "__flotilla", { value: hook });

const map = createMap(fleet);
const throughput = createThroughput();
const devices = createDevicesTable(fleet, hook.seen, (id) => void panel.open(id));
const panel = createDevicePanel({ book, request: call, selected: (id) => devices.select(id) });
const nodes = createNodeList(fleet);
const sites = createSiteList(call);
const alerts = createAlertsFeed({
  fleet,
  request: call,
  withAuth: auth.withAuth,
  merge: (a) => sync.alert(a),
  changed: () => renderer.alerts(),
});

function renderKpis() {
  for (const [id, text] of Object.entries(kpiTexts(fleet))) setText($(id), text);
}

const renderer = createRenderer({
  devices: devices.render,
  alerts: alerts.render,
  nodes: nodes.render,
  kpis: renderKpis,
});
const twins = createTwins({
  fleet,
  request: call,
  merge: (twin, askedAt) => sync.device(twin, true, askedAt),
});
const sync = createSync(fleet, book, {
  device: renderer.device,
  alerts: renderer.alerts,
  nodes: renderer.nodes,
  kpis: renderer.kpis,
  robots: map.changed,
  telemetry: throughput.count,
  wantTwin: twins.want,
  commands: panel.changed,
});
const snapshots = createSnapshots({
  request: call,
  withAuth: auth.withAuth,
  sink: {
    device: (v, askedAt) => sync.device(v, false, askedAt),
    openAlerts: sync.openAlerts,
    node: sync.node,
  },
  wantTwin: twins.want,
  deviceIds: () => fleet.devices.keys(),
});
const stream = createStream({
  topics: {
    telemetry: sync.telemetry,
    alerts: (/** @type {{ alert?: import("./alert_store.js").AlertData }} */ ev) =>
      sync.alert(ev.alert),
    nodes: sync.node,
    payments: sync.payment,
    commands: sync.command,
  },
  token: auth.token,
  request: call,
  ask: auth.ask,
  reload: snapshots.reload,
});

/** Clock-driven updates: the chart and every relative time. */
function tick() {
  const now = Date.now();
  throughput.draw();
  devices.tick(now);
  panel.tick();
  alerts.tick(now);
  nodes.tick(now);
  sites.tick(now);
}

onThemeChange(() => {
  map.redraw();
  throughput.draw();
});
renderKpis();
throughput.draw();
map.redraw();
setInterval(tick, 1000);
sites.tick(Date.now());
// Subscribe first, then load: nothing that happens in between is missed.
stream.connect(false);
void snapshots.reload();
