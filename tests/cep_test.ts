/**
 * The four complex event patterns of a customer at their boundaries, and the
 * property that arrival order within the allowed out-of-orderness does not change what they
 * match.
 */
import { emptyCep, feedCep, type PatternMatch } from "../actors/sessions/cep.ts";
import { resolveSessionsConfig } from "../actors/sessions/config.ts";
import type { CustomerEvent } from "../actors/sessions/event.ts";
import { haversineKm, speedKmh } from "../actors/shared/geo.ts";
import { emptyActivity, ingest, progress } from "../actors/sessions/activity.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { prng } from "./helpers/random.ts";

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const config = resolveSessionsConfig();

/** Feeds events (in order) to fresh matchers; returns the matches. */
function run(events: CustomerEvent[], c = config): PatternMatch[] {
  const cep = emptyCep();
  return events.flatMap((e) => feedCep(cep, e, c.patterns));
}

const login = (ts: number, at?: { lat: number; lon: number }): CustomerEvent =>
  at === undefined ? { type: "login", ts } : { type: "login", ts, ...at };
const tx = (ts: number, amount: number): CustomerEvent => ({ type: "transaction", ts, amount });
const names = (m: PatternMatch[]) => m.map((x) => x.pattern);

// ---------------------------------------------------------------- rapid logins

Deno.test("cep rapid logins: 4 logins within 5 min match nothing, the 5th matches with risk 0.8", () => {
  const four = [0, 1, 2, 3].map((i) => login(T0 + i * 10 * S));
  assertEquals(run(four), []);
  const five = run([...four, login(T0 + 40 * S)]);
  assertEquals(names(five), ["RAPID_LOGIN_ATTEMPTS"]);
  assertEquals(five[0]!.risk, 0.8);
  assertEquals(five[0]!.at, T0 + 40 * S);
});

Deno.test("cep rapid logins: the 5-minute window is inclusive (exactly 5 min matches, 1 ms more does not)", () => {
  const at = (last: number) => [0, 75 * S, 150 * S, 225 * S, last].map((d) => login(T0 + d));
  assertEquals(names(run(at(5 * MIN))), ["RAPID_LOGIN_ATTEMPTS"]);
  assertEquals(run(at(5 * MIN + 1)), []);
});

Deno.test("cep rapid logins: a match consumes its logins (10 rapid logins are 2 matches)", () => {
  const ten = Array.from({ length: 10 }, (_, i) => login(T0 + i * S));
  assertEquals(names(run(ten)), ["RAPID_LOGIN_ATTEMPTS", "RAPID_LOGIN_ATTEMPTS"]);
});

Deno.test("cep rapid logins: other events in between do not matter", () => {
  const events: CustomerEvent[] = [];
  for (let i = 0; i < 5; i++) {
    events.push(login(T0 + i * 20 * S), { type: "page_view", ts: T0 + i * 20 * S + 1, page: "/" });
  }
  assertEquals(names(run(events)), ["RAPID_LOGIN_ATTEMPTS"]);
});

// ---------------------------------------------------------------- escalating amounts

Deno.test("cep escalating amounts: 4 transactions each above 1.5x the previous, the first above 1,000", () => {
  const chain = [1001, 1502, 2254, 3382].map((a, i) => tx(T0 + i * MIN, a));
  const m = run(chain);
  assertEquals(names(m), ["ESCALATING_AMOUNTS"]);
  assertEquals(m[0]!.risk, 0.85);
  assertEquals(run(chain.slice(0, 3)), [], "3 links are not enough");
});

Deno.test("cep escalating amounts: a first amount of exactly 1,000 does not start a chain", () => {
  assertEquals(run([1000, 1501, 2252, 3379].map((a, i) => tx(T0 + i * MIN, a))), []);
});

Deno.test("cep escalating amounts: exactly 1.5x breaks the chain, just above continues it", () => {
  assertEquals(run([2000, 3000.01, 4500.02, 6750.04].map((a, i) => tx(T0 + i * MIN, a))).length, 1);
  // 3000 is exactly 1.5 x 2000: the chain restarts at 3000, three links short of a match.
  assertEquals(run([2000, 3000, 4500.01, 6750.02].map((a, i) => tx(T0 + i * MIN, a))), []);
  const restarted = run(
    [2000, 3000, 4500.01, 6750.02, 10125.04].map((a, i) => tx(T0 + i * MIN, a)),
  );
  assertEquals(names(restarted), ["ESCALATING_AMOUNTS"]);
  assertEquals(restarted[0]!.data, {
    risk: 0.85,
    transactions: [3000, 4500.01, 6750.02, 10125.04].map((amount, i) => ({
      ts: T0 + (i + 1) * MIN,
      amount,
    })),
  });
});

Deno.test("cep escalating amounts: within 10 min inclusive", () => {
  const at = (last: number) => [0, MIN, 2 * MIN, last].map((d, i) => tx(T0 + d, 2000 * 2 ** i));
  assertEquals(names(run(at(10 * MIN))), ["ESCALATING_AMOUNTS"]);
  assertEquals(run(at(10 * MIN + 1)), []);
});

Deno.test("cep escalating amounts: another transaction in between breaks the chain, other events do not", () => {
  assertEquals(
    run([tx(T0, 2000), tx(T0 + 1, 3001), tx(T0 + 2, 50), tx(T0 + 3, 4600), tx(T0 + 4, 7000)]),
    [],
  );
  assertEquals(
    names(run([
      tx(T0, 2000),
      tx(T0 + 1, 3001),
      { type: "page_view", ts: T0 + 2, page: "/cart" },
      tx(T0 + 3, 4600),
      tx(T0 + 4, 7000),
    ])),
    ["ESCALATING_AMOUNTS"],
  );
});

// ---------------------------------------------------------------- impossible travel

/** On the meridian from (0, 0), this latitude is exactly 100 km away (by our haversine). */
const LAT_100_KM = 0.8993216059187302;

Deno.test("cep impossible travel: exactly 1,000 km/h is possible, faster is not (risk 0.95)", () => {
  const from = { lat: 0, lon: 0 }, to = { lat: LAT_100_KM, lon: 0 };
  assertEquals(haversineKm(from, to), 100, "the fixture is exactly 100 km");
  // 100 km in 360 s is 1,000 km/h exactly.
  assertEquals(speedKmh(100, 360 * S), 1000);
  assertEquals(run([login(T0, from), login(T0 + 360 * S, to)]), []);
  const m = run([login(T0, from), login(T0 + 360 * S - 1, to)]);
  assertEquals(names(m), ["GEOGRAPHICAL_IMPOSSIBILITY"]);
  assertEquals(m[0]!.risk, 0.95);
  assertEquals(run([login(T0, from), login(T0 + 360 * S + 1, to)]), []);
});

Deno.test("cep impossible travel: Seoul to New York in an hour matches; logins without a location are skipped", () => {
  const seoul = { lat: 37.5665, lon: 126.978 }, newYork = { lat: 40.7128, lon: -74.006 };
  assertEquals(
    names(run([login(T0, seoul), login(T0 + 10 * MIN), login(T0 + HOUR, newYork)])),
    ["GEOGRAPHICAL_IMPOSSIBILITY"],
  );
  assertEquals(run([login(T0, seoul), login(T0 + 15 * HOUR, newYork)]), [], "a flight's speed");
  const same = run([login(T0, seoul), login(T0, seoul)]);
  assertEquals(same, [], "no distance in no time is no travel");
  const instant = run([login(T0, seoul), login(T0, newYork)]);
  assertEquals((instant[0]!.data as { speedKmh: number | null }).speedKmh, null, "infinite speed");
});

// ---------------------------------------------------------------- large then many small

Deno.test("cep large then small: 9 small transactions after a large one match nothing, the 10th matches (risk 0.9)", () => {
  const events = [
    tx(T0, 10_001),
    ...Array.from({ length: 9 }, (_, i) => tx(T0 + (i + 1) * MIN, 99)),
  ];
  assertEquals(run(events), []);
  const m = run([...events, tx(T0 + 10 * MIN, 99.99)]);
  assertEquals(names(m), ["SUSPICIOUS_TRANSACTION_PATTERN"]);
  assertEquals(m[0]!.risk, 0.9);
});

Deno.test("cep large then small: exactly 10,000 is not large and exactly 100 is not small", () => {
  const smalls = (amount: number) =>
    Array.from({ length: 10 }, (_, i) => tx(T0 + (i + 1) * S, amount));
  assertEquals(run([tx(T0, 10_000), ...smalls(99)]), []);
  assertEquals(run([tx(T0, 10_001), ...smalls(100)]), []);
});

Deno.test("cep large then small: within 1 h inclusive, other amounts in between allowed", () => {
  const at = (last: number) => [
    tx(T0, 50_000),
    tx(T0 + S, 5000),
    ...Array.from({ length: 9 }, (_, i) => tx(T0 + (i + 2) * S, 1)),
    tx(T0 + last, 1),
  ];
  assertEquals(names(run(at(HOUR))), ["SUSPICIOUS_TRANSACTION_PATTERN"]);
  assertEquals(run(at(HOUR + 1)), []);
});

// ---------------------------------------------------------------- event time

Deno.test("cep events more than 5 s older than the newest are late: counted, not matched", () => {
  const a = emptyActivity();
  assertEquals(ingest(a, login(T0 + 100 * S), T0, config).status, "accepted");
  assertEquals(
    ingest(a, login(T0 + 95 * S), T0, config).status,
    "accepted",
    "exactly 5 s: on time",
  );
  assertEquals(ingest(a, login(T0 + 95 * S - 1), T0, config).status, "late");
  assertEquals([a.events, a.late], [2, 1]);
});

Deno.test("cep arrival order within the allowed out-of-orderness does not change the matches (property)", () => {
  const seoul = { lat: 37.5665, lon: 126.978 }, tokyo = { lat: 35.6762, lon: 139.6503 };
  let reordered = 0, matched = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const rnd = prng(seed);
    let t = T0;
    const events: CustomerEvent[] = [];
    for (let i = 0; i < 150; i++) {
      t += rnd.pick([0, 0, 200, 1000, 3000, 20 * S, 2 * MIN]);
      const kind = rnd.int(0, 6);
      if (kind <= 1) events.push(login(t, rnd.next() < 0.5 ? rnd.pick([seoul, tokyo]) : undefined));
      else if (kind <= 3) {
        events.push(tx(t, rnd.pick([50, 99, 1200, 2000, 3100, 5000, 12_000, rnd.int(1, 20_000)])));
      } else {events.push({
          type: rnd.pick(["page_view", "api_call"]),
          ts: t,
          page: `/p${rnd.int(0, 5)}`,
        });}
    }
    const lag = config.outOfOrdernessMs;
    const arrival = events.map((e) => ({ e, at: e.ts + rnd.int(0, lag + 1) }))
      .sort((x, y) => x.at - y.at).map((x) => x.e);
    const outcome = (order: CustomerEvent[]) => {
      const a = emptyActivity();
      const matches: PatternMatch[] = [];
      for (const e of order) {
        const r = ingest(a, e, T0, config);
        assertEquals(r.status, "accepted", `seed ${seed}`);
        matches.push(...r.matches);
      }
      matches.push(...progress(a, t + 10 * HOUR, config).matches);
      return { matches, sessions: a.closed };
    };
    const inOrder = outcome(events);
    assertEquals(outcome(arrival), inOrder, `seed ${seed}`);
    if (arrival.some((e, i) => e !== events[i])) reordered++;
    matched += inOrder.matches.length;
  }
  assert(reordered === 60, `every run shuffles (${reordered})`);
  assert(matched > 60, `the runs match patterns (${matched})`);
});
