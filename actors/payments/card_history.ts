/**
 * A terminal's recent card uses, by keyed card hash: how often a card was used within the
 * velocity window, and how a new amount compares with what the card usually spends here.
 * Pure functions over a bounded, plain-JSON list.
 *
 * Counts are per terminal: the terminal actor knows its own transactions only (a card used at
 * two terminals is counted at each separately).
 *
 * @module
 */

/** One use of a card at the terminal. Short keys: the list lives in the terminal's state. */
export interface CardUse {
  /** Keyed hash of the card token. */
  readonly c: string;
  /** Transaction time (epoch ms). */
  readonly t: number;
  /** Amount, KRW. */
  readonly a: number;
}

/** How much history a terminal keeps. */
export interface HistoryLimits {
  /** Uses older than this (behind the newest use) are forgotten, ms. */
  readonly historyMs: number;
  /** At most this many uses are kept (the oldest recorded go first). */
  readonly maxEntries: number;
}

/** What the history says about a card at the time of a new transaction. */
export interface CardActivity {
  /**
   * Uses of the card with a timestamp in `(ts - windowMs, ts]`, the new transaction included
   * (so at least 1). A late transaction counts the uses before it, not those after.
   */
  readonly recentCount: number;
  /** Mean amount of the card's earlier uses within the history, or `null` for none. */
  readonly priorMean: number | null;
}

/**
 * Looks up a card's activity for a transaction at `ts`.
 *
 * @example
 * ```ts
 * cardActivity([{ c: "h", t: 0, a: 10_000 }], "h", 60_000, 3_600_000);
 * // { recentCount: 2, priorMean: 10000 }
 * ```
 */
export function cardActivity(
  history: readonly CardUse[],
  card: string,
  ts: number,
  windowMs: number,
): CardActivity {
  let recent = 1;
  let sum = 0;
  let n = 0;
  for (const use of history) {
    if (use.c !== card || use.t > ts) continue;
    if (use.t > ts - windowMs) recent++;
    sum += use.a;
    n++;
  }
  return { recentCount: recent, priorMean: n === 0 ? null : sum / n };
}

/**
 * Records a use and forgets what falls outside the limits: uses more than `historyMs` older
 * than the newest one, then the oldest recorded beyond `maxEntries`.
 */
export function recordUse(history: CardUse[], use: CardUse, limits: HistoryLimits): void {
  history.push(use);
  let newest = -Infinity;
  for (const u of history) if (u.t > newest) newest = u.t;
  const horizon = newest - limits.historyMs;
  if (history.some((u) => u.t <= horizon)) {
    const kept = history.filter((u) => u.t > horizon);
    history.length = 0;
    history.push(...kept);
  }
  if (history.length > limits.maxEntries) history.splice(0, history.length - limits.maxEntries);
}
