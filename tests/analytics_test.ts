import {
  advance,
  emptyWindow,
  insert,
  moments,
  type SensorWindow,
  statsOf,
  timesOf,
} from "../actors/devices/window.ts";
import { classifySlope, DEFAULT_TREND, slope, trendOf } from "../actors/devices/trend.ts";
import { absZ, anomalyLevel, anomalyScore, varianceOf } from "../actors/devices/zscore.ts";
import { DEFAULT_THRESHOLDS, mergeThresholds, outside } from "../actors/devices/thresholds.ts";
import {
  type AnalyticsConfig,
  emptyAnalytics,
  observe,
  type Signal,
  viewOf,
} from "../actors/devices/analytics.ts";
import { emptyRolling, rollingAdd, rollingMoments } from "../actors/devices/rolling_stats.ts";
import { resolveDevicesConfig } from "../actors/devices/config.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { prng } from "./helpers/devices.ts";

const CONFIG: AnalyticsConfig = resolveDevicesConfig().analytics;

function near(actual: number, expected: number, eps = 1e-9, msg = "") {
  assert(
    Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)),
    `${msg} ${actual} is not close to ${expected}`,
  );
}

// ---------------------------------------------------------------- trend

Deno.test("slope is the least-squares slope, on the index or on seconds", () => {
  assertEquals(slope(null, [1, 2, 3, 4], 0, 4), 1);
  assertEquals(slope(null, [4, 3, 2, 1], 0, 4), -1);
  assertEquals(slope(null, [5, 5, 5], 0, 3), 0);
  assertEquals(slope(null, [7], 0, 1), 0);
  // Noisy line y = 2x + 1 ± 1: least squares gives 2 exactly for symmetric noise.
  assertEquals(slope(null, [1, 4, 5, 8, 9], 0, 5), 2);
  // Seconds: 1 unit per reading at 4 s intervals is 0.25 per second.
  const ts = [0, 4000, 8000, 12000].map((x) => x + Date.UTC(2026, 0, 1));
  assertEquals(slope(ts, [1, 2, 3, 4], 0, 4, 1000), 0.25);
  // All at one instant: no slope.
  assertEquals(slope([5, 5, 5], [1, 2, 3], 0, 3, 1000), 0);
});

Deno.test("classifySlope: boundaries belong to the milder class", () => {
  const cases: [number, string][] = [
    [1.0000001, "rapidly_increasing"],
    [1, "increasing"],
    [0.9999999, "increasing"],
    [0.1000001, "increasing"],
    [0.1, "stable"],
    [0, "stable"],
    [-0.1, "stable"],
    [-0.1000001, "decreasing"],
    [-1, "decreasing"],
    [-1.0000001, "rapidly_decreasing"],
  ];
  for (const [s, trend] of cases) assertEquals(classifySlope(s), trend, `slope ${s}`);
});

Deno.test("trendOf fits the last 10 values, from 5 values on", () => {
  const ts = (n: number) => Array.from({ length: n }, (_, i) => i * 1000);
  const line = (n: number, k: number) => Array.from({ length: n }, (_, i) => i * k);
  // Exactly representable slopes on either side of the boundaries.
  assertEquals(trendOf(ts(10), line(10, 1)), "increasing");
  assertEquals(trendOf(ts(10), line(10, 1 + 2 ** -10)), "rapidly_increasing");
  assertEquals(trendOf(ts(10), line(10, 0.125)), "increasing");
  assertEquals(trendOf(ts(10), line(10, 0.0625)), "stable");
  assertEquals(trendOf(ts(10), line(10, -0.125)), "decreasing");
  assertEquals(trendOf(ts(10), line(10, -1)), "decreasing");
  assertEquals(trendOf(ts(10), line(10, -1 - 2 ** -10)), "rapidly_decreasing");
  // Fewer than 5 values: no trend yet.
  assertEquals(trendOf(ts(4), line(4, 10)), "stable");
  assertEquals(trendOf(ts(5), line(5, 10)), "rapidly_increasing");
  // Only the last 10 count: falling fast, then rising slowly.
  const values = [...line(10, -5), ...line(10, 0.5)];
  assertEquals(trendOf(ts(20), values), "increasing");
});

Deno.test("trendOf on the seconds axis does not depend on the reporting rate", () => {
  const config = { ...DEFAULT_TREND, axis: "seconds" as const };
  const every = (ms: number) => Array.from({ length: 10 }, (_, i) => i * ms);
  const values = Array.from({ length: 10 }, (_, i) => i * 2); // 2 per reading
  assertEquals(trendOf(every(1000), values, config), "rapidly_increasing"); // 2 / s
  assertEquals(trendOf(every(4000), values, config), "increasing"); // 0.5 / s
  assertEquals(trendOf(every(40_000), values, config), "stable"); // 0.05 / s
  assertEquals(trendOf(every(40_000), values), "rapidly_increasing"); // index: 2 per reading
});

// ---------------------------------------------------------------- z-score

Deno.test("anomalyScore is min(|z| / 3, 1) and the levels start strictly above 0.8 and 0.9", () => {
  assertEquals(anomalyScore(0), 0);
  assertEquals(anomalyScore(1.5), 0.5);
  assertEquals(anomalyScore(3), 1);
  assertEquals(anomalyScore(30), 1);
  assertEquals(anomalyScore(Infinity), 1);
  assertEquals(anomalyLevel(0.8), 0);
  assertEquals(anomalyLevel(0.8000001), 1);
  assertEquals(anomalyLevel(0.9), 1);
  assertEquals(anomalyLevel(0.9000001), 2);
  assertEquals(anomalyLevel(1), 2);
  assertEquals(absZ(14, 11, 1), 3);
  assertEquals(absZ(8, 11, 1), 3);
  assertEquals(absZ(99, 11, 0), 0, "no spread, no verdict");
});

Deno.test("varianceOf treats spread lost in rounding as none", () => {
  assertEquals(varianceOf(3, 0, 0), 0);
  assertEquals(varianceOf(1, 5, 25), 0);
  assertEquals(varianceOf(2, 2, 4), 1 - 1 + 1); // values 0 and 2 around shift: var 1
  // n equal values c shifted by k: q/n and (s/n)² agree up to rounding.
  const c = 0.1 + 0.2, n = 7;
  assertEquals(varianceOf(n, n * c, n * c * c), 0);
});

// ---------------------------------------------------------------- thresholds

Deno.test("thresholds: the bounds are inside, just beyond is a violation", () => {
  const t = DEFAULT_THRESHOLDS;
  for (
    const [sensor, value, out] of [
      ["temperature", 50, false],
      ["temperature", 50.000001, true],
      ["temperature", -10, false],
      ["temperature", -10.000001, true],
      ["humidity", 0, false],
      ["humidity", -0.0001, true],
      ["humidity", 100, false],
      ["humidity", 100.5, true],
      ["vibration", 1000, false],
      ["vibration", 1000.01, true],
      ["door_sensor", 1, false],
      ["door_sensor", 0, false],
      ["door_sensor", 2, true],
      ["door_sensor", -1, true],
      ["coordX", 1e9, false],
    ] as const
  ) {
    assertEquals(outside(value, t[sensor]), out, `${sensor} ${value}`);
  }
  assertEquals(outside(1e9, { min: 0 }), false, "an absent bound is open");
});

Deno.test("mergeThresholds layers per sensor and per bound", () => {
  const merged = mergeThresholds(
    DEFAULT_THRESHOLDS,
    { temperature: { max: 80 }, pressure: { min: 900, max: 1100 } },
    { temperature: { min: 0 } },
  );
  assertEquals(merged.temperature, { min: 0, max: 80 });
  assertEquals(merged.pressure, { min: 900, max: 1100 });
  assertEquals(merged.humidity, { min: 0, max: 100 });
});

// ---------------------------------------------------------------- window

function fill(w: SensorWindow, points: [number, number][]) {
  for (const [ts, v] of points) {
    if (advance(w, ts, 60_000)) insert(w, ts, v, 120);
  }
}

Deno.test("window spans (newest - 60 s, newest]: 59.999 s back stays, 60 s back goes", () => {
  const w = emptyWindow();
  fill(w, [[0, 1], [59_999, 2]]);
  assertEquals(timesOf(w), [0, 59_999]);
  fill(w, [[60_000, 3]]);
  assertEquals(timesOf(w), [59_999, 60_000], "the reading at 0 is exactly 60 s old: out");
  assertEquals(advance(w, 0, 60_000), false, "too late for the window");
  assertEquals(advance(w, 1, 60_000), true, "just within the span");
  insert(w, 1, 9, 120);
  assertEquals(timesOf(w), [1, 59_999, 60_000], "a late reading takes its place in time");
  assertEquals(w.v, [9, 2, 3]);
});

Deno.test("window keeps at most maxValues readings", () => {
  const w = emptyWindow();
  for (let i = 0; i < 130; i++) fill(w, [[i, i]]);
  assertEquals(w.t.length, 120);
  assertEquals(timesOf(w)[0], 10);
  assertEquals(statsOf(w), {
    count: 120,
    mean: 69.5,
    std: Math.sqrt((120 ** 2 - 1) / 12),
    min: 10,
    max: 129,
  });
});

Deno.test("window statistics of an empty and a one-value window", () => {
  assertEquals(statsOf(emptyWindow()), { count: 0, mean: null, std: null, min: null, max: null });
  const w = emptyWindow();
  fill(w, [[5, 42]]);
  assertEquals(statsOf(w), { count: 1, mean: 42, std: 0, min: 42, max: 42 });
});

Deno.test("property: the running sums equal a pass over the window, in any arrival order", () => {
  const random = prng(7);
  for (let round = 0; round < 50; round++) {
    const w = emptyWindow();
    let now = 1_000_000;
    const maxValues = 5 + Math.floor(random() * 60);
    for (let i = 0; i < 600; i++) {
      now += Math.floor(random() * 2000);
      // One reading in five is late by up to 70 s.
      const ts = random() < 0.2 ? now - Math.floor(random() * 70_000) : now;
      const value = 1e6 + random() * 10 - (round % 2) * 1e9; // large values close together
      if (advance(w, ts, 60_000)) insert(w, ts, value, maxValues);
      assert(w.t.length <= maxValues, "bounded");
      const times = timesOf(w);
      for (let j = 1; j < times.length; j++) assert(times[j - 1]! <= times[j]!, "sorted");
      const newest = times[times.length - 1]!;
      assert(times[0]! > newest - 60_000, "within the span");
      assert(w.t[0]! >= 0 && w.t[0]! < 600_000, "relative times stay short");
    }
    const { n, mean, std } = moments(w);
    const exactMean = w.v.reduce((a, b) => a + b, 0) / n;
    const exactStd = Math.sqrt(w.v.reduce((a, b) => a + (b - exactMean) ** 2, 0) / n);
    near(mean, exactMean, 1e-12, "mean");
    near(std, exactStd, 1e-6, "std");
  }
});

// ---------------------------------------------------------------- per-sensor analytics

function run(points: [number, number][], range = DEFAULT_THRESHOLDS.temperature) {
  const a = emptyAnalytics();
  const signals: Signal[] = [];
  for (const [ts, v] of points) observe(a, "temperature", ts, v, range, CONFIG, signals);
  return { a, signals };
}

Deno.test("observe: a threshold violation is signalled when it starts, and its end once", () => {
  const { a, signals } = run([[1, 20], [2, 55], [3, 60], [4, 50], [5, 49], [6, -11]]);
  assertEquals(signals.filter((s) => s.kind.startsWith("threshold")).map((s) => [s.kind, s.ts]), [
    ["threshold", 2],
    ["threshold_ok", 4],
    ["threshold", 6],
  ]);
  assertEquals(a.out, true);
});

Deno.test("observe: a late violating reading raises but leaves the sensor's state alone", () => {
  const { a, signals } = run([[10, 20], [5, 70], [11, 21]]);
  assertEquals(signals.map((s) => [s.kind, s.ts, s.kind === "threshold" && s.late]), [
    ["threshold", 5, true],
  ]);
  assertEquals(a.out, false);
  assertEquals(a.last, 11);
});

Deno.test("observe: z-score starts once the window holds 10 values before the reading", () => {
  // Alternating 10 and 12: mean 11, population std 1.
  const base: [number, number][] = Array.from({ length: 9 }, (_, i) => [i * 1000, i % 2 ? 12 : 10]);
  // 9 values in the window: the 10th reading is not scored, however far out.
  let r = run([...base, [9000, 1000]]);
  assertEquals(r.a.score, 0);
  assertEquals(r.signals.filter((s) => s.kind === "anomaly"), []);
  // 10 values in the window: the 11th is.
  const ten: [number, number][] = [...base, [9000, 12]];
  r = run([...ten, [10_000, 13.5]]); // z = 2.5 → score 0.8333
  near(r.a.score, 2.5 / 3);
  assertEquals(viewOf(r.a).anomalyScore, r.a.score);
  const anomaly = r.signals.filter((s) => s.kind === "anomaly");
  assertEquals(anomaly.length, 1);
  assertEquals(anomaly[0]!.kind === "anomaly" && anomaly[0]!.level, 1);
  // z = 2.7 → score 0.9: still high, not critical.
  r = run([...ten, [10_000, 13.7]]);
  near(r.a.score, 0.9);
  assertEquals(r.a.level, r.a.score > 0.9 ? 2 : 1);
  // z = 2.8 → 0.9333: critical.
  r = run([...ten, [10_000, 13.8]]);
  assertEquals(r.a.level, 2);
  // z = 2.3 → 0.7667, just under 0.8: no alert (the exact boundaries: see anomalyLevel).
  r = run([...ten, [10_000, 13.3]]);
  near(r.a.score, 2.3 / 3);
  assertEquals(r.signals.filter((s) => s.kind === "anomaly"), []);
});

Deno.test("observe: an anomaly episode is signalled once, again when it escalates or recurs", () => {
  const ten: [number, number][] = Array.from({ length: 10 }, (_, i) => [i * 1000, i % 2 ? 12 : 10]);
  const levels = (points: [number, number][]) =>
    run([...ten, ...points]).signals.flatMap((s) => s.kind === "anomaly" ? [s.level] : []);
  assertEquals(levels([[10_000, 13.5], [10_100, 13.6]]), [1], "a second high reading: no repeat");
  assertEquals(levels([[10_000, 13.5], [10_100, 20]]), [1, 2], "escalation to critical");
  assertEquals(levels([[10_000, 13.5], [10_100, 11], [10_200, 16]]), [1, 2], "recurrence");
});

Deno.test("observe: a rapid trend is signalled when it starts, not on every reading", () => {
  const points: [number, number][] = Array.from({ length: 12 }, (_, i) => [i * 1000, 20 + i * 2]);
  const { a, signals } = run(points, { min: -1000, max: 1000 });
  const rapid = signals.filter((s) => s.kind === "rapid");
  assertEquals(rapid.length, 1);
  assertEquals(rapid[0]!.ts, 4000, "from the 5th value on");
  assertEquals(a.trend, "rapidly_increasing");
  assertEquals(viewOf(a).trend, "rapidly_increasing");
});

Deno.test("observe: a reading too late for the window only checks thresholds", () => {
  const { a } = run([[100_000, 20], [100_500, 21], [10_000, 99]]);
  assertEquals(timesOf(a.w), [100_000, 100_500]);
  assertEquals(a.out, false);
});

// ---------------------------------------------------------------- rolling statistics

Deno.test("property: rolling statistics cover the last 901-1000 values exactly", () => {
  const random = prng(11);
  const r = emptyRolling();
  const all: number[] = [];
  for (let i = 0; i < 3500; i++) {
    const x = 500 + random() * 100 + (i > 2000 ? 50 : 0);
    all.push(x);
    rollingAdd(r, x, 100, 10);
    const m = rollingMoments(r);
    if (i >= 999) assert(m.n >= 901 && m.n <= 1000, `covers ${m.n}`);
    const last = all.slice(-m.n);
    const mean = last.reduce((a, b) => a + b, 0) / m.n;
    const std = Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / m.n);
    if (i % 97 === 0) {
      near(m.mean, mean, 1e-12, "mean");
      near(m.std, std, 1e-9, "std");
    }
  }
  assertEquals(r.b.length, 30, "10 buckets of (count, sum, sum of squares)");
});
