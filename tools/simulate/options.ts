/**
 * The simulator's command line: parsing (`node:util` parseArgs), bounds and defaults. Pure: no
 * I/O, so every rule here is unit-tested.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** How devices reach the node. */
export type Via = "http" | "nats" | "mqtt";

/** The kinds of simulated device. */
export const KINDS = ["robot", "climate", "vibration", "terminal"] as const;
export type DeviceKind = (typeof KINDS)[number];

/** Relative shares of each kind in the fleet. */
export type Mix = Readonly<Record<DeviceKind, number>>;

/** Most devices one run simulates. */
export const MAX_DEVICES = 100_000;
/** Longest run, ms (one hour). */
export const MAX_DURATION_MS = 3_600_000;
/** Highest target rate, messages per second. */
export const MAX_RATE = 50_000;
/** Most messages one run sends, whatever the rate and duration. */
export const MAX_MESSAGES = 10_000_000;
/** Most messages awaiting their acknowledgement at once. */
export const MAX_CONCURRENCY = 10_000;

/** Where each transport goes unless `--url` says otherwise: this machine only. */
export const DEFAULT_URLS: Readonly<Record<Via, string>> = {
  http: "http://127.0.0.1:8080",
  nats: "nats://127.0.0.1:4222",
  mqtt: "mqtt://127.0.0.1:1883",
};

/** 4 robots, 3 climate sensors, 2 vibration sensors, 1 payment terminal in every 10 devices. */
export const DEFAULT_MIX: Mix = { robot: 4, climate: 3, vibration: 2, terminal: 1 };

/** A validated run configuration. */
export interface SimOptions {
  /** Devices in the fleet, terminals included. @default 20 */
  readonly devices: number;
  /** Target messages per second over the whole fleet (terminal requests included). @default 20 */
  readonly rate: number;
  /** @default 120 000 (two minutes) */
  readonly durationMs: number;
  /** Transport of device telemetry. @default "http" */
  readonly via: Via;
  /** Where telemetry goes: an http(s), nats or mqtt URL matching `via`. */
  readonly url: string;
  /**
   * The node's HTTP API, for what always goes over HTTP (registration, terminals): `url` with
   * `--via http`, else `--api` or http://127.0.0.1:8080.
   */
  readonly api: string;
  /** Bearer token of the HTTP API (`--token` or FLOTILLA_API_TOKEN). */
  readonly token: string | null;
  /** Seed of every random choice; a random one when not given (the summary shows it). */
  readonly seed: number;
  /** Stop after this many messages. @default {@link MAX_MESSAGES}, also the most allowed */
  readonly maxMessages: number;
  /** Probability that a reading is an anomaly (outside its thresholds). @default 0.01 */
  readonly anomalyRate: number;
  readonly mix: Mix;
  /** Device ids start with it: `sim-robot-01`. @default "sim" */
  readonly prefix: string;
  /** Messages awaiting acknowledgement at once. @default 64 over HTTP, 1024 otherwise */
  readonly concurrency: number;
  /** Register devices (`PUT /api/devices/:id`) before the run. @default true */
  readonly register: boolean;
  /** Print the summary as one JSON line. */
  readonly json: boolean;
}

/** A wrong command line; the message says what and how to fix it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `--help`. */
export const USAGE = `deno task simulate [options]

Runs a fleet of simulated devices against a Flotilla node: robots on random walks (coordX,
coordY, motorRPM), climate and vibration sensors with occasional anomalies, and payment
terminals that go offline and back (always over the HTTP API).

  --devices N        devices, terminals included (1-${MAX_DEVICES}; default 20)
  --rate R           messages per second over the whole fleet (default 20, at most ${MAX_RATE})
  --duration D       how long: 90, 90s, 500ms, 5m, 1h or PT90S (default 2m, at most 1h)
  --via T            http | nats | mqtt: how telemetry travels (default http)
  --url URL          where telemetry goes (default ${DEFAULT_URLS.http},
                     ${DEFAULT_URLS.nats} or ${DEFAULT_URLS.mqtt})
  --api URL          the node's HTTP API for registration and terminals with --via nats|mqtt
                     (default ${DEFAULT_URLS.http})
  --token T          API token (default: FLOTILLA_API_TOKEN)
  --seed S           seed (0-4294967295) for a repeatable run (default: random, shown at the end)
  --max-messages M   stop after M messages (default and at most ${MAX_MESSAGES})
  --anomaly-rate P   chance of an anomalous reading, 0-1 (default 0.01)
  --mix SPEC         shares of kinds, e.g. robot=4,climate=3,vibration=2,terminal=1 (the default)
  --prefix P         device id prefix (default sim: sim-robot-01, sim-pos-1, ...)
  --concurrency C    messages awaiting acknowledgement at once (default 64 http, 1024 nats/mqtt)
  --no-register      do not register devices before the run
  --json             print the summary as one JSON line
  --help             this text

Only the URLs given (or 127.0.0.1) are contacted. Ctrl-C stops and prints the summary.`;

/**
 * Parses and validates the command line.
 *
 * @param env where FLOTILLA_API_TOKEN comes from
 * @param randomSeed the seed when `--seed` is not given
 * @returns the options, or `"help"` for `--help`
 * @throws {UsageError} naming the option and the accepted values
 */
export function parseOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  randomSeed: () => number = () => crypto.getRandomValues(new Uint32Array(1))[0]!,
): SimOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        devices: { type: "string" },
        rate: { type: "string" },
        duration: { type: "string" },
        via: { type: "string" },
        url: { type: "string" },
        api: { type: "string" },
        token: { type: "string" },
        seed: { type: "string" },
        "max-messages": { type: "string" },
        "anomaly-rate": { type: "string" },
        mix: { type: "string" },
        prefix: { type: "string" },
        concurrency: { type: "string" },
        register: { type: "boolean", default: true },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return "help";

  const via = values.via ?? "http";
  if (via !== "http" && via !== "nats" && via !== "mqtt") {
    throw new UsageError(`--via must be http, nats or mqtt, got ${JSON.stringify(via)}`);
  }
  const devices = integer("--devices", values.devices, 20, 1, MAX_DEVICES);
  const rate = number("--rate", values.rate, 20, 0.1, MAX_RATE);
  const durationMs = values.duration === undefined ? 120_000 : parseDuration(values.duration);
  if (durationMs < 100 || durationMs > MAX_DURATION_MS) {
    throw new UsageError(
      `--duration must be from 100ms to 1h, got ${JSON.stringify(values.duration)}`,
    );
  }
  const url = checkUrl("--url", values.url ?? DEFAULT_URLS[via], via);
  const api = via === "http" ? url : checkUrl("--api", values.api ?? DEFAULT_URLS.http, "http");
  if (via === "http" && values.api !== undefined && checkUrl("--api", values.api, "http") !== url) {
    throw new UsageError("--api is for --via nats|mqtt; with --via http, --url is the API");
  }
  const token = values.token ?? env.FLOTILLA_API_TOKEN ?? null;
  if (token !== null && (token === "" || /\s/.test(token))) {
    throw new UsageError("--token must not be empty nor contain spaces");
  }
  const seed = values.seed === undefined
    ? randomSeed() >>> 0
    : integer("--seed", values.seed, 0, 0, 0xffffffff);
  const maxMessages = integer(
    "--max-messages",
    values["max-messages"],
    MAX_MESSAGES,
    1,
    MAX_MESSAGES,
  );
  const anomalyRate = number("--anomaly-rate", values["anomaly-rate"], 0.01, 0, 1);
  const mix = values.mix === undefined ? DEFAULT_MIX : parseMix(values.mix);
  const prefix = values.prefix ?? "sim";
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new UsageError("--prefix must be 1-32 letters, digits, _ or -");
  }
  const concurrency = integer(
    "--concurrency",
    values.concurrency,
    via === "http" ? 64 : 1024,
    1,
    MAX_CONCURRENCY,
  );
  return {
    devices,
    rate,
    durationMs,
    via,
    url,
    api,
    token,
    seed,
    maxMessages,
    anomalyRate,
    mix,
    prefix,
    concurrency,
    register: values.register,
    json: values.json,
  };
}

function integer(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw.replaceAll("_", "")) ? Number(raw.replaceAll("_", "")) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${show(raw)}`);
  }
  return n;
}

function number(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a number from ${min} to ${max}, got ${show(raw)}`);
  }
  return n;
}

const show = (raw: string) => JSON.stringify(raw);

/**
 * Parses a duration: seconds (`90`), with a unit (`500ms`, `90s`, `5m`, `1h`, combinations
 * such as `1m30s`), or ISO-8601 (`PT1M30S`).
 *
 * @returns milliseconds
 * @throws {UsageError}
 */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const iso = /^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/i.exec(text);
  if (iso !== null && text.length > 2) {
    const [, h = "0", m = "0", s = "0"] = iso;
    return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0, at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (match === null) {
      throw new UsageError(
        `--duration must look like 90, 90s, 500ms, 5m, 1h, 1m30s or PT90S, got ${show(raw)}`,
      );
    }
    total += Number(match[1]) * unit[match[2] as keyof typeof unit];
    at = part.lastIndex;
  }
  if (text.length === 0) throw new UsageError("--duration must not be empty");
  return Math.round(total);
}

/**
 * Checks a URL for a transport: its scheme must be that transport's (http or https, nats,
 * mqtt); no query, no fragment. Any host may be given; the defaults are 127.0.0.1.
 *
 * @returns the URL without a trailing slash
 * @throws {UsageError}
 */
export function checkUrl(name: string, raw: string, via: Via): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${name} is not a URL: ${show(raw)}`);
  }
  const scheme = url.protocol.slice(0, -1);
  const accepted = via === "http" ? ["http", "https"] : [via];
  if (!["http", "https", "nats", "mqtt"].includes(scheme)) {
    throw new UsageError(
      `${name} must be an http(s)://, nats:// or mqtt:// URL, got ${show(raw)}`,
    );
  }
  if (!accepted.includes(scheme)) {
    const want = via === "http" ? "an http:// or https://" : `a ${via}://`;
    throw new UsageError(`${name} must be ${want} URL with --via ${via}, got ${show(raw)}`);
  }
  if (url.hostname === "") throw new UsageError(`${name} has no host: ${show(raw)}`);
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`${name} must have no query or fragment: ${show(raw)}`);
  }
  if (via !== "http" && url.pathname !== "" && url.pathname !== "/") {
    throw new UsageError(`${name} must have no path: ${show(raw)}`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Parses `--mix`: `kind=share` pairs separated by commas; kinds not named get no devices.
 * @throws {UsageError}
 */
export function parseMix(raw: string): Mix {
  const mix: Record<DeviceKind, number> = { robot: 0, climate: 0, vibration: 0, terminal: 0 };
  for (const pair of raw.split(",")) {
    const match = /^\s*([a-z]+?)s?\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(pair);
    const kind = match?.[1] as DeviceKind | undefined;
    if (match === null || kind === undefined || !KINDS.includes(kind)) {
      throw new UsageError(
        `--mix must look like robot=4,climate=3,vibration=2,terminal=1 (kinds: ${
          KINDS.join(", ")
        }), got ${show(raw)}`,
      );
    }
    mix[kind] = Number(match[2]);
  }
  if (KINDS.every((k) => mix[k] === 0)) {
    throw new UsageError("--mix must give at least one kind a share above 0");
  }
  return mix;
}
