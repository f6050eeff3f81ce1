/**
 * The payment terminal HTTP contract, through the whole app (real ONNX model, in-memory store,
 * manual clock): registration, card cache, payments and their outcomes, idempotent retries,
 * store-and-forward, and bad input — always a 4xx problem, never a partial write. Card tokens
 * never appear in the store, the events or the dead letters.
 */
import { defaultFraudModel, fraudFeatures, roundScore, ruleScore } from "../actors/payments/mod.ts";
import type { BusEvent } from "../runtime/mod.ts";
import { testApp } from "./helpers/app.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { dumpStore } from "./helpers/payments.ts";

const PROBLEM = "application/problem+json; charset=utf-8";
/** The test app's clock: 12:00 UTC, 21:00 in Seoul. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

type App = Awaited<ReturnType<typeof testApp>>;

async function send(t: App, method: string, path: string, body?: unknown): Promise<Response> {
  return await t.app.request(path, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

async function json(res: Response, status = 200) {
  const text = await res.text();
  assertEquals(res.status, status, `status (body ${text})`);
  return JSON.parse(text);
}

async function problemOf(res: Response, status: number, code: string) {
  const body = await json(res, status);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  assertEquals([body.code, body.type, body.status], [code, `urn:flotilla:problem:${code}`, status]);
  assert(typeof body.detail === "string" && body.detail.length > 0, "problem has a detail");
  return body;
}

async function register(t: App, id: string, online = true, timezone = "Asia/Seoul") {
  return await json(await send(t, "PUT", `/api/terminals/${id}`, { timezone, online }));
}

function payment(id: string, amount: unknown, extra: Record<string, unknown> = {}) {
  return { transactionId: id, amount, currency: "KRW", cardToken: "tok_visa_4242", ...extra };
}

async function pay(t: App, terminal: string, body: unknown) {
  return await send(t, "POST", `/api/terminals/${terminal}/payments`, body);
}

/** What the contract says the score is: max(rules, model), for a card's first use. */
async function expectedScore(amount: number, localHour: number, minute = 0): Promise<number> {
  const rule = ruleScore({ amount, localHour, recentCount: 1 }).score;
  const model = await defaultFraudModel().score(
    fraudFeatures({ amount, localHours: localHour + minute / 60, recentCount: 1, priorMean: null }),
  );
  return roundScore(Math.max(rule, model));
}

Deno.test("PUT /api/terminals/:id registers a terminal and GET shows it", async () => {
  const t = await testApp();
  const created = await register(t, "pos-1", true, "Asia/Seoul");
  assertEquals(created, {
    id: "pos-1",
    timezone: "Asia/Seoul",
    online: true,
    cards: { valid: 0, blocked: 0, expired: 0 },
    counts: { approved: 0, approved_offline: 0, rejected: 0, pending: 0, total: 0 },
    offlineQueue: { count: 0, amount: 0, items: [] },
    outbox: { pending: 0, lastSeq: 0, ackedSeq: 0 },
    updatedAt: NOW,
  });
  assertEquals(await json(await t.app.request("/api/terminals/pos-1")), created);
  await problemOf(await t.app.request("/api/terminals/pos-2"), 404, "not_found");
  await t.close();
});

Deno.test("POST payment on an online terminal: pending, scored by max(rules, model)", async () => {
  const t = await testApp();
  await register(t, "pos-1");
  const res = await pay(t, "pos-1", payment("tx-1", 30_000));
  const body = await json(res);
  assertEquals(body, {
    transactionId: "tx-1",
    status: "pending",
    fraudScore: await expectedScore(30_000, 21),
  });
  assert(body.fraudScore < 0.1, `an everyday payment scores low (${body.fraudScore})`);
  assertEquals(res.headers.get("Idempotent-Replayed"), null);
  // 1,000,001 KRW at noon in Seoul: the rules give 0.5; the model may say more, never less.
  const noon = "2026-11-23T12:00:00+09:00";
  const big = await json(
    await pay(t, "pos-1", payment("tx-2", 1_000_001, { cardToken: "tok_2", ts: noon })),
  );
  assertEquals(big.fraudScore, await expectedScore(1_000_001, 12));
  assert(big.fraudScore >= 0.5 && big.fraudScore <= 0.8, `${big.fraudScore}`);
  assertEquals(big.status, "pending");
  // The same in the evening: the model finds it suspicious enough to reject.
  const evening = await json(
    await pay(t, "pos-1", payment("tx-3", 1_000_001, { cardToken: "tok_3" })),
  );
  assertEquals([evening.status, evening.reason], ["rejected", "fraud_detected"]);
  assertEquals(evening.fraudScore, await expectedScore(1_000_001, 21));
  await t.system.idle();
  const view = await json(await t.app.request("/api/terminals/pos-1"));
  assertEquals([view.counts.pending, view.counts.rejected], [2, 1]);
  assertEquals(view.outbox, { pending: 0, lastSeq: 3, ackedSeq: 3 }, "forwarded and acknowledged");
  // The model's latency is measured.
  const metrics = await (await t.app.request("/metrics")).text();
  const count = metrics.match(/^flotilla_fraud_model_seconds_count (\d+)$/m);
  assert(count !== null && Number(count[1]) >= 2, "flotilla_fraud_model_seconds is exported");
  await t.close();
});

Deno.test("POST payment: the night rule reads the transaction's own time in the terminal's zone", async () => {
  const t = await testApp();
  await register(t, "seoul");
  await register(t, "nyc", true, "America/New_York");
  const kst = (h: number, m: number) => new Date(Date.UTC(2026, 10, 23, h - 9, m)).toISOString();
  const cases: [string, number, number][] = [["a", 5, 59], ["b", 6, 0], ["c", 22, 59], [
    "d",
    23,
    0,
  ]];
  for (const [id, h, m] of cases) {
    // The evening hours of the 23rd (KST) lie after the app's clock: take the day before's.
    const ts = h >= 22 ? kst(h - 24, m) : kst(h, m);
    const body = await json(
      await pay(t, "seoul", payment(id, 10_000, { cardToken: `tok_${id}`, ts })),
    );
    const expected = await expectedScore(10_000, h, m);
    assertEquals(body.fraudScore, expected, `${h}:${m} KST`);
    assertEquals(body.fraudScore >= 0.2, h < 6 || h >= 23, `${h}:${m} KST is night?`);
  }
  // 04:00 UTC is 13:00 in Seoul but 23:00 the evening before in New York.
  const ts = new Date(Date.UTC(2026, 10, 23, 4, 0)).toISOString();
  const seoul = await json(await pay(t, "seoul", payment("e", 10_000, { cardToken: "tok_e", ts })));
  const nyc = await json(await pay(t, "nyc", payment("e", 10_000, { cardToken: "tok_e", ts })));
  assert(seoul.fraudScore < 0.2 && nyc.fraudScore >= 0.2, `${seoul.fraudScore} ${nyc.fraudScore}`);
  await t.close();
});

Deno.test("PUT cards: blocked and expired cards are rejected with their reason", async () => {
  const t = await testApp();
  await register(t, "pos-1");
  const res = await send(t, "PUT", "/api/terminals/pos-1/cards", {
    cards: { tok_stolen: "blocked", tok_old: "expired", tok_visa_4242: "valid" },
  });
  assertEquals(await json(res), { terminal: "pos-1", cards: { valid: 1, blocked: 1, expired: 1 } });
  const blocked = await json(
    await pay(t, "pos-1", payment("b1", 1000, { cardToken: "tok_stolen" })),
  );
  assertEquals([blocked.status, blocked.reason], ["rejected", "card_blocked"]);
  const expired = await json(await pay(t, "pos-1", payment("e1", 1000, { cardToken: "tok_old" })));
  assertEquals([expired.status, expired.reason], ["rejected", "card_expired"]);
  const ok = await json(await pay(t, "pos-1", payment("v1", 1000)));
  assertEquals(ok.status, "pending");
  // PUT replaces the cache: the stolen card is no longer listed.
  await json(await send(t, "PUT", "/api/terminals/pos-1/cards", { cards: {} }));
  const again = await json(await pay(t, "pos-1", payment("b2", 1000, { cardToken: "tok_stolen" })));
  assertEquals(again.status, "pending");
  await t.close();
});

Deno.test("offline terminal: approves up to 50,000 KRW with a code, queues, flushes when back online", async () => {
  const t = await testApp();
  await register(t, "pos-1", false);
  const at = await json(await pay(t, "pos-1", payment("o1", 50_000)));
  assertEquals(at, {
    transactionId: "o1",
    status: "approved_offline",
    fraudScore: await expectedScore(50_000, 21),
    approvalCode: "OFF-000001",
  });
  const over = await json(await pay(t, "pos-1", payment("o2", 50_001)));
  assertEquals([over.status, over.reason], ["rejected", "offline_limit_exceeded"]);
  const small = await json(await pay(t, "pos-1", payment("o3", 1200)));
  assertEquals(small.approvalCode, "OFF-000002");

  let view = await json(await t.app.request("/api/terminals/pos-1"));
  assertEquals(view.offlineQueue, {
    count: 2,
    amount: 51_200,
    items: [
      { transactionId: "o1", amount: 50_000, currency: "KRW", approvalCode: "OFF-000001", ts: NOW },
      { transactionId: "o3", amount: 1200, currency: "KRW", approvalCode: "OFF-000002", ts: NOW },
    ],
  });
  assertEquals(view.counts, {
    approved: 0,
    approved_offline: 2,
    rejected: 1,
    pending: 0,
    total: 3,
  });

  await register(t, "pos-1", true);
  await t.system.idle();
  view = await json(await t.app.request("/api/terminals/pos-1"));
  assertEquals(view.offlineQueue.count, 0);
  assertEquals(view.outbox, { pending: 0, lastSeq: 2, ackedSeq: 2 });
  const gateway = await t.system.ref("payment-gateway", "pos-1").ask("view") as {
    accepted: Record<string, number>;
    recent: { transactionId: string; kind: string }[];
  };
  assertEquals(gateway.recent.map((i) => [i.transactionId, i.kind]), [["o1", "settle"], [
    "o3",
    "settle",
  ]]);
  await t.close();
});

Deno.test("POST payment retried with the same transactionId returns the first result, changes nothing", async () => {
  const t = await testApp();
  await register(t, "pos-1");
  const first = await json(await pay(t, "pos-1", payment("tx-1", 12_000)));
  await t.system.idle();
  const before = await dumpStore(t.store);
  for (let i = 0; i < 3; i++) {
    const res = await pay(t, "pos-1", payment("tx-1", 12_000));
    assertEquals(await json(res), first);
    assertEquals(res.headers.get("Idempotent-Replayed"), "true");
  }
  await t.system.idle();
  assertEquals(await dumpStore(t.store), before, "the store is unchanged");
  const conflict = await problemOf(
    await pay(t, "pos-1", payment("tx-1", 12_001)),
    409,
    "idempotency_conflict",
  );
  assert(conflict.detail.includes("tx-1"));
  await t.system.idle();
  assertEquals(await dumpStore(t.store), before, "unchanged by the conflict too");
  await t.close();
});

Deno.test("card tokens never reach the store, the events or the dead letters: only keyed hashes", async () => {
  const t = await testApp();
  const seen: BusEvent[] = [];
  t.events.subscribe({}, (e) => {
    if (!("reset" in e)) seen.push(e);
  });
  const tokens = ["4111111111111111", "tok_SECRET_blocked_9876", "5500 0000 0000 0004"];
  await register(t, "pos-1");
  await json(
    await send(t, "PUT", "/api/terminals/pos-1/cards", { cards: { [tokens[1]!]: "blocked" } }),
  );
  await json(await pay(t, "pos-1", payment("p1", 10_000, { cardToken: tokens[0] })));
  await json(await pay(t, "pos-1", payment("p2", 10_000, { cardToken: tokens[1] })));
  await register(t, "pos-1", false);
  await json(await pay(t, "pos-1", payment("p3", 10_000, { cardToken: tokens[2] })));
  await json(await pay(t, "pos-1", payment("p4", 2_000_000, { cardToken: tokens[2] })));
  await register(t, "pos-1", true);
  // Bad input with a token in it, and a conflicting retry.
  await problemOf(
    await pay(t, "pos-1", payment("p5", -1, { cardToken: tokens[0] })),
    400,
    "invalid_input",
  );
  await problemOf(
    await pay(t, "pos-1", payment("p1", 10_001, { cardToken: tokens[0] })),
    409,
    "idempotency_conflict",
  );
  await t.system.idle();
  const everything = [
    await dumpStore(t.store),
    JSON.stringify(seen),
    JSON.stringify(t.system.deadLetters.recent()),
  ].join("\n");
  assert(everything.includes("payment_decided"), "the dump holds the journal");
  for (const token of tokens) {
    assert(!everything.includes(token), `raw token ${token} found`);
    assert(!everything.includes(token.replace(/ /g, "")), `digits of ${token} found`);
  }
  await t.close();
});

Deno.test("bad input is a 4xx problem and writes nothing", async () => {
  const t = await testApp();
  await register(t, "pos-1");
  await t.system.idle();
  const before = await dumpStore(t.store);
  const cases: [string, string, unknown, number, string, string[]?][] = [
    ["POST", "/api/terminals/pos-1/payments", "{not json", 400, "malformed_json"],
    ["POST", "/api/terminals/pos-1/payments", "", 400, "malformed_json"],
    ["POST", "/api/terminals/pos-1/payments", {}, 400, "invalid_input", [
      "transactionId",
      "amount",
      "currency",
      "cardToken",
    ]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", -100), 400, "invalid_input", ["amount"]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", 0), 400, "invalid_input", ["amount"]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", 99.5), 400, "invalid_input", ["amount"]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", 1e300), 400, "invalid_input", [
      "amount",
    ]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", 1_000_000_001), 400, "invalid_input", [
      "amount",
    ]],
    ["POST", "/api/terminals/pos-1/payments", payment("x", "100"), 400, "invalid_input", [
      "amount",
    ]],
    [
      "POST",
      "/api/terminals/pos-1/payments",
      payment("x", 100, { currency: "USD" }),
      400,
      "invalid_input",
      [
        "currency",
      ],
    ],
    ["POST", "/api/terminals/pos-1/payments", payment("x y", 100), 400, "invalid_input", [
      "transactionId",
    ]],
    ["POST", "/api/terminals/pos-1/payments", payment("x".repeat(129), 100), 400, "invalid_input", [
      "transactionId",
    ]],
    [
      "POST",
      "/api/terminals/pos-1/payments",
      payment("x", 100, { cardToken: "" }),
      400,
      "invalid_input",
      [
        "cardToken",
      ],
    ],
    ["POST", "/api/terminals/pos-1/payments", payment("x", 100, { tip: 5 }), 400, "invalid_input", [
      "",
    ]],
    [
      "POST",
      "/api/terminals/pos-1/payments",
      payment("x", 100, { ts: "noon" }),
      400,
      "invalid_input",
      [
        "ts",
      ],
    ],
    [
      "POST",
      "/api/terminals/pos-1/payments",
      payment("x", 100, { ts: NOW + 3_600_000 }),
      422,
      "time_out_of_range",
    ],
    ["POST", "/api/terminals/pos-1/payments", [payment("x", 100)], 400, "invalid_input", [""]],
    ["POST", "/api/terminals/bad%20id/payments", payment("x", 100), 400, "invalid_input", ["id"]],
    ["POST", "/api/terminals/pos-9/payments", payment("x", 100), 404, "not_found"],
    [
      "PUT",
      "/api/terminals/pos-1",
      { timezone: "Mars/Olympus", online: true },
      400,
      "invalid_input",
      [
        "timezone",
      ],
    ],
    ["PUT", "/api/terminals/pos-1", { timezone: "UTC" }, 400, "invalid_input", ["online"]],
    ["PUT", "/api/terminals/pos-1", { timezone: "UTC", online: "yes" }, 400, "invalid_input", [
      "online",
    ]],
    [
      "PUT",
      `/api/terminals/${"x".repeat(129)}`,
      { timezone: "UTC", online: true },
      400,
      "invalid_input",
      [
        "id",
      ],
    ],
    ["PUT", "/api/terminals/pos-1/cards", { cards: { tok: "lost" } }, 400, "invalid_input", [
      "cards[0]",
    ]],
    ["PUT", "/api/terminals/pos-1/cards", { cards: ["tok"] }, 400, "invalid_input", ["cards"]],
    ["PUT", "/api/terminals/pos-9/cards", { cards: {} }, 404, "not_found"],
    ["GET", "/api/terminals/bad.id", undefined, 400, "invalid_input", ["id"]],
  ];
  for (const [method, path, body, status, code, paths] of cases) {
    const res = await send(t, method, path, body);
    const problem = await problemOf(res, status, code);
    if (paths !== undefined) {
      assertEquals(
        [...new Set((problem.errors as { path: string }[]).map((e) => e.path))],
        paths,
        `${method} ${path} ${JSON.stringify(body)}`,
      );
    }
  }
  const noType = await t.app.request("/api/terminals/pos-1/payments", {
    method: "POST",
    body: JSON.stringify(payment("x", 100)),
  });
  await problemOf(noType, 415, "unsupported_media_type");
  await t.system.idle();
  assertEquals(await dumpStore(t.store), before, "nothing written");
  await t.close();
});
