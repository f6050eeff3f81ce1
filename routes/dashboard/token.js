// @ts-check
/**
 * The node's API token in this tab, and the dialog that asks for it. The token comes from the
 * URL the node printed (`/#token=…`: moved out of the address bar and the history at once, so it
 * is not shared by accident) or from the dialog, and is kept in `sessionStorage` (this tab
 * only).
 *
 * @module
 */
import { isUnauthorized } from "./api.js";
import { $, byId, setText } from "./dom.js";

const KEY = "flotilla.token";

/** @returns {string | null} */
function readToken() {
  const hash = location.hash.startsWith("#") ? location.hash.slice(1) : "";
  const fromUrl = new URLSearchParams(hash).get("token");
  if (fromUrl) {
    try {
      sessionStorage.setItem(KEY, fromUrl);
    } catch { /* storage disabled: keep it for this page only */ }
    history.replaceState(null, "", location.pathname + location.search);
    return fromUrl;
  }
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** @param {string | null} token */
function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch { /* storage disabled: the token lasts as long as the page */ }
}

/**
 * What the page does when the token changes in the dialog.
 * @typedef {object} TokenEvents
 * @property {(changed: boolean) => void} saved a token was saved (`changed`: another than
 *   before)
 * @property {() => void} forgotten the token was forgotten
 */

/**
 * The token of this tab and its dialog (set up on the page's elements).
 * @param {TokenEvents} events
 */
export function createAuth(events) {
  let token = readToken();
  /** @type {((given: boolean) => void)[]} */
  let waiters = [];
  const dialog = byId("token-dialog", HTMLDialogElement);
  const input = byId("token-input", HTMLInputElement);

  /** @param {string | null} value */
  function set(value) {
    token = value;
    storeToken(value);
    renderState();
  }

  function renderState() {
    $("token-button").dataset.set = String(token !== null);
    setText($("token-state"), token === null ? "Set token" : "Token set");
    $("token-forget").hidden = token === null;
  }

  /**
   * Opens the dialog (saying why); resolves true once a token is saved, false when the dialog
   * is closed without one.
   * @param {string} [reason]
   * @returns {Promise<boolean>}
   */
  function ask(reason) {
    if (reason) setText($("token-reason"), reason);
    input.value = "";
    if (!dialog.open) dialog.showModal();
    input.focus();
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** @param {boolean} given */
  function close(given) {
    if (dialog.open) dialog.close();
    const answered = waiters;
    waiters = [];
    for (const w of answered) w(given);
  }

  /**
   * Runs an API call; when it answers 401, asks for the token (saying that `what` needs it)
   * and runs it again once one is given.
   * @template T
   * @param {string} what what the call does, for the dialog: "Acknowledging an alert"
   * @param {() => Promise<T>} call
   * @returns {Promise<T>}
   */
  async function withAuth(what, call) {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!isUnauthorized(error)) throw error;
        const given = await ask(
          token === null
            ? `${what} needs the node's API token.`
            : `The token was not accepted for ${what.toLowerCase()}. Enter the node's API token.`,
        );
        if (!given) throw error;
      }
    }
  }

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (value === "") return;
    const changed = value !== token;
    set(value);
    close(true);
    events.saved(changed);
  });
  $("token-cancel").addEventListener("click", () => close(false));
  $("token-forget").addEventListener("click", () => {
    set(null);
    close(false);
    events.forgotten();
  });
  dialog.addEventListener("cancel", () => close(false));
  $("token-button").addEventListener("click", () => {
    ask("The node's API token lets this page acknowledge alerts. It is kept for this tab only.");
  });
  renderState();

  return {
    /** The token, or null for none. */
    token: () => token,
    ask,
    withAuth,
  };
}
