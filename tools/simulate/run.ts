/**
 * One simulation run: connect, set the fleet up, send at the target rate until the duration,
 * the message cap, Ctrl-C or a fatal error stops it, wait for the last acknowledgements, and
 * sum up.
 *
 * Pacing is a token bucket over messages (`rate` per second, bursts of at most a tenth of a
 * second). Devices take turns round-robin; a device whose previous request is still waiting
 * for its answer skips its turn, so each device's messages arrive in order and a slow node
 * lowers the achieved rate (shown) instead of piling requests up. At most `concurrency`
 * messages wait for their acknowledgement at once.
 *
 * @module
 */
import { createFleet, type Op, type SetupOp, type SimDevice, Terminal } from "./fleet.ts";
import type { SimOptions } from "./options.ts";
import { Counter, type Output, Progress, round, type Summary } from "./stats.ts";
import {
  FriendlyError,
  HttpApi,
  HttpTransport,
  MqttTransport,
  NatsTransport,
  showUrl,
  type Transport,
  within,
} from "./transports.ts";

/** What a run needs from its surroundings. */
export interface RunIo {
  /** Where the progress goes. */
  readonly progress: Output;
  /** Aborting it stops the run (Ctrl-C); the summary still comes. */
  readonly signal?: AbortSignal;
}

/** How long the end of a run waits for outstanding acknowledgements, ms. */
export const DRAIN_MS = 5_000;

/** Wakes a sleeping loop early. */
class Waker {
  #wake: (() => void) | null = null;

  /** Sleeps up to `ms`, or until {@link wake}. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }
}

/**
 * The heartbeat timeout to register devices with, so that a device is not reported offline
 * between two of its readings: 3 × its expected interval plus 10 s, when that is more than the
 * node's default minute (`null`: keep the default).
 */
export function heartbeatTimeoutMs(options: SimOptions, messagesPerRound: number): number | null {
  const intervalMs = messagesPerRound / options.rate * 1000;
  const timeout = Math.ceil(3 * intervalMs + 10_000);
  return timeout > 60_000 ? Math.min(timeout, 30 * 86_400_000) : null;
}

/**
 * Runs a simulation.
 *
 * @throws {FriendlyError} when nothing answers before the run starts (no summary then)
 */
export async function simulate(options: SimOptions, io: RunIo): Promise<Summary> {
  const fleet = createFleet(options);
  const telemetry = new Counter();
  const terminals = new Counter();
  const setup = new Counter();
  const payments: Record<string, number> = {};
  const anomalies: Record<string, number> = {};
  let wentOffline = 0, cameOnline = 0;
  const waker = new Waker();
  let stoppedBy: string | null = null;
  let fatal: FriendlyError | null = null;
  const fail = (error: FriendlyError) => {
    fatal ??= error;
    stoppedBy ??= "error";
    waker.wake();
  };
  const onAbort = () => {
    stoppedBy ??= "interrupted";
    waker.wake();
  };
  const hasTerminals = fleet.some((d) => d.kind === "terminal");
  const registering = options.register && fleet.some((d) => d.kind !== "terminal");
  const needsApi = options.via === "http" || hasTerminals || registering;
  const api = new HttpApi(
    options.api,
    options.token,
    options.via === "http" ? "--url" : "--api",
    fail,
  );
  if (needsApi) await api.preflight();
  let transport: Transport;
  if (options.via === "http") transport = new HttpTransport(api, telemetry);
  else if (options.via === "nats") {
    transport = await NatsTransport.open(options.url, telemetry, fail);
  } else transport = await MqttTransport.open(options.url, telemetry, fail);
  let closed = false;
  io.signal?.addEventListener("abort", onAbort);
  if (io.signal?.aborted) onAbort();

  const progress = new Progress(
    io.progress,
    Math.min(30_000, Math.max(1000, options.durationMs / 30)),
  );
  const costOf = (d: SimDevice) => d.kind === "terminal" ? 1 : transport.cost(d.sensors.length);

  try {
    // Setup: registrations, terminal settings and card caches, `concurrency` at a time (at most
    // 64), in fleet order; a terminal's requests one after the other.
    const perRound = fleet.reduce((s, d) => s + costOf(d), 0);
    const heartbeat = heartbeatTimeoutMs(options, perRound);
    const jobs: SetupOp[][] = fleet.map((d) =>
      d.kind === "terminal" ? d.setup(0) : registering ? d.setup(heartbeat ?? 0) : []
    ).filter((ops) => ops.length > 0).map((ops) =>
      ops.map((op) => op.type === "register" ? registration(op, options.via, heartbeat) : op)
    );
    const setupTotal = jobs.reduce((s, ops) => s + ops.length, 0);
    let next = 0;
    const worker = async () => {
      while (stoppedBy === null && next < jobs.length) {
        for (const op of jobs[next++]!) {
          if (stoppedBy !== null) break;
          setup.sent++;
          const path = op.type === "register"
            ? `/api/devices/${op.device}`
            : op.type === "terminal"
            ? `/api/terminals/${op.device}`
            : `/api/terminals/${op.device}/cards`;
          await api.request("PUT", path, op.body, setup);
        }
      }
    };
    const setupStarted = performance.now();
    const workers = Array.from(
      { length: Math.min(64, options.concurrency, jobs.length) },
      worker,
    );
    const setupDone = Promise.all(workers);
    let settled = false;
    setupDone.finally(() => {
      settled = true;
      waker.wake();
    });
    while (!settled) {
      if (setupTotal > 0) {
        progress.show(setupSnapshot(setup, setupTotal, setupStarted), performance.now());
      }
      await waker.sleep(250);
    }
    await setupDone;
    if (setupTotal > 0) {
      progress.show(setupSnapshot(setup, setupTotal, setupStarted), performance.now(), true);
    }

    // The run.
    const started = performance.now();
    let elapsedMs = 0;
    const samples: [number, number][] = [[started, 0]];
    const snapshot = (phase: "run" | "stopping" | "done", now: number) => {
      const sent = telemetry.sent + terminals.sent;
      while (samples.length > 1 && now - samples[1]![0] >= 1000) samples.shift();
      const [t0, s0] = samples[0]!;
      samples.push([now, sent]);
      return {
        phase,
        elapsedMs: phase === "done" ? elapsedMs : now - started,
        durationMs: options.durationMs,
        sent,
        acked: telemetry.acked + terminals.acked,
        errors: telemetry.errorCount + terminals.errorCount,
        rate: now - t0 >= 250 ? (sent - s0) / ((now - t0) / 1000) : 0,
        p50: transport.via === "nats" ? null : telemetry.latency.quantile(0.5),
      };
    };
    const busy = new Uint8Array(fleet.length);
    let waiting = 0; // terminal requests awaiting their answer
    const inflight = new Set<Promise<void>>();
    const burst = Math.max(3, options.rate / 10);
    let tokens = Math.min(burst, 1);
    let refilled = started;
    let issued = 0;
    let cursor = 0;
    let lastShown = -Infinity;
    const track = (i: number, promise: Promise<void>) => {
      busy[i] = 1;
      inflight.add(promise);
      promise.finally(() => {
        busy[i] = 0;
        inflight.delete(promise);
        waker.wake();
      });
    };
    const dispatch = (i: number, op: Op) => {
      if (op.type === "telemetry") {
        telemetry.sent += transport.cost(Object.keys(op.body.readings).length);
        for (const sensor of op.anomalies) anomalies[sensor] = (anomalies[sensor] ?? 0) + 1;
        const promise = transport.send(op);
        if (transport.via !== "nats") track(i, promise);
        return;
      }
      terminals.sent++;
      waiting++;
      track(i, terminalRequest(op).finally(() => waiting--));
    };
    const terminalRequest = async (op: Exclude<Op, { type: "telemetry" }>) => {
      if (op.type === "terminal") {
        const res = await api.request("PUT", `/api/terminals/${op.device}`, op.body, terminals);
        if (res !== null && res.status < 300) {
          if (op.body.online) cameOnline++;
          else wentOffline++;
        }
        return;
      }
      const res = await api.request(
        "POST",
        `/api/terminals/${op.device}/payments`,
        op.body,
        terminals,
      );
      if (res !== null && res.status < 300) {
        const body = res.body as { status?: string; reason?: string };
        const key = `${body.status ?? "unknown"}${body.reason ? ` ${body.reason}` : ""}`;
        payments[key] = (payments[key] ?? 0) + 1;
      }
    };

    while (stoppedBy === null) {
      const now = performance.now();
      if (now - started >= options.durationMs) {
        stoppedBy = "duration";
        break;
      }
      tokens = Math.min(burst, tokens + (now - refilled) * options.rate / 1000);
      refilled = now;
      let skipped = 0;
      let need = 1;
      while (stoppedBy === null && skipped < fleet.length) {
        const device = fleet[cursor]!;
        if (busy[cursor] === 1) {
          cursor = (cursor + 1) % fleet.length;
          skipped++;
          continue;
        }
        need = costOf(device);
        if (issued + need > options.maxMessages) {
          stoppedBy = "message cap";
          break;
        }
        if (tokens < need) break;
        if (
          transport.pending + waiting > 0 &&
          transport.pending + waiting + need > options.concurrency
        ) {
          need = Infinity; // wait for acknowledgements, not tokens
          break;
        }
        tokens -= need;
        issued += need;
        dispatch(cursor, device.next());
        cursor = (cursor + 1) % fleet.length;
        skipped = 0;
      }
      if (stoppedBy !== null) break;
      if (now - lastShown >= 250) {
        progress.show(snapshot("run", now), now);
        lastShown = now;
      }
      const untilToken = Number.isFinite(need) && skipped < fleet.length
        ? (need - tokens) * 1000 / options.rate
        : 50;
      const untilEnd = options.durationMs - (now - started);
      await waker.sleep(Math.max(1, Math.min(untilToken, 50, untilEnd, 250)));
    }

    // The end: wait for the last answers, then close.
    const stopping = performance.now();
    elapsedMs = stopping - started;
    const sentInTime = telemetry.sent + terminals.sent;
    progress.show(snapshot("stopping", stopping), stopping, true);
    const drained = Promise.all(inflight);
    // After an error (the node or broker gone, a refused token) there is little to wait for.
    const drainMs = fatal === null ? DRAIN_MS : 500;
    const left = () => Math.max(0, drainMs - (performance.now() - stopping));
    await within(drained, left());
    // Terminals offline at the end come back, so their offline approvals are flushed.
    if (fatal === null) {
      const offline = fleet.filter((d): d is Terminal => d instanceof Terminal && !d.online);
      const reconnect = async () => {
        for (let t = offline.pop(); t !== undefined; t = offline.pop()) {
          terminals.sent++;
          await terminalRequest(t.reconnect());
        }
      };
      const workers = Array.from({ length: Math.min(64, offline.length) }, reconnect);
      await within(Promise.all(workers), left());
    }
    await transport.close(left());
    closed = true;
    api.abort();
    await drained;
    progress.show(snapshot("done", performance.now()), performance.now(), true);
    progress.done();

    const sent = telemetry.sent + terminals.sent;
    const summary: Summary = {
      seed: options.seed,
      via: options.via,
      url: showUrl(options.url),
      api: showUrl(options.api),
      fleet: countKinds(fleet),
      elapsedMs: Math.round(elapsedMs),
      stoppedBy: stoppedBy ?? "duration",
      rate: { target: options.rate, mean: round(sentInTime / Math.max(elapsedMs, 1) * 1000, 1) },
      telemetry: telemetry.toJSON(),
      terminals: { ...terminals.toJSON(), payments, wentOffline, cameOnline },
      setup: setup.toJSON(),
      anomalies,
      total: {
        sent,
        acked: telemetry.acked + terminals.acked,
        errors: telemetry.errorCount + terminals.errorCount,
      },
    };
    const error = fatal as FriendlyError | null;
    return error === null ? summary : { ...summary, error: error.message };
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
    if (!closed) {
      api.abort();
      await transport.close(0);
    }
  }
}

/**
 * A device's registration: its type; its sensors unless it reports over MQTT, where each
 * message carries one reading (listing the sensors would make the node's completeness check
 * fail every record); a heartbeat timeout when its readings come less often than every ~17 s.
 */
function registration(
  op: Extract<SetupOp, { type: "register" }>,
  via: SimOptions["via"],
  heartbeat: number | null,
): SetupOp {
  const body: { type: string; sensors?: readonly string[]; heartbeatTimeout?: number } = {
    type: op.body.type,
  };
  if (via !== "mqtt") body.sensors = op.body.sensors;
  if (heartbeat !== null) body.heartbeatTimeout = heartbeat;
  return { ...op, body } as SetupOp;
}

function setupSnapshot(setup: Counter, total: number, started: number) {
  return {
    phase: "setup" as const,
    elapsedMs: performance.now() - started,
    durationMs: 0,
    sent: setup.sent,
    acked: setup.acked,
    errors: setup.errorCount,
    rate: 0,
    setupDone: setup.acked + setup.errorCount,
    setupTotal: total,
  };
}

/** Devices by kind, as the summary names them. */
function countKinds(fleet: readonly SimDevice[]): Record<string, number> {
  const counts = { robots: 0, climate: 0, vibration: 0, terminals: 0 };
  for (const d of fleet) {
    if (d.kind === "robot") counts.robots++;
    else if (d.kind === "terminal") counts.terminals++;
    else counts[d.kind]++;
  }
  return counts;
}
