/**
 * The pure parts of a payment: the decision at its boundaries, the idempotency
 * memory, the store-and-forward protocol, the request validation, the configuration.
 */
import {
  actors,
  CardHasher,
  decidePayment,
  type ForwardItem,
  parseCardList,
  parsePaymentRequest,
  parseTerminalSettings,
  resolvePaymentsConfig,
} from "../actors/payments/mod.ts";
import { type DecisionInput, offlineApprovalCode } from "../actors/payments/decision.ts";
import { emptyMemory, recall, remember } from "../actors/payments/idempotency.ts";
import { accept, acknowledge, emptyOutbox, enqueue } from "../actors/payments/outbox.ts";
import { ConfigError, ValidationError } from "../runtime/mod.ts";
import { TimeOutOfRangeError } from "../actors/shared/mod.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import { prng } from "../tools/train_fraud_model.ts";

const ok: DecisionInput = {
  cardStatus: null,
  fraudScore: 0.1,
  online: true,
  amount: 10_000,
  offlineQueued: 0,
};

Deno.test("decidePayment: a blocked or expired card is rejected whatever else holds", () => {
  assertEquals(decidePayment({ ...ok, cardStatus: "blocked", fraudScore: 1 }), {
    status: "rejected",
    reason: "card_blocked",
    forward: null,
    priority: null,
  });
  assertEquals(
    decidePayment({ ...ok, cardStatus: "expired", online: false }).reason,
    "card_expired",
  );
  assertEquals(decidePayment({ ...ok, cardStatus: "valid" }).status, "pending");
  assertEquals(decidePayment({ ...ok, cardStatus: null }).status, "pending", "unknown card");
});

Deno.test("decidePayment: a fraud score of 0.8 passes, above 0.8 is rejected and sent for review", () => {
  assertEquals(decidePayment({ ...ok, fraudScore: 0.8 }).status, "pending");
  assertEquals(decidePayment({ ...ok, fraudScore: 0.8001 }), {
    status: "rejected",
    reason: "fraud_detected",
    forward: "review",
    priority: "normal",
  });
  assertEquals(
    decidePayment({ ...ok, fraudScore: 0.9, online: false }).reason,
    "fraud_detected",
    "fraud is checked before the offline limit",
  );
});

Deno.test("decidePayment offline: 50,000 KRW is approved offline, 50,001 is rejected", () => {
  const offline = { ...ok, online: false };
  assertEquals(decidePayment({ ...offline, amount: 49_999 }).status, "approved_offline");
  assertEquals(decidePayment({ ...offline, amount: 50_000 }), {
    status: "approved_offline",
    reason: null,
    forward: "settle",
    priority: "normal",
  });
  assertEquals(decidePayment({ ...offline, amount: 50_001 }), {
    status: "rejected",
    reason: "offline_limit_exceeded",
    forward: null,
    priority: null,
  });
});

Deno.test("decidePayment offline: a full offline queue rejects; the limit is configurable", () => {
  const rules = { fraudThreshold: 0.8, offlineLimit: 50_000, offlineQueueLimit: 2 };
  const offline = { ...ok, online: false };
  assertEquals(decidePayment({ ...offline, offlineQueued: 1 }, rules).status, "approved_offline");
  assertEquals(decidePayment({ ...offline, offlineQueued: 2 }, rules).reason, "offline_queue_full");
});

Deno.test("decidePayment online: pending, forwarded for final approval with priority high", () => {
  assertEquals(decidePayment({ ...ok, amount: 5_000_000 }), {
    status: "pending",
    reason: null,
    forward: "authorize",
    priority: "high",
  });
});

Deno.test("offlineApprovalCode numbers a terminal's offline approvals", () => {
  assertEquals(offlineApprovalCode(1), "OFF-000001");
  assertEquals(offlineApprovalCode(1_234_567), "OFF-1234567");
});

Deno.test("idempotency memory: remembers, forgets after the window and beyond the bound", () => {
  const memory = emptyMemory<string>();
  const limits = { windowMs: 1000, maxEntries: 3 };
  remember(memory, "a", { r: "A", h: "x", at: 0 }, limits);
  remember(memory, "b", { r: "B", h: "x", at: 500 }, limits);
  assertEquals(recall(memory, "a")?.r, "A");
  remember(memory, "c", { r: "C", h: "x", at: 1000 }, limits);
  assertEquals(recall(memory, "a")?.r, "A", "exactly the window old: still remembered");
  remember(memory, "d", { r: "D", h: "x", at: 1001 }, limits);
  assertEquals(recall(memory, "a"), undefined, "older than the window: forgotten");
  assertEquals(memory.order, ["b", "c", "d"]);
  remember(memory, "e", { r: "E", h: "x", at: 1002 }, limits);
  assertEquals(memory.order, ["c", "d", "e"], "beyond 3 entries the oldest goes");
  assertEquals(recall(memory, "b"), undefined);
});

Deno.test("idempotency memory: ids such as __proto__ and constructor are ordinary keys", () => {
  const memory = emptyMemory<string>();
  const limits = { windowMs: 1000, maxEntries: 10 };
  assertEquals(recall(memory, "constructor"), undefined);
  assertEquals(recall(memory, "__proto__"), undefined);
  remember(memory, "__proto__", { r: "P", h: "x", at: 0 }, limits);
  assertEquals(recall(memory, "__proto__")?.r, "P");
  assertEquals(Object.getPrototypeOf(memory.byId), Object.prototype, "the prototype is intact");
  const copy = JSON.parse(JSON.stringify(memory)) as typeof memory;
  assertEquals(recall(copy, "__proto__")?.r, "P", "survives a JSON round trip");
});

function item(seq: number): ForwardItem {
  return {
    seq,
    kind: "settle",
    priority: "normal",
    transactionId: `tx${seq}`,
    amount: 1000,
    currency: "KRW",
    card: "h",
    ts: 0,
    status: "approved_offline",
    fraudScore: 0,
    approvalCode: null,
  };
}

Deno.test("outbox: numbered items, cumulative acknowledgements, stale ones ignored", () => {
  const outbox = emptyOutbox();
  const { seq: _s, ...rest } = item(0);
  for (let i = 0; i < 3; i++) enqueue(outbox, rest);
  assertEquals(outbox.items.map((i) => i.seq), [1, 2, 3]);
  assertEquals(acknowledge(outbox, 2), 2);
  assertEquals(acknowledge(outbox, 1), 0, "stale");
  assertEquals(acknowledge(outbox, 2), 0, "duplicate");
  assertEquals(acknowledge(outbox, 99), 1, "capped at the last number given out");
  assertEquals(outbox, { items: [], nextSeq: 4, ackedSeq: 3 });
});

Deno.test("accept (gateway): in order once, duplicates skipped, nothing past a gap", () => {
  assertEquals(accept(0, [item(1), item(2)]), {
    fresh: [item(1), item(2)],
    lastSeq: 2,
    duplicates: 0,
  });
  assertEquals(accept(2, [item(1), item(2), item(3)]).fresh, [item(3)]);
  assertEquals(accept(2, [item(2), item(3), item(5)]), {
    fresh: [item(3)],
    lastSeq: 3,
    duplicates: 1,
  });
  assertEquals(accept(2, [item(4)]), { fresh: [], lastSeq: 2, duplicates: 0 });
  assertEquals(
    accept(0, [item(2), item(1), item(1)]).lastSeq,
    2,
    "sorted; a repeat is a duplicate",
  );
});

Deno.test("accept property: any mix of resends and losses applies each item once, in order", () => {
  const random = prng(7);
  for (let round = 0; round < 200; round++) {
    const total = 1 + Math.floor(random() * 12);
    let lastSeq = 0;
    const applied: number[] = [];
    let sends = 0;
    // The terminal resends everything unacknowledged; the network loses batches and items.
    while (lastSeq < total && sends++ < 500) {
      const batch = Array.from({ length: total - lastSeq }, (_, i) => item(lastSeq + 1 + i))
        .filter(() => random() > 0.3);
      if (random() < 0.2) continue; // the whole batch lost
      const result = accept(lastSeq, batch);
      applied.push(...result.fresh.map((i) => i.seq));
      lastSeq = result.lastSeq;
    }
    assertEquals(applied, Array.from({ length: total }, (_, i) => i + 1));
  }
});

const NOW = Date.UTC(2026, 10, 23, 12);
const payment = { transactionId: "tx-1", amount: 10_000, currency: "KRW", cardToken: "tok_4111" };

Deno.test("parsePaymentRequest fills in the receive time and takes ISO or epoch ts", () => {
  assertEquals(parsePaymentRequest(payment, NOW), { ...payment, ts: NOW });
  assertEquals(
    parsePaymentRequest({ ...payment, ts: "2026-11-23T05:59:00+09:00" }, NOW).ts,
    Date.UTC(2026, 10, 22, 20, 59),
  );
  assertEquals(parsePaymentRequest({ ...payment, ts: NOW - 1000 }, NOW).ts, NOW - 1000);
});

Deno.test("parsePaymentRequest lists every problem with its path", () => {
  const issues = (body: unknown) => {
    const e = assertThrows(() => parsePaymentRequest(body, NOW), ValidationError);
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  };
  assertEquals(issues({}), [
    "transactionId: is required",
    "amount: is required",
    "currency: is required",
    "cardToken: is required",
  ]);
  assertEquals(issues({ ...payment, amount: -5 }), ["amount: must be at least 1 KRW"]);
  assertEquals(issues({ ...payment, amount: 0 }), ["amount: must be at least 1 KRW"]);
  assertEquals(issues({ ...payment, amount: 10.5 }), [
    "amount: must be a whole number of won: KRW has no minor unit",
  ]);
  assertEquals(issues({ ...payment, amount: 1_000_000_001 }), [
    "amount: must be at most 1000000000 KRW",
  ]);
  assertEquals(issues({ ...payment, amount: "10000" }), ["amount: must be a number (KRW)"]);
  assertEquals(issues({ ...payment, currency: "USD" }), [
    'currency: unsupported currency "USD": only KRW is accepted',
  ]);
  assertEquals(issues({ ...payment, currency: "krw" }).length, 1);
  assertEquals(issues({ ...payment, transactionId: "a/b" }), [
    "transactionId: transaction ids hold 1-128 letters, digits, _ or -",
  ]);
  assertEquals(issues({ ...payment, cardToken: "" }), ["cardToken: card token must not be empty"]);
  assertEquals(
    issues({ ...payment, extra: 1 }),
    [': unknown field "extra": remove it'],
  );
  assertEquals(issues({ ...payment, ts: "yesterday" }).length, 1);
  // A time the schema accepts but the server's clock does not: a 422, not a schema problem.
  assertThrows(
    () => parsePaymentRequest({ ...payment, ts: NOW + 5 * 60_000 + 1 }, NOW),
    TimeOutOfRangeError,
    "within 7 days before and 5 minutes after",
  );
  assertEquals(parsePaymentRequest({ ...payment, ts: NOW + 5 * 60_000 }, NOW).ts, NOW + 300_000);
  assertThrows(
    () => parsePaymentRequest({ ...payment, ts: NOW - 7 * 86_400_000 - 1 }, NOW),
    TimeOutOfRangeError,
  );
  assertEquals(issues([payment]).length, 1);
});

Deno.test("parsePaymentRequest never echoes a card token in its errors", () => {
  const token = "4111111111111111\u0007";
  const e = assertThrows(
    () => parsePaymentRequest({ ...payment, cardToken: token }, NOW),
    ValidationError,
  );
  assert(!JSON.stringify([e.message, e.issues]).includes("4111111111111111"));
});

Deno.test("parseTerminalSettings takes IANA names as spelled and refuses others", () => {
  assertEquals(parseTerminalSettings({ timezone: "Asia/Seoul", online: true }), {
    timezone: "Asia/Seoul",
    online: true,
  });
  // The current name of a renamed zone is taken too.
  assertEquals(parseTerminalSettings({ timezone: "Asia/Kolkata", online: true }).online, true);
  // The document lists the names: another spelling is refused, as it says.
  assertThrows(
    () => parseTerminalSettings({ timezone: "asia/seoul", online: true }),
    ValidationError,
  );
  const e = assertThrows(
    () => parseTerminalSettings({ timezone: "Mars/Base", online: "yes" }),
    ValidationError,
  );
  assertEquals(e.issues.map((i) => i.path).sort(), ["online", "timezone"]);
  assertThrows(
    () => parseTerminalSettings({ timezone: "UTC" }),
    ValidationError,
    "terminal settings",
  );
});

Deno.test("parseCardList reports bad entries by position, never by token", () => {
  assertEquals(parseCardList({ cards: { a: "valid", b: "blocked", c: "expired" } }).length, 3);
  const e = assertThrows(
    () => parseCardList({ cards: { "4111111111111111": "stolen", "": "valid" } }),
    ValidationError,
  );
  assertEquals(e.issues.map((i) => i.path), ["cards[0]", "cards[1]"]);
  assert(!JSON.stringify(e.issues).includes("4111"));
  assertThrows(() => parseCardList({ cards: [] }), ValidationError);
  assertThrows(() => parseCardList({}), ValidationError);
});

Deno.test("CardHasher: keyed, stable, 43 base64url characters; short keys refused", async () => {
  const a = new CardHasher("k".repeat(32));
  const b = new CardHasher("j".repeat(32));
  const h = await a.hash("4111111111111111");
  assertMatch(h, /^[A-Za-z0-9_-]{43}$/);
  assertEquals(await a.hash("4111111111111111"), h);
  assert(h !== await b.hash("4111111111111111"), "another key, another hash");
  assert(h !== await a.hash("4111111111111112"));
  assertThrows(() => new CardHasher("short"), ConfigError, "FLOTILLA_CARD_KEY");
});

Deno.test("resolvePaymentsConfig: defaults, overrides per terminal, wrong values refused", () => {
  const config = resolvePaymentsConfig({
    rules: { offlineLimit: 30_000 },
    terminals: { kiosk: { offlineLimit: 0, nightWeight: 0 } },
    scorer: { score: () => Promise.resolve(0) },
  });
  assertEquals(config.rulesFor("any").offlineLimit, 30_000);
  assertEquals(config.rulesFor("any").highAmount, 500_000);
  assertEquals(config.rulesFor("kiosk").offlineLimit, 0);
  assertEquals(config.rulesFor("kiosk").nightWeight, 0);
  assertEquals(config.rulesFor("kiosk").fraudThreshold, 0.8);
  assertEquals(config.idempotencyWindowMs, 86_400_000);
  assertThrows(
    () => resolvePaymentsConfig({ rules: { fraudThreshold: 2 } }),
    ConfigError,
    "fraudThreshold",
  );
  assertThrows(() => resolvePaymentsConfig({ rules: { nightFrom: 25 } }), ConfigError, "nightFrom");
  assertThrows(
    () => resolvePaymentsConfig({ historyMaxEntries: 0 }),
    ConfigError,
    "historyMaxEntries",
  );
  assertThrows(
    () => resolvePaymentsConfig({ terminals: { t: { highAmountWeight: -1 } } }),
    ConfigError,
    "payments.terminals.t.highAmountWeight",
  );
  assertEquals(actors().map((d) => d.name), ["terminal", "payment-gateway"]);
});
