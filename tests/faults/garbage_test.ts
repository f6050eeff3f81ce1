/**
 * Fault (g): a burst of garbage on the device subjects — not JSON, not UTF-8, too large, wrong
 * types, invalid sensor names and device ids, numbers that are no numbers — interleaved with
 * valid readings of the same devices, all acknowledged by JetStream. The valid readings are
 * applied exactly once, in order; every garbage payload is counted in
 * `flotilla_ingest_rejected_total{reason}` (their sum is what was sent); no actor crashes; the
 * nodes stay up. Numbers that parse in JavaScript but are no JSON number (`0x10`, `" 8 "`) or
 * lie beyond ±1e15 (`1e308`, which once crashed the device actor) are refused with the rest.
 */
import { jetstream } from "@nats-io/jetstream";
import { assertEquals } from "../helpers/assert.ts";
import { publishAcked } from "./acked_load.ts";
import { deviceIds, faultTest, runScenario, scale } from "./harness.ts";

/** One kind of garbage: where it goes, what it is, and the rejection reason it must get. */
interface Garbage {
  readonly subject: (device: string) => string;
  readonly data: string | Uint8Array;
  /** The `reason` label it is counted under. */
  readonly reason: string;
}

const iot = (device: string) => `iot.${device}.telemetry`;
const sensor = (name: string) => (device: string) => `sensors.${device}.${name}`;
const valid = '{"readings":{"t":1}}';

const GARBAGE: readonly Garbage[] = [
  { subject: iot, data: '{"readings":', reason: "not_json" },
  { subject: iot, data: "hello", reason: "not_json" },
  { subject: iot, data: new Uint8Array([0xff, 0xfe, 0x7b, 0x80]), reason: "not_utf8" },
  { subject: sensor("temp"), data: new Uint8Array([0xc3, 0x28]), reason: "not_utf8" },
  {
    subject: iot,
    data: JSON.stringify({ readings: { t: 1 }, pad: "x".repeat(70_000) }),
    reason: "oversized",
  },
  { subject: iot, data: '{"readings":{"t":"hot"}}', reason: "invalid_telemetry" },
  { subject: iot, data: "[1,2,3]", reason: "invalid_telemetry" },
  { subject: iot, data: "null", reason: "invalid_telemetry" },
  { subject: iot, data: '{"readings":{}}', reason: "invalid_telemetry" },
  { subject: iot, data: '{"readings":{"t":1},"extra":true}', reason: "invalid_telemetry" },
  { subject: iot, data: '{"readings":{"constructor":1}}', reason: "invalid_telemetry" },
  { subject: iot, data: '{"readings":{"t":1},"battery":500}', reason: "invalid_telemetry" },
  { subject: iot, data: '{"ts":"yesterday","readings":{"t":1}}', reason: "invalid_telemetry" },
  { subject: sensor("temp"), data: "abc", reason: "not_a_number" },
  { subject: sensor("temp"), data: "", reason: "not_a_number" },
  { subject: sensor("temp"), data: "NaN", reason: "not_a_number" },
  { subject: sensor("temp"), data: "Infinity", reason: "not_a_number" },
  { subject: sensor("temp"), data: "1,5", reason: "not_a_number" },
  { subject: sensor("constructor"), data: "1", reason: "invalid_sensor" },
  { subject: sensor("s".repeat(65)), data: "1", reason: "invalid_sensor" },
  { subject: () => "iot.bad%id.telemetry", data: valid, reason: "invalid_device_id" },
  { subject: () => `iot.${"d".repeat(129)}.telemetry`, data: valid, reason: "invalid_device_id" },
];

/** Numbers JavaScript parses but that are no JSON number, or beyond ±1e15. */
const BAD_NUMBERS: readonly Garbage[] = [
  { subject: iot, data: '{"readings":{"temperature":1e308}}', reason: "invalid_telemetry" },
  { subject: iot, data: '{"readings":{"temperature":-1e308}}', reason: "invalid_telemetry" },
  { subject: sensor("temperature"), data: "1e308", reason: "out_of_range" },
  { subject: sensor("temp"), data: "0x10", reason: "not_a_number" },
  { subject: sensor("temp"), data: " 8 ", reason: "not_a_number" },
];

/** Rounds of the burst: each sends every kind once. */
const ROUNDS = scale(10, 1000);
const CONCURRENCY = 16;

faultTest({
  id: "g",
  name: "garbage burst, bad numbers included, interleaved with valid readings",
  fn: async () => {
    const kinds = [...GARBAGE, ...BAD_NUMBERS];
    const sent = new Map<string, number>();
    let total = 0;
    await runScenario({
      id: "g",
      name: "garbage burst",
      async fault({ cluster }) {
        const js = jetstream(await cluster.client());
        const devices = deviceIds("g");
        let next = 0;
        const worker = async () => {
          for (let n = next++; n < ROUNDS * kinds.length; n = next++) {
            const kind = kinds[n % kinds.length]!;
            const device = devices[n % devices.length]!;
            await publishAcked(js, kind.subject(device), kind.data, { msgID: `garbage:${n}` });
            const reason = kind.reason;
            sent.set(reason, (sent.get(reason) ?? 0) + 1);
            total++;
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      },
      async check({ cluster }) {
        const counted = new Map<string, number>();
        for (const reason of sent.keys()) {
          if (reason.startsWith("(")) continue;
          counted.set(
            reason,
            await cluster.metric(`flotilla_ingest_rejected_total{reason="${reason}"}`),
          );
        }
        const rejected = await cluster.metric("flotilla_ingest_rejected_total");
        const crashes = await cluster.metric("flotilla_actor_crashes_total");
        console.log(
          `garbage: ${total} sent and acknowledged, ${rejected} rejected; by reason: ` +
            JSON.stringify(Object.fromEntries(sent)) + `; actor crashes: ${crashes}`,
        );
        assertEquals(
          Object.fromEntries(counted),
          Object.fromEntries([...sent].filter(([reason]) => !reason.startsWith("("))),
          "each reason counted as often as sent",
        );
        assertEquals(rejected, total, "every garbage payload counted as rejected, once");
        assertEquals(crashes, 0, "no actor crashed");
      },
    });
  },
});
