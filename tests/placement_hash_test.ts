import { fnv1a32, ownerOf, partitionOf } from "../runtime/nats/hash.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

Deno.test("partitionOf matches nats-server's partition() mapping (FNV-1a)", () => {
  // Observed from nats-server 2.9 with "iot.*.telemetry": "fl.in.{{partition(64,1)}}...".
  assertEquals(partitionOf("robot1", 64), 42);
  assertEquals(partitionOf("a", 64), 44);
  assertEquals(partitionOf("dev-42", 64), 37);
  assertEquals(partitionOf("sensor_7", 64), 1);
  assertEquals(fnv1a32(""), 0x811c9dc5);
});

Deno.test("ownerOf spreads partitions evenly and moves only the leaver's share", () => {
  const nodes = ["node-1", "node-2", "node-3"];
  const owners = Array.from({ length: 64 }, (_, p) => ownerOf(p, nodes)!);
  for (const node of nodes) {
    const n = owners.filter((o) => o === node).length;
    assert(n >= 14 && n <= 29, `${node} owns ${n} of 64`);
  }
  const after = Array.from({ length: 64 }, (_, p) => ownerOf(p, ["node-1", "node-3"])!);
  owners.forEach((o, p) => {
    if (o !== "node-2") assertEquals(after[p], o, `partition ${p} stays with ${o}`);
  });
  // The same answer whatever the order of the node list.
  assertEquals(ownerOf(7, ["c", "a", "b"]), ownerOf(7, ["a", "b", "c"]));
  assertEquals(ownerOf(7, []), undefined);
});

Deno.test("fnv1a32 hashes the UTF-8 bytes, as TextEncoder would encode them", () => {
  const reference = (text: string) => {
    let hash = 0x811c9dc5;
    for (const b of new TextEncoder().encode(text)) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
    return hash >>> 0;
  };
  for (
    const text of [
      "",
      "robot1",
      "é",
      "설비-1",
      "😀x",
      "a\u0000b",
      "\uffff",
      "\ud800",
      "x\udc00y",
      "\u07ff\u0800",
    ]
  ) {
    assertEquals(fnv1a32(text), reference(text), JSON.stringify(text));
  }
});
