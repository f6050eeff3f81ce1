/**
 * The worked example of CONTRIBUTING.md (`docs/examples/counters/`) compiles and does what the
 * guide says: its pure rule, its actor persisting before it replies and emits, its routes
 * validating with their schemas, its error rendered as a problem, its operations in the OpenAPI
 * document — mounted the way `routes/app.ts` mounts an area.
 */
import { Hono } from "hono";
import {
  actors,
  addTo,
  counter,
  CounterFullError,
  emptyCounter,
  resolveCountersConfig,
} from "../docs/examples/counters/mod.ts";
import { counterRoutes } from "../docs/examples/counters/routes.ts";
import { openApiDocument } from "../routes/openapi.ts";
import { renderError } from "../routes/problem.ts";
import { ApiRegistry } from "../routes/spec.ts";
import { type BusEvent, ConfigError, MemoryStore, type ResetNotice } from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { setup } from "./helpers/system.ts";

Deno.test("counters example: the pure rule adds, or refuses past the maximum and changes nothing", () => {
  const state = emptyCounter();
  addTo(state, 3, 5, 1000);
  assertEquals(state, { count: 3, changedAt: 1000 });
  const error = assertThrows(() => addTo(state, 3, 5, 2000), CounterFullError);
  assertEquals([error.code, error.status], ["counter_full", 409]);
  assertEquals(state, { count: 3, changedAt: 1000 });
  assertThrows(() => resolveCountersConfig({ max: 0 }), ConfigError, "counters.max=0");
});

/** The example's area in a system on a manual clock, its routes mounted as app.ts does. */
async function exampleApp(store = new MemoryStore()) {
  const { system, clock } = setup(actors({ max: 5 }), { store, now: 1000, logs: "discard" });
  await system.start();
  const api = new ApiRegistry();
  const app = new Hono();
  const deps = {
    system,
    events: system.events,
    metrics: system.metrics,
    logger: system.logger,
    clock,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    auth: null,
  };
  api.mount(app, "/api", counterRoutes(deps));
  app.onError((error, c) => renderError(error, c, system.logger));
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
    });
    return { status: res.status, type: res.headers.get("content-type"), json: await res.json() };
  };
  return { system, api, send };
}

Deno.test("counters example: the routes validate, answer once durable, and render errors as problems", async () => {
  const store = new MemoryStore();
  const { system, send } = await exampleApp(store);
  const events: (BusEvent | ResetNotice)[] = [];
  system.events.subscribe({ topics: ["counters"] }, (e) => events.push(e));

  const added = await send("POST", "/api/counters/c-1/add", { n: 2 });
  assertEquals(added, {
    status: 200,
    type: "application/json",
    json: { id: "c-1", count: 2, changedAt: 1000 },
  });
  assertEquals((await store.get("a/counter/c-1"))?.version, 1, "durable before the reply");
  assertEquals(events.map((e) => "reset" in e ? "reset" : e.data), [{ id: "c-1", count: 2 }]);
  assertEquals((await send("GET", "/api/counters/c-1")).json.count, 2);

  const invalid = await send("POST", "/api/counters/c-1/add", { n: 0 });
  assertEquals([invalid.status, invalid.json.code], [400, "invalid_input"]);
  assertEquals(invalid.json.errors[0].path, "n");
  const full = await send("POST", "/api/counters/c-1/add", { n: 4 });
  assertEquals(full.status, 409);
  assertEquals(full.type, "application/problem+json; charset=utf-8");
  assertEquals([full.json.type, full.json.code], [
    "urn:flotilla:problem:counter_full",
    "counter_full",
  ]);
  const missing = await send("GET", "/api/counters/never");
  assertEquals([missing.status, missing.json.code], [404, "not_found"]);
  assertEquals((await send("GET", "/api/counters/c-1")).json.count, 2, "refusals changed nothing");
  assert(await system.shutdown());

  // A new system on the same store: the count survived.
  const again = await exampleApp(store);
  assertEquals((await again.send("GET", "/api/counters/c-1")).json.count, 2);
  assertEquals(await again.system.ref(counter, "c-1").ask("get"), {
    id: "c-1",
    count: 2,
    changedAt: 1000,
  });
  assert(await again.system.shutdown());
});

Deno.test("counters example: the document shows the routes with the schemas that validate them", async () => {
  const { system, api } = await exampleApp();
  const doc = openApiDocument(api, { auth: null });
  const add = doc.paths["/api/counters/{id}/add"]?.post;
  assert(add !== undefined, "POST /api/counters/{id}/add is documented");
  assertEquals(add.tags, ["counters"]);
  const body = add.requestBody as { content: Record<string, { schema: Record<string, unknown> }> };
  const schema = body.content["application/json"]!.schema;
  assertEquals(schema.required, ["n"]);
  assertEquals(schema.additionalProperties, false);
  assertEquals((schema.properties as Record<string, unknown>).n, {
    type: "integer",
    minimum: 1,
    maximum: 100,
    description: "how much to add, 1-100",
  });
  assert(doc.paths["/api/counters/{id}"]?.get !== undefined, "GET /api/counters/{id}");
  assert(await system.shutdown());
});

Deno.test("counters example: the code CONTRIBUTING.md shows is the example's code", async () => {
  const guide = await Deno.readTextFile(new URL("../CONTRIBUTING.md", import.meta.url));
  const dir = new URL("../docs/examples/counters/", import.meta.url);
  const lines = new Set<string>();
  for await (const entry of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    for (const line of text.split("\n")) lines.add(line.trim());
  }
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert(blocks.length >= 4, `the guide shows the example's code (${blocks.length} blocks)`);
  for (const block of blocks) {
    for (const raw of block.split("\n")) {
      // A trailing comment explains the line in the guide; the rest must be the example's.
      const line = raw.replace(/\s+\/\/ .*$/, "").trim();
      if (line === "") continue;
      assert(lines.has(line), `CONTRIBUTING.md shows a line the example lacks: ${line}`);
    }
  }
});
