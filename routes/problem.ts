/**
 * Errors as `application/problem+json` (RFC 9457). Routes throw; one `onError` renders.
 * Every problem has a stable `type` and `code`; a 5xx never shows internals.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type FieldIssue, FlotillaError, type Logger } from "../runtime/mod.ts";

/** A problem body. */
export interface Problem {
  /** `urn:flotilla:problem:<code>`: stable, for machines. */
  readonly type: string;
  /** Short, stable summary of the problem type. */
  readonly title: string;
  readonly status: number;
  /** What was wrong with this request, and what to do. */
  readonly detail: string;
  /** Same as the end of `type`. */
  readonly code: string;
  /** Per-field problems of invalid input. */
  readonly errors?: readonly FieldIssue[];
}

const TITLES: Readonly<Record<string, string>> = {
  invalid_input: "Invalid input",
  malformed_json: "Malformed JSON",
  unsupported_media_type: "Unsupported media type",
  payload_too_large: "Payload too large",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  timeout: "Timed out",
  mailbox_full: "Busy",
  shutting_down: "Shutting down",
  store_unavailable: "Store unavailable",
  version_conflict: "Conflict",
  unknown_message: "Unknown message",
  unknown_actor_type: "Unknown actor type",
  actor_crashed: "Internal error",
  internal: "Internal error",
};

/** Builds a problem response. */
export function problem(
  c: Context,
  status: number,
  code: string,
  detail: string,
  errors?: readonly FieldIssue[],
): Response {
  const body: Problem = {
    type: `urn:flotilla:problem:${code}`,
    title: TITLES[code] ?? code,
    status,
    detail,
    code,
    ...(errors !== undefined && errors.length > 0 ? { errors } : {}),
  };
  if (status === 503) c.header("Retry-After", "1");
  return c.json(body, status as ContentfulStatusCode, {
    "Content-Type": "application/problem+json; charset=utf-8",
  });
}

/** The app's `onError`: known errors become their problem, anything else a logged 500. */
export function renderError(error: unknown, c: Context, logger: Logger): Response {
  if (error instanceof FlotillaError && error.status < 500 && error.code !== "actor_crashed") {
    const issues = "issues" in error ? (error.issues as readonly FieldIssue[]) : undefined;
    return problem(c, error.status, error.code, error.message, issues);
  }
  if (error instanceof FlotillaError && error.status !== 500) {
    logger.warn("request failed", { path: c.req.path, code: error.code, error: error.message });
    return problem(c, error.status, error.code, error.message);
  }
  if (error instanceof HTTPException && error.status < 500) {
    return problem(c, error.status, "invalid_input", error.message || "bad request");
  }
  logger.error("request failed", { method: c.req.method, path: c.req.path, error });
  return problem(
    c,
    500,
    "internal",
    "the server failed to handle this request; it has been logged",
  );
}
