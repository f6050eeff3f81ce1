// @ts-check
/**
 * Devices' commands as this page knows them, and the reducers that merge what the server says:
 * a page of `GET /api/devices/:id/commands` and the `status` events of the `commands` topic.
 * Pure: no DOM, no network, no clock, so Deno tests run it as it is.
 *
 * A page and the events may arrive in any order. A command's status only moves forward
 * (`pending` → `delivered` → a final one, which never changes), so every merge keeps the
 * furthest status it has heard of, whatever came first.
 *
 * @module
 */

/** Commands kept per device: the open ones, and the newest final ones up to this many in all. */
export const KEEP = 50;

/** The statuses after which a command changes no more. */
const FINAL = new Set(["succeeded", "failed", "expired", "cancelled"]);

/**
 * A command as the page shows it.
 * @typedef {object} Command
 * @property {string} commandId
 * @property {string} name
 * @property {string} status pending, delivered, succeeded, failed, expired, cancelled
 * @property {number} createdAt epoch ms
 * @property {number} changedAt epoch ms of its latest status
 * @property {number} expiresAt epoch ms
 * @property {number} attempts times sent to the device
 * @property {string | null} error
 */

/**
 * A command as the API returns it (a page's item).
 * @typedef {object} CommandData
 * @property {string} commandId
 * @property {string} name
 * @property {string} status
 * @property {number} createdAt
 * @property {number} expiresAt
 * @property {number} [deliveredAt]
 * @property {number} [completedAt]
 * @property {number} attempts
 * @property {string} [error]
 */

/**
 * An event of the `commands` topic: `kind: "status"` changes a command's status, `"command"`
 * (a send to the device) its attempts; the others change nothing here.
 * @typedef {object} CommandEvent
 * @property {string} [kind]
 * @property {string} [device]
 * @property {string} [commandId]
 * @property {string} [name]
 * @property {string} [status]
 * @property {number} [at]
 * @property {number} [expiresAt]
 * @property {number} [attempts]
 * @property {number} [attempt] of a send: which one
 * @property {string} [error]
 */

/** @typedef {Map<string, Map<string, Command>>} CommandBook device id → command id → command */

/** @returns {CommandBook} */
export function createCommandBook() {
  return new Map();
}

/**
 * How far a status is along: pending 0, delivered 1, final 2.
 * @param {string} status
 */
function stage(status) {
  return FINAL.has(status) ? 2 : status === "delivered" ? 1 : 0;
}

/**
 * Whether a command's status is final.
 * @param {string} status
 */
export function isFinal(status) {
  return FINAL.has(status);
}

/**
 * Puts `next` in place of `known` if it is further along (or as far, and not final yet: the
 * attempts may have grown). Says whether anything changed.
 * @param {Map<string, Command>} commands
 * @param {Command | undefined} known
 * @param {Command} next
 */
function keep(commands, known, next) {
  if (known !== undefined) {
    const a = stage(known.status);
    const b = stage(next.status);
    if (b < a || (a === 2 && b === 2)) return false;
    if (
      b === a && known.status === next.status && known.attempts >= next.attempts
    ) return false;
    next = { ...next, createdAt: Math.min(known.createdAt, next.createdAt) };
  }
  commands.set(next.commandId, next);
  trim(commands);
  return true;
}

/**
 * Drops the oldest final commands beyond {@link KEEP}.
 * @param {Map<string, Command>} commands
 */
function trim(commands) {
  if (commands.size <= KEEP) return;
  const finals = [...commands.values()].filter((c) => isFinal(c.status))
    .sort((a, b) => a.createdAt - b.createdAt);
  for (const c of finals.slice(0, commands.size - KEEP)) commands.delete(c.commandId);
}

/**
 * @param {CommandBook} book
 * @param {string} device
 */
function commandsFor(book, device) {
  let commands = book.get(device);
  if (commands === undefined) {
    commands = new Map();
    book.set(device, commands);
  }
  return commands;
}

/**
 * Merges a page of a device's commands. Says whether anything changed.
 * @param {CommandBook} book
 * @param {string} device
 * @param {{ items: CommandData[] }} page
 */
export function mergeCommands(book, device, page) {
  const commands = commandsFor(book, device);
  let changed = false;
  for (const c of page.items) {
    const next = {
      commandId: c.commandId,
      name: c.name,
      status: c.status,
      createdAt: c.createdAt,
      changedAt: c.completedAt ?? c.deliveredAt ?? c.createdAt,
      expiresAt: c.expiresAt,
      attempts: c.attempts,
      error: c.error ?? null,
    };
    if (keep(commands, commands.get(c.commandId), next)) changed = true;
  }
  return changed;
}

/**
 * Applies an event of the `commands` topic: the device whose commands changed, or null.
 * @param {CommandBook} book
 * @param {CommandEvent} ev
 * @returns {string | null}
 */
export function applyCommandEvent(book, ev) {
  if (ev.kind === "command") return applySend(book, ev);
  if (
    ev.kind !== "status" || typeof ev.device !== "string" ||
    typeof ev.commandId !== "string" || typeof ev.status !== "string" ||
    typeof ev.at !== "number"
  ) return null;
  const commands = commandsFor(book, ev.device);
  const known = commands.get(ev.commandId);
  const next = {
    commandId: ev.commandId,
    name: ev.name ?? known?.name ?? "",
    status: ev.status,
    createdAt: ev.status === "pending" ? ev.at : known?.createdAt ?? ev.at,
    changedAt: ev.at,
    expiresAt: ev.expiresAt ?? known?.expiresAt ?? 0,
    attempts: ev.attempts ?? known?.attempts ?? 0,
    error: ev.error ?? null,
  };
  return keep(commands, known, next) ? ev.device : null;
}

/**
 * A send of a command the page knows: its attempts grow (the device has not confirmed it).
 * @param {CommandBook} book
 * @param {CommandEvent} ev
 * @returns {string | null}
 */
function applySend(book, ev) {
  if (typeof ev.device !== "string" || typeof ev.commandId !== "string") return null;
  const known = book.get(ev.device)?.get(ev.commandId);
  if (known === undefined || isFinal(known.status) || typeof ev.attempt !== "number") return null;
  if (ev.attempt <= known.attempts) return null;
  known.attempts = ev.attempt;
  return ev.device;
}

/**
 * A device's commands as the view lists them: the open ones first, newest first, then the
 * final ones, newest first.
 * @param {CommandBook} book
 * @param {string} device
 * @returns {Command[]}
 */
export function commandsOf(book, device) {
  const all = [...(book.get(device)?.values() ?? [])];
  return all.sort((a, b) =>
    (Number(isFinal(a.status)) - Number(isFinal(b.status))) || (b.createdAt - a.createdAt)
  );
}
