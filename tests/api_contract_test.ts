/**
 * The HTTP contract across ALL routes: every route the app serves (enumerated from
 * `app.routes`, so a new route is covered without touching this file) answers bad input —
 * malformed JSON, other JSON types, wrong field types, unknown fields, a missing content type,
 * bodies over the limit, odd ids in every path parameter, bad query values — with a 4xx
 * `application/problem+json` body (never a 500), and writes nothing.
 */
import { HTTPException } from "hono/http-exception";
import { assert, assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { dumpStore } from "./helpers/payments.ts";
import {
  type App,
  appRoutes,
  bodyOf,
  concretePath,
  documentOf,
  METHODS,
  operationOf,
  paramNames,
  problemOf,
  send,
} from "./helpers/api.ts";
import type { JsonSchema } from "../routes/openapi.ts";
import { RESERVED_NAMES } from "../actors/devices/mod.ts";

/** Odd ids that stay one path segment: the route matches and the id check refuses them. */
const REFUSED_IDS: [string, string][] = [
  ["1000 characters", "a".repeat(1000)],
  ["129 characters", "a".repeat(129)],
  ["%2E%2E%2F", "%2E%2E%2F"],
  ["..%2F", "..%2F"],
  ["an encoded slash", "a%2Fb"],
  ["unicode", encodeURIComponent("설비")],
  ["raw unicode", "설비"],
  ["NUL", "%00"],
  ["a space", "%20"],
  ["a broken escape", "%E0%A4%A"],
  ["a quote and angle brackets", encodeURIComponent(`"><script>`)],
  ["a dot", "a.b.c.d"],
];

/** Odd ids that change the path itself: some other route, or none, answers. */
const STRAY_IDS: [string, string][] = [
  ["empty", ""],
  ["../", "../"],
  ["%2E%2E", "%2E%2E"],
];

/** Some state, so that "nothing written" means something. */
async function seed(t: App): Promise<void> {
  const ok = async (method: string, path: string, body: unknown) => {
    const res = await send(t, method, path, body);
    const text = await res.text();
    assert(res.status < 300, `seed ${method} ${path}: ${res.status} ${text}`);
  };
  await ok("PUT", "/api/devices/x1", { type: "robot" });
  await ok("POST", "/api/devices/x1/telemetry", { readings: { temperature: 20 } });
  await ok("PUT", "/api/edge-nodes/x1", {
    tier: "edge",
    location: { lat: 37.5, lon: 127 },
    capabilities: ["inference"],
  });
  await ok("PUT", "/api/terminals/x1", { timezone: "Asia/Seoul", online: true });
  await ok("PUT", "/api/customers/x1", { creditLimit: 1000, riskScore: 0.1, creditScore: 0.9 });
  await ok("PUT", "/api/inventory/sku-1", { available: 5 });
  await t.system.idle();
}

/** Runs `check` between two snapshots of the store and asserts they are equal. */
async function writesNothing(t: App, check: () => Promise<void>): Promise<void> {
  await seed(t);
  const before = await dumpStore(t.store);
  await check();
  await t.system.idle();
  assertEquals(await dumpStore(t.store), before, "nothing written");
}

/** The JSON types a schema accepts (`null` when it accepts anything). */
function jsonTypes(schema: JsonSchema): Set<string> | null {
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(union)) {
    const all = new Set<string>();
    for (const member of union) {
      const types = jsonTypes(member);
      if (types === null) return null;
      for (const type of types) all.add(type);
    }
    return all;
  }
  if (Array.isArray(schema.enum)) {
    return new Set(schema.enum.map((v) => v === null ? "null" : typeof v));
  }
  const type = schema.type;
  if (typeof type === "string") {
    return new Set([type === "integer" ? "number" : type]);
  }
  if (Array.isArray(type)) {
    return new Set((type as string[]).map((t) => t === "integer" ? "number" : t));
  }
  return null;
}

function jsonType(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

const WRONG_VALUES: unknown[] = [true, { nested: 1 }, [1, 2], 12345, "text", null];

Deno.test("every route refuses odd ids in each path parameter with a 4xx problem, writing nothing", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const routes = appRoutes(t).filter((r) => paramNames(r.path).length > 0);
  assert(routes.length >= 20, `found the routes with parameters (${routes.length})`);
  let checked = 0;
  await writesNothing(t, async () => {
    for (const route of routes) {
      const op = operationOf(doc, route);
      const body = bodyOf(op)?.example ?? (route.method === "GET" ? undefined : {});
      for (const name of paramNames(route.path)) {
        for (const [what, id] of REFUSED_IDS) {
          const path = concretePath(op, route, { [name]: id });
          const label = `${route.method} ${route.path} with ${name} ${what}`;
          const problem = await problemOf(
            await send(t, route.method, path, body),
            400,
            "invalid_input",
            label,
          );
          assertEquals(problem.errors?.[0]?.path, name, `${label}: names the parameter`);
          checked++;
        }
        for (const [what, id] of STRAY_IDS) {
          const path = concretePath(op, route, { [name]: id });
          const label = `${route.method} ${route.path} with ${name} ${what}`;
          await problemOf(await send(t, route.method, path, body), "4xx", null, label);
          checked++;
        }
      }
    }
  });
  assert(checked > 300, `checked ${checked} requests`);
  await t.close();
});

Deno.test("every route with a JSON body refuses malformed JSON with a 400 problem, writing nothing", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const routes = appRoutes(t).filter((r) => bodyOf(operationOf(doc, r)) !== null);
  assert(routes.length >= 12, `found the routes with a body (${routes.length})`);
  await writesNothing(t, async () => {
    for (const route of routes) {
      const path = concretePath(operationOf(doc, route), route);
      for (
        const text of ['{"readings":', "", "   ", "{'a': 1}", '{"a": 1}}', "[1,]", "\u0000", "NaN"]
      ) {
        await problemOf(
          await send(t, route.method, path, text),
          400,
          "malformed_json",
          `${route.method} ${route.path} with ${JSON.stringify(text)}`,
        );
      }
    }
  });
  await t.close();
});

Deno.test("every route with a JSON body refuses other JSON types and wrong field types, writing nothing", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const routes = appRoutes(t).filter((r) => bodyOf(operationOf(doc, r)) !== null);
  let fields = 0;
  await writesNothing(t, async () => {
    for (const route of routes) {
      const op = operationOf(doc, route);
      const path = concretePath(op, route);
      const { schema, example } = bodyOf(op)!;
      const label = `${route.method} ${route.path}`;
      // Not the body's JSON type at all.
      const accepted = jsonTypes(schema);
      for (const value of [[], null, 42, "text", true, {}, [example]]) {
        if (accepted?.has(jsonType(value)) && jsonType(value) !== "object") continue;
        if (jsonType(value) === "object" && !(schema.required as string[] | undefined)?.length) {
          continue;
        }
        await problemOf(
          await send(t, route.method, path, JSON.stringify(value)),
          400,
          "invalid_input",
          `${label} with ${JSON.stringify(value)}`,
        );
      }
      // Each documented field with a value of a type it does not take.
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      for (const [field, property] of Object.entries(properties)) {
        const types = jsonTypes(property);
        if (types === null) continue;
        const wrong = WRONG_VALUES.find((v) => !types.has(jsonType(v)));
        assert(wrong !== undefined, `${label}: a wrong value for ${field}`);
        const problem = await problemOf(
          await send(t, route.method, path, { ...(example as object), [field]: wrong }),
          400,
          "invalid_input",
          `${label} with ${field}: ${JSON.stringify(wrong)}`,
        );
        assert(
          problem.errors!.some((e) => e.path === field || e.path.startsWith(`${field}.`)),
          `${label}: names ${field} (${JSON.stringify(problem.errors)})`,
        );
        fields++;
      }
      // A field the schema does not know.
      if (schema.additionalProperties === false) {
        await problemOf(
          await send(t, route.method, path, { ...(example as object), unexpectedField: 1 }),
          400,
          "invalid_input",
          `${label} with an unknown field`,
        );
      }
      // Nested junk: deep arrays, prototype keys.
      await problemOf(
        await send(t, route.method, path, '{"__proto__": {"polluted": true}, "a": [[[[[[1]]]]]]}'),
        400,
        "invalid_input",
        `${label} with __proto__`,
      );
      assertEquals(({} as Record<string, unknown>).polluted, undefined, "no prototype pollution");
    }
  });
  assert(fields >= 30, `checked ${fields} fields`);
  await t.close();
});

Deno.test("every route with a JSON body needs a JSON content type (415), writing nothing", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const routes = appRoutes(t).filter((r) => bodyOf(operationOf(doc, r)) !== null);
  await writesNothing(t, async () => {
    for (const route of routes) {
      const op = operationOf(doc, route);
      const path = concretePath(op, route);
      const text = JSON.stringify(bodyOf(op)!.example);
      for (const type of [null, "text/plain", "application/x-www-form-urlencoded", "json"]) {
        const res = await t.app.request(path, {
          method: route.method,
          headers: type === null ? {} : { "Content-Type": type },
          body: text,
        });
        await problemOf(
          res,
          415,
          "unsupported_media_type",
          `${route.method} ${route.path} with ${type}`,
        );
      }
    }
  });
  await t.close();
});

Deno.test("every mutating route refuses a body over 64 KiB with a 413 problem, writing nothing", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  const routes = appRoutes(t).filter((r) => r.method !== "GET" && r.path.startsWith("/api/"));
  assert(routes.length >= 15, `found the mutating routes (${routes.length})`);
  const huge = JSON.stringify({ pad: "x".repeat(65_536) });
  await writesNothing(t, async () => {
    for (const route of routes) {
      const path = concretePath(operationOf(doc, route), route);
      const label = `${route.method} ${route.path}`;
      await problemOf(
        await send(t, route.method, path, huge),
        413,
        "payload_too_large",
        `${label}, streamed`,
      );
      await problemOf(
        await send(t, route.method, path, huge, { "Content-Length": String(huge.length) }),
        413,
        "payload_too_large",
        `${label}, with Content-Length`,
      );
    }
  });
  await t.close();
});

/** A value the query parameter's schema refuses, or `null` when it takes any string. */
function badQueryValue(schema: JsonSchema): string | null {
  const item = schema.type === "array" ? (schema.items ?? {}) as JsonSchema : schema;
  if (item.type === "integer" || item.type === "number") return "1e3";
  if (Array.isArray(item.enum)) return "not-one-of-them";
  if (typeof item.pattern === "string") {
    const pattern = new RegExp(item.pattern);
    return ["../", "설비", "\u0000", "x".repeat(1000)].find((v) => !pattern.test(v)) ?? null;
  }
  if (typeof item.maxLength === "number") return "x".repeat(item.maxLength + 1);
  return null;
}

Deno.test("every route with query parameters refuses unknown, repeated and bad ones with 400 problems", async () => {
  const t = await testApp();
  const doc = await documentOf(t);
  let checked = 0;
  await writesNothing(t, async () => {
    for (const route of appRoutes(t)) {
      const op = operationOf(doc, route);
      const query = op.parameters?.filter((p) => p.in === "query") ?? [];
      if (query.length === 0) continue;
      // The SSE stream (served by events.ts) ignores unknown and repeated parameters: it would
      // answer and stay open. Only its bad values are checked here; the rest is sse_test's.
      const stream = op.responses["200"]?.content?.["text/event-stream"] !== undefined;
      const path = concretePath(op, route);
      const label = `${route.method} ${route.path}`;
      if (!stream) {
        const unknown = await problemOf(
          await t.app.request(`${path}?unexpectedParam=1`, { method: route.method }),
          400,
          "invalid_input",
          `${label} with an unknown parameter`,
        );
        assertEquals(unknown.errors?.[0]?.path, "unexpectedParam");
      }
      for (const p of query) {
        const bad = badQueryValue(p.schema);
        if (bad !== null) {
          const problem = await problemOf(
            await t.app.request(`${path}?${p.name}=${encodeURIComponent(bad)}`, {
              method: route.method,
            }),
            400,
            "invalid_input",
            `${label} with ${p.name}=${JSON.stringify(bad.slice(0, 20))}`,
          );
          assert(
            stream ||
              problem.errors!.some((e) => e.path === p.name || e.path.startsWith(`${p.name}.`)),
            `${label}: names ${p.name}`,
          );
          checked++;
        }
        if (p.schema.type !== "array" && !stream) {
          await problemOf(
            await t.app.request(`${path}?${p.name}=1&${p.name}=2`, { method: route.method }),
            400,
            "invalid_input",
            `${label} with ${p.name} twice`,
          );
        }
      }
    }
  });
  assert(checked >= 10, `checked ${checked} parameters`);
  await t.close();
});

Deno.test("unknown paths are 404 problems; a known path's other methods 405 problems with Allow", async () => {
  const t = await testApp();
  for (
    const path of [
      "/api/nothing",
      "/nothing",
      "/api/devices/x1/unknown",
      "/api/devices/x1/telemetry/extra",
      "/api/devices/",
      "/api//devices",
      "/api/devices/x1/",
      "/API/devices",
    ]
  ) {
    await problemOf(await t.app.request(path), 404, "not_found", `GET ${path}`);
  }
  const methods = new Map<string, Set<string>>();
  for (const route of appRoutes(t)) {
    if (!methods.has(route.path)) methods.set(route.path, new Set());
    methods.get(route.path)!.add(route.method);
  }
  const doc = await documentOf(t);
  let checked = 0;
  for (const [path, allowed] of methods) {
    const op = operationOf(doc, { method: [...allowed][0]!, path });
    const concrete = concretePath(op, { method: "GET", path });
    const expected = [...allowed, ...(allowed.has("GET") ? ["HEAD"] : [])].sort();
    for (const method of [...METHODS, "OPTIONS"]) {
      if (allowed.has(method)) continue;
      const res = await t.app.request(concrete, { method });
      assertEquals(
        res.headers.get("allow")?.split(", ").sort(),
        expected,
        `${method} ${path}: Allow`,
      );
      await problemOf(res, 405, "method_not_allowed", `${method} ${path}`);
      checked++;
    }
  }
  assert(checked >= 60, `checked ${checked} methods`);
  // HEAD of a GET route answers like GET, without a body.
  const head = await t.app.request("/healthz", { method: "HEAD" });
  assertEquals(head.status, 200);
  assertEquals(await head.text(), "");
  await t.close();
});

Deno.test("an unexpected error is a 500 problem that shows no internals; Hono's errors get codes", async () => {
  const t = await testApp();
  // Routes added before the first request (Hono builds its matcher then).
  t.app.get("/api/boom", () => {
    throw new Error("secret: the password is hunter2");
  });
  const statuses = [[400, "bad_request"], [401, "unauthorized"], [
    413,
    "payload_too_large",
  ]] as const;
  for (const [status] of statuses) {
    t.app.get(`/api/hono-${status}`, () => {
      throw new HTTPException(status);
    });
  }
  const problem = await problemOf(
    await t.app.request("/api/boom"),
    500,
    "internal",
    "GET /api/boom",
  );
  assert(!JSON.stringify(problem).includes("hunter2"), "the error's message stays in the log");
  // Hono's own errors (HTTPException, thrown by its middleware) get the code of their status.
  for (const [status, code] of statuses) {
    await problemOf(
      await t.app.request(`/api/hono-${status}`),
      status,
      code,
      `HTTPException ${status}`,
    );
  }
  await t.close();
});

Deno.test("with authentication on, access_token is the token's, never a route's unknown parameter", async () => {
  const read = "read-token-0123456789abcdef";
  const t = await testApp({ auth: { apiToken: "api-token-0123456789abcdef", readToken: read } });
  for (
    const path of [
      "/api/alerts",
      "/api/devices?limit=1",
      "/api/edge-nodes",
      "/api/quality",
      "/api/rollups",
    ]
  ) {
    const url = `${path}${path.includes("?") ? "&" : "?"}access_token=${read}`;
    const res = await t.app.request(url);
    assertEquals(res.status, 200, `GET ${url}: ${await res.text()}`);
  }
  await t.close();
});

Deno.test("names every JavaScript object has are refused as sensor names, never a crash", async () => {
  const t = await testApp();
  assertEquals(
    [...RESERVED_NAMES].sort(),
    Object.getOwnPropertyNames(Object.prototype).sort(),
    "the list covers Object.prototype",
  );
  await writesNothing(t, async () => {
    for (const name of RESERVED_NAMES) {
      const body = `{"readings": {${JSON.stringify(name)}: 1, "t": 2}}`;
      await problemOf(await t.post("x1", body), 400, "invalid_input", `telemetry ${name}`);
      await problemOf(
        await send(t, "PUT", "/api/devices/x2", { type: "robot", sensors: [name] }),
        400,
        "invalid_input",
        `registration ${name}`,
      );
      await problemOf(
        await t.app.request(`/api/devices/x1/history?sensor=${name}`),
        400,
        "invalid_input",
        `history ${name}`,
      );
    }
  });
  // Other names that merely contain them are fine.
  assertEquals((await t.post("x1", { readings: { constructor_temp: 1 } })).status, 202);
  await t.close();
});
