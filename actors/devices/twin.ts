/**
 * The device twin beyond telemetry: registration metadata, the desired state set
 * through the API, and the delta between desired and reported — with the validation of what
 * clients send for them.
 *
 * @module
 */
import { z } from "zod";
import { ValidationError } from "../../runtime/mod.ts";
import { durationMs, text } from "../shared/schemas.ts";
import { parseOrThrow } from "../shared/validation.ts";
import { type Reported, SENSOR_NAME } from "./telemetry.ts";
import type { Thresholds } from "./thresholds.ts";

/** Where a device is: a free-form place name, or coordinates. */
export type DeviceLocation = string | { readonly lat: number; readonly lon: number };

/** A validated registration (`PUT /api/devices/:id`). */
export interface Registration {
  readonly type: string;
  readonly location?: DeviceLocation;
  readonly sensors?: readonly string[];
  readonly thresholds?: Thresholds;
  /** ms */
  readonly heartbeatTimeout?: number;
}

/** A desired value: what a setting or actuator should be. */
export type DesiredValue = number | string | boolean;

/** Device types and command names: letters, digits, `_` and `-`, 1–64. */
export const TYPE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Most sensors a registration may list, and most desired keys. */
export const MAX_KEYS = 64;

/** Heartbeat timeouts accepted from a client: 1 s to 30 days. */
export const HEARTBEAT_BOUNDS = { min: 1000, max: 30 * 86_400_000 } as const;

const sensorName = z.string().regex(
  SENSOR_NAME,
  "sensor names hold letters, digits, _ or - (1-64) and are no reserved name (constructor, …)",
);

/** Coordinates: latitude and longitude in degrees. */
export const coordinates = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});

/**
 * A threshold range: inclusive bounds, either open. A range whose min lies above its max has no
 * value inside it: every reading is outside (a rule JSON Schema cannot state, so it is not
 * refused).
 */
const range = z.strictObject({ min: z.number().optional(), max: z.number().optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, "set min, max or both")
  .meta({ minProperties: 1 });

/** A registration body (`PUT /api/devices/:id`); `heartbeatTimeout` comes out in ms. */
export const REGISTRATION_SCHEMA = z.strictObject({
  type: z.string().regex(TYPE_NAME, "device types hold letters, digits, _ or - (1-64)"),
  location: z.union([text(1, 256), coordinates], {
    error: 'must be a place name (1-256 characters) or coordinates {"lat", "lon"}',
  }).optional(),
  sensors: z.array(sensorName).max(MAX_KEYS)
    .refine((s) => new Set(s).size === s.length, "lists a sensor twice")
    .meta({ uniqueItems: true }).optional(),
  thresholds: z.record(sensorName, range)
    .refine((t) => Object.keys(t).length <= MAX_KEYS, `at most ${MAX_KEYS} sensors`)
    .meta({ maxProperties: MAX_KEYS }).optional(),
  heartbeatTimeout: durationMs(HEARTBEAT_BOUNDS.min, HEARTBEAT_BOUNDS.max).optional(),
});

/** A desired-state patch body (`PATCH /api/devices/:id/desired`): a JSON merge patch. */
export const DESIRED_PATCH_SCHEMA = z.record(
  z.string().regex(
    SENSOR_NAME,
    "keys hold letters, digits, _ or - (1-64) and are no reserved name (constructor, …)",
  ),
  z.union([z.number(), text(0, 256), z.boolean(), z.null()], {
    error: "must be a number, a string (at most 256 characters), a boolean, or null to remove",
  }),
).refine((p) => Object.keys(p).length > 0, "must set at least one key")
  .refine((p) => Object.keys(p).length <= MAX_KEYS, `must set at most ${MAX_KEYS} keys`)
  .meta({ minProperties: 1, maxProperties: MAX_KEYS });

/**
 * Validates a registration body `{type, location?, sensors?, thresholds?, heartbeatTimeout?}`.
 * @throws {ValidationError}
 */
export function parseRegistration(body: unknown): Registration {
  return parseOrThrow(REGISTRATION_SCHEMA, body, "the registration is not valid") as Registration;
}

/**
 * Validates a desired-state patch: keys to values, `null` removing a key (JSON merge patch).
 * @throws {ValidationError}
 */
export function parseDesiredPatch(body: unknown): Record<string, DesiredValue | null> {
  return parseOrThrow(DESIRED_PATCH_SCHEMA, body, "the desired state patch is not valid");
}

/**
 * Applies a patch to a desired state in place.
 * @throws {ValidationError} when the result would hold more than {@link MAX_KEYS} keys (nothing
 * is changed then)
 */
export function applyDesired(
  desired: Record<string, DesiredValue>,
  patch: Readonly<Record<string, DesiredValue | null>>,
): void {
  let size = Object.keys(desired).length;
  for (const [key, value] of Object.entries(patch)) {
    const has = Object.hasOwn(desired, key);
    if (value === null && has) size--;
    else if (value !== null && !has) size++;
  }
  if (size > MAX_KEYS) {
    throw new ValidationError("the desired state would hold too many keys", [{
      path: "",
      message: `at most ${MAX_KEYS} desired keys; remove some with null`,
    }]);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete desired[key];
    else desired[key] = value;
  }
}

/** The desired keys whose value differs from the reported one (or that were never reported). */
export function deltaOf(
  desired: Readonly<Record<string, DesiredValue>>,
  reported: Readonly<Record<string, Reported>>,
): Record<string, DesiredValue> {
  const delta: Record<string, DesiredValue> = {};
  for (const [key, value] of Object.entries(desired)) {
    if (!Object.hasOwn(reported, key) || reported[key]!.value !== value) delta[key] = value;
  }
  return delta;
}
