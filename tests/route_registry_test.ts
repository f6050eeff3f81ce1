/**
 * The route registry on its own (`routes/spec.ts`): the order inputs are checked in, the query
 * conventions, what a handler receives, and what the registry records.
 */
import { Hono } from "hono";
import { z } from "zod";
import { renderError } from "../routes/problem.ts";
import { ApiRegistry, ApiRoutes, joinPath } from "../routes/spec.ts";
import { createLogger } from "../runtime/mod.ts";
import { assertEquals, assertThrows } from "./helpers/assert.ts";

const logger = createLogger({ level: "error", write: () => {} });

function fixture() {
  const seen: unknown[] = [];
  const routes = new ApiRoutes("things", "Things.");
  routes.add({
    method: "put",
    path: "/things/:id",
    summary: "Put a thing",
    params: z.strictObject({ id: z.string().regex(/^[a-z]{1,8}$/, "lower-case letters") }),
    body: z.strictObject({ n: z.number() }),
    responses: { 200: { description: "the thing" } },
  }, (c, input) => {
    seen.push(input);
    return c.json({ ok: true });
  });
  routes.add({
    method: "get",
    path: "/things",
    summary: "List things",
    query: z.strictObject({
      tag: z.array(z.enum(["a", "b", "c"])).optional(),
      limit: z.preprocess(
        (v) => typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v,
        z.number().int().min(1).max(10),
      ).default(5),
      name: z.string().optional(),
    }),
    headers: z.object({ "X-Trace": z.string().max(8).optional() }),
    responses: { 200: { description: "things" } },
  }, (c, input) => {
    seen.push(input);
    return c.json({ ok: true });
  });
  routes.add({
    method: "post",
    path: "/things/:id/poke",
    summary: "Poke",
    params: z.strictObject({ id: z.string() }),
    responses: { 200: { description: "poked" } },
  }, (c, input) => {
    seen.push(input);
    return c.json({ ok: true });
  });
  const app = new Hono();
  const registry = new ApiRegistry();
  registry.mount(app, "/api", routes);
  app.onError((error, c) => renderError(error, c, logger));
  return { app, registry, seen };
}

async function problem(
  res: Response,
): Promise<{ code: string; errors?: { path: string; message: string }[] }> {
  assertEquals(res.headers.get("content-type"), "application/problem+json; charset=utf-8");
  return await res.json();
}

Deno.test("registry checks path parameters before it reads the body", async () => {
  const { app, seen } = fixture();
  const res = await app.request("/api/things/BAD", {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: "{not json",
  });
  assertEquals(res.status, 400);
  const body = await problem(res);
  assertEquals([body.code, body.errors?.[0]?.path], ["invalid_input", "id"]);
  const ok = await app.request("/api/things/abc", {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: '{"n": 1}',
  });
  assertEquals(ok.status, 200);
  assertEquals(seen, [{
    params: { id: "abc" },
    query: undefined,
    headers: undefined,
    body: { n: 1 },
  }]);
});

Deno.test("registry query conventions: lists, empty values, repeats, unknown names, access_token", async () => {
  const { app, seen } = fixture();
  const get = async (query: string) => await app.request(`/api/things?${query}`);
  assertEquals((await get("tag=a,b&tag=c&limit=3&name=&access_token=secret")).status, 200);
  assertEquals(seen.pop(), {
    params: undefined,
    query: { tag: ["a", "b", "c"], limit: 3 },
    headers: {},
    body: undefined,
  });
  assertEquals((await get("")).status, 200);
  assertEquals((seen.pop() as { query: unknown }).query, { limit: 5 }, "the default");

  let res = await get("limit=2&limit=3");
  assertEquals(res.status, 400);
  assertEquals((await problem(res)).errors?.[0]?.path, "limit");
  res = await get("limt=2");
  assertEquals(res.status, 400);
  assertEquals((await problem(res)).errors, [{
    path: "limt",
    message: "unknown parameter; use tag, limit, name",
  }]);
  res = await get("tag=a,z");
  assertEquals(res.status, 400);
  assertEquals((await problem(res)).errors?.[0]?.path, "tag.1");
  res = await get("limit=1e1");
  assertEquals(res.status, 400);
  // A route that declares no query does not read it.
  const poke = await app.request("/api/things/x/poke?anything=1", { method: "POST" });
  assertEquals(poke.status, 200);
  assertEquals(seen.pop(), {
    params: { id: "x" },
    query: undefined,
    headers: undefined,
    body: undefined,
  });
});

Deno.test("registry checks declared headers", async () => {
  const { app, seen } = fixture();
  const ok = await app.request("/api/things", { headers: { "X-Trace": "t1" } });
  assertEquals(ok.status, 200);
  assertEquals((seen.pop() as { headers: unknown }).headers, { "X-Trace": "t1" });
  const bad = await app.request("/api/things", { headers: { "X-Trace": "much-too-long" } });
  assertEquals(bad.status, 400);
  assertEquals((await problem(bad)).errors?.[0]?.path, "X-Trace");
});

Deno.test("registry records full paths, refuses a route declared twice, knows allowed methods", () => {
  const { registry } = fixture();
  assertEquals(registry.operations.map((o) => `${o.method} ${o.path}`), [
    "put /api/things/:id",
    "get /api/things",
    "post /api/things/:id/poke",
  ]);
  assertEquals(registry.allowedMethods("/api/things/abc"), ["PUT"]);
  assertEquals(registry.allowedMethods("/api/things").sort(), ["GET", "HEAD"]);
  assertEquals(registry.allowedMethods("/api/things/a/b"), []);
  const again = new ApiRoutes("things", "Things.");
  again.add(
    { method: "get", path: "/things", summary: "Again", responses: { 200: { description: "" } } },
    (c) => c.json({}),
  );
  assertThrows(() => registry.mount(new Hono(), "/api", again), Error, "declared twice");
  assertEquals(joinPath("/", "/healthz"), "/healthz");
  assertEquals(joinPath("/api/devices", "/"), "/api/devices");
  assertEquals(joinPath("/api", "/route"), "/api/route");
});
