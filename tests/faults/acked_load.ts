/**
 * A fleet of devices publishing numbered readings with JetStream acknowledgements, so that
 * "acknowledged" is well defined: a reading counts once nats-server answered its publish with
 * a PubAck from stream `FLOTILLA_INGEST` (where the subject mapping puts `iot.<id>.telemetry`).
 *
 * Each device publishes its readings one after the other — reading `n + 1` only once `n` is
 * acknowledged — so the stream holds each device's readings in `seq` order, whatever fails in
 * between. A publish that times out or fails (nats-server down, JetStream not ready) is sent
 * again with the same message id (`Nats-Msg-Id` = `<device>:<seq>`): JetStream's duplicate
 * window drops the copy if the first attempt had been stored after all, so a retry never
 * doubles a reading. A reading that stays unacknowledged for `giveUpMs` fails the load.
 *
 * @module
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";

/** Options of {@link AckedLoad}. */
export interface AckedLoadOptions {
  /** Device ids; each publishes `seq` 0, 1, 2, … */
  readonly devices: readonly string[];
  /** Pause between a device's acknowledged reading and its next one, ms (paces the load). */
  readonly intervalMs: number;
  /** How long one publish attempt waits for its PubAck, ms. @default 2000 */
  readonly ackTimeoutMs?: number;
  /** How long a reading may stay unacknowledged across attempts before the load fails. @default 60000 */
  readonly giveUpMs?: number;
}

/** The body of reading `seq`: the device actor emits `readings.seq` back in its event. */
export function readingBody(seq: number): string {
  return JSON.stringify({ ts: 1_700_000_000_000 + seq, readings: { seq } });
}

/** Devices publishing acknowledged readings until stopped; see the module documentation. */
export class AckedLoad {
  /** Per device, the `seq`s JetStream acknowledged, in order (always 0 … n-1). */
  readonly acked: Map<string, number[]>;
  /** Publish attempts that failed and were sent again. */
  retries = 0;
  /** Retries JetStream answered as duplicates (the failed attempt had been stored). */
  duplicates = 0;
  #o: AckedLoadOptions;
  #js: JetStreamClient;
  #total = 0;
  #running = false;
  #aborted = false;
  #loops: Promise<void>[] = [];
  #error: Error | null = null;
  #waiters = new Set<() => void>();

  constructor(js: JetStreamClient, options: AckedLoadOptions) {
    this.#js = js;
    this.#o = options;
    this.acked = new Map(options.devices.map((d) => [d, []]));
  }

  /** Readings acknowledged so far, all devices. */
  get total(): number {
    return this.#total;
  }

  /** Each device's acknowledged count (what its twin's `messageCount` must equal). */
  counts(): Map<string, number> {
    return new Map([...this.acked].map(([d, seqs]) => [d, seqs.length]));
  }

  /** Starts every device's publishing loop. */
  start(): this {
    if (this.#running) return this;
    this.#running = true;
    this.#loops = this.#o.devices.map((device) => this.#device(device));
    return this;
  }

  /**
   * Resolves once `n` readings in all have been acknowledged; rejects if the load failed or
   * `timeoutMs` passed first (saying `what` it waited for).
   */
  async until(n: number, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#total < n) {
      if (this.#error !== null) throw this.#error;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}: ${this.#total} of ${n} ` +
            `readings acknowledged (${this.retries} retries)`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
    if (this.#error !== null) throw this.#error;
  }

  /**
   * Stops starting new readings and waits until every device's last reading is acknowledged;
   * rethrows what made the load fail, if anything did.
   */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    if (this.#error !== null) throw this.#error;
  }

  /** Stops at once, in-flight readings or not (for cleanup after a failure). */
  abort(): void {
    this.#running = false;
    this.#aborted = true;
  }

  async #device(device: string): Promise<void> {
    const seqs = this.acked.get(device)!;
    try {
      for (let seq = 0; this.#running && this.#error === null; seq++) {
        await this.#publish(device, seq);
        seqs.push(seq);
        this.#total++;
        for (const wake of this.#waiters) wake();
        this.#waiters.clear();
        if (this.#running) await new Promise((r) => setTimeout(r, this.#o.intervalMs));
      }
    } catch (error) {
      this.#error ??= error as Error;
      for (const wake of this.#waiters) wake();
    }
  }

  async #publish(device: string, seq: number): Promise<void> {
    const ack = await publishAcked(this.#js, `iot.${device}.telemetry`, readingBody(seq), {
      msgID: `${device}:${seq}`,
      ackTimeoutMs: this.#o.ackTimeoutMs,
      giveUpMs: this.#o.giveUpMs,
      aborted: () => this.#aborted,
      onRetry: () => this.retries++,
    });
    if (ack.duplicate) this.duplicates++;
  }
}

/** Options of {@link publishAcked}. */
export interface PublishAckedOptions {
  /** JetStream's deduplication id: the same for every attempt. */
  readonly msgID: string;
  /** @default 2000 */
  readonly ackTimeoutMs?: number | undefined;
  /** @default 60000 */
  readonly giveUpMs?: number | undefined;
  /** Stop retrying (and fail) once this says so. */
  readonly aborted?: () => boolean;
  readonly onRetry?: () => void;
}

/**
 * Publishes to JetStream until stream `FLOTILLA_INGEST` acknowledges it, sending it again
 * with the same message id after a failure; fails after `giveUpMs`, or if another stream
 * acknowledged it.
 */
export async function publishAcked(
  js: JetStreamClient,
  subject: string,
  data: string | Uint8Array,
  options: PublishAckedOptions,
): Promise<PubAck> {
  const started = Date.now();
  const giveUpMs = options.giveUpMs ?? 60_000;
  for (let attempt = 0;; attempt++) {
    let ack: PubAck;
    try {
      ack = await js.publish(subject, data, {
        msgID: options.msgID,
        timeout: options.ackTimeoutMs ?? 2000,
      });
    } catch (error) {
      if (options.aborted?.()) {
        throw new Error(`aborted before ${options.msgID} was acknowledged`);
      }
      if (Date.now() - started > giveUpMs) {
        throw new Error(
          `${subject} (${options.msgID}) not acknowledged within ${giveUpMs} ms ` +
            `(${attempt + 1} attempts): ${(error as Error).message}`,
          { cause: error },
        );
      }
      options.onRetry?.();
      // Back off a little: during an outage every device retries at once.
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
      continue;
    }
    if (ack.stream !== "FLOTILLA_INGEST") {
      throw new Error(`${subject} (${options.msgID}) acknowledged by stream ${ack.stream}`);
    }
    return ack;
  }
}
