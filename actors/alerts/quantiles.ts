/**
 * Percentiles (p50/p95/p99) of a window's values in bounded, mergeable, JSON-plain state.
 *
 * Exact while a window holds at most `exactLimit` values (kept sorted): the nearest-rank
 * percentile, `sorted[ceil(q·n) − 1]`, always a value that was seen. Past the limit the values
 * move into a DDSketch-style log histogram with relative accuracy `alpha` (default 1 %): each
 * bucket `i` holds values in `(γ^(i−1), γ^i]` with `γ = (1+α)/(1−α)` and answers with
 * `2γ^i/(γ+1)`, so a percentile is within ±α (relative) of the exact nearest-rank value.
 * Values with `|x| < 1e-9` share a zero bucket. At most {@link MAX_BUCKETS} buckets per sign;
 * beyond, the buckets nearest zero are folded together (only the lowest percentiles of such a
 * spread lose accuracy).
 *
 * @module
 */

/** Exact mode: the values, ascending. */
export interface ExactQuantiles {
  readonly exact: number[];
}

/** Sketch mode: bucket counts by index, per sign. */
export interface SketchQuantiles {
  readonly alpha: number;
  /** Positive values: bucket index → count. */
  readonly pos: Record<string, number>;
  /** Negative values by |x|: bucket index → count. */
  readonly neg: Record<string, number>;
  zero: number;
  count: number;
}

/** Quantile state: exact or sketched. */
export type Quantiles = ExactQuantiles | SketchQuantiles;

/** Exact values kept before switching to the sketch. */
export const EXACT_LIMIT = 1024;
/** The sketch's relative accuracy. */
export const ALPHA = 0.01;
/** Buckets per sign before the ones nearest zero are folded. */
export const MAX_BUCKETS = 2048;
const MIN_INDEXABLE = 1e-9;

/** Empty quantile state. */
export function emptyQuantiles(): Quantiles {
  return { exact: [] };
}

/** Adds a finite value. */
export function addValue(q: Quantiles, x: number, exactLimit = EXACT_LIMIT): Quantiles {
  if ("exact" in q) {
    if (q.exact.length < exactLimit) {
      q.exact.splice(upperBound(q.exact, x), 0, x);
      return q;
    }
    const s = toSketch(q);
    sketchAdd(s, x, 1);
    return s;
  }
  sketchAdd(q, x, 1);
  return q;
}

/** Merges two states (for session windows that merge). */
export function mergeQuantiles(a: Quantiles, b: Quantiles, exactLimit = EXACT_LIMIT): Quantiles {
  if ("exact" in a && "exact" in b && a.exact.length + b.exact.length <= exactLimit) {
    return { exact: mergeSorted(a.exact, b.exact) };
  }
  const s = "exact" in a ? toSketch(a) : cloneSketch(a);
  const t = "exact" in b ? toSketch(b) : b;
  for (const [i, c] of Object.entries(t.pos)) s.pos[i] = (s.pos[i] ?? 0) + c;
  for (const [i, c] of Object.entries(t.neg)) s.neg[i] = (s.neg[i] ?? 0) + c;
  s.zero += t.zero;
  s.count += t.count;
  fold(s.pos);
  fold(s.neg);
  return s;
}

/** Number of values. */
export function sizeOf(q: Quantiles): number {
  return "exact" in q ? q.exact.length : q.count;
}

/** The `p`-quantile (0 < p ≤ 1) by nearest rank, or `null` for no values. */
export function quantile(q: Quantiles, p: number): number | null {
  const n = sizeOf(q);
  if (n === 0) return null;
  const rankWanted = Math.min(n, Math.max(1, Math.ceil(p * n)));
  if ("exact" in q) return q.exact[rankWanted - 1]!;
  const gamma = (1 + q.alpha) / (1 - q.alpha);
  let seen = 0;
  // Ascending: negatives from the largest |x| down, then zero, then positives up.
  const neg = Object.keys(q.neg).map(Number).sort((x, y) => y - x);
  for (const i of neg) {
    seen += q.neg[i]!;
    if (seen >= rankWanted) return -represent(i, gamma);
  }
  seen += q.zero;
  if (seen >= rankWanted) return 0;
  const pos = Object.keys(q.pos).map(Number).sort((x, y) => x - y);
  for (const i of pos) {
    seen += q.pos[i]!;
    if (seen >= rankWanted) return represent(i, gamma);
  }
  return represent(pos.at(-1) ?? 0, gamma);
}

function represent(i: number, gamma: number): number {
  return (2 * gamma ** i) / (gamma + 1);
}

function toSketch(q: ExactQuantiles): SketchQuantiles {
  const s: SketchQuantiles = { alpha: ALPHA, pos: {}, neg: {}, zero: 0, count: 0 };
  for (const x of q.exact) sketchAdd(s, x, 1);
  return s;
}

function cloneSketch(s: SketchQuantiles): SketchQuantiles {
  return { alpha: s.alpha, pos: { ...s.pos }, neg: { ...s.neg }, zero: s.zero, count: s.count };
}

function sketchAdd(s: SketchQuantiles, x: number, n: number): void {
  s.count += n;
  const abs = Math.abs(x);
  if (abs < MIN_INDEXABLE) {
    s.zero += n;
    return;
  }
  const gamma = (1 + s.alpha) / (1 - s.alpha);
  const i = Math.ceil(Math.log(abs) / Math.log(gamma));
  const store = x > 0 ? s.pos : s.neg;
  const fresh = store[i] === undefined;
  store[i] = (store[i] ?? 0) + n;
  if (fresh) fold(store);
}

/** Folds the buckets nearest zero together while there are too many. */
function fold(store: Record<string, number>): void {
  const keys = Object.keys(store);
  if (keys.length <= MAX_BUCKETS) return;
  const sorted = keys.map(Number).sort((x, y) => x - y);
  const excess = sorted.length - MAX_BUCKETS;
  const into = sorted[excess]!;
  for (let k = 0; k < excess; k++) {
    const i = sorted[k]!;
    store[into] = (store[into] ?? 0) + store[i]!;
    delete store[i];
  }
}

function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) out.push(a[i]! <= b[j]! ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
