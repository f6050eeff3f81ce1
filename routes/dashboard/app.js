// Flotilla live dashboard: plain browser JavaScript, no dependencies, no build step.
//
// Data flow: REST snapshots (devices, alerts, edge nodes) + the SSE stream `GET /api/events`
// (topics telemetry, alerts, nodes, payments). The stream resumes by itself (EventSource sends
// Last-Event-ID); `event: reset` (events no longer kept) reloads the snapshots; `event: dropped`
// (this page fell behind) reconnects from fresh snapshots.
//
// Every value from the server reaches the DOM through textContent or a data attribute, never
// through HTML parsing.
"use strict";

(() => {
  const TOKEN_KEY = "flotilla.token";
  const TOPICS = "telemetry,alerts,nodes,payments";
  const PAGE = 500;
  const MAX_DEVICES = 5000;
  const MAX_ALERTS = 150;
  const TRAIL = 40;
  const TP_SECONDS = 300;
  const FLUSH_MS = 150;
  const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 };
  const STATUS_RANK = { raised: 0, acknowledged: 1, cleared: 2 };
  const UNITS = {
    temperature: "°C",
    humidity: "%",
    motorRPM: " rpm",
    vibration: "",
    battery: "%",
  };

  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

  // ---------------------------------------------------------------------------------------
  // State

  const state = {
    token: readToken(),
    /** @type {Map<string, any>} */
    devices: new Map(),
    /** @type {string[]} ids in table order */
    order: [],
    /** @type {Map<string, any>} */
    alerts: new Map(),
    /** @type {Map<string, any>} */
    nodes: new Map(),
    /** @type {Map<string, any>} robots by device id */
    robots: new Map(),
    lastEventId: null,
    payments: { approved: 0, rejected: 0, pending: 0 },
    snapshotAt: 0,
    /** Open alerts beyond the first page of the snapshot. */
    unlistedOpen: 0,
  };

  /** Test hook: when each device row first appeared, and where the map draws each robot. */
  const hook = {
    /** @type {Record<string, number>} device id → Date.now() when its row was inserted */
    seen: {},
    markers: () => mapMarkers(),
    connection: () => $("conn").dataset.state,
    lastEventId: () => state.lastEventId,
    hasToken: () => state.token !== null,
  };
  Object.defineProperty(globalThis, "__flotilla", { value: hook });

  // ---------------------------------------------------------------------------------------
  // Formatting

  // Formatters made once: toLocaleString() builds a new one on every call.
  const NUMBER = [0, 1, 2].map((digits) =>
    new Intl.NumberFormat(undefined, { maximumFractionDigits: digits })
  );
  const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  const DATE_TIME = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "medium",
  });

  /** An integer with thousands separators. */
  function fmtCount(n) {
    return NUMBER[0].format(n);
  }

  function fmtNumber(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "—";
    const abs = Math.abs(v);
    if (abs !== 0 && (abs >= 1e6 || abs < 0.01)) return v.toExponential(2);
    const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : 2;
    return NUMBER[digits].format(v);
  }

  function fmtAgo(ms) {
    if (ms === null || ms === undefined || !Number.isFinite(ms)) return "never";
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 2) return "just now";
    if (s < 60) return `${s} s ago`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ago`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ago`;
    return DATE.format(ms);
  }

  function fmtTime(ms) {
    return DATE_TIME.format(ms);
  }

  function humanize(type) {
    const s = String(type).replace(/[_.-]+/g, " ").trim();
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  /** Creates an element with a class and text (text only: never parsed as HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setText(node, text) {
    const s = String(text);
    if (node.textContent !== s) node.textContent = s;
  }

  let toastTimer = 0;
  function toast(message) {
    const t = $("toast");
    t.textContent = message;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (t.hidden = true), 5000);
  }

  // ---------------------------------------------------------------------------------------
  // Token and API

  function readToken() {
    const hash = location.hash.startsWith("#") ? location.hash.slice(1) : "";
    const fromUrl = new URLSearchParams(hash).get("token");
    if (fromUrl) {
      try {
        sessionStorage.setItem(TOKEN_KEY, fromUrl);
      } catch { /* storage disabled: keep it for this page only */ }
      // Out of the address bar (and of the history), so it is not shared by accident.
      history.replaceState(null, "", location.pathname + location.search);
      return fromUrl;
    }
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  function setToken(token) {
    state.token = token;
    try {
      if (token === null) sessionStorage.removeItem(TOKEN_KEY);
      else sessionStorage.setItem(TOKEN_KEY, token);
    } catch { /* ignore */ }
    renderTokenState();
  }

  function renderTokenState() {
    const b = $("token-button");
    b.dataset.set = String(state.token !== null);
    setText($("token-state"), state.token === null ? "Set token" : "Token set");
    $("token-forget").hidden = state.token === null;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(method, path) {
    const headers = { Accept: "application/json" };
    if (state.token !== null) headers.Authorization = `Bearer ${state.token}`;
    const res = await fetch(path, { method, headers, cache: "no-store" });
    const text = await res.text();
    let body = null;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch { /* not JSON */ }
    if (!res.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : `HTTP ${res.status}`;
      throw new ApiError(res.status, detail);
    }
    return body;
  }

  /** Runs an API call; on 401 asks for the token and tries again once it is given. */
  async function withAuth(what, call) {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error;
        const given = await askToken(
          state.token === null
            ? `${what} needs the node's API token.`
            : `The token was not accepted for ${what.toLowerCase()}. Enter the node's API token.`,
        );
        if (!given) throw error;
      }
    }
  }

  let tokenWaiters = [];
  function askToken(reason) {
    const dialog = /** @type {HTMLDialogElement} */ ($("token-dialog"));
    if (reason) setText($("token-reason"), reason);
    const input = /** @type {HTMLInputElement} */ ($("token-input"));
    input.value = "";
    if (!dialog.open) dialog.showModal();
    input.focus();
    return new Promise((resolve) => tokenWaiters.push(resolve));
  }

  function closeTokenDialog(given) {
    const dialog = /** @type {HTMLDialogElement} */ ($("token-dialog"));
    if (dialog.open) dialog.close();
    const waiters = tokenWaiters;
    tokenWaiters = [];
    for (const w of waiters) w(given);
  }

  function setupTokenDialog() {
    const dialog = /** @type {HTMLDialogElement} */ ($("token-dialog"));
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const value = /** @type {HTMLInputElement} */ ($("token-input")).value.trim();
      if (value === "") return;
      const changed = value !== state.token;
      setToken(value);
      closeTokenDialog(true);
      if (changed || source === null || source.readyState === EventSource.CLOSED) connect(true);
    });
    $("token-cancel").addEventListener("click", () => closeTokenDialog(false));
    $("token-forget").addEventListener("click", () => {
      setToken(null);
      closeTokenDialog(false);
      connect(true);
    });
    dialog.addEventListener("cancel", () => closeTokenDialog(false));
    $("token-button").addEventListener("click", () => {
      askToken(
        "The node's API token lets this page acknowledge alerts. It is kept for this tab only.",
      );
    });
    renderTokenState();
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots

  let loadingSnapshots = null;
  function reloadSnapshots() {
    loadingSnapshots ??= (async () => {
      state.snapshotAt = Date.now();
      try {
        await withAuth("Reading", () => Promise.all([loadDevices(), loadAlerts(), loadNodes()]));
      } catch (error) {
        toast(`Could not load the fleet: ${error instanceof Error ? error.message : error}`);
      } finally {
        loadingSnapshots = null;
      }
    })();
    return loadingSnapshots;
  }

  async function loadDevices() {
    let after = null;
    let loaded = 0;
    for (;;) {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (after !== null) q.set("after", after);
      const page = await api("GET", `/api/devices?${q}`);
      for (const summary of page.items) mergeDevice(summary, false, state.snapshotAt);
      loaded += page.items.length;
      if (page.next === null || loaded >= MAX_DEVICES) break;
      after = page.next;
    }
    for (const id of state.devices.keys()) wantTwin(id);
  }

  async function loadAlerts() {
    const asked = Date.now();
    const page = await api("GET", `/api/alerts?status=open&limit=${MAX_ALERTS}`);
    for (const alert of page.alerts) mergeAlert(alert);
    // More open than one page holds: counted, not listed.
    state.unlistedOpen = Math.max(0, (page.total ?? 0) - page.alerts.length);
    // Open here, no longer open there, and not heard of since: closed while we were away.
    const open = new Set(page.alerts.map((a) => a.id));
    for (const [id, a] of state.alerts) {
      if (a.status !== "cleared" && !open.has(id) && a.seenAt < asked) state.alerts.delete(id);
    }
    markAlerts();
  }

  async function loadNodes() {
    let after = null;
    for (let i = 0; i < 20; i++) {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (after !== null) q.set("after", after);
      const page = await api("GET", `/api/edge-nodes?${q}`);
      for (const node of page.items) mergeNode(node);
      if (page.next === null || page.next === undefined) break;
      after = page.next;
    }
  }

  // Twins (quality score, thresholds, battery) are fetched in the background, a few at a
  // time, each device at most every few seconds (less often in a large fleet).
  const twinWanted = new Set();
  let twinsInFlight = 0;
  let twinTimer = 0;

  function wantTwin(id) {
    twinWanted.add(id);
    pumpTwins();
  }

  function pumpTwins() {
    const every = Math.max(5000, state.devices.size * 100);
    const now = Date.now();
    let waiting = false;
    for (const id of twinWanted) {
      if (twinsInFlight >= 3) return;
      const d = state.devices.get(id);
      if (d === undefined) {
        twinWanted.delete(id);
        continue;
      }
      if (now - d.twinAt < every) {
        waiting = true;
        continue;
      }
      twinWanted.delete(id);
      d.twinAt = now;
      twinsInFlight++;
      api("GET", `/api/devices/${encodeURIComponent(id)}`)
        .then((twin) => mergeDevice(twin, true, now))
        .catch(() => {/* next telemetry asks again */})
        .finally(() => {
          twinsInFlight--;
          pumpTwins();
        });
    }
    if (waiting && twinTimer === 0) {
      twinTimer = setTimeout(() => {
        twinTimer = 0;
        pumpTwins();
      }, 1000);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Merging data

  function deviceFor(id) {
    let d = state.devices.get(id);
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
      state.devices.set(id, d);
    }
    return d;
  }

  /**
   * A device summary (list) or twin (`full`), asked for at `askedAt`: newer facts win over
   * older ones.
   */
  function mergeDevice(v, full, askedAt) {
    if (!v || typeof v.id !== "string") return;
    const d = deviceFor(v.id);
    d.type = v.type ?? d.type;
    if (v.location !== undefined) d.location = v.location;
    // No event since it was asked for: the answer is the freshest word on the status.
    if (d.eventAt <= askedAt && (v.status === "online" || v.status === "offline")) {
      d.status = v.status;
    }
    if (typeof v.lastSeen === "number") d.lastSeen = Math.max(d.lastSeen ?? 0, v.lastSeen);
    if (typeof v.messageCount === "number") {
      d.messageCount = Math.max(d.messageCount, v.messageCount);
    }
    if (v.battery !== undefined && v.battery !== null) d.battery = v.battery;
    for (const [sensor, r] of Object.entries(v.reported ?? {})) {
      const mine = d.reported[sensor];
      if (mine === undefined || r.ts >= mine.ts) d.reported[sensor] = r;
    }
    if (full) {
      if (v.quality && typeof v.quality.score === "number") d.quality = v.quality.score;
      d.thresholds = v.thresholds ?? d.thresholds;
    }
    updateRobot(d);
    markDevice(d.id);
  }

  function onTelemetry(e) {
    noteEvent(e);
    const ev = parse(e);
    if (ev === null || typeof ev.device !== "string") return;
    const d = deviceFor(ev.device);
    d.eventAt = Date.now();
    if (ev.readings && typeof ev.readings === "object") {
      countTelemetry();
      for (const [sensor, value] of Object.entries(ev.readings)) {
        const mine = d.reported[sensor];
        if (mine === undefined || ev.ts >= mine.ts) d.reported[sensor] = { value, ts: ev.ts };
      }
      d.lastSeen = Date.now();
      d.messageCount++;
      d.status = "online";
      wantTwin(d.id);
    } else if (ev.status === "online" || ev.status === "offline") {
      d.status = ev.status;
    }
    updateRobot(d);
    markDevice(d.id);
  }

  function mergeAlert(a) {
    if (!a || typeof a.id !== "string") return;
    const mine = state.alerts.get(a.id);
    if (mine !== undefined) {
      const older = STATUS_RANK[a.status] < STATUS_RANK[mine.status] ||
        (a.status === mine.status && (a.lastAt < mine.lastAt || a.count < mine.count));
      if (older) return;
    }
    state.alerts.set(a.id, { ...a, pending: mine?.pending ?? false, seenAt: Date.now() });
    markAlerts();
  }

  function onAlert(e) {
    noteEvent(e);
    const ev = parse(e);
    if (ev === null || !ev.alert) return;
    mergeAlert(ev.alert);
  }

  function mergeNode(n) {
    if (!n || typeof n.id !== "string") return;
    const mine = state.nodes.get(n.id);
    if (mine !== undefined) {
      const older = (n.heartbeats ?? 0) < (mine.heartbeats ?? 0) ||
        ((n.heartbeats ?? 0) === (mine.heartbeats ?? 0) &&
          (n.statusSince ?? 0) < (mine.statusSince ?? 0));
      if (older) return;
    }
    state.nodes.set(n.id, n);
    markNodes();
  }

  function onNode(e) {
    noteEvent(e);
    const ev = parse(e);
    if (ev !== null) mergeNode(ev);
  }

  function onPayment(e) {
    noteEvent(e);
    const ev = parse(e);
    if (ev === null || ev.type !== "payment.decided") return;
    if (ev.status === "approved" || ev.status === "approved_offline") state.payments.approved++;
    else if (ev.status === "rejected") state.payments.rejected++;
    else state.payments.pending++;
    markKpis();
  }

  function parse(e) {
    try {
      return JSON.parse(e.data);
    } catch {
      return null;
    }
  }

  function noteEvent(e) {
    if (e.lastEventId) state.lastEventId = e.lastEventId;
  }

  // ---------------------------------------------------------------------------------------
  // SSE

  /** @type {EventSource | null} */
  let source = null;
  let retryTimer = 0;
  let retryDelay = 1000;

  function connect(resume) {
    clearTimeout(retryTimer);
    if (source !== null) source.close();
    const q = new URLSearchParams({ topics: TOPICS });
    if (state.token !== null) q.set("access_token", state.token);
    if (resume && state.lastEventId !== null) q.set("lastEventId", state.lastEventId);
    const es = new EventSource(`/api/events?${q}`);
    source = es;
    setConnection(resume ? "reconnecting" : "connecting");
    es.onopen = () => {
      retryDelay = 1000;
      setConnection("live");
    };
    es.onerror = () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, not a network blip): find out why, then retry.
        setConnection("down");
        void diagnose();
      } else {
        setConnection("reconnecting");
      }
    };
    es.addEventListener("telemetry", onTelemetry);
    es.addEventListener("alerts", onAlert);
    es.addEventListener("nodes", onNode);
    es.addEventListener("payments", onPayment);
    es.addEventListener("reset", (e) => {
      noteEvent(e);
      // Events were missed and are no longer kept: start again from the current state.
      void reloadSnapshots();
    });
    es.addEventListener("dropped", () => {
      // This page fell too far behind; the server ended the stream.
      es.close();
      state.lastEventId = null;
      setConnection("reconnecting");
      void reloadSnapshots().then(() => connect(false));
    });
  }

  async function diagnose() {
    try {
      await api("GET", "/api/devices?limit=1");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        const given = await askToken("Reading the live stream needs the node's API token.");
        if (given) return;
      }
    }
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 30_000);
    setConnection("down", delay);
    retryTimer = setTimeout(() => connect(true), delay);
  }

  function setConnection(s, retryIn) {
    const c = $("conn");
    c.dataset.state = s;
    const text = s === "live"
      ? "Live"
      : s === "connecting"
      ? "Connecting…"
      : s === "reconnecting"
      ? "Reconnecting…"
      : retryIn
      ? `Offline · retrying in ${Math.round(retryIn / 1000)} s`
      : "Offline";
    setText($("conn-text"), text);
  }

  // ---------------------------------------------------------------------------------------
  // Rendering: changes are batched and drawn once per frame.

  const dirtyDevices = new Set();
  let dirtyAlerts = false;
  let dirtyNodes = false;
  let dirtyKpis = false;
  let frame = 0;
  let frameTimer = 0;

  let flushPending = false;
  let lastFlush = -Infinity;

  /**
   * Renders on the next frame, at most every FLUSH_MS: under a flood of events the page
   * batches them instead of laying the table out for each.
   */
  function schedule() {
    if (flushPending) return;
    flushPending = true;
    const wait = Math.max(0, lastFlush + FLUSH_MS - performance.now());
    setTimeout(() => {
      frame = requestAnimationFrame(flush);
      // Hidden tabs get no frames: still render, less often.
      frameTimer = setTimeout(flush, 250);
    }, wait);
  }

  function markDevice(id) {
    dirtyDevices.add(id);
    dirtyKpis = true;
    schedule();
  }
  function markAlerts() {
    dirtyAlerts = true;
    dirtyKpis = true;
    schedule();
  }
  function markNodes() {
    dirtyNodes = true;
    dirtyKpis = true;
    schedule();
  }
  function markKpis() {
    dirtyKpis = true;
    schedule();
  }

  function flush() {
    if (!flushPending) return;
    flushPending = false;
    lastFlush = performance.now();
    cancelAnimationFrame(frame);
    clearTimeout(frameTimer);
    frame = 0;
    if (dirtyDevices.size > 0) {
      // A few changed rows flash; a whole fleet changing at once does not.
      const flash = dirtyDevices.size <= 20;
      for (const id of dirtyDevices) renderDevice(id, flash);
      dirtyDevices.clear();
      $("devices-empty").hidden = state.devices.size > 0;
    }
    if (dirtyAlerts) {
      dirtyAlerts = false;
      renderAlerts();
    }
    if (dirtyNodes) {
      dirtyNodes = false;
      renderNodes();
    }
    if (dirtyKpis) {
      dirtyKpis = false;
      renderKpis();
    }
  }

  // Devices table

  /** @type {Map<string, any>} */
  const rows = new Map();
  const tbody = $("devices");

  function insertionIndex(id) {
    let lo = 0;
    let hi = state.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (state.order[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function createRow(id) {
    const tr = el("tr");
    tr.dataset.deviceId = id;
    const idCell = el("td");
    const idText = el("span", "dev-id", id);
    idText.title = id;
    const type = el("span", "dev-type");
    idCell.append(idText, type);
    const statusCell = el("td");
    const status = el("span", "pill grey", "Offline");
    statusCell.append(status);
    const readings = el("td");
    const chips = el("div", "chips");
    readings.append(chips);
    const qualityCell = el("td", "num");
    const quality = el("span", "quality");
    const qMeter = el("span", "meter");
    const qBar = el("span");
    qMeter.append(qBar);
    const qText = el("span", "", "—");
    quality.append(qMeter, qText);
    qualityCell.append(quality);
    const battery = el("td", "num", "—");
    const messages = el("td", "num", "0");
    const seen = el("td", "num muted", "never");
    tr.append(idCell, statusCell, readings, qualityCell, battery, messages, seen);
    const row = { tr, type, status, chips, qMeter, qBar, qText, battery, messages, seen, sig: "" };
    const i = insertionIndex(id);
    const before = state.order[i];
    state.order.splice(i, 0, id);
    tbody.insertBefore(tr, before === undefined ? null : rows.get(before).tr);
    rows.set(id, row);
    applyFilter(id);
    hook.seen[id] = Date.now();
    return row;
  }

  function renderDevice(id, flash) {
    const d = state.devices.get(id);
    if (d === undefined) return;
    const existing = rows.get(id);
    const row = existing ?? createRow(id);
    const kind = [d.type, placeOf(d.location)].filter(Boolean).join(" · ");
    setText(row.type, kind);
    row.type.title = kind;
    const online = d.status === "online";
    row.status.className = `pill ${online ? "ok" : "bad"}`;
    setText(row.status, online ? "Online" : "Offline");
    row.tr.classList.toggle("tr-offline", !online);

    // Readings: rebuilt only when a value, or whether it is within its threshold, changed.
    const sensors = Object.keys(d.reported).sort(sensorOrder);
    const outside = sensors.map((s) => {
      const value = d.reported[s].value;
      const range = d.thresholds[s];
      return range !== undefined &&
        ((range.min !== undefined && value < range.min) ||
          (range.max !== undefined && value > range.max));
    });
    const sig = sensors.map((s, i) => `${s}=${d.reported[s].value}${outside[i] ? "!" : ""}`)
      .join("|");
    if (sig !== row.sig) {
      const valuesChanged = row.sig.replaceAll("!", "") !== sig.replaceAll("!", "");
      row.sig = sig;
      const chips = sensors.map((s, i) => {
        const value = d.reported[s].value;
        const chip = el("span", outside[i] ? "chip out" : "chip");
        chip.title = `${s} at ${fmtTime(d.reported[s].ts)}` +
          (outside[i] ? " (outside its threshold)" : "");
        chip.append(
          el("span", "chip-name", s),
          el("span", "chip-value", `${fmtNumber(value)}${UNITS[s] ?? ""}`),
        );
        return chip;
      });
      row.chips.replaceChildren(...chips);
      if (existing !== undefined && flash && valuesChanged) flashRow(row.tr);
    }

    if (d.quality === null) {
      setText(row.qText, "—");
      row.qBar.style.width = "0";
    } else {
      const pct = Math.round(d.quality * 100);
      setText(row.qText, `${pct}%`);
      row.qBar.style.width = `${pct}%`;
      row.qMeter.dataset.level = pct >= 90 ? "ok" : pct >= 70 ? "warn" : "bad";
    }
    setText(row.battery, d.battery === null ? "—" : `${Math.round(d.battery)}%`);
    setText(row.messages, fmtCount(d.messageCount));
    setText(row.seen, fmtAgo(d.lastSeen));
  }

  function placeOf(location) {
    if (typeof location === "string") return location;
    if (location && typeof location.lat === "number" && typeof location.lon === "number") {
      return `${location.lat.toFixed(4)}, ${location.lon.toFixed(4)}`;
    }
    return "";
  }

  function sensorOrder(a, b) {
    // Coordinates last: they are on the map.
    const ca = a === "coordX" || a === "coordY";
    const cb = b === "coordX" || b === "coordY";
    if (ca !== cb) return ca ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function flashRow(tr) {
    tr.classList.remove("flash");
    // Restart the animation on the next frame.
    requestAnimationFrame(() => tr.classList.add("flash"));
  }

  const filterInput = /** @type {HTMLInputElement} */ ($("device-filter"));
  const statusSelect = /** @type {HTMLSelectElement} */ ($("status-filter"));

  function applyFilter(id) {
    const row = rows.get(id);
    const d = state.devices.get(id);
    if (row === undefined || d === undefined) return;
    const text = filterInput.value.trim().toLowerCase();
    const wanted = statusSelect.value;
    const match = (text === "" || id.toLowerCase().includes(text) ||
      (d.type ?? "").toLowerCase().includes(text)) &&
      (wanted === "" || d.status === wanted);
    row.tr.hidden = !match;
  }

  function applyFilters() {
    for (const id of rows.keys()) applyFilter(id);
  }

  // Alerts feed

  const alertItems = new Map();
  const alertList = $("alerts");

  function alertOrder(a, b) {
    return b.raisedAt - a.raisedAt || (a.id < b.id ? -1 : 1);
  }

  function renderAlerts() {
    // Open alerts, then the most recently cleared ones, newest first, at most MAX_ALERTS.
    const all = [...state.alerts.values()].sort(alertOrder);
    const open = all.filter((a) => a.status !== "cleared");
    const cleared = all.filter((a) => a.status === "cleared").slice(0, 20);
    const shown = [...open, ...cleared].sort(alertOrder).slice(0, MAX_ALERTS);
    const keep = new Set(shown.map((a) => a.id));
    for (const id of [...state.alerts.keys()]) {
      if (!keep.has(id) && state.alerts.get(id).status === "cleared") state.alerts.delete(id);
    }
    for (const [id, item] of alertItems) {
      if (!keep.has(id)) {
        item.li.remove();
        alertItems.delete(id);
      }
    }
    let previous = null;
    for (const a of shown) {
      const item = alertItems.get(a.id) ?? createAlertItem(a);
      updateAlertItem(item, a);
      const expected = previous === null ? alertList.firstChild : previous.nextSibling;
      if (expected !== item.li) alertList.insertBefore(item.li, expected);
      previous = item.li;
    }
    $("alerts-empty").hidden = open.length > 0;
    const bySeverity = { critical: 0, high: 0, medium: 0, low: 0 };
    let raised = 0;
    for (const a of open) {
      bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
      if (a.status === "raised") raised++;
    }
    setText(
      $("alerts-summary"),
      open.length === 0 ? "" : `${raised} to acknowledge · ${open.length} open`,
    );
  }

  function createAlertItem(a) {
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
    alertItems.set(a.id, item);
    return item;
  }

  function updateAlertItem(item, a) {
    item.li.dataset.status = a.status;
    item.li.dataset.severity = a.severity;
    item.badge.className = `badge sev-${
      SEVERITY_RANK[a.severity] === undefined ? "low" : a.severity
    }`;
    setText(item.badge, a.severity);
    setText(item.titleText, humanize(a.type));
    setText(item.count, a.count > 1 ? `×${a.count}` : "");
    item.count.hidden = !(a.count > 1);
    setText(item.message, a.message);
    const slash = a.source.indexOf("/");
    setText(item.device, slash >= 0 ? a.source.slice(slash + 1) : a.source);
    item.device.title = a.source;
    setText(item.when, fmtAgo(a.lastAt ?? a.raisedAt));
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

  async function acknowledge(id) {
    const a = state.alerts.get(id);
    if (a === undefined || a.pending) return;
    a.pending = true;
    markAlerts();
    try {
      const updated = await withAuth(
        "Acknowledging an alert",
        () => api("POST", `/api/alerts/${encodeURIComponent(id)}/ack`),
      );
      const now = state.alerts.get(id);
      if (now !== undefined) now.pending = false;
      markAlerts();
      mergeAlert(updated);
    } catch (error) {
      const now = state.alerts.get(id);
      if (now !== undefined) now.pending = false;
      markAlerts();
      if (error instanceof ApiError && error.status === 409) {
        toast("That alert was cleared in the meantime.");
        api("GET", `/api/alerts/${encodeURIComponent(id)}`).then(mergeAlert, () => {});
      } else {
        toast(`Could not acknowledge: ${error instanceof Error ? error.message : error}`);
      }
    }
  }

  // Edge nodes

  const nodeItems = new Map();
  const nodeList = $("nodes");

  function renderNodes() {
    const ids = [...state.nodes.keys()].sort();
    let previous = null;
    for (const id of ids) {
      const n = state.nodes.get(id);
      const item = nodeItems.get(id) ?? createNodeItem(id);
      updateNodeItem(item, n);
      const expected = previous === null ? nodeList.firstChild : previous.nextSibling;
      if (expected !== item.li) nodeList.insertBefore(item.li, expected);
      previous = item.li;
    }
    $("nodes-empty").hidden = ids.length > 0;
    const active = ids.filter((id) => state.nodes.get(id).status === "active").length;
    setText($("nodes-summary"), ids.length === 0 ? "" : `${active} of ${ids.length} active`);
  }

  function createNodeItem(id) {
    const li = el("li", "node");
    li.dataset.nodeId = id;
    const head = el("div", "node-head");
    const name = el("span", "node-id", id);
    const tier = el("span", "tier");
    const status = el("span", "pill grey");
    head.append(name, tier, status);
    const meters = el("div", "meters");
    const parts = {};
    for (const key of ["cpu", "memory", "storage"]) {
      const box = el("div");
      const label = el("div", "meter-label");
      const valueText = el("span", "", "—");
      label.append(el("span", "", key === "cpu" ? "CPU" : humanize(key)), valueText);
      const meter = el("div", "meter");
      const bar = el("span");
      meter.append(bar);
      box.append(label, meter);
      meters.append(box);
      parts[key] = { valueText, meter, bar };
    }
    const foot = el("div", "node-foot");
    const load = el("span");
    const caps = el("span");
    const beat = el("span");
    foot.append(load, caps, beat);
    li.append(head, meters, foot);
    const item = { li, tier, status, parts, load, caps, beat, node: null };
    nodeItems.set(id, item);
    return item;
  }

  function updateNodeItem(item, n) {
    item.node = n;
    item.li.dataset.status = n.status;
    setText(item.tier, n.tier ?? "edge");
    const active = n.status === "active";
    item.status.className = `pill ${active ? "ok" : "grey"}`;
    setText(item.status, active ? "Active" : "Inactive");
    for (const key of ["cpu", "memory", "storage"]) {
      const p = item.parts[key];
      const value = n.metrics ? n.metrics[key] : null;
      const limit = n.limits ? n.limits[key] : 100;
      if (typeof value !== "number") {
        setText(p.valueText, "—");
        p.bar.style.width = "0";
        continue;
      }
      setText(p.valueText, `${Math.round(value)}%`);
      p.valueText.title = `limit ${limit}%`;
      p.bar.style.width = `${Math.max(0, Math.min(100, value))}%`;
      p.meter.dataset.level = value >= limit ? "bad" : value >= limit * 0.8 ? "warn" : "ok";
    }
    setText(item.load, n.metrics ? `load ${fmtNumber(n.metrics.load)}` : "no heartbeat yet");
    const caps = Array.isArray(n.capabilities) ? n.capabilities : [];
    setText(item.caps, caps.length === 0 ? "" : caps.join(", "));
    setText(item.beat, n.lastHeartbeat ? `heartbeat ${fmtAgo(n.lastHeartbeat)}` : "");
  }

  // KPIs

  function renderKpis() {
    let online = 0;
    for (const d of state.devices.values()) if (d.status === "online") online++;
    setText($("kpi-online"), fmtCount(online));
    setText($("kpi-devices"), `/ ${fmtCount(state.devices.size)}`);
    setText($("kpi-robots"), fmtCount(state.robots.size));
    let open = 0;
    let critical = 0;
    for (const a of state.alerts.values()) {
      if (a.status === "cleared") continue;
      open++;
      if (a.severity === "critical" || a.severity === "high") critical++;
    }
    setText($("kpi-alerts"), fmtCount(open + state.unlistedOpen));
    setText($("kpi-alerts-detail"), critical > 0 ? `${critical} high or critical` : "");
    let active = 0;
    for (const n of state.nodes.values()) if (n.status === "active") active++;
    setText($("kpi-nodes"), fmtCount(active));
    setText($("kpi-nodes-total"), `/ ${fmtCount(state.nodes.size)}`);
    const p = state.payments;
    const decided = p.approved + p.rejected + p.pending;
    setText($("kpi-pay"), fmtCount(decided));
    const parts = [];
    if (p.approved > 0) parts.push(`${p.approved} approved`);
    if (p.pending > 0) parts.push(`${p.pending} pending`);
    if (p.rejected > 0) parts.push(`${p.rejected} rejected`);
    setText($("kpi-pay-detail"), decided === 0 ? "none yet" : parts.join(" · "));
  }

  // ---------------------------------------------------------------------------------------
  // Map of robots: devices reporting coordX and coordY. The view fits the positions seen
  // (current and their recent trails), with the same scale on both axes; y grows upwards.

  const mapCanvas = /** @type {HTMLCanvasElement} */ ($("map"));
  const mapTip = $("map-tip");
  const view = { minX: -1, maxX: 1, minY: -1, maxY: 1, ready: false };
  let mapFrame = 0;
  let hovered = null;
  let colors = readColors();

  function updateRobot(d) {
    const x = d.reported.coordX?.value;
    const y = d.reported.coordY?.value;
    if (typeof x !== "number" || typeof y !== "number") return;
    let r = state.robots.get(d.id);
    if (r === undefined) {
      r = { id: d.id, x, y, drawX: x, drawY: y, trail: [], status: d.status };
      state.robots.set(d.id, r);
      $("map-empty").hidden = true;
    }
    r.status = d.status;
    if (r.x !== x || r.y !== y) {
      r.trail.push([r.x, r.y]);
      if (r.trail.length > TRAIL) r.trail.shift();
      r.x = x;
      r.y = y;
    }
    requestMapFrame();
  }

  function targetView() {
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    const add = (x, y) => {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    };
    for (const r of state.robots.values()) {
      add(r.x, r.y);
      for (const [x, y] of r.trail) add(x, y);
    }
    if (minX === Infinity) return { minX: -1, maxX: 1, minY: -1, maxY: 1 };
    const span = Math.max(maxX - minX, maxY - minY, 2);
    const pad = span * 0.12;
    return { minX: minX - pad, maxX: maxX + pad, minY: minY - pad, maxY: maxY + pad };
  }

  /** The transform from map units to CSS pixels for a view, fitting both axes. */
  function transformFor(v, width, height) {
    const margin = { left: 44, right: 18, top: 16, bottom: 30 };
    const w = Math.max(10, width - margin.left - margin.right);
    const h = Math.max(10, height - margin.top - margin.bottom);
    const scale = Math.min(w / (v.maxX - v.minX), h / (v.maxY - v.minY));
    const cx = (v.minX + v.maxX) / 2;
    const cy = (v.minY + v.maxY) / 2;
    const ox = margin.left + w / 2;
    const oy = margin.top + h / 2;
    return {
      scale,
      margin,
      toX: (x) => ox + (x - cx) * scale,
      toY: (y) => oy - (y - cy) * scale,
      fromX: (px) => cx + (px - ox) / scale,
      fromY: (py) => cy - (py - oy) / scale,
    };
  }

  function requestMapFrame() {
    if (mapFrame === 0) mapFrame = requestAnimationFrame(drawMap);
  }

  /** CSS sizes of the canvases, kept by a ResizeObserver: no layout read per frame. */
  const canvasSizes = new WeakMap();
  const canvasObserver = new ResizeObserver((entries) => {
    for (const e of entries) {
      canvasSizes.set(e.target, { width: e.contentRect.width, height: e.contentRect.height });
    }
    requestMapFrame();
    drawThroughput();
  });

  function cssSize(canvas) {
    let size = canvasSizes.get(canvas);
    if (size === undefined) {
      const rect = canvas.getBoundingClientRect();
      size = { width: rect.width, height: rect.height };
      canvasSizes.set(canvas, size);
      canvasObserver.observe(canvas);
    }
    return size;
  }

  function sizeCanvas(canvas) {
    const rect = cssSize(canvas);
    const dpr = globalThis.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, width: rect.width, height: rect.height };
  }

  function niceStep(span, target) {
    const raw = span / Math.max(1, target);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const n = raw / mag;
    return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
  }

  function drawMap() {
    mapFrame = 0;
    const { ctx, width, height } = sizeCanvas(mapCanvas);
    // Ease the view and the markers towards their targets.
    const target = targetView();
    let moving = false;
    const ease = (from, to) => {
      const next = from + (to - from) * 0.22;
      if (Math.abs(to - next) > 1e-3 * Math.max(1, Math.abs(to))) {
        moving = true;
        return next;
      }
      return to;
    };
    if (!view.ready) {
      Object.assign(view, target, { ready: state.robots.size > 0 });
    } else {
      view.minX = ease(view.minX, target.minX);
      view.maxX = ease(view.maxX, target.maxX);
      view.minY = ease(view.minY, target.minY);
      view.maxY = ease(view.maxY, target.maxY);
    }
    for (const r of state.robots.values()) {
      r.drawX = ease(r.drawX, r.x);
      r.drawY = ease(r.drawY, r.y);
    }
    const t = transformFor(view, width, height);
    ctx.clearRect(0, 0, width, height);
    if (state.robots.size === 0) return;

    // Grid and axes labels.
    const left = t.fromX(t.margin.left);
    const right = t.fromX(width - t.margin.right);
    const bottom = t.fromY(height - t.margin.bottom);
    const top = t.fromY(t.margin.top);
    const step = niceStep(Math.max(right - left, top - bottom), 8);
    ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = colors.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let x = Math.ceil(left / step) * step; x <= right; x += step) {
      const px = Math.round(t.toX(x)) + 0.5;
      ctx.strokeStyle = Math.abs(x) < step / 1e6 ? colors.axis : colors.grid;
      ctx.beginPath();
      ctx.moveTo(px, t.margin.top);
      ctx.lineTo(px, height - t.margin.bottom);
      ctx.stroke();
      ctx.fillText(fmtTick(x, step), px, height - t.margin.bottom + 8);
    }
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let y = Math.ceil(bottom / step) * step; y <= top; y += step) {
      const py = Math.round(t.toY(y)) + 0.5;
      ctx.strokeStyle = Math.abs(y) < step / 1e6 ? colors.axis : colors.grid;
      ctx.beginPath();
      ctx.moveTo(t.margin.left, py);
      ctx.lineTo(width - t.margin.right, py);
      ctx.stroke();
      ctx.fillText(fmtTick(y, step), t.margin.left - 8, py);
    }

    // Trails: fading behind each robot (one plain line each in a large fleet).
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const fade = state.robots.size <= 60;
    for (const r of state.robots.values()) {
      const points = [...r.trail, [r.drawX, r.drawY]];
      if (!fade) {
        ctx.strokeStyle = withAlpha(colorOf(r), 0.25);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        points.forEach(([x, y], i) =>
          i === 0 ? ctx.moveTo(t.toX(x), t.toY(y)) : ctx.lineTo(t.toX(x), t.toY(y))
        );
        ctx.stroke();
        continue;
      }
      for (let i = 1; i < points.length; i++) {
        ctx.strokeStyle = withAlpha(colorOf(r), (i / points.length) * 0.45);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(t.toX(points[i - 1][0]), t.toY(points[i - 1][1]));
        ctx.lineTo(t.toX(points[i][0]), t.toY(points[i][1]));
        ctx.stroke();
      }
    }

    // Markers and labels.
    const labels = state.robots.size <= 30;
    const small = state.robots.size > 60;
    const radius = small ? 4 : 6;
    const halo = small ? 7 : 11;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.font = "600 11.5px system-ui, sans-serif";
    for (const r of state.robots.values()) {
      const px = t.toX(r.drawX);
      const py = t.toY(r.drawY);
      const color = colorOf(r);
      ctx.fillStyle = withAlpha(color, 0.16);
      ctx.beginPath();
      ctx.arc(px, py, hovered === r.id ? halo + 3 : halo, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = color;
      ctx.strokeStyle = colors.card;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
      if (labels || hovered === r.id) {
        // Right of the marker, or left of it near the right edge.
        const right = px + 12 + ctx.measureText(r.id).width < width - 4;
        ctx.textAlign = right ? "left" : "right";
        ctx.fillStyle = colors.text;
        ctx.fillText(r.id, right ? px + 12 : px - 12, py - 1);
      }
    }

    const extent = state.robots.size === 0
      ? ""
      : `${state.robots.size} robot${state.robots.size === 1 ? "" : "s"} · grid ${
        fmtTick(step, step)
      } units`;
    setText($("map-extent"), extent);
    if (hovered !== null) placeTip(t);
    if (moving) requestMapFrame();
  }

  function fmtTick(v, step) {
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    return (Math.abs(v) < step / 1e6 ? 0 : v).toFixed(Math.min(digits, 6));
  }

  function colorOf(r) {
    return r.status === "online" ? colors.accent : colors.muted;
  }

  function withAlpha(color, alpha) {
    // Colors are #rrggbb from the style sheet's variables.
    const m = /^#([0-9a-f]{6})$/i.exec(color.trim());
    if (m === null) return color;
    const n = parseInt(m[1], 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  function readColors() {
    const s = getComputedStyle(document.documentElement);
    const v = (name) => s.getPropertyValue(name).trim();
    return {
      text: v("--text"),
      muted: v("--muted"),
      card: v("--card"),
      grid: v("--map-grid"),
      axis: v("--map-axis"),
      accent: v("--accent"),
      line: v("--chart-line"),
      fill: v("--chart-fill"),
      ok: v("--ok"),
    };
  }

  /** Where each robot is drawn now (CSS pixels within the canvas) and where it is (units). */
  function mapMarkers() {
    const rect = mapCanvas.getBoundingClientRect();
    const t = transformFor(view, rect.width, rect.height);
    return [...state.robots.values()].map((r) => ({
      id: r.id,
      x: r.x,
      y: r.y,
      left: t.toX(r.drawX),
      top: t.toY(r.drawY),
      settled: r.drawX === r.x && r.drawY === r.y && mapFrame === 0,
    }));
  }

  function placeTip(t) {
    const r = hovered === null ? undefined : state.robots.get(hovered);
    if (r === undefined) {
      mapTip.hidden = true;
      return;
    }
    setText(mapTip, `${r.id} · x ${fmtNumber(r.x)}, y ${fmtNumber(r.y)}`);
    mapTip.style.left = `${t.toX(r.drawX)}px`;
    mapTip.style.top = `${t.toY(r.drawY)}px`;
    mapTip.hidden = false;
  }

  mapCanvas.addEventListener("pointermove", (e) => {
    const rect = mapCanvas.getBoundingClientRect();
    const size = cssSize(mapCanvas);
    const t = transformFor(view, size.width, size.height);
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    let best = null;
    let bestDist = 14 * 14;
    for (const r of state.robots.values()) {
      const dx = t.toX(r.drawX) - px;
      const dy = t.toY(r.drawY) - py;
      const dist = dx * dx + dy * dy;
      if (dist < bestDist) {
        best = r.id;
        bestDist = dist;
      }
    }
    if (best !== hovered) {
      hovered = best;
      if (best === null) mapTip.hidden = true;
      requestMapFrame();
    }
  });
  mapCanvas.addEventListener("pointerleave", () => {
    hovered = null;
    mapTip.hidden = true;
    requestMapFrame();
  });

  // ---------------------------------------------------------------------------------------
  // Throughput: telemetry events per second seen on the stream, over the last minutes (the
  // window grows a minute at a time up to five).

  const tpCanvas = /** @type {HTMLCanvasElement} */ ($("throughput"));
  const tpCounts = new Uint32Array(TP_SECONDS);
  const tpSecond = new Float64Array(TP_SECONDS).fill(-1);
  const started = Date.now();

  function countTelemetry() {
    const sec = Math.floor(Date.now() / 1000);
    const i = sec % TP_SECONDS;
    if (tpSecond[i] !== sec) {
      tpSecond[i] = sec;
      tpCounts[i] = 0;
    }
    tpCounts[i]++;
  }

  function countAt(sec) {
    const i = ((sec % TP_SECONDS) + TP_SECONDS) % TP_SECONDS;
    return tpSecond[i] === sec ? tpCounts[i] : 0;
  }

  function drawThroughput() {
    const { ctx, width, height } = sizeCanvas(tpCanvas);
    const now = Math.floor(Date.now() / 1000);
    const minutes = Math.min(5, Math.max(1, Math.ceil((Date.now() - started + 1) / 60_000)));
    const n = minutes * 60;
    // Complete seconds only: the current one is still counting.
    const values = [];
    for (let s = now - n; s < now; s++) values.push(countAt(s));
    const last5 = values.slice(-5);
    const rate = last5.reduce((a, b) => a + b, 0) / last5.length;
    const peak = Math.max(...values);
    const total = values.reduce((a, b) => a + b, 0);
    setText($("kpi-rate"), fmtNumber(rate));
    setText($("tp-summary"), `${fmtNumber(rate)}/s now · peak ${fmtNumber(peak)}/s`);
    tpCanvas.title = `${fmtCount(total)} telemetry events in the last ${minutes} min`;

    const m = { left: 40, right: 10, top: 12, bottom: 22 };
    const w = width - m.left - m.right;
    const h = height - m.top - m.bottom;
    ctx.clearRect(0, 0, width, height);
    const yMax = Math.max(5, peak * 1.15);
    const step = niceStep(yMax, 4);
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.fillStyle = colors.muted;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = 0; v <= yMax; v += step) {
      const y = Math.round(m.top + h - (v / yMax) * h) + 0.5;
      ctx.strokeStyle = v === 0 ? colors.axis : colors.grid;
      ctx.beginPath();
      ctx.moveTo(m.left, y);
      ctx.lineTo(width - m.right, y);
      ctx.stroke();
      ctx.fillText(fmtNumber(v), m.left - 6, y);
    }
    ctx.textBaseline = "top";
    for (let k = 0; k <= minutes; k++) {
      const x = m.left + (k / minutes) * w;
      ctx.textAlign = k === 0 ? "left" : k === minutes ? "right" : "center";
      ctx.fillText(k === minutes ? "now" : `−${minutes - k} min`, x, m.top + h + 7);
    }
    const xOf = (i) => m.left + ((i + 1) / n) * w;
    const yOf = (v) => m.top + h - (v / yMax) * h;
    const gradient = ctx.createLinearGradient(0, m.top, 0, m.top + h);
    gradient.addColorStop(0, colors.fill);
    gradient.addColorStop(1, "rgba(0,0,0,0)");
    ctx.beginPath();
    ctx.moveTo(xOf(-1), yOf(0));
    values.forEach((v, i) => ctx.lineTo(xOf(i), yOf(v)));
    ctx.lineTo(xOf(n - 1), yOf(0));
    ctx.closePath();
    ctx.fillStyle = gradient;
    ctx.fill();
    ctx.beginPath();
    values.forEach((v, i) => (i === 0 ? ctx.moveTo(xOf(i), yOf(v)) : ctx.lineTo(xOf(i), yOf(v))));
    ctx.strokeStyle = colors.line;
    ctx.lineWidth = 1.75;
    ctx.stroke();
    const lastV = values[values.length - 1];
    ctx.fillStyle = colors.line;
    ctx.beginPath();
    ctx.arc(xOf(n - 1), yOf(lastV), 3, 0, Math.PI * 2);
    ctx.fill();
  }

  // ---------------------------------------------------------------------------------------
  // Clock-driven updates: relative times, the chart.

  function tick() {
    drawThroughput();
    for (const [id, row] of rows) {
      const d = state.devices.get(id);
      if (d !== undefined) setText(row.seen, fmtAgo(d.lastSeen));
    }
    for (const [id, item] of alertItems) {
      const a = state.alerts.get(id);
      if (a !== undefined) setText(item.when, fmtAgo(a.lastAt ?? a.raisedAt));
    }
    for (const item of nodeItems.values()) {
      const n = item.node;
      if (n?.lastHeartbeat) setText(item.beat, `heartbeat ${fmtAgo(n.lastHeartbeat)}`);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Start

  setupTokenDialog();
  filterInput.addEventListener("input", applyFilters);
  statusSelect.addEventListener("change", applyFilters);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    colors = readColors();
    requestMapFrame();
    drawThroughput();
  });
  renderKpis();
  drawThroughput();
  requestMapFrame();
  setInterval(tick, 1000);
  // Subscribe first, then load: nothing that happens in between is missed.
  connect(false);
  void reloadSnapshots();
})();
