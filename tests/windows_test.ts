/**
 * Event-time analytics: the watermark with its idle advance, tumbling / sliding /
 * session windows with allowed lateness, percentiles (exact and sketched) and approximate
 * distinct counts with their error bounds.
 */
import {
  advance,
  emptyWatermark,
  isLate,
  observe,
  reachesAt,
  watermarkAt,
} from "../actors/shared/watermark.ts";
import {
  addEvent,
  type Aggregator,
  assignWindows,
  emptyWindows,
  fireWindows,
  nextFiring,
  openResults,
  type WindowResult,
  type WindowSpec,
} from "../actors/shared/windows.ts";
import { type Observation, STATS, type Stats } from "../actors/alerts/stats.ts";
import {
  addValue,
  emptyQuantiles,
  mergeQuantiles,
  quantile,
  type Quantiles,
  sizeOf,
} from "../actors/alerts/quantiles.ts";
import {
  addKey,
  emptyDistinct,
  estimate,
  mergeDistinct,
  murmur3,
} from "../actors/shared/distinct.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { prng } from "./helpers/random.ts";

const S = 1000;
const MIN = 60 * S;

// ---------------------------------------------------------------- watermark

Deno.test("watermark lags the newest event by the allowed out-of-orderness", () => {
  const wm = emptyWatermark();
  assertEquals(watermarkAt(wm, 0, 5 * S), null, "no watermark before the first event");
  assert(!isLate(wm, 0, 0, 5 * S), "nothing is late before the first event");
  assertEquals(observe(wm, 100 * S, 0, 5 * S), 95 * S);
  assert(!isLate(wm, 95 * S, 0, 5 * S), "exactly 5 s older than the newest is on time");
  assert(isLate(wm, 95 * S - 1, 0, 5 * S), "5 s and 1 ms older is late");
  assertEquals(observe(wm, 97 * S, 0, 5 * S), 95 * S, "an older event does not move it");
  assertEquals(observe(wm, 101 * S, 0, 5 * S), 96 * S);
});

Deno.test("watermark advances with processing time once the source is idle for the lag", () => {
  const wm = emptyWatermark();
  observe(wm, 100 * S, 1_000_000, 5 * S);
  assertEquals(watermarkAt(wm, 1_000_000 + 4999, 5 * S), 95 * S, "still waiting");
  assertEquals(
    watermarkAt(wm, 1_000_000 + 5000, 5 * S),
    100 * S,
    "idle for 5 s: all seen is final",
  );
  assertEquals(watermarkAt(wm, 1_000_000 + 6000, 5 * S), 101 * S, "then follows processing time");
  assertEquals(reachesAt(wm, 100 * S + 1, 1_000_000, 5 * S), 1_000_000 + 5001);
  assertEquals(reachesAt(wm, 90 * S, 1_000_000, 5 * S), 1_000_000, "already reached: now");
  assertEquals(reachesAt(emptyWatermark(), 1, 0, 5 * S), null, "nothing seen: never");
});

Deno.test("watermark never goes back, even when a newer event restarts the lag", () => {
  const wm = emptyWatermark();
  observe(wm, 100 * S, 0, 5 * S);
  assertEquals(advance(wm, 20 * S, 5 * S), 115 * S, "idle advance to 115 s");
  assert(isLate(wm, 114 * S, 20 * S, 5 * S));
  assertEquals(observe(wm, 116 * S, 20 * S, 5 * S), 115 * S, "116 - 5 = 111 would go back");
  assertEquals(watermarkAt(wm, 20 * S, 5 * S), 115 * S);
});

// ---------------------------------------------------------------- windows

const COUNT: Aggregator<number, number, number> = {
  create: () => 0,
  add: (n) => n + 1,
  merge: (a, b) => a + b,
  result: (n) => n,
};

Deno.test("windows tumbling windows are aligned and half-open", () => {
  const spec: WindowSpec = { kind: "tumbling", size: MIN };
  assertEquals(assignWindows(spec, 0), [[0, MIN]]);
  assertEquals(assignWindows(spec, MIN - 1), [[0, MIN]]);
  assertEquals(assignWindows(spec, MIN), [[MIN, 2 * MIN]]);
  assertEquals(assignWindows(spec, -1), [[-MIN, 0]]);
  const set = emptyWindows<number>();
  for (const ts of [0, MIN - 1, MIN]) addEvent(set, spec, COUNT, ts, 1, null, 0);
  assertEquals(fireWindows(set, COUNT, MIN - 1, 0), [], "not complete before W reaches the end");
  assertEquals(nextFiring(set), MIN);
  assertEquals(fireWindows(set, COUNT, MIN, 0), [{ start: 0, end: MIN, result: 2, late: false }]);
  assertEquals(fireWindows(set, COUNT, MIN, 0), [], "fires once");
  assertEquals(openResults(set, COUNT), [{ start: MIN, end: 2 * MIN, result: 1, late: false }]);
});

Deno.test("windows sliding windows: every window of size 10 s starting each 5 s that holds the event", () => {
  const spec: WindowSpec = { kind: "sliding", size: 10 * S, slide: 5 * S };
  assertEquals(assignWindows(spec, 12 * S), [[5 * S, 15 * S], [10 * S, 20 * S]]);
  assertEquals(assignWindows(spec, 10 * S), [[5 * S, 15 * S], [10 * S, 20 * S]]);
  assertEquals(assignWindows(spec, 10 * S - 1), [[0, 10 * S], [5 * S, 15 * S]]);
  const set = emptyWindows<number>();
  for (const ts of [1 * S, 6 * S, 11 * S]) addEvent(set, spec, COUNT, ts, 1, null, 0);
  const fired = fireWindows(set, COUNT, 20 * S, 0).map((r) => [r.start, r.end, r.result]);
  assertEquals(fired, [
    [-5 * S, 5 * S, 1],
    [0, 10 * S, 2],
    [5 * S, 15 * S, 2],
    [10 * S, 20 * S, 1],
  ]);
});

Deno.test("windows session windows: a gap of exactly the session gap starts a new session", () => {
  const spec: WindowSpec = { kind: "session", gap: 30 * MIN };
  const set = emptyWindows<number>();
  addEvent(set, spec, COUNT, 0, 1, null, 0);
  addEvent(set, spec, COUNT, 30 * MIN - 1, 1, null, 0);
  addEvent(set, spec, COUNT, 60 * MIN - 2, 1, null, 0);
  assertEquals(set.windows.length, 1, "each event less than 30 min after the previous one");
  const other = emptyWindows<number>();
  addEvent(other, spec, COUNT, 0, 1, null, 0);
  addEvent(other, spec, COUNT, 30 * MIN, 1, null, 0);
  assertEquals(
    other.windows.map((w) => [w.start, w.end, w.acc]),
    [[0, 30 * MIN, 1], [30 * MIN, 60 * MIN, 1]],
  );
});

Deno.test("windows session windows merge when an out-of-order event bridges them", () => {
  const spec: WindowSpec = { kind: "session", gap: 30 * MIN };
  const set = emptyWindows<number>();
  addEvent(set, spec, COUNT, 0, 1, null, 0);
  addEvent(set, spec, COUNT, 40 * MIN, 1, null, 0);
  assertEquals(set.windows.length, 2);
  addEvent(set, spec, COUNT, 20 * MIN, 1, null, 0);
  assertEquals(set.windows.map((w) => [w.start, w.end, w.acc]), [[0, 70 * MIN, 3]]);
});

Deno.test("windows late events within the allowed lateness update and re-fire; later ones are dropped", () => {
  const spec: WindowSpec = { kind: "tumbling", size: MIN };
  const lateness = 10 * S;
  const set = emptyWindows<number>();
  assertEquals(addEvent(set, spec, COUNT, 30 * S, 1, null, lateness), "on_time");
  assertEquals(fireWindows(set, COUNT, MIN, lateness), [{
    start: 0,
    end: MIN,
    result: 1,
    late: false,
  }]);
  // W = 69.999 s: the window [0, 60 s) is kept until W reaches 70 s.
  assertEquals(addEvent(set, spec, COUNT, 40 * S, 1, MIN + lateness - 1, lateness), "late");
  assertEquals(fireWindows(set, COUNT, MIN + lateness - 1, lateness), [
    { start: 0, end: MIN, result: 2, late: true },
  ]);
  assertEquals(addEvent(set, spec, COUNT, 50 * S, 1, MIN + lateness, lateness), "dropped");
  assertEquals(fireWindows(set, COUNT, MIN + lateness, lateness), []);
  assertEquals([set.late, set.dropped], [1, 1]);
  assertEquals(set.windows, [], "expired windows are forgotten");
});

Deno.test("windows a late event of an empty window within lateness creates and fires it late", () => {
  const spec: WindowSpec = { kind: "tumbling", size: MIN };
  const set = emptyWindows<number>();
  addEvent(set, spec, COUNT, 2 * MIN + 1, 1, null, MIN);
  assertEquals(addEvent(set, spec, COUNT, MIN + 5, 1, 2 * MIN + 1, MIN), "late");
  assertEquals(fireWindows(set, COUNT, 2 * MIN + 1, MIN), [
    { start: MIN, end: 2 * MIN, result: 1, late: true },
  ]);
});

Deno.test("windows out-of-order arrival within the lag gives the in-order results (property)", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = prng(seed);
    const lag = 5 * S;
    const spec: WindowSpec = rnd.pick<WindowSpec>([
      { kind: "tumbling", size: 10 * S },
      { kind: "sliding", size: 10 * S, slide: 3 * S },
      { kind: "session", gap: 4 * S },
    ]);
    let t = 0;
    const events = Array.from({ length: 200 }, () => {
      t += rnd.int(0, 3 * S);
      return { ts: t, value: rnd.int(0, 1000) };
    });
    // Each event is delayed by at most the lag: it never arrives below the watermark.
    const arrival = events.map((e) => ({ e, at: e.ts + rnd.int(0, lag + 1) }))
      .sort((a, b) => a.at - b.at).map((x) => x.e);
    const run = (order: typeof events) => {
      const wm = emptyWatermark();
      const set = emptyWindows<ReturnType<typeof STATS.create>>();
      const out: WindowResult<Stats>[] = [];
      for (const e of order) {
        assert(!isLate(wm, e.ts, 0, lag), `seed ${seed}: no event is late`);
        const w = observe(wm, e.ts, 0, lag);
        addEvent<Observation, ReturnType<typeof STATS.create>, Stats>(
          set,
          spec,
          STATS,
          e.ts,
          { value: e.value },
          w,
          0,
        );
        out.push(...fireWindows(set, STATS, w, 0));
        for (const win of set.windows) {
          assert(win.acc.count > 0, "counts never drop to zero or below");
        }
      }
      out.push(...fireWindows(set, STATS, Number.MAX_SAFE_INTEGER, 0));
      return out.map((r) => [r.start, r.end, r.result.count, r.result.sum, r.result.p50, r.late]);
    };
    assertEquals(run(arrival), run(events), `seed ${seed} (${spec.kind})`);
  }
});

// ---------------------------------------------------------------- statistics

Deno.test("stats count, sum, min, max, avg and nearest-rank percentiles of a window", () => {
  let acc = STATS.create();
  for (let v = 100; v >= 1; v--) acc = STATS.add(acc, { value: v });
  assertEquals(STATS.result(acc), {
    count: 100,
    sum: 5050,
    min: 1,
    max: 100,
    avg: 50.5,
    p50: 50,
    p95: 95,
    p99: 99,
    distinct: 100,
  });
  assertEquals(STATS.result(STATS.create()).avg, null, "an empty window has no average");
  assertEquals(STATS.result(STATS.add(STATS.create(), { value: 7 })).p99, 7);
});

Deno.test("quantiles past the exact limit stay within 1 % of the exact percentile", () => {
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed);
    let q: Quantiles = emptyQuantiles();
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Log-normal-ish, spread over six orders of magnitude, some negative, some zero.
      const v = i % 97 === 0 ? 0 : (i % 13 === 0 ? -1 : 1) * Math.exp(rnd.next() * 14 - 4);
      values.push(v);
      q = addValue(q, v);
    }
    assert(!("exact" in q), "20,000 values are sketched");
    values.sort((a, b) => a - b);
    for (const p of [0.01, 0.25, 0.5, 0.95, 0.99]) {
      const exact = values[Math.ceil(p * values.length) - 1]!;
      const got = quantile(q, p)!;
      const error = exact === 0 ? Math.abs(got) : Math.abs(got - exact) / Math.abs(exact);
      assert(error <= 0.01 + 1e-9, `seed ${seed} p${p * 100}: ${got} vs ${exact} (${error})`);
    }
  }
});

Deno.test("quantiles merge: exact while small, sketched beyond, counts add up", () => {
  let a: Quantiles = emptyQuantiles(), b: Quantiles = emptyQuantiles();
  for (let i = 1; i <= 10; i++) a = addValue(a, i);
  for (let i = 11; i <= 20; i++) b = addValue(b, i);
  const m = mergeQuantiles(a, b);
  assertEquals(m, { exact: Array.from({ length: 20 }, (_, i) => i + 1) });
  assertEquals(quantile(m, 0.5), 10);
  let big: Quantiles = emptyQuantiles();
  for (let i = 0; i < 1500; i++) big = addValue(big, i + 1);
  const mixed = mergeQuantiles(m, big);
  assertEquals(sizeOf(mixed), 1520);
  const p50 = quantile(mixed, 0.5)!;
  assert(Math.abs(p50 - 750) / 750 <= 0.011, `p50 ${p50}`);
});

Deno.test("distinct counts are exact up to 256 keys and within 3 sigma (9.75 %) beyond", () => {
  let d = emptyDistinct();
  for (let i = 0; i < 256; i++) d = addKey(d, `k${i}`);
  for (let i = 0; i < 256; i++) d = addKey(d, `k${i}`);
  assertEquals(estimate(d), 256, "repeats do not count, and 256 keys are exact");
  for (const n of [1000, 10_000, 100_000]) {
    let h = emptyDistinct();
    for (let i = 0; i < n; i++) h = addKey(h, `user-${i}@example.com`);
    const e = estimate(h);
    assert(Math.abs(e - n) / n <= 3 * 1.04 / Math.sqrt(1024), `n=${n}: estimate ${e}`);
  }
});

Deno.test("distinct merge is the union", () => {
  let a = emptyDistinct(), b = emptyDistinct();
  for (let i = 0; i < 3000; i++) a = addKey(a, `x${i}`);
  for (let i = 2000; i < 5000; i++) b = addKey(b, `x${i}`);
  const e = estimate(mergeDistinct(a, b));
  assert(Math.abs(e - 5000) / 5000 <= 0.0975, `union estimate ${e}`);
  let small = emptyDistinct();
  for (const k of ["a", "b", "c"]) small = addKey(small, k);
  let other = emptyDistinct();
  for (const k of ["c", "d"]) other = addKey(other, k);
  assertEquals(estimate(mergeDistinct(small, other)), 4);
});

Deno.test("murmur3 matches the reference hash", () => {
  // Reference values of MurmurHash3_x86_32 over two-byte code units ("" and seed 0 is 0).
  assertEquals(murmur3("", 0), 0);
  assertEquals(murmur3("", 1), 0x514e28b7);
  assert(murmur3("a", 0) !== murmur3("b", 0));
  assertEquals(murmur3("hello", 42), murmur3("hello", 42), "deterministic");
});
