import { sameSecret } from "../routes/auth.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";

const API = "api-token-0123456789abcdef";
const READ = "read-token-0123456789abcdef";

/** Every route of the app, as `[method, concrete path]` with sample ids for its parameters. */
function routesOf(app: { routes: { method: string; path: string }[] }): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const { method, path } of app.routes) {
    if (method === "ALL" || !path.startsWith("/api/")) continue;
    const concrete = path.replace(/:[A-Za-z]+/g, "x1");
    const key = `${method} ${concrete}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([method, concrete]);
  }
  return out;
}

Deno.test("every mutating route needs the API token: 401 without, 403 with the read-only token", async () => {
  const t = await testApp({ auth: { apiToken: API, readToken: READ } });
  const writes = routesOf(t.app).filter(([m]) => m !== "GET");
  assert(writes.length >= 15, `found the mutating routes (${writes.length})`);
  for (const [method, path] of writes) {
    const init = { method, headers: { "Content-Type": "application/json" }, body: "{}" };
    const none = await t.app.request(path, init);
    assertEquals(none.status, 401, `${method} ${path} without a token`);
    assertEquals((await none.json()).code, "unauthorized");
    assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="flotilla"');

    const wrong = await t.app.request(path, {
      ...init,
      headers: { ...init.headers, Authorization: "Bearer nope" },
    });
    assertEquals(wrong.status, 401, `${method} ${path} with a wrong token`);
    await wrong.body?.cancel();

    const read = await t.app.request(path, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${READ}` },
    });
    assertEquals(read.status, 403, `${method} ${path} with the read-only token`);
    assertEquals((await read.json()).code, "forbidden");

    // With the API token the route itself answers (whatever it thinks of the body).
    const ok = await t.app.request(path, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${API}` },
    });
    assert(
      ok.status !== 401 && ok.status !== 403,
      `${method} ${path} with the API token: ${ok.status}`,
    );
    await ok.body?.cancel();
  }
  await t.close();
});

Deno.test("reads need a token when a read-only token is configured, by header or access_token", async () => {
  const t = await testApp({ auth: { apiToken: API, readToken: READ } });
  assertEquals((await t.app.request("/api/devices/d1")).status, 401);
  const byHeader = await t.app.request("/api/devices/d1", {
    headers: { Authorization: `Bearer ${READ}` },
  });
  assertEquals(byHeader.status, 404, "authorised (the device does not exist)");
  await byHeader.body?.cancel();
  const byQuery = await t.app.request(`/api/devices/d1?access_token=${READ}`);
  assertEquals(byQuery.status, 404);
  await byQuery.body?.cancel();
  const apiToo = await t.app.request("/api/devices/d1", {
    headers: { Authorization: `Bearer ${API}` },
  });
  assertEquals(apiToo.status, 404);
  await apiToo.body?.cancel();
  // A write never takes the token from the query string.
  const write = await t.app.request(`/api/devices/d1/telemetry?access_token=${API}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ readings: { t: 1 } }),
  });
  assertEquals(write.status, 401);
  await write.body?.cancel();
  // Health, readiness and metrics stay open.
  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    const res = await t.app.request(path);
    assertEquals(res.status, 200, path);
    await res.body?.cancel();
  }
  await t.close();
});

Deno.test("without a read-only token, reads are open and writes still need the API token", async () => {
  const t = await testApp({ auth: { apiToken: API } });
  const read = await t.app.request("/api/devices/d1");
  assertEquals(read.status, 404);
  await read.body?.cancel();
  const write = await t.post("d1", { readings: { t: 1 } });
  assertEquals(write.status, 401);
  await write.body?.cancel();
  const authorised = await t.post("d1", { readings: { t: 1 } }, { Authorization: `Bearer ${API}` });
  assertEquals(authorised.status, 202);
  await authorised.body?.cancel();
  await t.close();
});

Deno.test("sameSecret compares whole secrets only", () => {
  assert(sameSecret("abc", "abc"));
  assert(!sameSecret("abc", "abd"));
  assert(!sameSecret("ab", "abc"));
  assert(!sameSecret("abcd", "abc"));
  assert(!sameSecret("", "abc"));
});
