/**
 * The packed window (actors/devices/packed_window.ts) is the plain window (window.ts) in a ring
 * buffer: fed the same readings it gives bit-identical sums, moments, stats and trends, stores
 * as the same JSON, and a window read back from that JSON goes on identically.
 */
import {
  advance,
  emptyWindow,
  insert,
  moments,
  PackedWindow,
  type SensorWindow,
  statsOf,
  timesOf,
} from "../actors/devices/window.ts";
import { DEFAULT_TREND, type TrendConfig, trendOf } from "../actors/devices/trend.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { prng } from "./helpers/devices.ts";

const SECONDS: TrendConfig = { ...DEFAULT_TREND, axis: "seconds" };

function same(p: PackedWindow, w: SensorWindow, what: string): void {
  assertEquals(JSON.parse(JSON.stringify(p)), JSON.parse(JSON.stringify(w)), `${what}: JSON`);
  assertEquals(p.size, w.t.length, `${what}: size`);
  assertEquals(moments(p), moments(w), `${what}: moments`);
  assertEquals(statsOf(p), statsOf(w), `${what}: stats`);
  assertEquals(timesOf(p), timesOf(w), `${what}: times`);
  for (const config of [DEFAULT_TREND, SECONDS]) {
    assertEquals(p.trend(config), trendOf(w.t, w.v, config), `${what}: trend (${config.axis})`);
  }
}

Deno.test("packed window: identical to the plain one, late readings, gaps, rebasing and all", () => {
  const random = prng(11);
  for (let round = 0; round < 40; round++) {
    const w = emptyWindow();
    const maxValues = 3 + Math.floor(random() * 130);
    const p = new PackedWindow(maxValues);
    let now = 1_000_000 + Math.floor(random() * 1e12);
    for (let i = 0; i < 1500; i++) {
      // Mostly steps of up to 2 s; now and then a silence of minutes (the window empties).
      now += random() < 0.01 ? Math.floor(random() * 400_000) : Math.floor(random() * 2000);
      const ts = random() < 0.2 ? now - Math.floor(random() * 70_000) : now;
      const value = round % 3 === 0 ? Math.round(random() * 100) : 1e6 + random() * 10;
      const inPlain = advance(w, ts, 60_000);
      assertEquals(advance(p, ts, 60_000), inPlain, "advance agrees");
      if (inPlain) {
        insert(w, ts, value, maxValues);
        insert(p, ts, value, maxValues);
      }
      if (i % 97 === 0) same(p, w, `round ${round}, reading ${i}`);
    }
    same(p, w, `round ${round}, end`);
    // Read back from its JSON, it goes on as the plain one does.
    const back = PackedWindow.from(JSON.parse(JSON.stringify(p)), maxValues);
    for (let i = 0; i < 300; i++) {
      now += Math.floor(random() * 1500);
      const value = random() * 50;
      if (advance(w, now, 60_000)) insert(w, now, value, maxValues);
      if (advance(back, now, 60_000)) insert(back, now, value, maxValues);
    }
    same(back, w, `round ${round}, after reading back`);
  }
});

Deno.test("packed window: times a 32-bit integer cannot hold are kept exactly", () => {
  const w = emptyWindow();
  const p = new PackedWindow(10);
  for (const [ts, value] of [[1000, 1], [1000.5, 2], [1001.25, 3]] as const) {
    advance(w, ts, 60_000);
    advance(p, ts, 60_000);
    insert(w, ts, value, 10);
    insert(p, ts, value, 10);
  }
  same(p, w, "fractional milliseconds");
  assertEquals(p.t, [0, 0.5, 1.25]);
});

Deno.test("packed window: a stored window longer than the cap shrinks on its next reading", () => {
  const w = emptyWindow();
  for (let i = 0; i < 20; i++) insert(w, 1000 + i * 100, i, 20);
  const p = PackedWindow.from(JSON.parse(JSON.stringify(w)), 5);
  assertEquals(p.size, 20);
  insert(w, 3000, 99, 5);
  insert(p, 3000, 99, 5);
  same(p, w, "after the cap came down");
  assert(p.size === 5, "bounded by the new cap");
});
