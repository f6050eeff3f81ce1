// @ts-check
/**
 * Calls of the node's JSON API, from this origin, with the API token when the page has one.
 *
 * @module
 */

/** An answer of the API other than 2xx: its status, and the problem's `detail` as message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} detail
   */
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * Calls `method path` (never from the HTTP cache) and returns its JSON body (null for none),
 * unchecked: the caller knows its shape.
 * @param {string} method
 * @param {string} path
 * @param {string | null} token
 * @returns {Promise<unknown>}
 * @throws {ApiError} when the answer is not 2xx
 */
export async function request(method, path, token) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, cache: "no-store" });
  const text = await res.text();
  /** @type {unknown} */
  let body = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, detailOf(body) ?? `HTTP ${res.status}`);
  return body;
}

/**
 * A problem document's `detail`, if it has one.
 * @param {unknown} body
 */
function detailOf(body) {
  if (typeof body !== "object" || body === null || !("detail" in body)) return undefined;
  return typeof body.detail === "string" ? body.detail : undefined;
}

/**
 * Whether `error` is the API saying 401: no token, or not this one.
 * @param {unknown} error
 */
export function isUnauthorized(error) {
  return error instanceof ApiError && error.status === 401;
}
