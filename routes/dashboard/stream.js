// @ts-check
/**
 * The live stream, `GET /api/events` (server-sent events), and the connection badge.
 *
 * EventSource resumes by itself after a network blip (sending Last-Event-ID). When the browser
 * gives up (the server answered with an HTTP error), the page finds out why (a 401 asks for the
 * token) and tries again, backing off from 1 s to 30 s. `event: reset` (the events missed are
 * no longer kept) reloads the snapshots; `event: dropped` (this page fell too far behind and
 * the server ended the stream) reloads them and starts a fresh stream.
 *
 * @module
 */
import { isUnauthorized } from "./api.js";
import { $, setText } from "./dom.js";
import { connectionText } from "./select.js";

/** @typedef {import("./select.js").Connection} Connection */

/**
 * @typedef {object} StreamOptions
 * @property {Record<string, (data: any) => void>} topics what to do with each topic's events
 *   (their JSON data, never null); the stream subscribes to exactly these topics
 * @property {() => string | null} token
 * @property {(method: string, path: string) => Promise<unknown>} request an API call
 * @property {(reason: string) => Promise<boolean>} ask asks for the token; true once one is
 *   saved (which reconnects)
 * @property {() => Promise<void>} reload reloads the snapshots
 */

/** @param {StreamOptions} options */
export function createStream(options) {
  /** @type {EventSource | null} */
  let source = null;
  /** @type {string | null} */
  let lastEventId = null;
  /** @type {Connection} */
  let state = "connecting";
  let retryTimer = 0;
  let retryDelay = 1000;

  /** @param {MessageEvent} e */
  function note(e) {
    if (e.lastEventId) lastEventId = e.lastEventId;
  }

  /**
   * Opens the stream, closing the one before; `resume` picks up after the last event seen.
   * @param {boolean} resume
   */
  function connect(resume) {
    clearTimeout(retryTimer);
    if (source !== null) source.close();
    const q = new URLSearchParams({ topics: Object.keys(options.topics).join(",") });
    const token = options.token();
    if (token !== null) q.set("access_token", token);
    if (resume && lastEventId !== null) q.set("lastEventId", lastEventId);
    const es = new EventSource(`/api/events?${q}`);
    source = es;
    show(resume ? "reconnecting" : "connecting");
    es.onopen = () => {
      retryDelay = 1000;
      show("live");
    };
    es.onerror = () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // An HTTP error, not a network blip: the browser gave up. Find out why, then retry.
        show("down");
        void diagnose();
      } else {
        show("reconnecting");
      }
    };
    for (const [topic, handle] of Object.entries(options.topics)) {
      es.addEventListener(topic, (e) => {
        note(e);
        const data = parse(e);
        if (data !== null) handle(data);
      });
    }
    es.addEventListener("reset", (e) => {
      note(e);
      void options.reload();
    });
    es.addEventListener("dropped", () => {
      es.close();
      lastEventId = null;
      show("reconnecting");
      void options.reload().then(() => connect(false));
    });
  }

  async function diagnose() {
    try {
      await options.request("GET", "/api/devices?limit=1");
    } catch (error) {
      if (isUnauthorized(error)) {
        const given = await options.ask("Reading the live stream needs the node's API token.");
        if (given) return;
      }
    }
    const delay = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 30_000);
    show("down", delay);
    retryTimer = setTimeout(() => connect(true), delay);
  }

  /**
   * @param {Connection} s
   * @param {number} [retryIn]
   */
  function show(s, retryIn) {
    state = s;
    $("conn").dataset.state = s;
    setText($("conn-text"), connectionText(s, retryIn));
  }

  return {
    connect,
    /** Whether the stream is open or opening (not given up on). */
    isOpen: () => source !== null && source.readyState !== EventSource.CLOSED,
    /** The badge's state: connecting, live, reconnecting or down. */
    state: () => state,
    /** The id of the last event seen, which a resumed stream starts after. */
    lastEventId: () => lastEventId,
  };
}

/**
 * An event's JSON data; null when it is not JSON.
 * @param {MessageEvent} e
 * @returns {unknown}
 */
function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch {
    return null;
  }
}
