/**
 * Decoding what devices publish over NATS and MQTT (actors/devices/ingest.ts), for the kinds of
 * the command protocol: hellos (`.h`) and command reports (`.c`) become messages for the
 * device's `device-commands` actor; anything wrong is a rejection with a reason (counted as
 * `flotilla_ingest_rejected_total{reason}` by the transport), never an exception — including a
 * body that names another device than the subject.
 */
import { decodeDeviceMessage } from "../actors/devices/ingest.ts";
import { assertEquals } from "./helpers/assert.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const decode = (tokens: string[], text: string) => decodeDeviceMessage(tokens, bytes(text), 5);

/** The reason of a rejection (before its `:`), or the decoded envelope. */
function outcome(tokens: string[], text: string): unknown {
  const decoded = decode(tokens, text);
  return "reject" in decoded ? decoded.reject.split(":")[0] : decoded;
}

Deno.test("ingest: a hello, empty or with the device's desired version", () => {
  for (const text of ["", "  ", "{}", '{"device": "r1"}']) {
    assertEquals(outcome(["r1", "h"], text), {
      type: "device-commands",
      id: "r1",
      kind: "hello",
      payload: {},
    }, JSON.stringify(text));
  }
  assertEquals(outcome(["r1", "h"], '{"desiredVersion": 4}'), {
    type: "device-commands",
    id: "r1",
    kind: "hello",
    payload: { desiredVersion: 4 },
  });
});

Deno.test("ingest: a command report, its device decided by the subject", () => {
  assertEquals(
    outcome(["r1", "c"], '{"commandId": "c-1", "status": "succeeded", "result": {"at": 3}}'),
    {
      type: "device-commands",
      id: "r1",
      kind: "report",
      payload: { commandId: "c-1", status: "succeeded", result: { at: 3 } },
    },
  );
  assertEquals(
    outcome(
      ["r1", "c"],
      '{"commandId": "c-1", "status": "failed", "error": "jam", "device": "r1"}',
    ),
    {
      type: "device-commands",
      id: "r1",
      kind: "report",
      payload: { commandId: "c-1", status: "failed", error: "jam" },
    },
  );
});

Deno.test("ingest: bad hellos and reports are rejections with reasons", () => {
  const cases: [string[], string, string][] = [
    [["r1", "c"], "", "not_json"],
    [["r1", "c"], "{garbage", "not_json"],
    [["r1", "c"], "[]", "invalid_report"],
    [["r1", "c"], '{"commandId": "c-1"}', "invalid_report"],
    [["r1", "c"], '{"commandId": "c-1", "status": "done"}', "invalid_report"],
    [["r1", "c"], '{"commandId": "a.b", "status": "delivered"}', "invalid_report"],
    [["r1", "c"], '{"commandId": "c-1", "status": "delivered", "x": 1}', "invalid_report"],
    [["r1", "c"], '{"commandId": "c-1", "status": "succeeded", "result": [1]}', "invalid_report"],
    [["r1", "c"], '{"commandId": "c-1", "status": "delivered", "device": "r2"}', "device_mismatch"],
    [["r1", "h"], '{"desiredVersion": -1}', "invalid_hello"],
    [["r1", "h"], '{"desiredVersion": "3"}', "invalid_hello"],
    [["r1", "h"], '{"device": "r2"}', "device_mismatch"],
    [["r1", "h"], "hello", "not_json"],
    [["r1", "h", "x"], "{}", "unknown_subject"],
    [["r1", "q"], "{}", "unknown_subject"],
  ];
  for (const [tokens, text, reason] of cases) {
    assertEquals(outcome(tokens, text), reason, `${tokens.join(".")} ${text}`);
  }
  const mismatch = decode(["r1", "c"], '{"commandId": "c", "status": "delivered", "device": "r2"}');
  assertEquals("reject" in mismatch && mismatch.device, "r1", "reported as the subject's device");
  assertEquals(
    outcome(
      ["r1", "c"],
      JSON.stringify({ commandId: "c", status: "failed", pad: "x".repeat(70_000) }),
    ),
    "oversized",
  );
});
