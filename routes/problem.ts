/**
 * Errors as `application/problem+json` (RFC 9457). Routes throw; one `onError` renders.
 * Every problem has a stable `type` and `code`; a 5xx never shows internals.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
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

/** The problem body's schema, for the OpenAPI document. */
export const PROBLEM_SCHEMA = z.object({
  type: z.string().describe("urn:flotilla:problem:<code>: stable, for machines"),
  title: z.string().describe("short, stable summary of the problem type"),
  status: z.number().int().describe("the HTTP status"),
  detail: z.string().describe("what was wrong with this request, and what to do"),
  code: z.string().describe("the end of type, e.g. invalid_input"),
  errors: z.array(z.object({
    path: z.string().describe('dotted path into the input; "" for the input as a whole'),
    message: z.string(),
  })).optional().describe("invalid input: each field that was wrong"),
}).meta({ title: "Problem", description: "An RFC 9457 problem (application/problem+json)." });

/** Titles of the problem codes the HTTP layer, the runtime and the actors answer with. */
const TITLES: Readonly<Record<string, string>> = {
  invalid_input: "Invalid input",
  bad_request: "Bad request",
  malformed_json: "Malformed JSON",
  unsupported_media_type: "Unsupported media type",
  payload_too_large: "Payload too large",
  not_found: "Not found",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
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
  record_rejected: "Record rejected",
  alert_cleared: "Alert already cleared",
  idempotency_conflict: "Idempotency conflict",
  inventory_full: "Inventory full",
  no_available_edge_node: "No available edge node",
  too_many_commands: "Too many commands",
  command_conflict: "Command id in use",
  command_final: "Command already final",
  precondition_failed: "Precondition failed",
};

/** Codes of Hono's `HTTPException`s by status. */
const HTTP_CODES: Readonly<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
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
    // Hono's own errors (from middleware): a stable code for the status.
    const code = HTTP_CODES[error.status] ?? "bad_request";
    return problem(c, error.status, code, error.message || TITLES[code]!.toLowerCase());
  }
  logger.error("request failed", { method: c.req.method, path: c.req.path, error });
  return problem(
    c,
    500,
    "internal",
    "the server failed to handle this request; it has been logged",
  );
}
