/**
 * What clients and devices send about commands, and its validation: a new command
 * (`POST /api/devices/:id/commands`), a device's report on one (over NATS/MQTT, or
 * `POST /api/devices/:id/commands/:cid/status`), and a device's hello. The same schemas check
 * every transport, and each bound is one JSON Schema can express (the OpenAPI document shows the
 * validation), except where a description says otherwise.
 *
 * @module
 */
import { z } from "zod";
import type { JsonValue } from "../../runtime/mod.ts";
import { ENTITY_ID } from "../shared/ids.ts";
import { durationMs, text } from "../shared/schemas.ts";
import {
  type CommandParams,
  type CommandReport,
  MAX_TTL_MS,
  type NewCommand,
  REPORT_STATUSES,
} from "./command_log.ts";
import { SENSOR_NAME } from "./telemetry.ts";
import { TYPE_NAME } from "./twin.ts";

/** Command ids: 1–128 letters, digits, `_` or `-` (a UUID is one). */
export const COMMAND_ID: RegExp = ENTITY_ID;

/** Most values in a command's `result`. */
export const MAX_RESULT_KEYS = 32;

/** Longest `error` a device may report, in characters. */
export const MAX_ERROR_LENGTH = 1024;

/** Most parameters of a command. */
export const MAX_PARAMS = 64;

/** Shortest time to live: 1 s. */
const MIN_TTL_MS = 1000;

const commandId = z.string().regex(COMMAND_ID, "command ids hold 1-128 letters, digits, _ or -");

/** A command's time to live: whole seconds, or an ISO-8601 duration; out in milliseconds. */
const ttl = durationMs(MIN_TTL_MS, MAX_TTL_MS, { unitMs: 1000, unitName: "seconds", whole: true });

/** A new command (`POST /api/devices/:id/commands`); `ttl` comes out in milliseconds. */
export const COMMAND_SCHEMA = z.strictObject({
  name: z.string().regex(TYPE_NAME, "command names hold letters, digits, _ or - (1-64)"),
  params: z.record(text(0, 64, "parameter names are at most 64 characters long"), z.unknown())
    .refine((p) => Object.keys(p).length <= MAX_PARAMS, `at most ${MAX_PARAMS} parameters`)
    .meta({ maxProperties: MAX_PARAMS }).optional()
    .describe("passed to the device as given"),
  ttl: ttl.optional().describe(
    "time to live: whole seconds, or an ISO-8601 duration in one unit; 1 s to 7 days, 1 hour " +
      "when absent",
  ),
  commandId: commandId.optional().describe(
    "chosen by the client: the same id and body again is the same command (200), another " +
      "body a 409; made up (a UUID) when absent",
  ),
});

/** A scalar of a command's result: what a desired value may be, and `null`. */
const resultValue = z.union([z.number(), text(0, 256), z.boolean(), z.null()], {
  error: "must be a number, a string (at most 256 characters), a boolean or null",
});

/** A command's result: a flat object of at most 32 scalars. */
const result = z.record(
  z.string().regex(SENSOR_NAME, "keys hold letters, digits, _ or - (1-64), no reserved name"),
  resultValue,
).refine((r) => Object.keys(r).length <= MAX_RESULT_KEYS, `at most ${MAX_RESULT_KEYS} values`)
  .meta({ maxProperties: MAX_RESULT_KEYS });

const reportFields = {
  status: z.enum(REPORT_STATUSES).describe(
    "delivered: the device has it; succeeded or failed: it ran, with its result",
  ),
  result: result.optional().describe('the outcome, e.g. {"position": 3}'),
  error: text(1, MAX_ERROR_LENGTH).optional().describe("why it failed"),
};

/** A device's report over HTTP (`POST /api/devices/:id/commands/:cid/status`). */
export const STATUS_REPORT_SCHEMA = z.strictObject(reportFields);

/**
 * A device's report over NATS or MQTT (`iot.<id>.commands`): the command's id in the body;
 * `device`, if given, must be the device whose subject it came on.
 */
export const REPORT_SCHEMA = z.strictObject({
  commandId,
  ...reportFields,
  device: z.string().optional(),
});

/** A device's hello (`iot.<id>.hello`): the desired-state version it has, if any. */
export const HELLO_SCHEMA = z.strictObject({
  desiredVersion: z.number().int().min(0).optional(),
  device: z.string().optional(),
});

/** A validated new command, ready for the actor. */
export function newCommand(body: z.output<typeof COMMAND_SCHEMA>): NewCommand {
  return {
    name: body.name,
    ...(body.params === undefined ? {} : { params: body.params as CommandParams }),
    ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
    ...(body.commandId === undefined ? {} : { commandId: body.commandId }),
  };
}

/** A validated report, for command `commandId`. */
export function commandReport(
  commandId: string,
  body: z.output<typeof STATUS_REPORT_SCHEMA>,
): CommandReport {
  return {
    commandId,
    status: body.status,
    ...(body.result === undefined ? {} : { result: body.result as JsonValue }),
    ...(body.error === undefined ? {} : { error: body.error }),
  };
}
