/**
 * Decoding device messages that arrive over NATS (or MQTT through nats-server's MQTT listener):
 *
 * - `iot.<deviceId>.telemetry` with the JSON body of the HTTP ingest;
 * - `sensors.<deviceId>.<sensor>` (MQTT topic `sensors/<deviceId>/<sensor>`) with a bare
 *   number as payload;
 * - `iot.<deviceId>.hello` (MQTT `iot/<deviceId>/hello`): the device is (re)connected,
 *   `{desiredVersion?}` or an empty payload;
 * - `iot.<deviceId>.commands` (MQTT `iot/<deviceId>/commands`): its report on a command,
 *   `{commandId, status, result?, error?}`.
 *
 * nats-server maps them onto the partitioned ingest subjects `fl.in.<p>.<deviceId>.t`,
 * `fl.in.<p>.<deviceId>.s.<sensor>`, `fl.in.<p>.<deviceId>.h` and `fl.in.<p>.<deviceId>.c`;
 * the transport hands the tokens after the partition here. The subject decides which device a
 * message is from: a body naming another device is refused. Anything else — not JSON, not a
 * number, too large, invalid — is a rejection with a reason, counted and reported, never an
 * exception.
 *
 * @module
 */
import type { z } from "zod";
import type { IngestDecoder, IngestRejection } from "../../runtime/nats/mod.ts";
import type { Envelope, JsonValue } from "../../runtime/mod.ts";
import { fieldIssues } from "../shared/validation.ts";
import { commandReport, HELLO_SCHEMA, REPORT_SCHEMA } from "./command_requests.ts";
import { DEVICE_COMMANDS } from "./commands.ts";
import { DEVICE_ID, JSON_NUMBER, MAX_READING, parseTelemetry, SENSOR_NAME } from "./telemetry.ts";

/** Largest device payload accepted, in bytes. */
export const MAX_DEVICE_PAYLOAD = 64 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Parses a JSON body (an empty one as `{}` when `empty` allows it), or says why not. */
function jsonBody(text: string, empty: boolean): { body: unknown } | { reject: string } {
  if (empty && text.trim() === "") return { body: {} };
  try {
    return { body: JSON.parse(text) };
  } catch (error) {
    return { reject: `not_json: ${(error as Error).message}` };
  }
}

/** Checks `body` with `schema`; the reason names `what` and the fields that were wrong. */
function checked<S extends z.ZodType>(
  schema: S,
  body: unknown,
  what: string,
): { value: z.output<S> } | { reject: string } {
  const parsed = schema.safeParse(body);
  if (parsed.success) return { value: parsed.data };
  const detail = fieldIssues(parsed.error).map((i) => `${i.path || "body"}: ${i.message}`);
  return { reject: `invalid_${what}: ${detail.join("; ")}` };
}

/**
 * Decodes a hello or a command report into a message for the device's `device-commands` actor.
 */
function decodeCommandMessage(
  id: string,
  kind: "h" | "c",
  text: string,
): Envelope | IngestRejection {
  const parsed = jsonBody(text, kind === "h");
  if ("reject" in parsed) return { reject: parsed.reject, device: id };
  const result = kind === "h"
    ? checked(HELLO_SCHEMA, parsed.body, "hello")
    : checked(REPORT_SCHEMA, parsed.body, "report");
  if ("reject" in result) return { reject: result.reject, device: id };
  const { device, ...body } = result.value;
  if (device !== undefined && device !== id) {
    return {
      reject: `device_mismatch: the body names device ${JSON.stringify(device.slice(0, 128))}, ` +
        `the subject ${id}`,
      device: id,
    };
  }
  if (kind === "h") {
    return { type: DEVICE_COMMANDS, id, kind: "hello", payload: body as JsonValue };
  }
  const report = body as z.output<typeof REPORT_SCHEMA>;
  return {
    type: DEVICE_COMMANDS,
    id,
    kind: "report",
    payload: commandReport(report.commandId, report) as unknown as JsonValue,
  };
}

/**
 * Decodes one device message: telemetry into a `telemetry` message for its device actor, a
 * hello or a command report into a message for its `device-commands` actor.
 */
export function decodeDeviceMessage(
  tokens: readonly string[],
  data: Uint8Array,
  receivedAt: number,
): Envelope | IngestRejection {
  const [id, kind, sensor] = tokens;
  if (id === undefined || !DEVICE_ID.test(id)) {
    return { reject: `invalid_device_id: ${JSON.stringify(id ?? "")} is not a device id` };
  }
  if (data.length > MAX_DEVICE_PAYLOAD) {
    return { reject: `oversized: ${data.length} bytes, at most ${MAX_DEVICE_PAYLOAD}`, device: id };
  }
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return { reject: "not_utf8: the payload is not UTF-8 text", device: id };
  }
  if (kind === "t" && tokens.length === 2) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return { reject: `not_json: ${(error as Error).message}`, device: id };
    }
    try {
      return {
        type: "device",
        id,
        kind: "telemetry",
        payload: parseTelemetry(body, receivedAt) as never,
      };
    } catch (error) {
      const issues = (error as { issues?: { path: string; message: string }[] }).issues ?? [];
      const detail = issues.map((i) => `${i.path || "body"}: ${i.message}`).join("; ");
      return { reject: `invalid_telemetry: ${detail || (error as Error).message}`, device: id };
    }
  }
  if ((kind === "h" || kind === "c") && tokens.length === 2) {
    return decodeCommandMessage(id, kind, text);
  }
  if (kind === "s" && sensor !== undefined && tokens.length === 3) {
    if (!SENSOR_NAME.test(sensor)) {
      return { reject: `invalid_sensor: ${JSON.stringify(sensor)}`, device: id };
    }
    // JSON number syntax only: no "0x10", no " 8 ", no "Infinity".
    if (!JSON_NUMBER.test(text)) {
      return { reject: `not_a_number: ${JSON.stringify(text.slice(0, 32))}`, device: id };
    }
    const value = Number(text);
    if (!(Math.abs(value) <= MAX_READING)) {
      return { reject: `out_of_range: ${text.slice(0, 32)} is beyond ±1e15`, device: id };
    }
    return {
      type: "device",
      id,
      kind: "telemetry",
      payload: { ts: receivedAt, readings: { [sensor]: value } },
    };
  }
  return { reject: `unknown_subject: ${tokens.join(".")}`, device: id };
}

/** The device decoder for the NATS transport. */
export const deviceIngest: IngestDecoder = { decode: decodeDeviceMessage };
