/**
 * Bearer-token authentication of the API.
 *
 * - Requests that change something (POST, PUT, PATCH, DELETE under `/api`) need
 *   `Authorization: Bearer <API token>`.
 * - Reads under `/api` (GET, and the SSE stream) need the API token or the read-only token —
 *   when a read-only token is configured; otherwise reads are open.
 * - Where a client cannot set headers (a browser's `EventSource`), `?access_token=` is accepted
 *   on reads only.
 * - Health, readiness, metrics and the dashboard's static page are open.
 *
 * Tokens are compared in constant time. A missing or wrong token is a 401 problem, a read-only
 * token on a write a 403 problem; no token ever appears in a log line or a response.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { timingSafeEqual } from "node:crypto";
import { problem } from "./problem.ts";

/** The tokens an app accepts. */
export interface AuthTokens {
  /** Allows everything. */
  readonly apiToken: string;
  /** Allows reads only; when absent, reads need no token. */
  readonly readToken?: string;
}

const encoder = new TextEncoder();

/** Compares two secrets in time independent of where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  // Compare equal-length buffers so the length check does not short-circuit on content.
  const padded = new Uint8Array(b.length);
  padded.set(a.subarray(0, b.length));
  return timingSafeEqual(padded, b) && a.length === b.length;
}

/** A random token for a node started without one: 32 bytes, base64url. */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function presented(c: Context, allowQuery: boolean): string | null {
  const header = c.req.header("Authorization");
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match === null ? "" : match[1]!;
  }
  return allowQuery ? c.req.query("access_token") ?? null : null;
}

/** The middleware for `/api/*`. */
export function requireToken(tokens: AuthTokens): MiddlewareHandler {
  return async (c, next) => {
    const write = WRITES.has(c.req.method);
    if (!write && tokens.readToken === undefined) return await next();
    const token = presented(c, !write);
    if (token === null) {
      c.header("WWW-Authenticate", 'Bearer realm="flotilla"');
      return problem(c, 401, "unauthorized", "send Authorization: Bearer <token>");
    }
    if (sameSecret(token, tokens.apiToken)) return await next();
    if (tokens.readToken !== undefined && sameSecret(token, tokens.readToken)) {
      if (!write) return await next();
      return problem(
        c,
        403,
        "forbidden",
        "the read-only token cannot change anything; use the API token",
      );
    }
    c.header("WWW-Authenticate", 'Bearer realm="flotilla", error="invalid_token"');
    return problem(c, 401, "unauthorized", "the token is not valid");
  };
}
