/**
 * Helpers of the API contract tests: the app's routes as Hono lists them (without middleware
 * and the dashboard's files), the OpenAPI operation of each, sample values for path parameters,
 * and the checks every problem body must pass.
 *
 * @module
 */
import { dashboardRoutes } from "../../routes/dashboard.ts";
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from "../../routes/openapi.ts";
import { createLogger, MetricsRegistry } from "../../runtime/mod.ts";
import { assert, assertEquals } from "./assert.ts";
import type { testApp } from "./app.ts";

/** The app under test. */
export type App = Awaited<ReturnType<typeof testApp>>;

/** The problem content type. */
export const PROBLEM = "application/problem+json; charset=utf-8";

/** Methods a request can use. */
export const METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE"] as const;

/** A route of the app. */
export interface AppRoute {
  readonly method: string;
  /** Hono path, `:name` for a parameter. */
  readonly path: string;
}

/**
 * Every route of the app (`app.routes`) but middleware (`ALL`) and the dashboard's static
 * files, which the dashboard serves and the API document does not describe.
 */
export function appRoutes(t: App): AppRoute[] {
  const dashboard = dashboardRoutes({
    system: t.system,
    events: t.events,
    metrics: new MetricsRegistry(),
    logger: createLogger({ level: "error", write: () => {} }),
    clock: t.clock,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    auth: null,
  });
  const skip = new Set(dashboard.routes.map((r) => `${r.method} ${r.path}`));
  const seen = new Set<string>();
  const out: AppRoute[] = [];
  for (const { method, path } of t.app.routes) {
    const key = `${method} ${path}`;
    if (method === "ALL" || skip.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push({ method, path });
  }
  return out;
}

/** `/api/devices/:id` → `/api/devices/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

/** The document, fetched from the app. */
export async function documentOf(t: App): Promise<OpenApiDocument> {
  const res = await t.app.request("/openapi.json");
  assertEquals(res.status, 200, "GET /openapi.json");
  return await res.json();
}

/** The documented operation of a route. */
export function operationOf(doc: OpenApiDocument, route: AppRoute): OpenApiOperation {
  const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
  assert(op !== undefined, `${route.method} ${route.path} is documented`);
  return op;
}

/** Names of a Hono path's parameters, in order. */
export function paramNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

const SAMPLES = ["x1", "device.x1.1", "sku-1"];

/** A value of path parameter `name` of `op` that passes its documented pattern. */
export function sampleParam(op: OpenApiOperation, name: string): string {
  const schema = op.parameters?.find((p) => p.in === "path" && p.name === name)?.schema;
  assert(schema !== undefined, `path parameter ${name} is documented`);
  const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern) : null;
  const sample = SAMPLES.find((s) => pattern === null || pattern.test(s));
  assert(sample !== undefined, `a sample value for ${name} (${schema.pattern})`);
  return sample;
}

/** `route.path` with `values` for its parameters (sample values for the others). */
export function concretePath(
  op: OpenApiOperation,
  route: AppRoute,
  values: Readonly<Record<string, string>> = {},
): string {
  return route.path.replace(
    /:([A-Za-z0-9_]+)/g,
    (_, name: string) => values[name] ?? sampleParam(op, name),
  );
}

/** The request body's documented schema and example, if the operation takes one. */
export function bodyOf(
  op: OpenApiOperation,
): { schema: JsonSchema; example: unknown } | null {
  const content = op.requestBody?.content["application/json"];
  if (content === undefined) return null;
  assert(content.schema !== undefined, `${op.operationId}: the body has a schema`);
  assert(content.example !== undefined, `${op.operationId}: the body has an example`);
  return { schema: content.schema, example: content.example };
}

/** Sends a request; `body` is sent as is when a string, as JSON otherwise. */
export async function send(
  t: App,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json", ...headers };
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  return await t.app.request(path, init);
}

/**
 * Asserts `res` is a problem: the problem content type, `type`, `title`, `status`, `detail` and
 * `code` consistent, no stack trace; and its status `status` (or any 4xx when `"4xx"`).
 */
export async function problemOf(
  res: Response,
  status: number | "4xx",
  code: string | null,
  what: string,
): Promise<{ code: string; detail: string; errors?: { path: string; message: string }[] }> {
  const text = await res.text();
  if (status === "4xx") {
    assert(res.status >= 400 && res.status < 500, `${what}: a 4xx, got ${res.status} ${text}`);
  } else {
    assertEquals(res.status, status, `${what}: status (${text})`);
  }
  assertEquals(res.headers.get("content-type"), PROBLEM, `${what}: content type`);
  const body = JSON.parse(text);
  for (const field of ["type", "title", "detail", "code"]) {
    assert(
      typeof body[field] === "string" && body[field].length > 0,
      `${what}: the problem has a ${field}`,
    );
  }
  assertEquals(body.status, res.status, `${what}: status in the body`);
  assertEquals(body.type, `urn:flotilla:problem:${body.code}`, `${what}: type`);
  if (code !== null) assertEquals(body.code, code, `${what}: code`);
  assert(!/\n\s+at /.test(text), `${what}: no stack trace`);
  if (body.code === "invalid_input") {
    assert(
      Array.isArray(body.errors) && body.errors.length > 0,
      `${what}: invalid input lists its errors`,
    );
  }
  return body;
}
