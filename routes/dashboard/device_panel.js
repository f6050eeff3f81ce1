// @ts-check
/**
 * The device view: opened by choosing a row of the devices table, it shows the device's
 * commands — the open ones (pending, delivered) first, then the final ones — with their status,
 * how often each was sent, and when; live from the `commands` events of the stream, after a
 * page of `GET /api/devices/:id/commands` when it opens.
 *
 * @module
 */
import { commandsOf, isFinal, mergeCommands } from "./command_store.js";
import { $, el, messageOf, placeInOrder, setText, toast } from "./dom.js";
import { fmtAgo, fmtTime } from "./format.js";

/** @typedef {import("./command_store.js").CommandBook} CommandBook */
/** @typedef {import("./command_store.js").Command} Command */

/** Commands asked for when the view opens. */
const PAGE = 50;

/** The pill class of each status. */
const PILLS = /** @type {Record<string, string>} */ ({
  pending: "info",
  delivered: "info",
  succeeded: "ok",
  failed: "bad",
  expired: "grey",
  cancelled: "grey",
});

/**
 * The parts of a command's row that change.
 * @typedef {object} CommandRow
 * @property {HTMLTableRowElement} tr
 * @property {HTMLElement} status
 * @property {HTMLElement} attempts
 * @property {HTMLElement} created
 * @property {HTMLElement} changed
 */

/**
 * @typedef {object} PanelOptions
 * @property {CommandBook} book
 * @property {(method: string, path: string) => Promise<unknown>} request an API call
 * @property {(id: string | null) => void} selected tells which device the view shows
 */

/** @param {PanelOptions} options */
export function createDevicePanel(options) {
  const panel = $("device-panel");
  const tbody = $("commands");
  /** @type {Map<string, CommandRow>} */
  const rows = new Map();
  /** @type {string | null} */
  let device = null;

  $("device-panel-close").addEventListener("click", () => close());

  /**
   * Shows device `id`'s commands.
   * @param {string} id
   */
  async function open(id) {
    if (device !== id) {
      device = id;
      rows.clear();
      tbody.replaceChildren();
      setText($("device-panel-id"), id);
    }
    panel.hidden = false;
    options.selected(id);
    render();
    panel.scrollIntoView({ block: "nearest" });
    try {
      const page = /** @type {{ items: import("./command_store.js").CommandData[] }} */ (
        await options.request(
          "GET",
          `/api/devices/${encodeURIComponent(id)}/commands?limit=${PAGE}`,
        )
      );
      mergeCommands(options.book, id, page);
      if (device === id) render();
    } catch (error) {
      toast(`Could not load the commands of ${id}: ${messageOf(error)}`);
    }
  }

  function close() {
    device = null;
    panel.hidden = true;
    options.selected(null);
  }

  /** @param {Command} c */
  function rowFor(c) {
    const known = rows.get(c.commandId);
    if (known !== undefined) return known;
    const tr = el("tr");
    tr.dataset.commandId = c.commandId;
    const name = el("td", "cmd-name", c.name);
    name.title = c.commandId;
    /** @type {CommandRow} */
    const row = {
      tr,
      status: el("span", "pill grey"),
      attempts: el("td", "num"),
      created: el("td", "num muted"),
      changed: el("td", "num muted"),
    };
    const status = el("td");
    status.append(row.status);
    tr.append(name, status, row.attempts, row.created, row.changed);
    rows.set(c.commandId, row);
    return row;
  }

  /** Redraws the list of the device shown (if any). */
  function render() {
    if (device === null) return;
    const now = Date.now();
    const commands = commandsOf(options.book, device);
    const open = commands.filter((c) => !isFinal(c.status)).length;
    setText(
      $("device-panel-summary"),
      commands.length === 0 ? "" : `${open} open · ${commands.length} shown`,
    );
    $("commands-empty").hidden = commands.length > 0;
    const shown = new Set(commands.map((c) => c.commandId));
    for (const [id, row] of rows) {
      if (shown.has(id)) continue;
      row.tr.remove();
      rows.delete(id);
    }
    placeInOrder(
      tbody,
      commands.map((c) => {
        const row = rowFor(c);
        row.tr.dataset.status = c.status;
        row.status.className = `pill ${PILLS[c.status] ?? "grey"}`;
        setText(row.status, c.status);
        row.status.title = c.error ?? "";
        setText(row.attempts, String(c.attempts));
        setText(row.created, fmtAgo(c.createdAt, now));
        row.created.title = fmtTime(c.createdAt);
        const when = isFinal(c.status) ? `${c.status} ${fmtAgo(c.changedAt, now)}` : (
          `expires ${fmtTime(c.expiresAt)}`
        );
        setText(row.changed, when);
        return row.tr;
      }),
    );
  }

  return {
    open,
    /**
     * The commands of device `id` changed: redraw if it is the one shown.
     * @param {string} id
     */
    changed(id) {
      if (id === device) render();
    },
    /** Updates the relative times. */
    tick() {
      render();
    },
  };
}
