/**
 * Risk assessment against the customer profile at its boundaries, and the
 * customer actor assessing transactions with its profile.
 */
import { resolveSessionsConfig } from "../actors/sessions/config.ts";
import { assessRisk, inHours } from "../actors/sessions/risk.ts";
import { localTime } from "../actors/shared/time_zone.ts";
import type { CustomerProfile } from "../actors/sessions/profile.ts";
import * as sessions from "../actors/sessions/mod.ts";
import { ManualClock } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { setup } from "./helpers/system.ts";
import { prng } from "./helpers/random.ts";

const risk = resolveSessionsConfig().risk;
const NOON = Date.UTC(2026, 10, 23, 12, 0, 0);
const profile = (p: Partial<CustomerProfile> = {}): CustomerProfile => ({
  creditLimit: 1000,
  riskScore: 0.1,
  creditScore: 0.8,
  ...p,
});
const at = (h: number, m = 0) => Date.UTC(2026, 10, 23, h, m, 0);

Deno.test("risk HIGH_AMOUNT: above 80 % of the credit limit adds 30 (exactly 80 % does not)", () => {
  assertEquals(assessRisk(800, NOON, profile(), risk).factors, []);
  assertEquals(assessRisk(800.01, NOON, profile(), risk), {
    score: 30,
    factors: ["HIGH_AMOUNT"],
    reviewRequired: false,
    hour: 12,
  });
  assertEquals(assessRisk(1, NOON, profile({ creditLimit: 0 }), risk).factors, ["HIGH_AMOUNT"]);
});

Deno.test("risk HIGH_RISK_USER: a profile risk above 0.7 adds 40 (exactly 0.7 does not)", () => {
  assertEquals(assessRisk(1, NOON, profile({ riskScore: 0.7 }), risk).score, 0);
  assertEquals(assessRisk(1, NOON, profile({ riskScore: 0.71 }), risk).factors, ["HIGH_RISK_USER"]);
  assertEquals(assessRisk(1, NOON, profile({ riskScore: 0.71 }), risk).score, 40);
});

Deno.test("risk UNUSUAL_TIME: local hours 0 to 6 inclusive add 20 (06:59 in, 07:00 and 23:59 out)", () => {
  const factors = (ts: number, p = profile()) => assessRisk(1, ts, p, risk).factors;
  assertEquals(factors(at(0, 0)), ["UNUSUAL_TIME"]);
  assertEquals(factors(at(6, 59)), ["UNUSUAL_TIME"]);
  assertEquals(factors(at(7, 0)), []);
  assertEquals(factors(at(23, 59)), []);
  // 15:00 UTC is midnight in Seoul.
  assertEquals(factors(at(15, 0), profile({ timezone: "Asia/Seoul" })), ["UNUSUAL_TIME"]);
  assertEquals(factors(at(14, 59), profile({ timezone: "Asia/Seoul" })), []);
  assertEquals(localTime(at(22, 30), "Asia/Kolkata").hour, 4);
  assert(
    inHours(23, { from: 22, to: 5 }) && inHours(3, { from: 22, to: 5 }) &&
      !inHours(6, { from: 22, to: 5 }),
  );
});

Deno.test("risk review is required above 50: 50 needs none, 60 does; the score is capped", () => {
  const fifty = assessRisk(900, at(3), profile(), risk);
  assertEquals([fifty.score, fifty.factors, fifty.reviewRequired], [50, [
    "HIGH_AMOUNT",
    "UNUSUAL_TIME",
  ], false]);
  const sixty = assessRisk(1, at(3), profile({ riskScore: 0.9 }), risk);
  assertEquals([sixty.score, sixty.reviewRequired], [60, true]);
  const all = assessRisk(900, at(3), profile({ riskScore: 0.9 }), risk);
  assertEquals([all.score, all.reviewRequired], [90, true]);
  const capped = assessRisk(900, at(3), profile({ riskScore: 0.9 }), {
    ...risk,
    highRiskPoints: 70,
  });
  assertEquals(capped.score, 100, "30 + 70 + 20 is capped at 100");
});

Deno.test("risk the score stays in [0, 100] and review means above 50 (property)", () => {
  const rnd = prng(7);
  for (let i = 0; i < 2000; i++) {
    const p = profile({
      creditLimit: rnd.int(0, 10_000),
      riskScore: rnd.next(),
      creditScore: rnd.next(),
    });
    const r = assessRisk(rnd.int(0, 20_000), NOON + rnd.int(0, 86_400_000), p, risk);
    assert(r.score >= 0 && r.score <= 100, `score ${r.score}`);
    assertEquals(r.reviewRequired, r.score > 50);
  }
});

Deno.test("risk the customer actor assesses transactions once it has a profile", async () => {
  const clock = new ManualClock(at(3));
  const { system } = setup(sessions.actors(), { clock, logs: "discard" });
  await system.start();
  const c = system.ref(sessions.SESSION, "c1");
  const tx = { type: "transaction", ts: at(3), amount: 900 };
  const before = await c.ask("event", tx) as sessions.EventReceipt;
  assertEquals(before.risk, undefined, "no profile, no assessment");
  await c.ask("setProfile", profile({ riskScore: 0.9 }));
  const after = await c.ask("event", { ...tx, ts: at(3) + 1 }) as sessions.EventReceipt;
  assertEquals(after.risk, {
    score: 90,
    factors: ["HIGH_AMOUNT", "HIGH_RISK_USER", "UNUSUAL_TIME"],
    reviewRequired: true,
    hour: 3,
  });
  const view = await c.ask("view") as sessions.SessionView;
  assertEquals(view.assessments.map((a) => [a.kind, a.amount, a.score]), [[
    "transaction",
    900,
    90,
  ]]);
  await system.shutdown();
});
