/**
 * The dashboard's pure browser modules that write and draw (`routes/dashboard/format.js`,
 * `plot.js`, `rate.js`), run in Deno as they are: no DOM, no clock. Numbers follow the
 * locale, so their separators are matched loosely.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  fmtAgo,
  fmtCount,
  fmtNumber,
  fmtReading,
  fmtTick,
  humanize,
  placeOf,
} from "../routes/dashboard/format.js";
import {
  approach,
  fitExtent,
  niceStep,
  transformFor,
  withAlpha,
} from "../routes/dashboard/plot.js";
import { PerSecond } from "../routes/dashboard/rate.js";

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);

function near(actual: number, expected: number) {
  assert(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

Deno.test("format: a measurement has fewer decimals as it grows, and an exponent at the ends", () => {
  for (const v of [NaN, Infinity, -Infinity, null, undefined, "5", {}]) {
    assertEquals(fmtNumber(v), "—", String(v));
  }
  assertEquals(fmtNumber(0), "0");
  assertMatch(fmtNumber(12.3456), /^12[.,]35$/);
  assertMatch(fmtNumber(-123.456), /^-123[.,]5$/);
  assertMatch(fmtNumber(1234.5), /^1\D?235$/);
  assertEquals(fmtNumber(1e6), "1.00e+6");
  assertEquals(fmtNumber(-2.5e7), "-2.50e+7");
  assertEquals(fmtNumber(0.001234), "1.23e-3");
  assertMatch(fmtNumber(0.01), /^0[.,]01$/);
  assertMatch(fmtCount(1234567), /^1\D?234\D?567$/);
});

Deno.test("format: a reading has its sensor's unit, an unknown sensor none", () => {
  assertMatch(fmtReading("temperature", 21.5), /^21[.,]5°C$/);
  assertEquals(fmtReading("humidity", 40), "40%");
  assertEquals(fmtReading("motorRPM", 12), "12 rpm");
  assertEquals(fmtReading("vibration", 3), "3");
  assertEquals(fmtReading("coordX", 7), "7");
});

Deno.test("format: how long ago, at a given now", () => {
  assertEquals(fmtAgo(null, NOW), "never");
  assertEquals(fmtAgo(undefined, NOW), "never");
  assertEquals(fmtAgo(NaN, NOW), "never");
  assertEquals(fmtAgo(NOW - 1_400, NOW), "just now");
  assertEquals(fmtAgo(NOW + 60_000, NOW), "just now", "a clock ahead is not in the future");
  assertEquals(fmtAgo(NOW - 12_000, NOW), "12 s ago");
  assertEquals(fmtAgo(NOW - 59_000, NOW), "59 s ago");
  assertEquals(fmtAgo(NOW - 60_000, NOW), "1 min ago");
  assertEquals(fmtAgo(NOW - 59 * 60_000, NOW), "59 min ago");
  assertEquals(fmtAgo(NOW - 3 * 3_600_000, NOW), "3 h ago");
  assertEquals(fmtAgo(NOW - 47 * 3_600_000, NOW), "47 h ago");
  const older = fmtAgo(NOW - 3 * 86_400_000, NOW);
  assert(!older.endsWith("ago") && older.includes("2026"), older);
});

Deno.test("format: grid labels have the step's decimals and a clean zero", () => {
  assertEquals(fmtTick(5, 5), "5");
  assertEquals(fmtTick(0.30000000000000004, 0.1), "0.3");
  assertEquals(fmtTick(2.5, 0.5), "2.5");
  assertEquals(fmtTick(-1e-9, 0.5), "0.0");
  assertEquals(fmtTick(1e-7, 1e-8), "0.000000", "at most six decimals");
  assertEquals(fmtTick(-20, 10), "-20");
});

Deno.test("format: names and places for people", () => {
  assertEquals(humanize("threshold_violation"), "Threshold violation");
  assertEquals(humanize("rapid.change-x"), "Rapid change x");
  assertEquals(humanize("memory"), "Memory");
  assertEquals(placeOf("Warehouse A"), "Warehouse A");
  assertEquals(placeOf({ lat: 37.5665, lon: 126.978 }), "37.5665, 126.9780");
  assertEquals(placeOf(null), "");
  assertEquals(placeOf(undefined), "");
});

Deno.test("plot: steps are 1, 2 or 5 times a power of ten", () => {
  assertEquals(niceStep(10, 8), 1);
  assertEquals(niceStep(100, 4), 20);
  assertEquals(niceStep(7, 1), 10);
  assertEquals(niceStep(0.4, 8), 0.05);
  assertEquals(niceStep(8, 4), 2);
  assertEquals(niceStep(5.75, 4), 1);
});

Deno.test("plot: the extent fits every point with 12 % of room, [-1, 1] for none", () => {
  assertEquals(fitExtent([]), { minX: -1, maxX: 1, minY: -1, maxY: 1 });
  const e = fitExtent([[0, 0], [10, 4], [3, -1]]);
  // The larger side (10) pads every side.
  assertEquals(e, { minX: -1.2, maxX: 11.2, minY: -2.2, maxY: 5.2 });
  // A single point: as if 2 units wide.
  const one = fitExtent([[5, 5]]);
  assertEquals([one.minX, one.maxX].map((v) => Math.round(v * 100) / 100), [4.76, 5.24]);
});

Deno.test("plot: the map's transform keeps one scale on both axes, y upwards", () => {
  const t = transformFor({ minX: 0, maxX: 10, minY: 0, maxY: 5 }, 400, 300);
  // 338 px of width for 10 units, 254 px of height for 5: the width decides.
  near(t.scale, (400 - 44 - 18) / 10);
  near(t.toX(0), 44);
  near(t.toX(10), 400 - 18);
  assert(t.toY(5) < t.toY(0), "y grows upwards");
  near(t.toY(0) - t.toY(1), t.scale);
  // Centred vertically in the room left between the margins.
  near((t.toY(0) + t.toY(5)) / 2, 16 + (300 - 16 - 30) / 2);
  for (const v of [-3, 0, 2.5, 10]) {
    near(t.fromX(t.toX(v)), v);
    near(t.fromY(t.toY(v)), v);
  }
  // A tiny canvas still has a plot.
  assert(Number.isFinite(transformFor({ minX: 0, maxX: 1, minY: 0, maxY: 1 }, 0, 0).scale));
});

Deno.test("plot: easing moves 22 % of the way and ends exactly on the target", () => {
  assertEquals(approach(0, 10), 2.2);
  assertEquals(approach(9.995, 10), 10);
  let v = -50;
  let frames = 0;
  while (v !== 80) {
    v = approach(v, 80);
    frames++;
    assert(frames < 100, "easing ends");
  }
  assert(frames > 10, `${frames} frames`);
});

Deno.test("plot: colours with an alpha", () => {
  assertEquals(withAlpha("#ff8000", 0.5), "rgba(255, 128, 0, 0.5)");
  assertEquals(withAlpha(" #0A0B0C ", 1), "rgba(10, 11, 12, 1)");
  assertEquals(withAlpha("red", 0.5), "red");
  assertEquals(withAlpha("#fff", 0.5), "#fff");
});

Deno.test("rate: events per second over a ring, the current second left out", () => {
  const r = new PerSecond(300);
  const t0 = 1_700_000_000_000;
  r.add(t0);
  r.add(t0 + 999);
  r.add(t0 + 1000);
  r.add(t0 + 2500);
  r.add(t0 + 2600);
  r.add(t0 + 2700);
  const sec = t0 / 1000;
  assertEquals([r.at(sec), r.at(sec + 1), r.at(sec + 2), r.at(sec + 3)], [2, 1, 3, 0]);
  // At t0 + 2.8 s the third second is still counting.
  assertEquals(r.last(t0 + 2800, 4), [0, 0, 2, 1], "the four seconds before");
  assertEquals(r.last(t0 + 3000, 3), [2, 1, 3]);
  // 300 s later the same slot counts a new second: the old one reads 0.
  r.add(t0 + 300_000);
  assertEquals(r.at(sec + 300), 1);
  assertEquals(r.at(sec), 0);
  assertEquals(r.at(sec + 1), 1, "the other slots are kept");
});
