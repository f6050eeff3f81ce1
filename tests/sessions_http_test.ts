/**
 * The HTTP contract of customer sessions, checkout, inventory and profiles: what a new user
 * does with curl, and bad inputs (a problem, never a 500, never a partial write).
 */
import { testApp } from "./helpers/app.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const PROBLEM = "application/problem+json; charset=utf-8";
type App = Awaited<ReturnType<typeof testApp>>;

function call(t: App, method: string, path: string, body?: unknown, type = "application/json") {
  return t.app.request(path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": type },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function problemOf(res: Response, status: number, code: string) {
  assertEquals(res.status, status, `status for ${code}`);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  const body = await res.json();
  assertEquals(body.code, code);
  assert(!JSON.stringify(body).includes("    at "), "no stack trace");
  return body;
}

Deno.test("HTTP sessions: events in, patterns and sessions out, the alert raised", async () => {
  const t = await testApp();
  const now = t.clock.now();
  for (let i = 0; i < 5; i++) {
    const res = await call(t, "POST", "/api/sessions/c-1/events", {
      type: "login",
      ts: new Date(now - 10_000 + i * 1000).toISOString(),
      properties: { location: { lat: 37.5665, lon: 126.978 }, device: "phone" },
    });
    assertEquals(res.status, 202);
    const receipt = await res.json();
    assertEquals([receipt.customer, receipt.status], ["c-1", "accepted"]);
  }
  let res = await call(t, "POST", "/api/sessions/c-1/events", {
    type: "page_view",
    properties: { page: "/home" },
  });
  assertEquals((await res.json()).status, "accepted", "ts defaults to the receive time");
  res = await call(t, "POST", "/api/sessions/c-1/events", { type: "login", ts: now - 60_000 });
  assertEquals((await res.json()).status, "late");

  res = await call(t, "GET", "/api/sessions/c-1");
  assertEquals(res.status, 200);
  const view = await res.json();
  assertEquals([view.events, view.late, view.pending], [6, 1, 1]);
  assertEquals(
    view.matches.map((m: { pattern: string; severity: string }) => [m.pattern, m.severity]),
    [
      ["RAPID_LOGIN_ATTEMPTS", "high"],
    ],
  );
  assertEquals(view.current[0].eventTypes, { login: 5, page_view: 1 });
  assertEquals(view.current[0].uniquePages, 1);

  await t.system.idle();
  const alerts = await (await call(t, "GET", "/api/alerts?device=c-1")).json();
  assertEquals(alerts.alerts.map((a: { id: string; type: string }) => [a.id, a.type]), [
    ["session.c-1.1", "RAPID_LOGIN_ATTEMPTS"],
  ]);
  await t.close();
});

Deno.test("HTTP sessions: the idle watermark closes a session without another event", async () => {
  const t = await testApp();
  await call(t, "POST", "/api/sessions/c-2/events", {
    type: "page_view",
    properties: { page: "/a" },
  });
  t.clock.advance(30 * 60_000 + 5000);
  await t.system.idle();
  const view = await (await call(t, "GET", "/api/sessions/c-2")).json();
  assertEquals([view.current.length, view.closed.length, view.closed[0].eventCount], [0, 1, 1]);
  await t.close();
});

Deno.test("HTTP customers: a profile drives the risk of transactions", async () => {
  const t = await testApp();
  let res = await call(t, "PUT", "/api/customers/c-3", {
    creditLimit: 1000,
    riskScore: 0.9,
    creditScore: 0.2,
    timezone: "Asia/Seoul",
  });
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    customer: "c-3",
    creditLimit: 1000,
    riskScore: 0.9,
    creditScore: 0.2,
    timezone: "Asia/Seoul",
  });
  res = await call(t, "GET", "/api/customers/c-3");
  assertEquals((await res.json()).creditScore, 0.2);
  // 2026-11-23T12:00Z is 21:00 in Seoul: not an unusual hour.
  res = await call(t, "POST", "/api/sessions/c-3/events", {
    type: "transaction",
    properties: { amount: 900 },
  });
  assertEquals((await res.json()).risk, {
    score: 70,
    factors: ["HIGH_AMOUNT", "HIGH_RISK_USER"],
    reviewRequired: true,
    hour: 21,
  });
  await problemOf(await call(t, "GET", "/api/customers/nobody"), 404, "not_found");
  await t.close();
});

Deno.test("HTTP checkout: inventory, total, approval, all or nothing, idempotent", async () => {
  const t = await testApp();
  assertEquals((await call(t, "PUT", "/api/inventory/milk", { available: 5 })).status, 200);
  assertEquals(await (await call(t, "PUT", "/api/inventory/tv", { available: 1 })).json(), {
    sku: "tv",
    available: 1,
  });
  await call(t, "PUT", "/api/customers/c-4", {
    creditLimit: 500_000,
    riskScore: 0.1,
    creditScore: 0.2,
  });

  let res = await call(t, "POST", "/api/sessions/c-4/checkout", {
    items: [{ sku: "milk", price: 2500, quantity: 6 }, { sku: "bread", price: 3000, quantity: 1 }],
  });
  assertEquals(res.status, 200);
  let body = await res.json();
  assertEquals([body.status, body.total, body.unavailable], ["inventory_error", 18_000, [
    { sku: "milk", requested: 6, available: 5 },
    { sku: "bread", requested: 1, available: 0 },
  ]]);
  assertEquals(body.risk, null, "nothing was bought");

  res = await call(t, "POST", "/api/sessions/c-4/checkout", {
    items: [{ sku: "tv", price: 100_001, quantity: 1 }],
  });
  body = await res.json();
  assertEquals([body.status, body.total, body.applied], ["approval_required", 100_001, false]);
  assertEquals((await (await call(t, "GET", "/api/inventory/tv")).json()).available, 1);

  // Exactly 100,000 with a credit score of 0.2: not above the approval total.
  const basket = {
    checkoutId: "basket-1",
    items: [{ sku: "milk", price: 1250, quantity: 2 }, { sku: "tv", price: 97_500, quantity: 1 }],
  };
  res = await call(t, "POST", "/api/sessions/c-4/checkout", basket);
  body = await res.json();
  assertEquals([body.checkoutId, body.status, body.total, body.applied, body.replayed], [
    "basket-1",
    "approved",
    100_000,
    true,
    false,
  ]);
  assertEquals(body.risk.factors, [], "100,000 is within 80 % of the 500,000 limit");
  res = await call(t, "POST", "/api/sessions/c-4/checkout", basket);
  assertEquals((await res.json()).replayed, true);
  assertEquals(
    (await (await call(t, "GET", "/api/inventory/milk")).json()).available,
    3,
    "taken once",
  );
  assertEquals((await (await call(t, "GET", "/api/inventory/tv")).json()).available, 0);

  const view = await (await call(t, "GET", "/api/sessions/c-4")).json();
  assertEquals(view.checkouts.map((c: { status: string }) => c.status), [
    "inventory_error",
    "approval_required",
    "approved",
  ]);
  await t.close();
});

Deno.test("HTTP sessions: bad input gets a problem and changes nothing", async () => {
  const t = await testApp();
  const post = (body: unknown, type?: string) =>
    call(t, "POST", "/api/sessions/c-5/events", body, type);
  await problemOf(await post("{not json"), 400, "malformed_json");
  await problemOf(await post({ type: "login" }, "text/plain"), 415, "unsupported_media_type");
  await problemOf(await post({}), 400, "invalid_input");
  await problemOf(await post({ type: "9lives" }), 400, "invalid_input");
  await problemOf(await post({ type: "login", ts: "yesterday" }), 400, "invalid_input");
  await problemOf(await post({ type: "login", ts: 1.5 }), 400, "invalid_input");
  await problemOf(await post({ type: "login", extra: 1 }), 400, "invalid_input");
  const tx = await problemOf(
    await post({ type: "transaction", properties: {} }),
    400,
    "invalid_input",
  );
  assertEquals(tx.errors[0].path, "properties.amount");
  await problemOf(
    await post({ type: "transaction", properties: { amount: -1 } }),
    400,
    "invalid_input",
  );
  await problemOf(
    await post({ type: "login", properties: { location: { lat: 91, lon: 0 } } }),
    400,
    "invalid_input",
  );
  await problemOf(
    await post({ type: "login", properties: { latitude: 37 } }),
    400,
    "invalid_input",
  );
  await problemOf(
    await post({ type: "login", ts: t.clock.now() + 3_600_001 }),
    422,
    "time_out_of_range",
  );
  await problemOf(
    await call(t, "POST", "/api/sessions/bad%20id/events", { type: "login" }),
    400,
    "invalid_input",
  );
  await problemOf(await call(t, "GET", "/api/sessions/c-5"), 404, "not_found");

  await problemOf(
    await call(t, "PUT", "/api/customers/c-5", { creditLimit: 1, riskScore: 2, creditScore: 0 }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "PUT", "/api/customers/c-5", {
      creditLimit: 1,
      riskScore: 0,
      creditScore: 0,
      timezone: "Mars/Base",
    }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "PUT", "/api/inventory/milk", { available: -1 }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "PUT", "/api/inventory/milk", { available: 1.5 }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "PUT", "/api/inventory/a.b", { available: 1 }),
    400,
    "invalid_input",
  );
  await problemOf(await call(t, "GET", "/api/inventory/milk"), 404, "not_found");
  await problemOf(
    await call(t, "POST", "/api/sessions/c-5/checkout", { items: [] }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "POST", "/api/sessions/c-5/checkout", {
      items: [{ sku: "x", price: 1, quantity: 0 }],
    }),
    400,
    "invalid_input",
  );
  await problemOf(
    await call(t, "POST", "/api/sessions/c-5/checkout", {
      items: Array.from({ length: 101 }, () => ({ sku: "x", price: 1, quantity: 1 })),
    }),
    400,
    "invalid_input",
  );
  await problemOf(await call(t, "GET", "/api/sessions/c-5"), 404, "not_found");
  await t.close();
});
