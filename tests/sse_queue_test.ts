import { ClientQueue } from "../routes/sse_queue.ts";
import type { BusEvent, JsonValue } from "../runtime/mod.ts";
import { assertEquals } from "./helpers/assert.ts";

let seq = 0;
function event(topic: string, key: string | null, data: JsonValue): BusEvent {
  seq++;
  return { id: String(seq), topic, key, time: seq, data };
}

Deno.test("ClientQueue keeps everything, in order, while the client keeps up", () => {
  const q = new ClientQueue({ coalesceAfter: 4, limit: 10 });
  const items = [
    event("telemetry", "a", { n: 1 }),
    event("alerts", "a", { x: 1 }),
    event("telemetry", "a", { n: 2 }),
  ];
  for (const i of items) assertEquals(q.push(i), true);
  assertEquals(q.take(), items);
  assertEquals(q.size, 0);
});

Deno.test("ClientQueue coalesces telemetry per device past the threshold, merging readings", () => {
  const q = new ClientQueue({ coalesceAfter: 2, limit: 5 });
  const first = event("telemetry", "robot", {
    device: "robot",
    ts: 1,
    readings: { coordX: 1, coordY: 1 },
  });
  const alert = event("alerts", "robot", { type: "threshold_violation" });
  q.push(first);
  q.push(alert);
  for (let i = 2; i <= 50; i++) {
    assertEquals(
      q.push(event("telemetry", "robot", { device: "robot", ts: i, readings: { coordX: i } })),
      true,
    );
  }
  const out = q.take();
  assertEquals(out.length, 2, "the alert, then one merged event for the robot");
  assertEquals(out[0], alert);
  const last = out[1] as BusEvent;
  assertEquals(last.id, String(seq), "the merged event carries the newest id");
  assertEquals(last.data, { device: "robot", ts: 50, readings: { coordX: 50, coordY: 1 } });
  assertEquals(q.coalesced, 49);
});

Deno.test("ClientQueue merges readings the newer event lacks", () => {
  const q = new ClientQueue({ coalesceAfter: 0, limit: 5 });
  q.push(event("telemetry", "s", { readings: { temperature: 20, humidity: 40 } }));
  q.push(event("telemetry", "s", { readings: { temperature: 21 } }));
  assertEquals((q.take()[0] as BusEvent).data, { readings: { temperature: 21, humidity: 40 } });
});

Deno.test("ClientQueue overflows at its limit when nothing can be coalesced", () => {
  const q = new ClientQueue({ coalesceAfter: 2, limit: 4 });
  for (let i = 0; i < 4; i++) assertEquals(q.push(event("telemetry", `d${i}`, { i })), true);
  assertEquals(q.push(event("telemetry", "d9", {})), false);
  assertEquals(q.overflowed, true);
  assertEquals(q.push(event("alerts", null, {})), false, "stays overflowed");
});

Deno.test("ClientQueue never coalesces other topics or keyless events", () => {
  const q = new ClientQueue({ coalesceAfter: 0, limit: 10 });
  for (let i = 0; i < 3; i++) q.push(event("alerts", "d", { i }));
  for (let i = 0; i < 3; i++) q.push(event("telemetry", null, { i }));
  assertEquals(q.take().length, 6);
});
