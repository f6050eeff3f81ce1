/**
 * The rule-based fraud score at its boundaries: amounts, local hours in two time
 * zones, card velocity and its window edges; the card history it reads; the model features.
 */
import { DEFAULT_FRAUD_RULES, fraudFeatures, ruleScore } from "../actors/payments/mod.ts";
import { cardActivity, type CardUse, recordUse } from "../actors/payments/card_history.ts";
import { isNight } from "../actors/payments/fraud_rules.ts";
import { canonicalTimeZone, localTime } from "../actors/shared/time_zone.ts";
import { prng } from "../tools/train_fraud_model.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const HOUR = 3_600_000;
const noon = { localHour: 12, recentCount: 1 };

Deno.test("ruleScore amount: 500,000 adds nothing, 500,001 adds 0.3", () => {
  assertEquals(ruleScore({ amount: 499_999, ...noon }), { score: 0, hits: [] });
  assertEquals(ruleScore({ amount: 500_000, ...noon }), { score: 0, hits: [] });
  assertEquals(ruleScore({ amount: 500_001, ...noon }), { score: 0.3, hits: ["high_amount"] });
});

Deno.test("ruleScore amount: 1,000,000 adds 0.3, 1,000,001 adds 0.5 instead", () => {
  assertEquals(ruleScore({ amount: 999_999, ...noon }).score, 0.3);
  assertEquals(ruleScore({ amount: 1_000_000, ...noon }), { score: 0.3, hits: ["high_amount"] });
  assertEquals(ruleScore({ amount: 1_000_001, ...noon }), {
    score: 0.5,
    hits: ["very_high_amount"],
  });
});

Deno.test("ruleScore night: hour < 6 or ≥ 23 adds 0.2", () => {
  const scoreAt = (localHour: number) => ruleScore({ amount: 10_000, localHour, recentCount: 1 });
  assertEquals(scoreAt(0).score, 0.2);
  assertEquals(scoreAt(5).score, 0.2);
  assertEquals(scoreAt(6).score, 0);
  assertEquals(scoreAt(12).score, 0);
  assertEquals(scoreAt(22).score, 0);
  assertEquals(scoreAt(23), { score: 0.2, hits: ["night_time"] });
});

Deno.test("localTime: 5:59 / 6:00 / 22:59 / 23:00 in Asia/Seoul are night / day / day / night", () => {
  // Seoul is UTC+9 all year: 05:59 KST on 23 Nov 2026 is 20:59 UTC on the 22nd.
  const kst = (h: number, m: number) => Date.UTC(2026, 10, 23, h - 9, m);
  const cases: [number, number, number, boolean][] = [
    [5, 59, 5, true],
    [6, 0, 6, false],
    [22, 59, 22, false],
    [23, 0, 23, true],
  ];
  for (const [h, m, hour, night] of cases) {
    const local = localTime(kst(h, m), "Asia/Seoul");
    assertEquals(local, { hour, minute: m }, `${h}:${m} KST`);
    assertEquals(isNight(local.hour, DEFAULT_FRAUD_RULES), night, `${h}:${m} KST night`);
    const score = ruleScore({ amount: 1000, localHour: local.hour, recentCount: 1 }).score;
    assertEquals(score, night ? 0.2 : 0, `${h}:${m} KST score`);
  }
});

Deno.test("localTime: the same boundaries in America/New_York, in winter and in summer time", () => {
  // EST (UTC-5) in November, EDT (UTC-4) in July: the same wall-clock hours, other instants.
  for (const [month, offset] of [[10, 5], [6, 4]] as const) {
    const ny = (h: number, m: number) => Date.UTC(2026, month, 10, h + offset, m);
    assertEquals(localTime(ny(5, 59), "America/New_York"), { hour: 5, minute: 59 });
    assertEquals(localTime(ny(6, 0), "America/New_York"), { hour: 6, minute: 0 });
    assertEquals(localTime(ny(22, 59), "America/New_York"), { hour: 22, minute: 59 });
    assertEquals(localTime(ny(23, 0), "America/New_York"), { hour: 23, minute: 0 });
  }
  // One instant, two zones: 14:30 UTC is 23:30 in Seoul (night) and 09:30 in New York (day).
  const late = Date.UTC(2026, 10, 23, 14, 30);
  assert(isNight(localTime(late, "Asia/Seoul").hour, DEFAULT_FRAUD_RULES));
  assert(!isNight(localTime(late, "America/New_York").hour, DEFAULT_FRAUD_RULES));
});

Deno.test("isNight honours a configured window that does not wrap past midnight", () => {
  const rules = { nightFrom: 1, nightUntil: 5 };
  assertEquals([0, 1, 4, 5, 23].map((h) => isNight(h, rules)), [false, true, true, false, false]);
  assertEquals(isNight(3, { nightFrom: 4, nightUntil: 4 }), false, "an empty window");
});

Deno.test("ruleScore velocity: 5 uses in the hour add nothing, 6 add 0.4", () => {
  assertEquals(ruleScore({ amount: 1000, localHour: 12, recentCount: 5 }).score, 0);
  assertEquals(ruleScore({ amount: 1000, localHour: 12, recentCount: 6 }), {
    score: 0.4,
    hits: ["card_velocity"],
  });
});

Deno.test("ruleScore sums to exactly 0.9 and caps at 1.0", () => {
  assertEquals(ruleScore({ amount: 600_000, localHour: 2, recentCount: 6 }), {
    score: 0.9,
    hits: ["high_amount", "night_time", "card_velocity"],
  });
  assertEquals(ruleScore({ amount: 2_000_000, localHour: 2, recentCount: 9 }).score, 1);
  assertEquals(ruleScore({ amount: 2_000_000, localHour: 12, recentCount: 9 }).score, 0.9);
});

Deno.test("ruleScore uses configured weights and thresholds", () => {
  const rules = {
    ...DEFAULT_FRAUD_RULES,
    highAmount: 100,
    highAmountWeight: 0.25,
    velocityLimit: 2,
  };
  assertEquals(ruleScore({ amount: 101, localHour: 12, recentCount: 3 }, rules).score, 0.65);
});

Deno.test("ruleScore property: the score is the capped sum of the hits' weights, within [0, 1]", () => {
  const random = prng(42);
  const weight = {
    high_amount: 0.3,
    very_high_amount: 0.5,
    night_time: 0.2,
    card_velocity: 0.4,
  } as const;
  for (let i = 0; i < 2000; i++) {
    const input = {
      amount: 1 + Math.floor(random() * 3_000_000),
      localHour: Math.floor(random() * 24),
      recentCount: 1 + Math.floor(random() * 10),
    };
    const { score, hits } = ruleScore(input);
    assert(score >= 0 && score <= 1, `score ${score} in [0, 1]`);
    const sum = hits.reduce((s, h) => s + weight[h], 0);
    assertEquals(score, Math.min(1, Math.round(sum * 1e6) / 1e6));
    // A larger amount never lowers the score.
    assert(ruleScore({ ...input, amount: input.amount + 500_000 }).score >= score);
  }
});

Deno.test("cardActivity counts the card's uses in (ts - 1h, ts], this one included", () => {
  const ts = 10 * HOUR;
  const use = (t: number, c = "A", a = 10_000): CardUse => ({ c, t, a });
  const five = [1, 2, 3, 4, 5].map((i) => use(ts - i * 60_000));
  assertEquals(cardActivity(five.slice(0, 4), "A", ts, HOUR).recentCount, 5, "5 with this one");
  assertEquals(cardActivity(five, "A", ts, HOUR).recentCount, 6, "6 with this one");
  // Window edges: exactly one hour ago is out, a millisecond later is in.
  assertEquals(cardActivity([use(ts - HOUR)], "A", ts, HOUR).recentCount, 1);
  assertEquals(cardActivity([use(ts - HOUR + 1)], "A", ts, HOUR).recentCount, 2);
  assertEquals(cardActivity([use(ts)], "A", ts, HOUR).recentCount, 2, "same instant is in");
  // Another card does not count; a later use (a late, out-of-order transaction) does not either.
  assertEquals(cardActivity([use(ts - 1, "B"), use(ts + 1)], "A", ts, HOUR).recentCount, 1);
});

Deno.test("cardActivity: the prior mean covers the card's earlier uses in the history", () => {
  const history: CardUse[] = [
    { c: "A", t: 0, a: 10_000 },
    { c: "A", t: 5 * HOUR, a: 30_000 },
    { c: "B", t: 5 * HOUR, a: 999_999 },
    { c: "A", t: 20 * HOUR, a: 1 }, // after the transaction: not prior
  ];
  assertEquals(cardActivity(history, "A", 6 * HOUR, HOUR), { recentCount: 1, priorMean: 20_000 });
  assertEquals(cardActivity(history, "C", 6 * HOUR, HOUR), { recentCount: 1, priorMean: null });
});

Deno.test("recordUse forgets uses older than the history and beyond the bound", () => {
  const history: CardUse[] = [];
  const limits = { historyMs: 24 * HOUR, maxEntries: 3 };
  recordUse(history, { c: "A", t: 0, a: 1 }, limits);
  recordUse(history, { c: "A", t: 24 * HOUR, a: 2 }, limits);
  assertEquals(history.map((u) => u.a), [2], "a use exactly 24 h older than the newest goes");
  recordUse(history, { c: "A", t: 24 * HOUR + 1, a: 3 }, limits);
  recordUse(history, { c: "A", t: 24 * HOUR - 5, a: 4 }, limits); // late, still within 24 h
  recordUse(history, { c: "A", t: 24 * HOUR + 2, a: 5 }, limits);
  assertEquals(history.map((u) => u.a), [3, 4, 5], "the oldest recorded beyond 3 goes");
});

Deno.test("fraudFeatures: shape, the time of day on a circle, the amount against history", () => {
  const base = { amount: 30_000, localHours: 12, recentCount: 1, priorMean: null };
  const f = fraudFeatures(base);
  assertEquals(f.length, 5);
  assertEquals(f[0], Math.log1p(30_000));
  assertEquals(f[3], 0, "ln 1");
  assertEquals(f[4], 0, "no history");
  const nearMidnight = fraudFeatures({ ...base, localHours: 23.99 });
  const midnight = fraudFeatures({ ...base, localHours: 0 });
  assert(Math.abs(nearMidnight[2]! - midnight[2]!) < 1e-3, "23:59 sits next to 00:00");
  assert(fraudFeatures({ ...base, priorMean: 3000 })[4]! > 2, "ten times the usual amount");
});

Deno.test("canonicalTimeZone accepts IANA names in any case and refuses unknown zones", () => {
  assertEquals(canonicalTimeZone("asia/seoul"), "Asia/Seoul");
  assertEquals(canonicalTimeZone("UTC"), "UTC");
  assertEquals(canonicalTimeZone("Mars/Olympus_Mons"), null);
  assertEquals(canonicalTimeZone(""), null);
});
