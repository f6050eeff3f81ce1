/**
 * The payment terminal actor in a real actor system on a manual clock: the
 * decision flow branch by branch, the score as max(rules, model), idempotent retries, the
 * offline queue flushed exactly once — across crashes and restarts too — and the journal as
 * the audit trail.
 */
import {
  type GatewayState,
  IdempotencyConflictError,
  type PaymentCommand,
  type PaymentReply,
  type TerminalEvent,
  type TerminalView,
} from "../actors/payments/mod.ts";
import {
  DenoKvStore,
  ManualClock,
  MemoryStore,
  NotFoundError,
  type StoreOp,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { NOON_KST, paymentsSystem, ScriptedScorer } from "./helpers/payments.ts";
import { journalEvents } from "./helpers/stored.ts";
import { flushMicrotasks, track } from "./helpers/system.ts";

const MINUTE = 60_000;
const SEOUL = { timezone: "Asia/Seoul", online: true };

function pay(
  id: string,
  amount: number,
  card = "card-A",
  ts = NOON_KST,
): PaymentCommand {
  return { transactionId: id, amount, currency: "KRW", card, ts };
}

type Sys = ReturnType<typeof paymentsSystem>;

async function payOn(t: Sys, terminal: string, cmd: PaymentCommand): Promise<PaymentReply> {
  return await t.terminal(terminal).ask("pay", cmd) as PaymentReply;
}

async function view(t: Sys, terminal: string): Promise<TerminalView> {
  return await t.terminal(terminal).ask("view") as TerminalView;
}

async function gatewayOf(t: Sys, terminal: string): Promise<GatewayState> {
  return await t.gateway(terminal).ask("view") as GatewayState;
}

async function terminalJournal(t: Sys, id: string): Promise<TerminalEvent[]> {
  return await journalEvents(t.store, `a/terminal/${id}`) as unknown as TerminalEvent[];
}

/** Transaction ids the gateway's journal holds, in order, each time it accepted one. */
async function forwardedIds(t: Sys, id: string): Promise<string[]> {
  const events = await journalEvents(t.store, `a/payment-gateway/${id}`) as unknown as {
    type: string;
    item?: { transactionId: string };
  }[];
  return events.flatMap((e) => e.type === "forwarded" ? [e.item!.transactionId] : []);
}

Deno.test("terminal decision flow: blocked, expired, fraud, online pending, offline limits", async () => {
  const t = paymentsSystem();
  const scorer = t.scorer as ScriptedScorer;
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  await t.terminal("t1").ask("replaceCards", {
    cards: { "card-blocked": "blocked", "card-expired": "expired", "card-A": "valid" },
  });
  scorer.value = 0.05;

  let r = await payOn(t, "t1", pay("tx-blocked", 10_000, "card-blocked"));
  assertEquals(r, {
    result: {
      transactionId: "tx-blocked",
      status: "rejected",
      reason: "card_blocked",
      fraudScore: 0.05,
    },
    replayed: false,
  });
  r = await payOn(t, "t1", pay("tx-expired", 10_000, "card-expired"));
  assertEquals(r.result.reason, "card_expired");

  r = await payOn(t, "t1", pay("tx-online", 2_000_000));
  assertEquals(r.result, { transactionId: "tx-online", status: "pending", fraudScore: 0.5 });

  scorer.value = 0.81;
  r = await payOn(t, "t1", pay("tx-fraud", 10_000, "card-B"));
  assertEquals(r.result, {
    transactionId: "tx-fraud",
    status: "rejected",
    reason: "fraud_detected",
    fraudScore: 0.81,
  });

  scorer.value = 0;
  await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
  r = await payOn(t, "t1", pay("tx-off-1", 50_000, "card-C"));
  assertEquals(r.result, {
    transactionId: "tx-off-1",
    status: "approved_offline",
    fraudScore: 0,
    approvalCode: "OFF-000001",
  });
  r = await payOn(t, "t1", pay("tx-off-2", 50_001, "card-C"));
  assertEquals(r.result, {
    transactionId: "tx-off-2",
    status: "rejected",
    reason: "offline_limit_exceeded",
    fraudScore: 0,
  });
  r = await payOn(t, "t1", pay("tx-off-3", 1, "card-C"));
  assertEquals(r.result.approvalCode, "OFF-000002");
  await t.system.idle();

  // Every outcome is recorded for the rollups, once, in order.
  assertEquals(t.transactions.map((x) => [x.transactionId, x.status, x.terminal, x.method]), [
    ["tx-blocked", "rejected", "t1", "card"],
    ["tx-expired", "rejected", "t1", "card"],
    ["tx-online", "pending", "t1", "card"],
    ["tx-fraud", "rejected", "t1", "card"],
    ["tx-off-1", "approved_offline", "t1", "card"],
    ["tx-off-2", "rejected", "t1", "card"],
    ["tx-off-3", "approved_offline", "t1", "card"],
  ]);
  // Fraud raised an alert for the terminal.
  assertEquals(t.alerts.length, 1);
  const alert = t.alerts[0]!;
  assertEquals([alert.source, alert.type, alert.severity, alert.at], [
    "terminal/t1",
    "fraud_detected",
    "high",
    NOON_KST,
  ]);
  assertEquals((alert.data as { transactionId: string }).transactionId, "tx-fraud");
  // The online payment went for final approval (priority high), the fraud for review.
  const gateway = await gatewayOf(t, "t1");
  assertEquals(gateway.recent.map((i) => [i.transactionId, i.kind, i.priority]), [
    ["tx-online", "authorize", "high"],
    ["tx-fraud", "review", "normal"],
  ]);
  // The offline approvals wait for connectivity.
  const v = await view(t, "t1");
  assertEquals(v.offlineQueue.count, 2);
  assertEquals(v.offlineQueue.amount, 50_001);
  assertEquals(v.counts, {
    approved: 0,
    approved_offline: 2,
    rejected: 4,
    pending: 1,
    total: 7,
  });
  assertEquals(v.cards, { valid: 1, blocked: 1, expired: 1 });
  await t.system.shutdown();
});

Deno.test("terminal fraud score is max(rules, model): the model raises it, never lowers it", async () => {
  const t = paymentsSystem();
  const scorer = t.scorer as ScriptedScorer;
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  scorer.value = 0.1;
  assertEquals((await payOn(t, "t1", pay("a", 600_000))).result.fraudScore, 0.3);
  scorer.value = 0.64321;
  assertEquals((await payOn(t, "t1", pay("b", 600_000, "card-B"))).result.fraudScore, 0.6432);
  scorer.value = 0.8;
  assertEquals((await payOn(t, "t1", pay("c", 10_000, "card-C"))).result.status, "pending");
  // Rules alone over the threshold: 1,000,001 KRW (0.5) at 23:00 in Seoul (0.2) by a card
  // used for the sixth time within the hour (0.4) → capped at 1.0.
  scorer.value = 0;
  const late = Date.UTC(2026, 10, 23, 14, 0); // 23:00 KST
  for (let i = 0; i < 5; i++) await payOn(t, "t1", pay(`v${i}`, 1000, "card-V", late - i * MINUTE));
  const r = await payOn(t, "t1", pay("v5", 1_000_001, "card-V", late));
  assertEquals([r.result.status, r.result.reason, r.result.fraudScore], [
    "rejected",
    "fraud_detected",
    1,
  ]);
  // The model was given the features of each transaction.
  assertEquals(scorer.calls.length, 9);
  assertEquals(scorer.calls[8]![3], Math.log(6), "six uses of the card in the hour");
  await t.system.shutdown();
});

Deno.test("terminal velocity counts per terminal: the sixth use within the hour adds 0.4", async () => {
  const t = paymentsSystem();
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  await t.terminal("t2").ask("configure", SEOUL);
  const first = NOON_KST;
  const scores: number[] = [];
  for (let i = 0; i < 5; i++) {
    scores.push(
      (await payOn(t, "t1", pay(`p${i}`, 1000, "card-A", first + i * MINUTE))).result.fraudScore,
    );
  }
  assertEquals(scores, [0, 0, 0, 0, 0], "five uses: no velocity");
  const sixth = await payOn(t, "t1", pay("p5", 1000, "card-A", first + 59 * MINUTE));
  assertEquals(sixth.result.fraudScore, 0.4, "the sixth within the hour");
  const elsewhere = await payOn(t, "t2", pay("q0", 1000, "card-A", first + 59 * MINUTE));
  assertEquals(elsewhere.result.fraudScore, 0, "another terminal knows nothing of them");
  // Exactly one hour after the first use, the first has left the window: five again (+ this).
  const edge = await payOn(t, "t1", pay("p6", 1000, "card-B", first + 60 * MINUTE));
  assertEquals(edge.result.fraudScore, 0, "other card");
  const atEdge = await payOn(t, "t1", pay("p7", 1000, "card-A", first + 60 * MINUTE));
  assertEquals(atEdge.result.fraudScore, 0.4, "uses at +1..+4 and +59 min, and this: 6");
  await t.system.shutdown();
});

Deno.test("terminal without a working model decides by the rules alone and says so in its journal", async () => {
  const t = paymentsSystem();
  const scorer = t.scorer as ScriptedScorer;
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  scorer.value = new Error("model file missing");
  const r = await payOn(t, "t1", pay("tx", 700_000));
  assertEquals(r.result, { transactionId: "tx", status: "pending", fraudScore: 0.3 });
  const decided = (await terminalJournal(t, "t1")).find((e) => e.type === "payment_decided");
  assert(decided?.type === "payment_decided");
  assertEquals(decided.payment.modelScore, null);
  assertEquals(decided.payment.ruleHits, ["high_amount"]);
  await t.system.shutdown();
});

Deno.test("terminal idempotency: a retry gets the first result and changes nothing", async () => {
  const t = paymentsSystem();
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  const first = await payOn(t, "t1", pay("tx-1", 30_000));
  assertEquals(first.replayed, false);
  await t.system.idle();
  const journal = await terminalJournal(t, "t1");
  const forwarded = await forwardedIds(t, "t1");

  // Things change — the terminal goes offline — but a retry still gets the first result.
  await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
  const journalBefore = await terminalJournal(t, "t1");
  for (let i = 0; i < 3; i++) {
    const again = await payOn(t, "t1", pay("tx-1", 30_000, "card-A", NOON_KST + i));
    assertEquals(again, { result: first.result, replayed: true });
  }
  await t.system.idle();
  assertEquals(await terminalJournal(t, "t1"), journalBefore, "no event for a retry");
  assertEquals(journalBefore.length, journal.length + 1, "only the configure");
  assertEquals(await forwardedIds(t, "t1"), forwarded, "forwarded once");
  assertEquals(t.transactions.filter((x) => x.transactionId === "tx-1").length, 1, "recorded once");

  // The same id with another amount or card is not a retry: 409, nothing changes.
  await assertRejects(
    () => payOn(t, "t1", pay("tx-1", 30_001)),
    IdempotencyConflictError,
    "a retry must repeat the request unchanged",
  );
  await assertRejects(
    () => payOn(t, "t1", pay("tx-1", 30_000, "card-B")),
    IdempotencyConflictError,
  );
  assertEquals(await terminalJournal(t, "t1"), journalBefore);
  assertEquals((await view(t, "t1")).counts.total, 1);
  await t.system.shutdown();
});

Deno.test("terminal idempotency: ids are remembered for 24 hours, then forgotten", async () => {
  const t = paymentsSystem();
  await t.system.start();
  await t.terminal("t1").ask("configure", SEOUL);
  await payOn(t, "t1", pay("old", 1000));
  await t.system.idle(); // forwarded and acknowledged
  t.clock.advance(24 * 60 * MINUTE);
  await payOn(t, "t1", pay("new-1", 1000, "card-B", t.clock.now()));
  assertEquals((await payOn(t, "t1", pay("old", 1000))).replayed, true, "exactly 24 h: kept");
  t.clock.advance(1);
  await payOn(t, "t1", pay("new-2", 1000, "card-B", t.clock.now()));
  const again = await payOn(t, "t1", pay("old", 1000, "card-A", t.clock.now()));
  assertEquals(again.replayed, false, "after 24 h the id is decided anew");
  await t.system.shutdown();
});

Deno.test("terminal that was never registered answers 404 and records nothing", async () => {
  const t = paymentsSystem();
  await t.system.start();
  await assertRejects(
    () => payOn(t, "nobody", pay("tx", 1000)),
    NotFoundError,
    "PUT /api/terminals/nobody",
  );
  await assertRejects(() => t.terminal("nobody").ask("replaceCards", { cards: {} }), NotFoundError);
  assertEquals(await t.terminal("nobody").ask("view"), null);
  assertEquals(await t.store.journalVersion("a/terminal/nobody"), 0);
  await t.system.shutdown();
});

Deno.test("terminal per-terminal rules override the deployment's", async () => {
  const t = paymentsSystem({ config: { terminals: { kiosk: { offlineLimit: 10_000 } } } });
  await t.system.start();
  for (const id of ["kiosk", "shop"]) {
    await t.terminal(id).ask("configure", { ...SEOUL, online: false });
  }
  assertEquals((await payOn(t, "kiosk", pay("k", 10_001))).result.reason, "offline_limit_exceeded");
  assertEquals((await payOn(t, "shop", pay("s", 10_001))).result.status, "approved_offline");
  await t.system.shutdown();
});

Deno.test("terminal flushes its offline queue exactly once when it comes back online", async () => {
  const t = paymentsSystem();
  await t.system.start();
  await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
  for (const [i, amount] of [10_000, 20_000, 30_000].entries()) {
    await payOn(t, "t1", pay(`off-${i}`, amount, `card-${i}`));
  }
  await t.system.idle();
  assertEquals((await gatewayOf(t, "t1")).lastSeq, 0, "nothing leaves an offline terminal");
  assertEquals((await view(t, "t1")).offlineQueue.count, 3);

  await t.terminal("t1").ask("configure", SEOUL);
  await t.system.idle();
  assertEquals(await forwardedIds(t, "t1"), ["off-0", "off-1", "off-2"]);
  const v = await view(t, "t1");
  assertEquals(v.offlineQueue, { count: 0, amount: 0, items: [] });
  assertEquals(v.outbox, { pending: 0, lastSeq: 3, ackedSeq: 3 });
  const gateway = await gatewayOf(t, "t1");
  assertEquals([gateway.accepted.settle, gateway.duplicates], [3, 0]);
  assertEquals(
    t.events.filter((e) => (e.data as { type: string }).type === "payment.forwarded").length,
    3,
  );

  // Offline and online again, the retry reminder's period passing: nothing is sent twice.
  await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
  await t.terminal("t1").ask("configure", SEOUL);
  t.clock.advance(5 * MINUTE);
  await t.system.idle();
  assertEquals(await forwardedIds(t, "t1"), ["off-0", "off-1", "off-2"]);
  assertEquals((await gatewayOf(t, "t1")).duplicates, 0);
  await t.system.shutdown();
});

/** A store that fails the commits `failing` picks, as if the node died before they landed. */
function failingStore() {
  const control = { failing: (_ops: readonly StoreOp[]) => false };
  const store = new MemoryStore({
    beforeCommit(ops) {
      if (control.failing(ops)) throw new Error("the node died before this write landed");
    },
  });
  return { store, control };
}

/** Three offline approvals on a fresh terminal t1, then `online: true` sent (not awaited). */
async function offlineThenOnline(t: Sys) {
  await t.system.start();
  await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
  for (let i = 0; i < 3; i++) await payOn(t, "t1", pay(`off-${i}`, 10_000 * (i + 1), `card-${i}`));
  return track(t.terminal("t1").ask("configure", SEOUL));
}

const touches = (ops: readonly StoreOp[], prefix: string) =>
  ops.some((op) => op.key.startsWith(prefix));

Deno.test("offline flush exactly once across a restart: the gateway's write never landed", async () => {
  const { store, control } = failingStore();
  const a = paymentsSystem({ store, clock: new ManualClock(NOON_KST) });
  control.failing = (ops) => touches(ops, "a/payment-gateway/");
  const online = await offlineThenOnline(a);
  await online.promise; // the flush decision is durable; the forward is in flight
  await a.system.idle();
  assertEquals(await forwardedIds(a, "t1"), [], "the gateway could not record them");
  // Node A dies here (never shut down). Node B starts on the same store.
  control.failing = () => false;
  const b = paymentsSystem({ store, clock: new ManualClock(NOON_KST + MINUTE) });
  await b.system.start();
  b.clock.advance(30_000); // the retry reminder wakes the terminal on B
  await b.system.idle();
  assertEquals(await forwardedIds(b, "t1"), ["off-0", "off-1", "off-2"]);
  const v = await view(b, "t1");
  assertEquals([v.online, v.offlineQueue.count, v.outbox.pending, v.outbox.ackedSeq], [
    true,
    0,
    0,
    3,
  ]);
  // Later ticks resend nothing: the reminder is gone once everything is acknowledged.
  b.clock.advance(10 * MINUTE);
  await b.system.idle();
  assertEquals(await forwardedIds(b, "t1"), ["off-0", "off-1", "off-2"]);
  assertEquals(
    (await store.keys("r/")).filter((k) => k.includes("/terminal/")),
    [],
    "no reminder left",
  );
  await b.system.shutdown();
});

Deno.test("offline flush exactly once across a restart: the acknowledgement was lost", async () => {
  const { store, control } = failingStore();
  const a = paymentsSystem({ store, clock: new ManualClock(NOON_KST) });
  control.failing = (ops) =>
    ops.some((op) =>
      op.op === "append" && op.key === "a/terminal/t1" &&
      JSON.stringify(op.events).includes('"forward_acked"')
    );
  const online = await offlineThenOnline(a);
  await online.promise;
  await a.system.idle();
  assertEquals(await forwardedIds(a, "t1"), ["off-0", "off-1", "off-2"], "the gateway has them");
  // Node A dies with the terminal's acknowledgement unwritten: the terminal still holds all 3.
  control.failing = () => false;
  const b = paymentsSystem({ store, clock: new ManualClock(NOON_KST + MINUTE) });
  await b.system.start();
  b.clock.advance(30_000);
  await b.system.idle();
  assertEquals(await forwardedIds(b, "t1"), ["off-0", "off-1", "off-2"], "not applied twice");
  const gateway = await gatewayOf(b, "t1");
  assert(gateway.duplicates >= 3, `the resent items were skipped (${gateway.duplicates})`);
  assertEquals(gateway.accepted.settle, 3);
  assertEquals((await view(b, "t1")).outbox, { pending: 0, lastSeq: 3, ackedSeq: 3 });
  await b.system.shutdown();
});

Deno.test("offline flush exactly once: the retry reminder lands with the state that set it, or neither does", async () => {
  const { store, control } = failingStore();
  const a = paymentsSystem({ store, clock: new ManualClock(NOON_KST) });
  const online = await offlineThenOnline(a);
  // The node dies while the write of `online: true` and its retry reminder is on the way: they
  // are one batch, one atomic step, so neither lands (before, the reminder was a second write
  // that a crash could lose on its own).
  const { promise: died, resolve } = Promise.withResolvers<void>();
  let batch: readonly StoreOp[] = [];
  control.failing = (ops) => {
    if (!touches(ops, "r/")) return false;
    batch = ops;
    resolve();
    return true;
  };
  await died;
  assert(touches(batch, "a/terminal/"), "the reminder rode with the terminal's journal");
  await flushMicrotasks();
  assert(!online.settled(), "not acknowledged: nothing is durable");
  assertEquals(await forwardedIds(a, "t1"), [], "and nothing was forwarded");
  control.failing = () => false;
  const b = paymentsSystem({ store, clock: new ManualClock(NOON_KST + MINUTE) });
  await b.system.start();
  assertEquals((await view(b, "t1")).online, false, "the unacknowledged change is not there");
  assertEquals(await store.keys("r/"), [], "nor its reminder");
  // The client, never answered, sends it again: now it lands, with its reminder, and flushes.
  await b.terminal("t1").ask("configure", SEOUL);
  await b.system.idle();
  assertEquals(await forwardedIds(b, "t1"), ["off-0", "off-1", "off-2"]);
  assertEquals((await view(b, "t1")).outbox.pending, 0);
  await b.system.shutdown();
});

Deno.test("terminal journal is its audit trail: replay on another node rebuilds the same terminal", async () => {
  const store = new MemoryStore();
  const a = paymentsSystem({ store });
  await a.system.start();
  await a.terminal("t1").ask("configure", SEOUL);
  await a.terminal("t1").ask("replaceCards", { cards: { "card-X": "blocked" } });
  await payOn(a, "t1", pay("p1", 10_000));
  await a.system.idle(); // forwarded and acknowledged
  await payOn(a, "t1", pay("p2", 20_000, "card-X"));
  await a.terminal("t1").ask("configure", { ...SEOUL, online: false });
  await payOn(a, "t1", pay("p3", 5000));
  await a.system.idle();
  const before = await view(a, "t1");
  await a.system.shutdown();

  const b = paymentsSystem({ store });
  await b.system.start();
  assertEquals(await view(b, "t1"), before);
  const types = (await terminalJournal(b, "t1")).map((e) => e.type);
  assertEquals(types, [
    "configured",
    "cards_replaced",
    "payment_decided",
    "forward_acked",
    "payment_decided",
    "configured",
    "payment_decided",
  ]);
  assertEquals((await payOn(b, "t1", pay("p3", 5000))).replayed, true, "remembered after replay");
  await b.system.shutdown();
});

Deno.test("terminal on Deno KV: a large card cache and a long offline queue fit the store's limits", async () => {
  const dir = await Deno.makeTempDir();
  const store = await DenoKvStore.open(`${dir}/kv`);
  try {
    const t = paymentsSystem({ store: store });
    await t.system.start();
    await t.terminal("t1").ask("configure", { ...SEOUL, online: false });
    // 1,200 cards of 43-character hashes: more than one Deno KV value (64 KiB) holds.
    const cards: Record<string, string> = {};
    for (let i = 0; i < 1200; i++) {
      cards[`${"h".repeat(37)}${String(i).padStart(6, "0")}`] = "blocked";
    }
    const reply = await t.terminal("t1").ask("replaceCards", { cards }) as {
      cards: Record<string, number>;
    };
    assertEquals(reply.cards.blocked, 1200);
    const types = (await terminalJournal(t, "t1")).map((e) => e.type);
    assertEquals(types, ["configured", "cards_replaced", "cards_added", "cards_added"]);
    // 250 offline approvals, flushed in batches of 100, one gateway event each.
    for (let i = 0; i < 250; i++) await payOn(t, "t1", pay(`o${i}`, 1000, `card-${i}`));
    await t.terminal("t1").ask("configure", SEOUL);
    await t.system.idle();
    const forwarded = await forwardedIds(t, "t1");
    assertEquals(forwarded, Array.from({ length: 250 }, (_, i) => `o${i}`));
    assertEquals((await view(t, "t1")).outbox, { pending: 0, lastSeq: 250, ackedSeq: 250 });
    await t.system.shutdown();

    // A new node replays the terminal from its snapshot and journal.
    const b = paymentsSystem({ store: store });
    await b.system.start();
    const v = await view(b, "t1");
    assertEquals([v.cards.blocked, v.counts.approved_offline, v.offlineQueue.count], [
      1200,
      250,
      0,
    ]);
    await b.system.shutdown();
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
