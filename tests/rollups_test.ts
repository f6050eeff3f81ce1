/**
 * Per-minute transaction rollups: counts by status and method, the failure-rate and
 * throughput alerts at their thresholds, emission when the watermark passes a minute (with the
 * idle advance), empty minutes, late and dropped records.
 */
import * as alerts from "../actors/alerts/mod.ts";
import { resolveAlertsConfig } from "../actors/alerts/config.ts";
import { judge, ROLLUP, type Rollup, rollupOf } from "../actors/alerts/rollup.ts";
import {
  recordTransaction,
  ROLLUP_ID,
  TRANSACTION_ROLLUP,
  type TransactionRecord,
} from "../actors/contracts.ts";
import { type BusEvent, ManualClock } from "../runtime/mod.ts";
import { assertEquals } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { setup } from "./helpers/system.ts";

const S = 1000;
const MIN = 60 * S;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const rc = resolveAlertsConfig().rollup;
const BOOK = alerts.alertBookActor(resolveAlertsConfig());
const ROLLUP_ACTOR = alerts.txRollupActor(resolveAlertsConfig());

function windowOf(statuses: TransactionRecord["status"][]): Rollup {
  let acc = ROLLUP.create();
  statuses.forEach((status, i) => {
    acc = ROLLUP.add(acc, {
      transactionId: `t${i}`,
      terminal: "t1",
      status,
      method: "card",
      amount: 100,
      ts: T0 + i,
    });
  });
  return rollupOf(T0, T0 + MIN, acc, false, rc);
}

const many = (n: number, status: TransactionRecord["status"]) =>
  Array.from({ length: n }, () => status);

Deno.test("rollups failure rate above 5 % is a high failure rate (exactly 5 % is not)", () => {
  assertEquals(judge(windowOf([...many(95, "approved"), ...many(5, "rejected")]), rc), {
    highFailureRate: false,
    lowThroughput: false,
  });
  assertEquals(
    judge(windowOf([...many(94, "approved"), ...many(6, "rejected")]), rc).highFailureRate,
    true,
  );
  const r = windowOf([...many(90, "pending"), ...many(10, "approved_offline")]);
  assertEquals([r.failed, r.failureRate], [0, 0], "pending and offline approvals are not failures");
  const tiny = windowOf(["rejected"]);
  assertEquals(judge(tiny, { ...rc, failureMinTransactions: 2 }).highFailureRate, false);
  assertEquals(judge(tiny, rc).highFailureRate, true, "by default one transaction is enough");
});

Deno.test("rollups throughput below 100 a minute is low (exactly 100 is not)", () => {
  assertEquals(judge(windowOf(many(100, "approved")), rc).lowThroughput, false);
  assertEquals(judge(windowOf(many(99, "approved")), rc).lowThroughput, true);
  assertEquals(windowOf(many(99, "approved")).throughput, 99);
});

/** A started system with the alerts area's actors, on a ManualClock at T0. */
async function start(config: Partial<alerts.AlertsConfig> = {}) {
  const clock = new ManualClock(T0);
  const { system } = setup(alerts.actors(config), { clock, logs: "discard" });
  const rollups: Rollup[] = [];
  system.events.subscribe({ topics: ["payments"] }, (e) => {
    if ("topic" in e) rollups.push((e as BusEvent).data as unknown as Rollup);
  });
  await system.start();
  const actor = system.ref(ROLLUP_ACTOR, ROLLUP_ID);
  let n = 0;
  const record = (
    ts: number,
    status: TransactionRecord["status"],
    method = "card",
  ) =>
    actor.ask("record", {
      transactionId: `tx-${n++}`,
      terminal: `term-${n % 3}`,
      status,
      method,
      amount: 1000 + n,
      ts,
    });
  const open = async () =>
    (await system.ref(BOOK, `${TRANSACTION_ROLLUP}/${ROLLUP_ID}`).ask("alerts")).open;
  const closed = async () =>
    (await system.ref(BOOK, `${TRANSACTION_ROLLUP}/${ROLLUP_ID}`).ask("alerts")).closed;
  const to = async (time: number) => {
    clock.advanceTo(time);
    await system.idle();
  };
  return { system, clock, rollups, actor, record, open, closed, to };
}

/**
 * Records `statuses` spread over the first 49.5 s of the minute starting at `from`, each as it
 * happens (the clock follows). With 100 records the newest is at 49.005 s: the watermark then
 * passes the minute's end at 49.005 + 5 + (60 - 49.005) = 65 s.
 */
async function minute(
  t: Awaited<ReturnType<typeof start>>,
  from: number,
  statuses: TransactionRecord["status"][],
) {
  for (let i = 0; i < statuses.length; i++) {
    const ts = from + Math.floor((i * 49_500) / statuses.length);
    await t.to(ts);
    assertEquals(await t.record(ts, statuses[i]!), "on_time");
  }
}

Deno.test("rollups a minute is emitted when the watermark passes its end, idle advance included", async () => {
  const t = await start();
  await minute(t, T0, [...many(95, "approved"), ...many(5, "rejected")]);
  await t.to(T0 + 65 * S - 1);
  assertEquals(t.rollups, []);
  await t.to(T0 + 65 * S);
  assertEquals(t.rollups.length, 1);
  const r = t.rollups[0]!;
  assertEquals(
    [
      r.start,
      r.end,
      r.count,
      r.byStatus,
      r.byMethod,
      r.failed,
      r.failureRate,
      r.throughput,
      r.late,
    ],
    [T0, T0 + MIN, 100, { approved: 95, rejected: 5 }, { card: 100 }, 5, 0.05, 100, false],
  );
  assertEquals(r.terminals, 3);
  assertEquals([r.amount.count, r.amount.min, r.amount.max], [100, 1001, 1100]);
  assertEquals(r.amount.p50, 1050);
  assertEquals(await t.open(), [], "5 % failures and 100 a minute raise nothing");
  await t.system.shutdown();
});

Deno.test("rollups 6 % failures raise a critical HIGH_FAILURE_RATE, a good minute clears it", async () => {
  const t = await start();
  await minute(t, T0, [...many(94, "approved"), ...many(6, "rejected")]);
  await minute(t, T0 + MIN, many(50, "approved"));
  // The first minute closed (at 65 s) while the second was being recorded.
  assertEquals((await t.open()).map((a) => [a.type, a.severity]), [[
    "HIGH_FAILURE_RATE",
    "critical",
  ]]);
  await t.to(T0 + 2 * MIN + 5 * S);
  assertEquals((await t.open()).map((a) => a.type), ["LOW_THROUGHPUT"], "50 a minute is low");
  assertEquals(
    (await t.closed()).map((a) => [a.type, a.severity, a.clearedBy]),
    [["HIGH_FAILURE_RATE", "critical", "source"]],
  );
  await t.system.shutdown();
});

Deno.test("rollups an empty minute clears no high failure rate (it has no rate)", async () => {
  const t = await start();
  await minute(t, T0, [...many(94, "approved"), ...many(6, "rejected")]);
  await t.to(T0 + 3 * MIN);
  assertEquals(t.rollups.map((r) => r.count), [100, 0]);
  assertEquals((await t.open()).map((a) => a.type).sort(), ["HIGH_FAILURE_RATE", "LOW_THROUGHPUT"]);
  await t.system.shutdown();
});

Deno.test("rollups 99 transactions a minute raise LOW_THROUGHPUT as a medium (warning) alert", async () => {
  const t = await start();
  await minute(t, T0, many(99, "approved"));
  await t.to(T0 + 70 * S);
  assertEquals((await t.open()).map((a) => [a.type, a.severity]), [["LOW_THROUGHPUT", "medium"]]);
  await t.system.shutdown();
});

Deno.test("rollups minutes without transactions are reported, at most 5 after the traffic stops", async () => {
  const t = await start();
  await minute(t, T0, many(100, "approved"));
  // A quiet minute between two busy ones, then silence for an hour.
  await minute(t, T0 + 2 * MIN, many(100, "approved"));
  for (let m = 3; m <= 60; m++) await t.to(T0 + m * MIN + 10 * S);
  assertEquals(t.rollups.map((r) => [(r.start - T0) / MIN, r.count]), [
    [0, 100],
    [1, 0],
    [2, 100],
    [3, 0],
    [4, 0],
    [5, 0],
    [6, 0],
    [7, 0],
  ]);
  // The quiet minute raised LOW_THROUGHPUT, the busy one after it cleared it; the silence
  // raised a new one, merged five times.
  assertEquals((await t.closed()).map((a) => [a.type, a.count]), [["LOW_THROUGHPUT", 1]]);
  assertEquals((await t.open()).map((a) => [a.type, a.count]), [["LOW_THROUGHPUT", 5]]);
  await t.system.shutdown();
});

Deno.test("rollups a late transaction within a minute of lateness updates its minute; later ones are dropped", async () => {
  const t = await start();
  await minute(t, T0, many(100, "approved"));
  await t.to(T0 + 70 * S);
  assertEquals(t.rollups.length, 1);
  // The watermark is at 65 s (idle: processing time - 5 s): a record of the first minute is
  // late but within the allowed lateness, until the watermark reaches 60 + 60 = 120 s.
  assertEquals(await t.record(T0 + 30 * S, "rejected"), "late");
  assertEquals(t.rollups.length, 2);
  assertEquals([t.rollups[1]!.count, t.rollups[1]!.failed, t.rollups[1]!.late], [101, 1, true]);
  await t.to(T0 + 125 * S - 1);
  assertEquals(await t.record(T0 + 59 * S, "approved"), "late", "the watermark is at 119.999 s");
  await t.to(T0 + 125 * S);
  assertEquals(await t.record(T0 + 59 * S, "approved"), "dropped", "the watermark is at 120 s");
  const view = await t.actor.ask("view");
  assertEquals([view.records, view.late, view.dropped], [103, 2, 1]);
  assertEquals(view.recent.find((r) => r.start === T0)!.count, 102, "the minute kept its updates");
  await t.system.shutdown();
});

Deno.test("rollups malformed records are refused and counted", async () => {
  const t = await start();
  assertEquals(await t.actor.ask("record", { nonsense: true } as never), "rejected");
  assertEquals((await t.actor.ask("view")).rejected, 1);
  await t.system.shutdown();
});

Deno.test("rollups thresholds come from configuration", async () => {
  const t = await start({ rollup: { throughputBelow: 10, failureRateAbove: 0.5 } });
  await minute(t, T0, [...many(6, "approved"), ...many(4, "rejected")]);
  await t.to(T0 + 70 * S);
  assertEquals(await t.open(), []);
  await t.system.shutdown();
});

Deno.test("HTTP GET /api/rollups shows the closed and open minutes", async () => {
  const t = await testApp();
  const sender = {
    tell: (to: { type: string; id: string }, kind: string, payload?: unknown) =>
      t.system.ref(to.type, to.id).tell(kind, payload as never),
  };
  const now = t.clock.now();
  for (let i = 0; i < 3; i++) {
    recordTransaction(sender, {
      transactionId: `tx-${i}`,
      terminal: "term-1",
      status: i === 0 ? "rejected" : "approved",
      method: "card",
      amount: 5000,
      ts: now + i,
    });
  }
  await t.system.idle();
  let view = await (await t.app.request("/api/rollups")).json() as alerts.RollupView;
  assertEquals([view.records, view.recent.length, view.open.map((r) => r.count)], [3, 0, [3]]);
  t.clock.advance(MIN + 5 * S);
  await t.system.idle();
  view = await (await t.app.request("/api/rollups")).json() as alerts.RollupView;
  assertEquals(view.recent.map((r) => [r.count, r.failed]), [[3, 1]]);
  await t.close();
});
