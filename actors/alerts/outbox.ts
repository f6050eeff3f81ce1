/**
 * A durable outbox of webhook deliveries: what to send, when to try next, and the exponential
 * backoff between attempts. Pure functions over plain data; the webhook actor (`webhook.ts`)
 * does the sending.
 *
 * Delivery is at least once: a delivery leaves the outbox only after a 2xx answer is recorded,
 * so a crash between the answer and the record sends it again. Receivers deduplicate by the
 * `X-Flotilla-Delivery` header, which is the delivery's id.
 *
 * @module
 */
import type { JsonValue } from "../../runtime/mod.ts";

/** How a webhook retries. */
export interface Backoff {
  /** Delay after the first failure (ms). */
  readonly initialMs: number;
  /** Each further failure multiplies the delay by this. */
  readonly factor: number;
  /** The delay never exceeds this (ms). */
  readonly maxMs: number;
  /** Attempts in all (the first included); a delivery failing this often is given up. */
  readonly maxAttempts: number;
}

/**
 * The delay before the next attempt after `failures` failed ones (≥ 1):
 * `min(maxMs, initialMs × factor^(failures − 1))`. Deterministic (no jitter): one outbox per
 * webhook sends one delivery at a time, so there is no herd to spread out.
 */
export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.initialMs * b.factor ** Math.max(0, failures - 1));
}

/** One delivery waiting in the outbox. */
export interface Delivery {
  /** Unique per webhook; sent as `X-Flotilla-Delivery`. */
  readonly id: string;
  readonly body: JsonValue;
  readonly createdAt: number;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due (epoch ms). */
  nextAt: number;
  lastError: string | null;
}

/** A webhook's outbox. */
export interface Outbox {
  /** Number of the last delivery enqueued. */
  seq: number;
  /** Deliveries waiting, oldest first. */
  pending: Delivery[];
  /** Deliveries given up (attempts exhausted, refused, or pushed out), newest last. */
  failed: Delivery[];
  /** Deliveries answered with a 2xx. */
  delivered: number;
  /** A flush has been asked for and not yet run. */
  flushQueued: boolean;
}

/** An empty outbox. */
export function emptyOutbox(): Outbox {
  return { seq: 0, pending: [], failed: [], delivered: 0, flushQueued: false };
}

/** Failed deliveries kept for inspection. */
export const KEEP_FAILED = 100;

/**
 * Adds a delivery, due now. When the outbox already holds `limit` deliveries the oldest is
 * given up to make room (a dead endpoint must not grow the state without bound).
 */
export function enqueue(outbox: Outbox, body: JsonValue, now: number, limit: number): Delivery {
  outbox.seq++;
  const delivery: Delivery = {
    id: `d${outbox.seq}`,
    body,
    createdAt: now,
    attempts: 0,
    nextAt: now,
    lastError: null,
  };
  outbox.pending.push(delivery);
  while (outbox.pending.length > limit) {
    const dropped = outbox.pending.shift()!;
    dropped.lastError = "outbox full: given up for newer deliveries";
    giveUp(outbox, dropped);
  }
  return delivery;
}

/** Deliveries due at `now`, oldest first, at most `max`. */
export function due(outbox: Outbox, now: number, max: number): Delivery[] {
  return outbox.pending.filter((d) => d.nextAt <= now).slice(0, max);
}

/** Records a successful attempt: the delivery leaves the outbox. */
export function succeeded(outbox: Outbox, id: string): void {
  const i = outbox.pending.findIndex((d) => d.id === id);
  if (i < 0) return;
  outbox.pending.splice(i, 1);
  outbox.delivered++;
}

/**
 * Records a failed attempt: retried after the backoff, or given up once `maxAttempts` are spent
 * or when the failure is permanent (a 4xx other than 408/425/429: sending it again cannot help).
 */
export function failed(
  outbox: Outbox,
  id: string,
  error: string,
  permanent: boolean,
  now: number,
  backoff: Backoff,
): void {
  const i = outbox.pending.findIndex((d) => d.id === id);
  if (i < 0) return;
  const d = outbox.pending[i]!;
  d.attempts++;
  d.lastError = error;
  if (permanent || d.attempts >= backoff.maxAttempts) {
    outbox.pending.splice(i, 1);
    giveUp(outbox, d);
    return;
  }
  d.nextAt = now + backoffDelay(backoff, d.attempts);
}

function giveUp(outbox: Outbox, d: Delivery): void {
  outbox.failed.push(d);
  if (outbox.failed.length > KEEP_FAILED) outbox.failed.shift();
}

/** When the earliest pending delivery is due, or `null` when none waits. */
export function nextDue(outbox: Outbox): number | null {
  let next: number | null = null;
  for (const d of outbox.pending) if (next === null || d.nextAt < next) next = d.nextAt;
  return next;
}

/** Is an HTTP status worth retrying? 408, 425, 429 and 5xx are; other 4xx are not. */
export function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
