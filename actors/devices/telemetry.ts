/**
 * Device telemetry: the record devices send (over HTTP, NATS or MQTT), its validation, and
 * how it updates a device twin. Pure functions over plain data.
 *
 * @module
 */
import { z } from "zod";
import { eventTime } from "../shared/event_time.ts";
import { ENTITY_ID } from "../shared/ids.ts";
import { parseOrThrow } from "../shared/validation.ts";

/** Device ids: letters, digits, `_` and `-`, 1–128 of them (they become NATS subject tokens). */
export const DEVICE_ID: RegExp = ENTITY_ID;

/**
 * Names every JavaScript object has (`constructor`, `toString`, `__proto__`, …). Device state
 * keys plain objects by sensor name, so these are refused as sensor names.
 */
export const RESERVED_NAMES: readonly string[] = [
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "constructor",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "toString",
  "valueOf",
];

/** Sensor names: as device ids, at most 64 characters, and none of {@link RESERVED_NAMES}. */
export const SENSOR_NAME = new RegExp(`^(?!(?:${RESERVED_NAMES.join("|")})$)[A-Za-z0-9_-]{1,64}$`);

/** Most readings one record may carry. */
export const MAX_READINGS = 256;

/**
 * Largest magnitude of a reading: 10^15. Beyond it a sensor value has no physical meaning, and
 * the analytics' sums of squares would overflow to Infinity; such a reading is refused (HTTP
 * 400; over NATS a counted rejection), never applied.
 */
export const MAX_READING = 1e15;

const READING_RANGE = "must be a number from -1e15 to 1e15";

/** JSON number syntax: what a bare-number payload (`sensors.<id>.<sensor>`) must be. */
export const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A validated telemetry record. */
export interface TelemetryRecord {
  /** When the readings were taken (epoch ms); the receive time when the device sent none. */
  readonly ts: number;
  readonly readings: Readonly<Record<string, number>>;
  /** Battery level, 0–100 %. */
  readonly battery?: number;
  /** Signal strength in dBm. */
  readonly rssi?: number;
}

/** The latest value of one sensor. */
export interface Reported {
  readonly value: number;
  readonly ts: number;
}

/** What the twin knows of a device from its telemetry. */
export interface DeviceTwin {
  /** Latest value and timestamp per sensor. */
  reported: Record<string, Reported>;
  /** When telemetry last arrived (server time, epoch ms); `null` for a device never seen. */
  lastSeen: number | null;
  /** Telemetry records applied to this twin. */
  messageCount: number;
  battery: number | null;
  rssi: number | null;
}

/** The twin of a device that has sent nothing yet. */
export function emptyTwin(): DeviceTwin {
  return { reported: {}, lastSeen: null, messageCount: 0, battery: null, rssi: null };
}

/**
 * The telemetry body: what `POST /api/devices/:id/telemetry` and the NATS ingest validate with
 * (and what the OpenAPI document shows). Its output has `ts` in epoch milliseconds.
 */
export const TELEMETRY_SCHEMA = z.strictObject({
  ts: eventTime.optional(),
  readings: z.record(
    z.string().regex(
      SENSOR_NAME,
      "sensor names hold letters, digits, _ or - (1-64) and are no reserved name (constructor, …)",
    ),
    z.number({ error: "must be a number" }).min(-MAX_READING, READING_RANGE)
      .max(MAX_READING, READING_RANGE),
  ).refine((r) => Object.keys(r).length > 0, "must hold at least one reading")
    .refine(
      (r) => Object.keys(r).length <= MAX_READINGS,
      `must hold at most ${MAX_READINGS} readings`,
    ).meta({ minProperties: 1, maxProperties: MAX_READINGS })
    .describe(`sensor name to value, 1-${MAX_READINGS} of them`),
  battery: z.number().min(0).max(100).optional().describe("battery level, %"),
  rssi: z.number().min(-200).max(50).optional().describe("signal strength, dBm"),
});

/** JSON schema-ish description of the body, for error messages and docs. */
export const TELEMETRY_SHAPE =
  '{"ts"?: epoch-ms | ISO-8601, "readings": {"<sensor>": number, ...}, "battery"?: 0..100, "rssi"?: dBm}';

/**
 * Validates a telemetry body and fills in its timestamp.
 *
 * @param body parsed JSON
 * @param receivedAt the receive time, used when the body has no `ts`
 * @throws {ValidationError} listing every problem (path and message)
 * @example
 * ```ts
 * parseTelemetry({ readings: { temperature: 21.5 } }, Date.now());
 * ```
 */
export function parseTelemetry(body: unknown, receivedAt: number): TelemetryRecord {
  const fast = plainTelemetry(body, receivedAt);
  if (fast !== null) return fast;
  const parsed = parseOrThrow(
    TELEMETRY_SCHEMA,
    body,
    `telemetry must look like ${TELEMETRY_SHAPE}`,
  );
  return telemetryRecord(parsed, receivedAt);
}

/**
 * The common case without the schema: a body that plainly passes {@link TELEMETRY_SCHEMA} —
 * known fields only, `ts` absent or whole epoch milliseconds, readings finite numbers under
 * valid names, battery and RSSI in range — becomes its record directly (a schema run costs
 * more than the rest of decoding a device message). Anything else, an ISO `ts` included, is
 * `null`, for the schema to convert or to explain.
 */
function plainTelemetry(body: unknown, receivedAt: number): TelemetryRecord | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  let fields = 0;
  const { ts, readings, battery, rssi } = b;
  if (ts !== undefined) {
    if (typeof ts !== "number" || !Number.isInteger(ts) || ts < 0 || ts > 8.64e15) return null;
    fields++;
  }
  if (battery !== undefined) {
    if (typeof battery !== "number" || !(battery >= 0 && battery <= 100)) return null;
    fields++;
  }
  if (rssi !== undefined) {
    if (typeof rssi !== "number" || !(rssi >= -200 && rssi <= 50)) return null;
    fields++;
  }
  if (typeof readings !== "object" || readings === null || Array.isArray(readings)) return null;
  if (Object.getPrototypeOf(readings) !== Object.prototype) return null;
  fields++;
  let count = 0;
  for (const name in readings) {
    if (!Object.hasOwn(readings, name)) return null;
    const v = (readings as Record<string, unknown>)[name];
    if (typeof v !== "number" || !(Math.abs(v) <= MAX_READING) || !SENSOR_NAME.test(name)) {
      return null;
    }
    count++;
  }
  if (count === 0 || count > MAX_READINGS) return null;
  // Unknown fields: the schema refuses them and says which.
  let keys = 0;
  for (const key in b) if (Object.hasOwn(b, key)) keys++;
  if (keys !== fields) return null;
  const record: { -readonly [K in keyof TelemetryRecord]: TelemetryRecord[K] } = {
    ts: ts === undefined ? receivedAt : ts as number,
    readings: readings as Record<string, number>,
  };
  if (battery !== undefined) record.battery = battery as number;
  if (rssi !== undefined) record.rssi = rssi as number;
  return record;
}

/** A record from a body that passed {@link TELEMETRY_SCHEMA}; `ts` defaults to `receivedAt`. */
export function telemetryRecord(
  body: z.output<typeof TELEMETRY_SCHEMA>,
  receivedAt: number,
): TelemetryRecord {
  const { ts, readings, battery, rssi } = body;
  const record: { -readonly [K in keyof TelemetryRecord]: TelemetryRecord[K] } = {
    ts: ts ?? receivedAt,
    readings,
  };
  if (battery !== undefined) record.battery = battery;
  if (rssi !== undefined) record.rssi = rssi;
  return record;
}

/**
 * Applies a record to a twin: each sensor keeps its newest reading by timestamp (a late,
 * older record counts but does not overwrite newer values).
 */
export function applyTelemetry(
  twin: DeviceTwin,
  record: TelemetryRecord,
  receivedAt: number,
): void {
  for (const [sensor, value] of Object.entries(record.readings)) {
    const current = twin.reported[sensor];
    if (current === undefined || current.ts <= record.ts) {
      twin.reported[sensor] = { value, ts: record.ts };
    }
  }
  if (record.battery !== undefined) twin.battery = record.battery;
  if (record.rssi !== undefined) twin.rssi = record.rssi;
  twin.lastSeen = Math.max(twin.lastSeen ?? receivedAt, receivedAt);
  twin.messageCount++;
}
