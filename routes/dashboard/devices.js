// @ts-check
/**
 * The devices table: one row per device, in id order, built once and then updated in place
 * (a row's readings are rebuilt only when a value, or whether it is within its threshold,
 * changed); the filter by text and status hides rows. Choosing a row (click, or Enter) opens
 * the device view.
 *
 * @module
 */
import { $, byId, el, setText } from "./dom.js";
import { fmtAgo, fmtCount, fmtReading, fmtTime } from "./format.js";
import { deviceKind, qualityLevel, readingsOf } from "./select.js";

/** @typedef {import("./store.js").Fleet} Fleet */

/** Rows changed at once that still flash; when more change, none does. */
const FLASH_AT_MOST = 20;

/**
 * The parts of a row that change.
 * @typedef {object} Row
 * @property {HTMLTableRowElement} tr
 * @property {HTMLElement} type
 * @property {HTMLElement} status
 * @property {HTMLElement} chips
 * @property {HTMLElement} qMeter
 * @property {HTMLElement} qBar
 * @property {HTMLElement} qText
 * @property {HTMLElement} battery
 * @property {HTMLElement} messages
 * @property {HTMLElement} seen
 * @property {string} sig the readings and threshold marks shown
 * @property {string} values the readings shown
 */

/**
 * @param {Fleet} fleet
 * @param {Record<string, number>} inserted when each row was inserted (epoch ms), for tests
 * @param {(id: string) => void} choose a row was chosen
 */
export function createDevicesTable(fleet, inserted, choose) {
  /** @type {Map<string, Row>} */
  const rows = new Map();
  /** @type {string[]} device ids in table order */
  const order = [];
  const tbody = $("devices");
  const filterInput = byId("device-filter", HTMLInputElement);
  const statusSelect = byId("status-filter", HTMLSelectElement);

  /** @param {string} id */
  function insertionIndex(id) {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (/** @type {string} */ (order[mid]) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * @param {string} id
   * @returns {Row}
   */
  function createRow(id) {
    const tr = el("tr");
    tr.dataset.deviceId = id;
    tr.tabIndex = 0;
    tr.title = `${id}: its commands`;
    const idText = el("span", "dev-id", id);
    idText.title = id;
    const type = el("span", "dev-type");
    const status = el("span", "pill grey", "Offline");
    const chips = el("div", "chips");
    const quality = el("span", "quality");
    const qMeter = el("span", "meter");
    const qBar = el("span");
    const qText = el("span", "", "—");
    qMeter.append(qBar);
    quality.append(qMeter, qText);
    const battery = el("td", "num", "—");
    const messages = el("td", "num", "0");
    const seen = el("td", "num muted", "never");
    tr.append(
      cell("", idText, type),
      cell("", status),
      cell("", chips),
      cell("num", quality),
      battery,
      messages,
      seen,
    );
    /** @type {Row} */
    const row = {
      tr,
      type,
      status,
      chips,
      qMeter,
      qBar,
      qText,
      battery,
      messages,
      seen,
      sig: "",
      values: "",
    };
    const i = insertionIndex(id);
    const before = order[i];
    order.splice(i, 0, id);
    tbody.insertBefore(tr, before === undefined ? null : rows.get(before)?.tr ?? null);
    rows.set(id, row);
    applyFilter(id);
    inserted[id] = Date.now();
    return row;
  }

  /**
   * @param {string} id
   * @param {boolean} flash
   */
  function renderDevice(id, flash) {
    const d = fleet.devices.get(id);
    if (d === undefined) return;
    const existing = rows.get(id);
    const row = existing ?? createRow(id);
    const kind = deviceKind(d);
    setText(row.type, kind);
    row.type.title = kind;
    const online = d.status === "online";
    row.status.className = `pill ${online ? "ok" : "bad"}`;
    setText(row.status, online ? "Online" : "Offline");
    row.tr.classList.toggle("tr-offline", !online);

    const { readings, sig, values } = readingsOf(d);
    if (sig !== row.sig) {
      const valuesChanged = values !== row.values;
      row.sig = sig;
      row.values = values;
      row.chips.replaceChildren(...readings.map((r) => {
        const chip = el("span", r.outside ? "chip out" : "chip");
        chip.title = `${r.sensor} at ${fmtTime(r.ts)}` +
          (r.outside ? " (outside its threshold)" : "");
        chip.append(
          el("span", "chip-name", r.sensor),
          el("span", "chip-value", fmtReading(r.sensor, r.value)),
        );
        return chip;
      }));
      if (existing !== undefined && flash && valuesChanged) flashRow(row.tr);
    }

    if (d.quality === null) {
      setText(row.qText, "—");
      row.qBar.style.width = "0";
    } else {
      const pct = Math.round(d.quality * 100);
      setText(row.qText, `${pct}%`);
      row.qBar.style.width = `${pct}%`;
      row.qMeter.dataset.level = qualityLevel(pct);
    }
    setText(row.battery, d.battery === null ? "—" : `${Math.round(d.battery)}%`);
    setText(row.messages, fmtCount(d.messageCount));
    setText(row.seen, fmtAgo(d.lastSeen, Date.now()));
  }

  /** @param {string} id */
  function applyFilter(id) {
    const row = rows.get(id);
    const d = fleet.devices.get(id);
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

  filterInput.addEventListener("input", applyFilters);
  statusSelect.addEventListener("change", applyFilters);
  /** @param {Event} e */
  const chosen = (e) => {
    const tr = e.target instanceof Element ? e.target.closest("tr[data-device-id]") : null;
    if (tr instanceof HTMLElement && tr.dataset.deviceId) choose(tr.dataset.deviceId);
  };
  tbody.addEventListener("click", chosen);
  tbody.addEventListener("keydown", (e) => {
    if (e.key === "Enter") chosen(e);
  });

  return {
    /**
     * Redraws these devices' rows (adding the new ones). A few changed rows flash; a whole
     * fleet changing at once does not.
     * @param {ReadonlySet<string>} ids
     */
    render(ids) {
      const flash = ids.size <= FLASH_AT_MOST;
      for (const id of ids) renderDevice(id, flash);
      $("devices-empty").hidden = fleet.devices.size > 0;
    },
    /**
     * Marks the row of the device the device view shows (none: `null`).
     * @param {string | null} id
     */
    select(id) {
      for (const [rowId, row] of rows) row.tr.classList.toggle("selected", rowId === id);
    },
    /**
     * Updates the "last seen" times to `now`.
     * @param {number} now
     */
    tick(now) {
      for (const [id, row] of rows) {
        const d = fleet.devices.get(id);
        if (d !== undefined) setText(row.seen, fmtAgo(d.lastSeen, now));
      }
    },
  };
}

/**
 * A table cell of class `className` holding `children`.
 * @param {string} className
 * @param {...Node} children
 */
function cell(className, ...children) {
  const td = el("td", className);
  td.append(...children);
  return td;
}

/**
 * Flashes a row whose readings changed (restarting the animation if it runs).
 * @param {HTMLElement} tr
 */
function flashRow(tr) {
  tr.classList.remove("flash");
  requestAnimationFrame(() => tr.classList.add("flash"));
}
