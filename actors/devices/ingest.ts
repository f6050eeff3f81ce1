/**
 * Decoding device messages that arrive over NATS (or MQTT through nats-server's MQTT listener):
 *
 * - `iot.<deviceId>.telemetry` with the JSON body of the HTTP ingest;
 * - `sensors.<deviceId>.<sensor>` (MQTT topic `sensors/<deviceId>/<sensor>`) with a bare
 *   number as payload.
 *
 * nats-server maps both onto the partitioned ingest subjects `fl.in.<p>.<deviceId>.t` and
 * `fl.in.<p>.<deviceId>.s.<sensor>`; the transport hands the tokens after the partition here.
 * Anything else — not JSON, not a number, too large, invalid — is a rejection with a reason,
 * counted and reported, never an exception.
 *
 * @module
 */
import type { IngestDecoder, IngestRejection } from "../../runtime/nats/mod.ts";
import type { Envelope } from "../../runtime/mod.ts";
import { DEVICE_ID, JSON_NUMBER, MAX_READING, parseTelemetry, SENSOR_NAME } from "./telemetry.ts";

/** Largest device payload accepted, in bytes. */
export const MAX_DEVICE_PAYLOAD = 64 * 1024;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes one device message into a `telemetry` message for its device actor. */
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
