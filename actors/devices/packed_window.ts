/**
 * A sensor window as it lives in memory: a ring buffer of packed numbers instead of two plain
 * arrays. A window of 120 readings as JSON-parsed arrays takes ~2.3 KB of heap (each value a
 * boxed number) and more once it grows (arrays keep spare capacity); packed it takes 12 bytes
 * a reading — a 32-bit relative time and a 64-bit value in one buffer — and never grows.
 *
 * It is the same window as {@link SensorWindow} (window.ts), operation for operation: the same
 * running sums in the same order, the same rebasing of relative times, so every figure it gives
 * is bit-identical to the plain window's. It stores as that plain window too: `toJSON` writes
 * `{t, b, v, k, s, q, r}`, and {@link PackedWindow.from} reads it back, so the persisted format
 * does not change.
 *
 * Times that a 32-bit integer cannot hold relative to the base (not whole milliseconds, or more
 * than ~24 days apart) switch the window to 64-bit times, exactly as before.
 *
 * @module
 */
import { type Trend, type TrendConfig, trendOf } from "./trend.ts";
import { varianceOf } from "./zscore.ts";

/** The plain window (window.ts's `SensorWindow`), as stored. */
export interface PlainWindow {
  t: number[];
  b: number;
  v: number[];
  k: number;
  s: number;
  q: number;
  r: number;
}

/** Removals after which the running sums are recomputed (as window.ts). */
const RESUM_AFTER = 1024;
/** Relative times are rebased once the oldest is this far from the base (as window.ts). */
const REBASE_AFTER = 600_000;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Scratch for the trend's last points (reused: the trend allocates nothing). */
const scratchT: number[] = [];
const scratchV: number[] = [];

/** A sensor window in a ring buffer; see the module documentation. */
export class PackedWindow {
  /** Base of the event times (epoch ms). */
  b = 0;
  /** Shift of the running sums (a value of the window). */
  k = 0;
  /** Sum of `v - k`. */
  s = 0;
  /** Sum of `(v - k)²`. */
  q = 0;
  /** Removals since the sums were last recomputed exactly. */
  r = 0;
  #t: Int32Array | Float64Array;
  #v: Float64Array;
  /** Index of the oldest reading. */
  #head = 0;
  #n = 0;

  /** An empty window holding up to `capacity` readings (grows if ever asked to hold more). */
  constructor(capacity: number) {
    const cap = Math.max(2, capacity + 1); // + 1: a reading is inserted before the oldest goes
    const buffer = new ArrayBuffer(cap * 12);
    this.#v = new Float64Array(buffer, 0, cap);
    this.#t = new Int32Array(buffer, cap * 8, cap);
  }

  /** The packed copy of a stored window, for a window of at most `maxValues` readings. */
  static from(w: PlainWindow, maxValues: number): PackedWindow {
    const p = new PackedWindow(Math.max(maxValues, w.t.length));
    for (let i = 0; i < w.t.length; i++) p.#setT(i, w.t[i]!);
    p.#v.set(w.v);
    p.#n = w.t.length;
    p.b = w.b;
    p.k = w.k;
    p.s = w.s;
    p.q = w.q;
    p.r = w.r;
    return p;
  }

  /** Readings in the window. */
  get size(): number {
    return this.#n;
  }

  /** Event times minus `b`, ascending (a new array). */
  get t(): number[] {
    const out = new Array<number>(this.#n);
    for (let i = 0; i < this.#n; i++) out[i] = this.#t[this.#at(i)]!;
    return out;
  }

  /** Values in time order (a new array). */
  get v(): number[] {
    const out = new Array<number>(this.#n);
    for (let i = 0; i < this.#n; i++) out[i] = this.#v[this.#at(i)]!;
    return out;
  }

  /** The plain window, as stored. */
  toJSON(): PlainWindow {
    return { t: this.t, b: this.b, v: this.v, k: this.k, s: this.s, q: this.q, r: this.r };
  }

  /** As window.ts's `advance`. */
  advance(ts: number, span: number): boolean {
    const n = this.#n;
    if (n === 0) return true;
    const at = ts - this.b;
    const newest = this.#t[this.#at(n - 1)]!;
    if (at <= newest) return at > newest - span;
    let drop = 0;
    const cut = at - span;
    while (drop < n && this.#t[this.#at(drop)]! <= cut) drop++;
    if (drop > 0) this.#remove(drop);
    return true;
  }

  /** As window.ts's `insert`. */
  insert(ts: number, value: number, maxValues: number): void {
    if (this.#n === 0) {
      this.#head = 0;
      this.b = ts;
      this.k = value;
      this.s = 0;
      this.q = 0;
      this.r = 0;
    }
    if (this.#n + 1 > this.#v.length) this.#grow(this.#n + 1);
    const at = ts - this.b;
    const n = this.#n;
    let pos = n;
    if (n > 0 && at < this.#t[this.#at(n - 1)]!) {
      let lo = 0, hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#t[this.#at(mid)]! <= at) lo = mid + 1;
        else hi = mid;
      }
      pos = lo;
      for (let i = n; i > pos; i--) {
        const to = this.#at(i), from = this.#at(i - 1);
        this.#t[to] = this.#t[from]!;
        this.#v[to] = this.#v[from]!;
      }
    }
    this.#n = n + 1;
    this.#setT(this.#at(pos), at);
    this.#v[this.#at(pos)] = value;
    const d = value - this.k;
    this.s += d;
    this.q += d * d;
    if (this.#n > maxValues) this.#remove(this.#n - maxValues);
    const first = this.#t[this.#head]!;
    if (first < 0 || first >= REBASE_AFTER) {
      for (let i = 0; i < this.#n; i++) {
        const j = this.#at(i);
        this.#setT(j, this.#t[j]! - first);
      }
      this.b += first;
    }
  }

  /** As window.ts's `resum`. */
  resum(): void {
    const k = this.#n === 0 ? 0 : this.#v[this.#head]!;
    let s = 0, q = 0;
    for (let i = 0; i < this.#n; i++) {
      const d = this.#v[this.#at(i)]! - k;
      s += d;
      q += d * d;
    }
    this.k = k;
    this.s = s;
    this.q = q;
    this.r = 0;
  }

  /** Count, mean and population standard deviation, in O(1). */
  moments(): { n: number; mean: number; std: number } {
    const n = this.#n;
    if (n === 0) return { n: 0, mean: 0, std: 0 };
    return { n, mean: this.k + this.s / n, std: Math.sqrt(varianceOf(n, this.s, this.q)) };
  }

  /** Smallest and largest value (a pass over the window); `null`s when empty. */
  range(): { min: number | null; max: number | null } {
    if (this.#n === 0) return { min: null, max: null };
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < this.#n; i++) {
      const x = this.#v[this.#at(i)]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    return { min, max };
  }

  /** The trend of the window's last values, as `trendOf(w.t, w.v, config)`; allocates nothing. */
  trend(config: TrendConfig): Trend {
    const n = this.#n;
    if (n < config.minValues || n < 2) return "stable";
    // trendOf looks at the last `values` points, once there are `minValues`: copy enough.
    const m = Math.min(n, Math.max(config.values, config.minValues));
    scratchT.length = m;
    scratchV.length = m;
    for (let i = 0; i < m; i++) {
      const j = this.#at(n - m + i);
      scratchT[i] = this.#t[j]!;
      scratchV[i] = this.#v[j]!;
    }
    return trendOf(scratchT, scratchV, config);
  }

  #at(i: number): number {
    const j = this.#head + i;
    const cap = this.#v.length;
    return j >= cap ? j - cap : j;
  }

  #setT(j: number, at: number): void {
    if (
      this.#t instanceof Int32Array && !(Number.isInteger(at) && at >= INT32_MIN && at <= INT32_MAX)
    ) {
      this.#t = Float64Array.from(this.#t);
    }
    this.#t[j] = at;
  }

  #remove(count: number): void {
    for (let i = 0; i < count; i++) {
      const d = this.#v[this.#at(i)]! - this.k;
      this.s -= d;
      this.q -= d * d;
    }
    this.#head = this.#at(count);
    this.#n -= count;
    this.r += count;
    if (this.#n === 0) {
      this.s = 0;
      this.q = 0;
      this.r = 0;
    } else if (this.r >= RESUM_AFTER) this.resum();
  }

  /** Room for `need` readings, in time order from index 0. */
  #grow(need: number): void {
    const cap = Math.max(need, this.#v.length * 2);
    const v = new Float64Array(cap);
    const t = this.#t instanceof Int32Array ? new Int32Array(cap) : new Float64Array(cap);
    for (let i = 0; i < this.#n; i++) {
      const j = this.#at(i);
      v[i] = this.#v[j]!;
      t[i] = this.#t[j]!;
    }
    this.#v = v;
    this.#t = t;
    this.#head = 0;
  }
}
