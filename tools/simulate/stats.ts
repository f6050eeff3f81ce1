/**
 * What the simulator counts (sent, acknowledged, errors by kind, latencies), the live progress
 * line and the closing summary.
 *
 * @module
 */

/** Acknowledgement latencies in log-spaced buckets (2 % wide, 10 µs to ~5 min): bounded memory
 * however long the run, percentiles within 2 %. */
export class LatencyHistogram {
  static readonly #MIN = 0.01;
  static readonly #GROWTH = Math.log(1.02);
  readonly #buckets = new Float64Array(900);
  count = 0;
  sum = 0;

  /** Records one latency, ms. */
  record(ms: number): void {
    const i = ms <= LatencyHistogram.#MIN
      ? 0
      : Math.min(899, Math.ceil(Math.log(ms / LatencyHistogram.#MIN) / LatencyHistogram.#GROWTH));
    this.#buckets[i]!++;
    this.count++;
    this.sum += ms;
  }

  /** The `q` quantile (0–1), ms, as the upper bound of its bucket; `null` when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return LatencyHistogram.#MIN * Math.exp(i * LatencyHistogram.#GROWTH);
    }
    return null;
  }
}

/** Counters of one stream of messages (telemetry, terminal requests, setup requests). */
export class Counter {
  sent = 0;
  acked = 0;
  readonly errors = new Map<string, number>();
  readonly latency = new LatencyHistogram();

  /** Counts a failure under `kind` (`http 422 record_rejected`, `refused`, `timeout`, …). */
  error(kind: string, n = 1): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + n);
  }

  get errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  toJSON(): CounterSummary {
    const p = (q: number) => {
      const v = this.latency.quantile(q);
      return v === null ? null : round(v, 2);
    };
    return {
      sent: this.sent,
      acked: this.acked,
      errors: Object.fromEntries([...this.errors].sort((a, b) => b[1] - a[1])),
      latencyMs: this.latency.count === 0 ? null : {
        mean: round(this.latency.sum / this.latency.count, 2),
        p50: p(0.5)!,
        p99: p(0.99)!,
      },
    };
  }
}

/** A counter in the summary. */
export interface CounterSummary {
  readonly sent: number;
  readonly acked: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Acknowledgement latency: HTTP responses, MQTT PUBACKs; `null` for NATS (no per-message ack). */
  readonly latencyMs: { readonly mean: number; readonly p50: number; readonly p99: number } | null;
}

/** The closing summary (`--json` prints it as is). */
export interface Summary {
  readonly seed: number;
  readonly via: string;
  readonly url: string;
  readonly api: string;
  readonly fleet: Readonly<Record<string, number>>;
  /** Wall time of the run proper (setup excluded), ms. */
  readonly elapsedMs: number;
  /** `duration`, `message cap`, `interrupted` or `error`. */
  readonly stoppedBy: string;
  /** Messages per second: the target, and what was sent within the run's time. */
  readonly rate: { readonly target: number; readonly mean: number };
  /** Device telemetry: acked equals what the node counts in the twins' messageCount. */
  readonly telemetry: CounterSummary;
  /** Terminal requests (settings and payments), always over HTTP. */
  readonly terminals: CounterSummary & {
    readonly payments: Readonly<Record<string, number>>;
    readonly wentOffline: number;
    readonly cameOnline: number;
  };
  /** Requests before the run: registrations, terminal settings, card caches. */
  readonly setup: CounterSummary;
  /** Anomalous readings sent, by sensor. */
  readonly anomalies: Readonly<Record<string, number>>;
  readonly total: { readonly sent: number; readonly acked: number; readonly errors: number };
  /** What stopped the run early, when something did. */
  readonly error?: string;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** `1234567` → `1,234,567`. */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A rate with one decimal and thousands separators: `16,982.4`. */
export function perSecond(rate: number): string {
  return rate.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** Seconds with one decimal: `12.3s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A latency for people: `3.2 ms`, `148 ms`. */
function ms(value: number): string {
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** Errors by kind as `2 × refused, 1 × http 422 record_rejected`. */
export function errorList(errors: Readonly<Record<string, number>>): string {
  return Object.entries(errors).map(([k, n]) => `${thousands(n)} × ${k}`).join(", ");
}

/** What the progress line shows. */
export interface ProgressSnapshot {
  readonly phase: "setup" | "run" | "stopping" | "done";
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly acked: number;
  readonly errors: number;
  /** Messages per second over the last second or so. */
  readonly rate: number;
  readonly setupDone?: number;
  readonly setupTotal?: number;
  readonly p50?: number | null;
}

/** The progress line's text (no control characters). */
export function progressText(s: ProgressSnapshot): string {
  if (s.phase === "setup") {
    return `setup ${thousands(s.setupDone ?? 0)}/${thousands(s.setupTotal ?? 0)} requests` +
      (s.errors > 0 ? `, ${thousands(s.errors)} errors` : "");
  }
  if (s.phase === "done") {
    return `done after ${seconds(s.elapsedMs)}  sent ${thousands(s.sent)}  acked ${
      thousands(s.acked)
    }  errors ${thousands(s.errors)}`;
  }
  const parts = [
    `${seconds(s.elapsedMs)}/${seconds(s.durationMs)}`,
    `sent ${thousands(s.sent)}`,
    `acked ${thousands(s.acked)}`,
    `errors ${thousands(s.errors)}`,
    `rate ${perSecond(s.rate)}/s`,
  ];
  if (s.p50 !== undefined && s.p50 !== null) parts.push(`p50 ${s.p50.toFixed(1)}ms`);
  if (s.phase === "stopping") parts.push("stopping…");
  return parts.join("  ");
}

/** Where output goes: text, written as is. */
export interface Output {
  write(text: string): void;
  /** Whether it is a terminal (one updating line) or not (plain lines). */
  readonly isTerminal: boolean;
  /** Width of the terminal, characters. */
  readonly columns?: number;
}

/**
 * The live progress display: on a terminal, one line redrawn in place (`\r` and erase-line);
 * elsewhere (a pipe, a file, CI) a plain line every `plainEveryMs`.
 */
export class Progress {
  #last = -Infinity;
  #drawn = false;

  constructor(readonly out: Output, readonly plainEveryMs: number) {}

  /** Shows `snapshot`; on a pipe only if `plainEveryMs` passed since the last line (or `force`). */
  show(snapshot: ProgressSnapshot, now: number, force = false): void {
    const text = progressText(snapshot);
    if (this.out.isTerminal) {
      // Truncated to the terminal's width, so the line never wraps (a wrapped line cannot be
      // redrawn in place); some terminals report no width (0).
      const columns = this.out.columns ?? 0;
      const width = columns >= 20 ? columns - 1 : 120;
      this.out.write(`\r\x1b[2K${text.length > width ? text.slice(0, width) : text}`);
      this.#drawn = true;
    } else if (force || now - this.#last >= this.plainEveryMs) {
      this.out.write(`${text}\n`);
      this.#last = now;
    }
  }

  /** Ends the updating line, so what follows starts on a line of its own. */
  done(): void {
    if (this.#drawn) this.out.write("\n");
    this.#drawn = false;
  }
}

/** The summary for people (an error that stopped the run is for the caller to show). */
export function summaryText(s: Summary): string {
  const fleet = Object.entries(s.fleet).filter(([, n]) => n > 0).map(([k, n]) =>
    `${thousands(n)} ${k}`
  ).join(", ");
  const line = (label: string, text: string) => `  ${label.padEnd(12)}${text}\n`;
  const counter = (c: CounterSummary) =>
    `${thousands(c.sent)} sent, ${thousands(c.acked)} acked, ${
      thousands(Object.values(c.errors).reduce((a, b) => a + b, 0))
    } errors` + (Object.keys(c.errors).length > 0 ? ` (${errorList(c.errors)})` : "");
  let text = "simulation summary\n";
  text += line("fleet", fleet);
  const usedApi = s.via !== "http" && (s.fleet.terminals! > 0 || s.setup.sent > 0);
  text += line("via", `${s.via} → ${s.url}` + (usedApi ? `; API ${s.api}` : ""));
  text += line("seed", `${s.seed} (repeat the run with --seed ${s.seed})`);
  const stop: Record<string, string> = {
    duration: "ran its duration",
    "message cap": "reached the message cap",
    interrupted: "interrupted (Ctrl-C)",
    error: "stopped by an error",
  };
  text += line("time", `${seconds(s.elapsedMs)}, ${stop[s.stoppedBy] ?? s.stoppedBy}`);
  text += line("telemetry", counter(s.telemetry));
  if (s.fleet.terminals! > 0) {
    const payments = Object.entries(s.terminals.payments).map(([k, n]) => `${thousands(n)} ${k}`)
      .join(", ");
    text += line("terminals", counter(s.terminals));
    text += line(
      "",
      `payments: ${payments || "none"}; went offline ${s.terminals.wentOffline}×, ` +
        `back online ${s.terminals.cameOnline}×`,
    );
  }
  if (s.setup.sent > 0) text += line("setup", counter(s.setup));
  const anomalies = Object.entries(s.anomalies).map(([k, n]) => `${thousands(n)} ${k}`).join(", ");
  text += line("anomalies", anomalies || "none");
  text += line(
    "total",
    `${thousands(s.total.sent)} sent, ${thousands(s.total.acked)} acked, ${
      thousands(s.total.errors)
    } errors; mean rate ${perSecond(s.rate.mean)} msg/s (target ${perSecond(s.rate.target)})`,
  );
  const latency = (label: string, c: CounterSummary) =>
    c.latencyMs === null ? "" : line(
      label,
      `p50 ${ms(c.latencyMs.p50)}, p99 ${ms(c.latencyMs.p99)}, mean ${ms(c.latencyMs.mean)}`,
    );
  if (s.via === "nats") {
    text += line("ack", "NATS: acked = confirmed by a flush round trip (no per-message ack)");
  } else text += latency(`ack (${s.via})`, s.telemetry);
  if (s.fleet.terminals! > 0) text += latency("ack (terms)", s.terminals);
  return text;
}
