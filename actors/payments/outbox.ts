/**
 * Store-and-forward between a terminal and its payment gateway, effectively once.
 *
 * The terminal numbers every payment it forwards (1, 2, 3, …) and keeps it in its outbox — part
 * of its journaled state — until the gateway acknowledges it. It sends unacknowledged items
 * when it creates them (online), when it comes back online, when its retry reminder fires and
 * when it is activated; so every item reaches the gateway at least once, even across a crash.
 * The gateway accepts only the next number it expects (go-back-N): a number it has already
 * accepted is a duplicate and skipped, a number past a gap waits for the gap to be resent. It
 * acknowledges the highest number it has accepted, cumulatively. So each item is applied by
 * the gateway exactly once and in order, and its memory of what it has seen is one number.
 *
 * @module
 */
import type { ForwardKind, PaymentStatus, Priority } from "./decision.ts";

/** The terminal actor type's name; alerts name their source `terminal/<id>`. */
export const TERMINAL = "terminal";

/** The gateway actor type's name: one gateway actor per terminal, with the terminal's id. */
export const GATEWAY = "payment-gateway";

/** A payment forwarded from a terminal to its gateway. */
export interface ForwardItem {
  /** The terminal's forward sequence number (1, 2, …). */
  readonly seq: number;
  readonly kind: ForwardKind;
  readonly priority: Priority;
  readonly transactionId: string;
  /** KRW. */
  readonly amount: number;
  readonly currency: string;
  /** Keyed hash of the card. */
  readonly card: string;
  /** Transaction time (epoch ms). */
  readonly ts: number;
  /** The terminal's decision. */
  readonly status: PaymentStatus;
  readonly fraudScore: number;
  readonly approvalCode: string | null;
}

/** A terminal's unacknowledged forwards. */
export interface Outbox {
  /** In sequence order. */
  readonly items: ForwardItem[];
  /** The number the next item gets. */
  nextSeq: number;
  /** Every item up to this number is acknowledged (and gone from `items`). */
  ackedSeq: number;
}

/** Most items one forward message carries (a longer outbox goes in several, in order). */
export const FORWARD_BATCH = 100;

/** An empty outbox. */
export function emptyOutbox(): Outbox {
  return { items: [], nextSeq: 1, ackedSeq: 0 };
}

/** Adds an item with the next sequence number; returns it. */
export function enqueue(outbox: Outbox, item: Omit<ForwardItem, "seq">): ForwardItem {
  const numbered: ForwardItem = { seq: outbox.nextSeq, ...item };
  outbox.items.push(numbered);
  outbox.nextSeq++;
  return numbered;
}

/**
 * Applies a cumulative acknowledgement: drops the items numbered up to `upTo`.
 * @returns how many items were dropped (0 for a stale or duplicate acknowledgement).
 */
export function acknowledge(outbox: Outbox, upTo: number): number {
  const limit = Math.min(upTo, outbox.nextSeq - 1);
  if (limit <= outbox.ackedSeq) return 0;
  outbox.ackedSeq = limit;
  let n = 0;
  while (n < outbox.items.length && outbox.items[n]!.seq <= limit) n++;
  outbox.items.splice(0, n);
  return n;
}

/** What a gateway makes of a batch of forwarded items. */
export interface Accepted {
  /** The items it had not seen, in order: to apply. */
  readonly fresh: ForwardItem[];
  /** The highest number accepted, after this batch: to acknowledge. */
  readonly lastSeq: number;
  /** Items already accepted before (resent). */
  readonly duplicates: number;
}

/**
 * The gateway's side: given the highest number accepted so far, which items of a batch are
 * new. Items are taken in sequence order; one past a gap stops the batch (it comes again).
 *
 * @example
 * ```ts
 * accept(2, [item(2), item(3), item(5)]); // { fresh: [item(3)], lastSeq: 3, duplicates: 1 }
 * ```
 */
export function accept(lastSeq: number, items: readonly ForwardItem[]): Accepted {
  const fresh: ForwardItem[] = [];
  let next = lastSeq + 1;
  let duplicates = 0;
  for (const item of [...items].sort((a, b) => a.seq - b.seq)) {
    if (item.seq < next) {
      duplicates++;
      continue;
    }
    if (item.seq > next) break;
    fresh.push(item);
    next++;
  }
  return { fresh, lastSeq: next - 1, duplicates };
}
