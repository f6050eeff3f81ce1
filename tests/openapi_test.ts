/**
 * `GET /openapi.json` and `GET /docs`: the document describes exactly the routes the app serves,
 * with the very schemas that validate them, and the page renders it without anything from
 * elsewhere.
 */
import { z } from "zod";
import {
  COMMAND_SCHEMA,
  DESIRED_PATCH_SCHEMA,
  EDGE_HEARTBEAT_SCHEMA,
  EDGE_REGISTRATION_SCHEMA,
  REGISTRATION_SCHEMA,
  ROUTE_REQUEST_SCHEMA,
  STATUS_REPORT_SCHEMA,
  TELEMETRY_SCHEMA,
} from "../actors/devices/mod.ts";
import { CARDS_SCHEMA, PAYMENT_SCHEMA, SETTINGS_SCHEMA } from "../actors/payments/mod.ts";
import { CHECKOUT_SCHEMA, EVENT_SCHEMA, PROFILE_SCHEMA } from "../actors/sessions/mod.ts";
import type { OpenApiDocument } from "../routes/openapi.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import {
  appRoutes,
  bodyOf,
  concretePath,
  documentOf,
  openApiPath,
  operationOf,
  paramNames,
  send,
} from "./helpers/api.ts";

const API = "api-token-0123456789abcdef";
const READ = "read-token-0123456789abcdef";

function operationsOf(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`)
  ).sort();
}

Deno.test("GET /openapi.json documents every route of the app, and only those", async () => {
  const t = await testApp();
  const res = await t.app.request("/openapi.json");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json");
  const doc = await res.json() as OpenApiDocument;
  const served = appRoutes(t).map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
  assert(served.length >= 30, `found the app's routes (${served.length})`);
  assertEquals(operationsOf(doc), served);
  for (const path of ["/api/events", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]) {
    assert(served.includes(`GET ${path}`), `GET ${path} is served and documented`);
  }
  await t.close();
});

Deno.test("the document is OpenAPI 3.1 with a problem schema, tags and complete operations", async () => {
  const t = await testApp({ auth: { apiToken: API, readToken: READ } });
  const doc = await documentOf(t);
  assertEquals(doc.openapi, "3.1.0");
  assert(doc.info.title === "Flotilla" && doc.info.version !== "", "info");
  const problem = doc.components.schemas.Problem!;
  assertEquals(problem.required, ["type", "title", "status", "detail", "code"]);
  const tags = new Set(doc.tags.map((tag) => tag.name));
  const ids = new Set<string>();
  for (const route of appRoutes(t)) {
    const op = operationOf(doc, route);
    const label = `${route.method} ${route.path}`;
    assert(op.summary.length > 0, `${label}: a summary`);
    assert(op.tags.length === 1 && tags.has(op.tags[0]!), `${label}: a declared tag`);
    assert(!ids.has(op.operationId), `${label}: a unique operationId`);
    ids.add(op.operationId);
    const pathParams = (op.parameters ?? []).filter((p) => p.in === "path");
    assertEquals(pathParams.map((p) => p.name), paramNames(route.path), `${label}: path params`);
    assert(pathParams.every((p) => p.required), `${label}: path params are required`);
    assert(
      Object.keys(op.responses).some((s) => s.startsWith("2")),
      `${label}: a success response`,
    );
    // Every error an operation documents is a problem.
    for (const [status, response] of Object.entries(op.responses)) {
      if (status !== "default" && Number(status) < 400) continue;
      const content = response.content ?? {};
      if (content["application/json"] !== undefined) continue; // /readyz's 503 is its report
      assertEquals(
        content["application/problem+json"]?.schema,
        { $ref: "#/components/schemas/Problem" },
        `${label}: ${status} is a problem`,
      );
    }
    assert(op.responses.default !== undefined, `${label}: the default problem`);
    if (op.parameters !== undefined || op.requestBody !== undefined) {
      assert(op.responses["400"] !== undefined, `${label}: documents 400`);
    }
    if (bodyOf(op) !== null) {
      for (const status of ["400", "413", "415"]) {
        assert(op.responses[status] !== undefined, `${label}: documents ${status}`);
      }
    }
  }
  await t.close();
});

Deno.test("a documented body schema is the JSON Schema of the zod schema that validates it", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const cases: [string, string, z.ZodType][] = [
    ["put", "/api/devices/{id}", REGISTRATION_SCHEMA],
    ["patch", "/api/devices/{id}/desired", DESIRED_PATCH_SCHEMA],
    ["post", "/api/devices/{id}/commands", COMMAND_SCHEMA],
    ["post", "/api/devices/{id}/commands/{cid}/status", STATUS_REPORT_SCHEMA],
    ["post", "/api/devices/{id}/telemetry", TELEMETRY_SCHEMA],
    ["put", "/api/edge-nodes/{id}", EDGE_REGISTRATION_SCHEMA],
    ["post", "/api/edge-nodes/{id}/heartbeat", EDGE_HEARTBEAT_SCHEMA],
    ["post", "/api/route", ROUTE_REQUEST_SCHEMA],
    ["put", "/api/terminals/{id}", SETTINGS_SCHEMA],
    ["put", "/api/terminals/{id}/cards", CARDS_SCHEMA],
    ["post", "/api/terminals/{id}/payments", PAYMENT_SCHEMA],
    ["post", "/api/sessions/{id}/events", EVENT_SCHEMA],
    ["post", "/api/sessions/{id}/checkout", CHECKOUT_SCHEMA],
    ["put", "/api/customers/{id}", PROFILE_SCHEMA],
  ];
  for (const [method, path, schema] of cases) {
    const { $schema: _, ...expected } = z.toJSONSchema(schema, {
      io: "input",
      unrepresentable: "any",
    });
    const documented = doc.paths[path]?.[method]?.requestBody?.content["application/json"]?.schema;
    assertEquals(documented, expected as Record<string, unknown>, `${method} ${path}`);
  }
  await t.close();
});

Deno.test("every documented example passes validation on its route", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  let checked = 0;
  for (const route of appRoutes(t)) {
    const op = operationOf(doc, route);
    const body = bodyOf(op);
    if (body === null) continue;
    const res = await send(t, route.method, concretePath(op, route), body.example);
    const text = await res.text();
    assert(
      res.status < 400 || (res.status === 404 || res.status === 503),
      `${route.method} ${route.path}: the example is valid (${res.status} ${text})`,
    );
    checked++;
  }
  assert(checked >= 12, `checked ${checked} examples`);
  await t.close();
});

Deno.test("security follows the configured tokens", async () => {
  const both = await testApp({ auth: { apiToken: API, readToken: READ } });
  let doc = await documentOf(both);
  const schemes = doc.components.securitySchemes;
  assertEquals(schemes.bearerAuth?.type, "http");
  assertEquals(schemes.bearerAuth?.scheme, "bearer");
  assertEquals(
    [schemes.accessToken?.type, schemes.accessToken?.in, schemes.accessToken?.name],
    ["apiKey", "query", "access_token"],
  );
  const telemetry = doc.paths["/api/devices/{id}/telemetry"]!.post!;
  assertEquals(telemetry.security, [{ bearerAuth: [] }]);
  assert(telemetry.responses["401"] !== undefined && telemetry.responses["403"] !== undefined);
  assertEquals(doc.paths["/api/devices/{id}"]!.get!.security, [
    { bearerAuth: [] },
    { accessToken: [] },
  ]);
  assertEquals(doc.paths["/api/events"]!.get!.security, [{ bearerAuth: [] }, { accessToken: [] }]);
  assertEquals(doc.paths["/healthz"]!.get!.security, []);
  assertEquals(doc.paths["/docs"]!.get!.security, []);
  await both.close();

  const apiOnly = await testApp({ auth: { apiToken: API } });
  doc = await documentOf(apiOnly);
  assertEquals(doc.paths["/api/devices/{id}"]!.get!.security, [], "reads are open");
  assertEquals(doc.paths["/api/devices/{id}/telemetry"]!.post!.security, [{ bearerAuth: [] }]);
  assertEquals(doc.paths["/api/devices/{id}/telemetry"]!.post!.responses["403"], undefined);
  await apiOnly.close();

  const open = await testApp();
  doc = await documentOf(open);
  assertEquals(doc.paths["/api/devices/{id}/telemetry"]!.post!.security, []);
  assertEquals(doc.paths["/api/devices/{id}/telemetry"]!.post!.responses["401"], undefined);
  await open.close();
});

Deno.test("the document and the page need no token", async () => {
  const t = await testApp({ auth: { apiToken: API, readToken: READ } });
  for (const path of ["/openapi.json", "/docs"]) {
    const res = await t.app.request(path);
    assertEquals(res.status, 200, path);
    await res.body?.cancel();
  }
  await t.close();
});

Deno.test("the SSE endpoint is documented as text/event-stream with its query and Last-Event-ID", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const op = doc.paths["/api/events"]!.get!;
  assert(op.responses["200"]?.content?.["text/event-stream"] !== undefined, "text/event-stream");
  const params = Object.fromEntries((op.parameters ?? []).map((p) => [`${p.in} ${p.name}`, p]));
  assertEquals(Object.keys(params).sort(), [
    "header Last-Event-ID",
    "query device",
    "query lastEventId",
    "query topics",
  ]);
  assertEquals(params["query topics"]!.schema.type, "array");
  assertEquals(params["query topics"]!.explode, true);
  assertEquals(op.tags, ["events"]);
  await t.close();
});

Deno.test("GET /docs renders every operation in one self-contained page", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const res = await t.app.request("/docs");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type")?.toLowerCase(), "text/html; charset=utf-8");
  const html = await res.text();
  assert(html.startsWith("<!doctype html>"), "a complete page");
  for (const route of appRoutes(t)) {
    const op = operationOf(doc, route);
    assert(html.includes(`id="${op.operationId}"`), `${op.operationId} has a section`);
    assert(html.includes(`href="#${op.operationId}"`), `${op.operationId} is in the index`);
    assert(html.includes(openApiPath(route.path)), `${route.path} is shown`);
  }
  for (const tag of doc.tags) assert(html.includes(`id="tag-${tag.name}"`), `tag ${tag.name}`);
  // Nothing from elsewhere: no scripts, no style sheets, fonts or images by URL.
  assert(!/<script/i.test(html), "no script");
  assert(!/<link/i.test(html), "no linked resources");
  assert(!/\b(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), "no external URL");
  assert(!/@import|url\(/i.test(html), "no CSS imports or URLs");
  // Schemas are rendered readably, with their constraints.
  assert(html.includes("readings</span>: {"), "the telemetry body's readings");
  assert(html.includes("/^[A-Za-z0-9_-]{1,128}$/"), "an id pattern");
  await t.close();
});
