import { headers } from "@nats-io/transport-node";
import {
  BATCH_HEADER,
  comparePositions,
  eventId,
  parseEventId,
  unpackEvents,
} from "../runtime/nats/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("event ids: <seq>.<index> is after that event, a plain <seq> after its message", () => {
  assertEquals(eventId(42, 3), "42.3");
  assertEquals(parseEventId("42.3"), { seq: 42, index: 3 });
  assertEquals(parseEventId("42"), { seq: 42, index: Infinity });
  assertEquals(parseEventId("0"), { seq: 0, index: Infinity });
  for (const bad of ["", "x", "42.", ".3", "-1", "1e3", "4.2.1", " 42", "42.3 ", "1-2"]) {
    assertEquals(parseEventId(bad), null, JSON.stringify(bad));
  }
  const order = ["41", "42.0", "42.3", "42.10", "42", "43.0"].map((id) => parseEventId(id)!);
  for (let i = 1; i < order.length; i++) {
    assert(comparePositions(order[i - 1]!, order[i]!) < 0, `${i - 1} before ${i}`);
    assert(comparePositions(order[i]!, order[i - 1]!) > 0, `${i} after ${i - 1}`);
  }
  assertEquals(comparePositions(parseEventId("42")!, parseEventId("42")!), 0);
});

Deno.test("unpackEvents reads a batch, a message of the format before batches, or nothing", () => {
  const batch = headers();
  batch.set(BATCH_HEADER, "3");
  assertEquals(unpackEvents(batch, bytes('[["dev-1",{"t":1}],[null,2],["dev-2",null]]')), [
    { key: "dev-1", data: { t: 1 } },
    { key: null, data: 2 },
    { key: "dev-2", data: null },
  ]);
  const single = headers();
  single.set("Fl-Key", "dev-9");
  assertEquals(unpackEvents(single, bytes('{"t":1}')), [{ key: "dev-9", data: { t: 1 } }]);
  assertEquals(unpackEvents(undefined, bytes("[1,2]")), [{ key: null, data: [1, 2] }]);
  for (const bad of ["{not json", '{"t":1}', "[[1,2]]", '[["k"]]', '[["k",1,2]]', "[3]"]) {
    assertEquals(unpackEvents(batch, bytes(bad)), null, bad);
  }
  assertEquals(unpackEvents(undefined, bytes("{not json")), null);
});
