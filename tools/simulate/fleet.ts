/**
 * The simulated fleet: which devices there are and what each one sends, turn by turn. Pure and
 * deterministic: every device draws from its own generator seeded by the run's seed and its
 * id, so a device's messages do not depend on how its turns interleave with the others'.
 *
 * The readings are shaped for the node's analytics: normal values move slowly and
 * with bounded noise, so they stay inside their thresholds, never trend "rapidly" (a slope of
 * more than 1 per reading) and never score as anomalies (|z| > 2.4); an anomaly — with
 * probability `anomalyRate` per reading — is one reading far outside the sensor's threshold,
 * which raises a `threshold_violation` (and usually `pattern_anomaly`) alert.
 *
 * @module
 */
import { DEFAULT_THRESHOLDS } from "../../actors/devices/thresholds.ts";
import type { DeviceKind, Mix } from "./options.ts";
import { KINDS } from "./options.ts";
import { deriveSeed, Prng } from "./prng.ts";

/** The area robots move in: [0, AREA] × [0, AREA] (metres of a warehouse floor). */
export const AREA = 100;
/** Robots move at most this far per reading: under 1, so their coordinates never trend "rapidly". */
export const MAX_STEP = 0.9;

/** The JSON body of a telemetry message (NATS and HTTP). */
export interface TelemetryBody {
  readonly readings: Readonly<Record<string, number>>;
  readonly battery?: number;
  readonly rssi?: number;
}

/** One thing a device does on its turn. */
export type Op =
  | {
    readonly type: "telemetry";
    readonly device: string;
    readonly body: TelemetryBody;
    /** Sensors whose reading is an injected anomaly. */
    readonly anomalies: readonly string[];
  }
  | {
    readonly type: "terminal";
    readonly device: string;
    readonly body: { readonly timezone: string; readonly online: boolean };
  }
  | {
    readonly type: "payment";
    readonly device: string;
    readonly body: {
      readonly transactionId: string;
      readonly amount: number;
      readonly currency: "KRW";
      readonly cardToken: string;
    };
  };

/** What a device needs from the API before the run. */
export type SetupOp =
  | {
    readonly type: "register";
    readonly device: string;
    readonly body: {
      readonly type: string;
      readonly sensors: readonly string[];
      readonly heartbeatTimeout: number;
    };
  }
  | {
    readonly type: "terminal";
    readonly device: string;
    readonly body: { readonly timezone: string; readonly online: boolean };
  }
  | {
    readonly type: "cards";
    readonly device: string;
    readonly body: { readonly cards: Readonly<Record<string, "valid" | "blocked" | "expired">> };
  };

/** A simulated device. */
export interface SimDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  /** The sensors it reports (none for terminals). */
  readonly sensors: readonly string[];
  /** What it sends on its next turn; advances its state. */
  next(): Op;
  /** Requests before the run (registration; a terminal's settings and card cache). */
  setup(heartbeatTimeoutMs: number): SetupOp[];
}

/** The id part of each kind: `sim-robot-01`, `sim-climate-1`, `sim-vib-3`, `sim-pos-2`. */
const ID_PART: Readonly<Record<DeviceKind, string>> = {
  robot: "robot",
  climate: "climate",
  vibration: "vib",
  terminal: "pos",
};

/**
 * How many devices of each kind: shares of `devices` by `mix`, rounded by largest remainder
 * (ties to the earlier kind), so the counts add up to `devices`.
 */
export function fleetCounts(devices: number, mix: Mix): Record<DeviceKind, number> {
  const total = KINDS.reduce((s, k) => s + mix[k], 0);
  const exact = KINDS.map((k) => devices * mix[k] / total);
  const counts = exact.map(Math.floor);
  let left = devices - counts.reduce((a, b) => a + b, 0);
  const order = KINDS.map((_, i) => i).sort((a, b) =>
    (exact[b]! - counts[b]!) - (exact[a]! - counts[a]!) || a - b
  );
  for (const i of order) {
    if (left === 0) break;
    if (mix[KINDS[i]!] > 0) {
      counts[i]!++;
      left--;
    }
  }
  return Object.fromEntries(KINDS.map((k, i) => [k, counts[i]!])) as Record<DeviceKind, number>;
}

/**
 * The fleet in turn order: the kinds interleaved evenly (each device placed at its share of
 * the way through the round), so every stretch of turns has a bit of everything.
 */
export function createFleet(options: {
  readonly devices: number;
  readonly mix: Mix;
  readonly prefix: string;
  readonly seed: number;
  readonly anomalyRate: number;
}): SimDevice[] {
  const counts = fleetCounts(options.devices, options.mix);
  const placed: { at: number; kind: number; device: SimDevice }[] = [];
  KINDS.forEach((kind, k) => {
    const n = counts[kind];
    const width = String(n).length;
    for (let j = 0; j < n; j++) {
      const id = `${options.prefix}-${ID_PART[kind]}-${String(j + 1).padStart(width, "0")}`;
      const rng = new Prng(deriveSeed(options.seed, id));
      const device = kind === "robot"
        ? new Robot(id, rng, options.anomalyRate)
        : kind === "climate"
        ? new Climate(id, rng, options.anomalyRate)
        : kind === "vibration"
        ? new Vibration(id, rng, options.anomalyRate)
        : new Terminal(id, rng, options.seed, options.anomalyRate);
      placed.push({ at: (j + 0.5) / n, kind: k, device });
    }
  });
  placed.sort((a, b) => a.at - b.at || a.kind - b.kind);
  return placed.map((p) => p.device);
}

const round = (value: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** A value past a threshold bound: 5–40 % of the range beyond `max` (or below `min`). */
function beyond(rng: Prng, sensor: string, side: "max" | "min" = "max"): number {
  const range = DEFAULT_THRESHOLDS[sensor]!;
  const span = range.max! - range.min!;
  const off = span * rng.uniform(0.05, 0.4);
  return side === "max" ? range.max! + off : range.min! - off;
}

/**
 * A slowly varying value: a base, a sine of a very long period (20,000–40,000 readings), and
 * uniform noise. Within the node's one-minute window it looks stationary; bounded noise keeps
 * z-scores under √3 (so no anomaly alerts) and the 10-reading slope under 0.3 × the noise
 * amplitude (so no rapid-change alerts).
 */
class Signal {
  #step = 0;
  constructor(
    readonly base: number,
    readonly amplitude: number,
    readonly period: number,
    readonly phase: number,
    readonly noise: number,
  ) {}

  next(rng: Prng): number {
    const t = this.#step++;
    return this.base + this.amplitude * Math.sin(this.phase + 2 * Math.PI * t / this.period) +
      rng.uniform(-this.noise, this.noise);
  }
}

function signal(rng: Prng, base: [number, number], amplitude: number, noise: number): Signal {
  return new Signal(
    rng.uniform(base[0], base[1]),
    amplitude,
    rng.uniform(20_000, 40_000),
    rng.uniform(0, 2 * Math.PI),
    noise,
  );
}

/**
 * A robot on a random walk: constant speed (0.5–0.9 per reading) along a heading that wobbles
 * within 20° of a diagonal, bouncing off the walls of the area. Reports coordX, coordY and
 * motorRPM, with battery and signal strength; an anomaly is a motor overload (RPM × 2–3).
 *
 * Why diagonals: the node scores each coordinate against its last minute of values, so a
 * coordinate that stood still and then starts to move looks anomalous. Moving diagonally, both
 * coordinates always move at 40–90 % of the speed and never stand still.
 */
export class Robot implements SimDevice {
  readonly kind = "robot";
  readonly sensors = ["coordX", "coordY", "motorRPM"] as const;
  x: number;
  y: number;
  /** Direction along each axis: +1 or -1 (which diagonal). */
  #dx: number;
  #dy: number;
  /** Offset of the heading from the diagonal, radians (±0.35). */
  #wobble = 0;
  readonly #speed: number;
  readonly #rpm: number;
  #battery: number;
  #charging = false;
  readonly #rssi: number;

  constructor(readonly id: string, readonly rng: Prng, readonly anomalyRate: number) {
    this.x = rng.uniform(5, AREA - 5);
    this.y = rng.uniform(5, AREA - 5);
    this.#dx = rng.chance(0.5) ? 1 : -1;
    this.#dy = rng.chance(0.5) ? 1 : -1;
    this.#speed = rng.uniform(0.5, MAX_STEP);
    this.#rpm = Math.round(this.#speed * 1800);
    this.#battery = rng.uniform(60, 100);
    this.#rssi = rng.uniform(-75, -45);
  }

  /** Moves one step: wobble a little, go forward, bounce off the walls. */
  step(): void {
    this.#wobble = Math.max(-0.35, Math.min(0.35, this.#wobble + this.rng.uniform(-0.05, 0.05)));
    const heading = Math.PI / 4 + this.#wobble;
    this.x += this.#dx * this.#speed * Math.cos(heading);
    this.y += this.#dy * this.#speed * Math.sin(heading);
    if (this.x < 0 || this.x > AREA) {
      this.x = this.x < 0 ? -this.x : 2 * AREA - this.x;
      this.#dx = -this.#dx;
    }
    if (this.y < 0 || this.y > AREA) {
      this.y = this.y < 0 ? -this.y : 2 * AREA - this.y;
      this.#dy = -this.#dy;
    }
  }

  next(): Op {
    const rng = this.rng;
    this.step();
    const overload = rng.chance(this.anomalyRate);
    const rpm = overload ? this.#rpm * rng.uniform(2, 3) : this.#rpm + rng.uniform(-1.5, 1.5);
    this.#battery += this.#charging ? 0.5 : -0.02;
    if (this.#battery <= 15) this.#charging = true;
    if (this.#battery >= 100) {
      this.#battery = 100;
      this.#charging = false;
    }
    return {
      type: "telemetry",
      device: this.id,
      body: {
        readings: { coordX: round(this.x, 2), coordY: round(this.y, 2), motorRPM: Math.round(rpm) },
        battery: round(this.#battery, 1),
        rssi: Math.round(this.#rssi + rng.uniform(-2, 2)),
      },
      anomalies: overload ? ["motorRPM"] : [],
    };
  }

  setup(heartbeatTimeoutMs: number): SetupOp[] {
    return [register(this, "robot", heartbeatTimeoutMs)];
  }
}

function register(device: SimDevice, type: string, heartbeatTimeout: number): SetupOp {
  return {
    type: "register",
    device: device.id,
    body: { type, sensors: [...device.sensors], heartbeatTimeout },
  };
}

/**
 * A climate sensor: temperature (18–26 °C, ±1.5 over a long period) and humidity (35–60 %);
 * an anomaly is a temperature far above 50 °C or below -10 °C (a cold-store door, a fire) or,
 * one time in four, humidity above 100 % (a wet sensor).
 */
export class Climate implements SimDevice {
  readonly kind = "climate";
  readonly sensors = ["temperature", "humidity"] as const;
  readonly #temperature: Signal;
  readonly #humidity: Signal;
  readonly #battery: number;

  constructor(readonly id: string, readonly rng: Prng, readonly anomalyRate: number) {
    this.#temperature = signal(rng, [18, 26], 1.5, 0.2);
    this.#humidity = signal(rng, [35, 60], 6, 0.8);
    this.#battery = Math.round(rng.uniform(40, 100));
  }

  next(): Op {
    const rng = this.rng;
    let temperature = this.#temperature.next(rng);
    let humidity = this.#humidity.next(rng);
    const anomalies: string[] = [];
    if (rng.chance(this.anomalyRate)) {
      if (rng.chance(0.75)) {
        temperature = beyond(rng, "temperature", rng.chance(0.8) ? "max" : "min");
        anomalies.push("temperature");
      } else {
        humidity = rng.uniform(100.5, 105);
        anomalies.push("humidity");
      }
    }
    return {
      type: "telemetry",
      device: this.id,
      body: {
        readings: { temperature: round(temperature, 2), humidity: round(humidity, 1) },
        battery: this.#battery,
      },
      anomalies,
    };
  }

  setup(heartbeatTimeoutMs: number): SetupOp[] {
    return [register(this, "climate", heartbeatTimeoutMs)];
  }
}

/** A vibration sensor on a machine: 80–300 (of 1000), an anomaly well above 1000. */
export class Vibration implements SimDevice {
  readonly kind = "vibration";
  readonly sensors = ["vibration"] as const;
  readonly #vibration: Signal;

  constructor(readonly id: string, readonly rng: Prng, readonly anomalyRate: number) {
    this.#vibration = signal(rng, [80, 300], 8, 2);
  }

  next(): Op {
    const rng = this.rng;
    let vibration = this.#vibration.next(rng);
    const anomaly = rng.chance(this.anomalyRate);
    if (anomaly) vibration = beyond(rng, "vibration");
    return {
      type: "telemetry",
      device: this.id,
      body: { readings: { vibration: round(vibration, 1) } },
      anomalies: anomaly ? ["vibration"] : [],
    };
  }

  setup(heartbeatTimeoutMs: number): SetupOp[] {
    return [register(this, "vibration", heartbeatTimeoutMs)];
  }
}

/** Time zones of simulated terminals: mostly Korea (amounts are KRW). */
const ZONES = ["Asia/Seoul", "Asia/Seoul", "Asia/Seoul", "Asia/Seoul", "Asia/Tokyo", "UTC"];

/** Each terminal's card cache: what its card network listed (the cache lists exceptions). */
const CACHE = { valid: 10, blocked: 5, expired: 5 } as const;

/**
 * A payment terminal: takes card payments, mostly small (1,000–50,000 KRW; one in ten up to
 * 300,000) from ever new cards, 1 % with a blocked and 1 % with an expired card of its cache.
 * Now and then (2 % of its turns) it loses its connection for 2–6 turns — payments meanwhile are
 * approved offline up to 50,000 KRW — and comes back online, which flushes its offline queue.
 *
 * An anomaly (`anomalyRate` of its payments) is a stolen card: always the same one, for
 * 1.1–3 million KRW; the fraud rules reject it (`fraud_detected`) from its sixth use within an
 * hour. Normal traffic keeps the share of rejected payments under the 5 % that raises the
 * node's failure-rate alert.
 */
export class Terminal implements SimDevice {
  readonly kind = "terminal";
  readonly sensors = [] as const;
  online = true;
  #offlineTurns = 0;
  #payments = 0;
  readonly #zone: string;
  readonly #run: string;

  constructor(
    readonly id: string,
    readonly rng: Prng,
    seed: number,
    readonly anomalyRate: number,
  ) {
    this.#zone = rng.pick(ZONES);
    this.#run = seed.toString(36);
  }

  #card(name: string): string {
    return `simcard-${this.#run}-${this.id}-${name}`;
  }

  next(): Op {
    const rng = this.rng;
    if (!this.online) {
      if (--this.#offlineTurns <= 0) return this.#settings(true);
    } else if (rng.chance(0.02)) {
      this.#offlineTurns = rng.int(2, 7);
      return this.#settings(false);
    }
    let amount: number, card: string;
    if (rng.chance(this.anomalyRate)) {
      amount = rng.uniform(1_100_000, 3_000_000);
      card = this.#card("stolen");
    } else {
      amount = rng.chance(0.1) ? rng.uniform(50_000, 300_000) : rng.uniform(1_000, 50_000);
      const roll = rng.next();
      card = roll < 0.01
        ? this.#card(`blocked-${rng.int(0, CACHE.blocked)}`)
        : roll < 0.02
        ? this.#card(`expired-${rng.int(0, CACHE.expired)}`)
        : this.#card(`c${rng.int(0, 1_000_000)}`);
    }
    return {
      type: "payment",
      device: this.id,
      body: {
        transactionId: `${this.id}-${this.#run}-${++this.#payments}`,
        amount: Math.round(amount / 100) * 100,
        currency: "KRW",
        cardToken: card,
      },
    };
  }

  /** Back online at the end of a run: the settings request that reconnects it. */
  reconnect(): Extract<Op, { type: "terminal" }> {
    return this.#settings(true);
  }

  #settings(online: boolean): Extract<Op, { type: "terminal" }> {
    this.online = online;
    return { type: "terminal", device: this.id, body: { timezone: this.#zone, online } };
  }

  setup(): SetupOp[] {
    const cards: Record<string, "valid" | "blocked" | "expired"> = {};
    for (const status of ["valid", "blocked", "expired"] as const) {
      for (let k = 0; k < CACHE[status]; k++) {
        cards[this.#card(status === "valid" ? `c${k}` : `${status}-${k}`)] = status;
      }
    }
    return [
      { type: "terminal", device: this.id, body: { timezone: this.#zone, online: true } },
      { type: "cards", device: this.id, body: { cards } },
    ];
  }
}
