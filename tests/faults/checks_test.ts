/**
 * The fault suite's own checks, on made-up input: the order check, the AOF cut, MONITOR line
 * parsing, client attribution and the verdict on a stale write. (The scenarios rely on them
 * to fail when something is wrong; these show that they can.)
 */
import { assertEquals } from "../helpers/assert.ts";
import { parseAof, truncateAof } from "./aof.ts";
import { checkOrder } from "./applied_order.ts";
import { type MonitoredCall, parseMonitorLine } from "./redis_monitor.ts";
import { LeaseHistory, namedClients, partitionOfKey, staleWrites } from "./stale_writes.ts";

const events = (seqs: number[], from = 1) =>
  seqs.map((seq, i) => ({ seq, streamSeq: from + i * 10 }));

Deno.test("checkOrder: in order passes; twice, backwards and never acknowledged are found", () => {
  const acked = new Map([["d", [0, 1, 2, 3]]]);
  assertEquals(checkOrder(acked, new Map([["d", events([0, 1, 2, 3])]])), {
    seen: 4,
    violations: [],
    phantoms: [],
    rewinds: 0,
    late: 0,
  });
  const bad = checkOrder(acked, new Map([["d", events([0, 2, 1, 1, 3, 7])]]));
  assertEquals(bad.violations, ["d applied 1 after 2", "d applied 1 after 1"]);
  assertEquals(bad.phantoms, ["d applied 7, never acknowledged"]);
  assertEquals(bad.seen, 4);
});

Deno.test("checkOrder: one rewind per device after the loss; late events of a frozen node", () => {
  const acked = new Map([["d", [0, 1, 2, 3, 4]]]);
  // Replayed 2 and 3 after stream sequence 30: one rewind; a second one is a violation.
  const replay = events([0, 1, 2, 3, 2, 3, 4, 3]);
  assertEquals(checkOrder(acked, new Map([["d", replay]]), { rewindsAfter: 30 }).rewinds, 1);
  assertEquals(
    checkOrder(acked, new Map([["d", replay]]), { rewindsAfter: 30 }).violations,
    ["d applied 3 after 4"],
  );
  assertEquals(checkOrder(acked, new Map([["d", replay]])).violations, [
    "d applied 2 after 3",
    "d applied 3 after 4",
  ]);
  // Reading 1 acknowledged before the freeze, its only event after the thaw: late.
  const lateEvents = { after: 15, ackedBefore: new Map([["d", 1]]) };
  const late = checkOrder(acked, new Map([["d", events([0, 2, 3, 1, 4])]]), { lateEvents });
  assertEquals([late.late, late.violations], [1, []]);
  // Not late: acknowledged after the freeze, or applied twice.
  assertEquals(
    checkOrder(acked, new Map([["d", events([0, 1, 3, 2, 4])]]), { lateEvents }).violations,
    ["d applied 2 after 3"],
  );
  assertEquals(
    checkOrder(acked, new Map([["d", events([0, 1, 2, 1, 3])]]), { lateEvents }).violations,
    ["d applied 1 after 2"],
  );
});

const resp = (...args: string[]) =>
  `*${args.length}\r\n${
    args.map((a) => `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`).join("")
  }`;

Deno.test("AOF: cut at the last command boundary outside MULTI/EXEC", async () => {
  const text = resp("SELECT", "0") + resp("SET", "a", "1:x") + resp("MULTI") +
    resp("SET", "b", "2:y") + resp("EXEC") + resp("SET", "a", "2:z");
  const commands = parseAof(new TextEncoder().encode(text));
  assertEquals(commands.map((c) => c.atBoundary), [true, true, false, false, true, true]);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, text + "*3\r\n$3\r\nSET"); // and a torn command
    const insideMulti = commands[3]!.end;
    const cut = await truncateAof(path, insideMulti);
    assertEquals(cut.kept, commands[1]!.end);
    assertEquals(cut.lost.map((c) => c.join(" ")), [
      "MULTI",
      "SET b 2:y",
      "EXEC",
      "SET a 2:z",
    ]);
    assertEquals((await Deno.stat(path)).size, commands[1]!.end);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("MONITOR lines: time, client, escaped arguments, SET … GET", () => {
  const line = new TextEncoder().encode(
    '+1700000000.123456 [0 127.0.0.1:5000] "evalsha" "abc" "2" "k\\"1" "k\\x32" "v a l" "GET"',
  );
  const parsed = parseMonitorLine(line)!;
  assertEquals(parsed.ts, 1_700_000_000_123.456);
  assertEquals(parsed.addr, "127.0.0.1:5000");
  assertEquals(parsed.tokens(5), ["evalsha", "abc", "2", 'k"1', "k2"]);
  assertEquals(parsed.lastIsGet, true);
  assertEquals(parseMonitorLine(new TextEncoder().encode('+1.5 [0 lua] "DEL" "k"'))!.addr, "lua");
  assertEquals(parseMonitorLine(new TextEncoder().encode("+OK")), null);
});

Deno.test("stale writes: clients by name, partitions of keys", () => {
  const list = "id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name=flotilla-node-1 db=0\n" +
    "id=4 addr=127.0.0.1:5001 laddr=127.0.0.1:6379 fd=9 name= db=0\n";
  assertEquals([...namedClients(list, "flotilla-node-1")], ["127.0.0.1:5000"]);
  assertEquals(partitionOfKey("r/7/presence-shard/3/wake"), 7);
  assertEquals(typeof partitionOfKey("a/device/dev-1"), "number");
  assertEquals(partitionOfKey("health/probe"), null);
});

Deno.test("stale writes: of partitions not held, refused, put back or landed", () => {
  const leases = LeaseHistory.of([
    { partition: 1, node: "n1", ts: 0 },
    { partition: 2, node: "n1", ts: 0 },
    { partition: 1, node: "n2", ts: 100 }, // n1 lost 1 at 100; holds 2 throughout
  ]);
  assertEquals(leases.held("n1", 1, 50), true);
  assertEquals(leases.held("n1", 1, 101), null); // too close to the change to tell
  assertEquals(leases.held("n1", 1, 200), false);
  const call = (ts: number, key: string, writes: MonitoredCall["writes"]): MonitoredCall => ({
    ts,
    addr: "a:1",
    command: "evalsha",
    keys: ["flotilla:si", "flotilla:ji", `flotilla:s:${key}`],
    writes: writes.map((w) => ({ ...w, key: `flotilla:s:${key}` })),
  });
  const set = { command: "SET", key: "", get: false };
  const calls = [
    call(50, "r/1/t/x/n", [set]), // held then
    call(200, "r/2/t/x/n", [set]), // held
    call(200, "r/1/t/x/a", []),
    call(210, "r/1/t/x/b", [{ ...set, get: true }, set]),
    call(220, "r/1/t/x/c", [set, { command: "APPEND", key: "", get: false }]),
    { ...call(230, "r/1/t/x/d", [set]), addr: "other:2" },
  ];
  const found = staleWrites(calls, {
    addrs: new Set(["a:1"]),
    node: "n1",
    leases,
    from: 0,
    to: 1000,
  });
  assertEquals(found.map((w) => [w.key, w.partition, w.landed, w.how]), [
    ["r/1/t/x/a", 1, false, "refused"],
    ["r/1/t/x/b", 1, false, "put back"],
    ["r/1/t/x/c", 1, true, "SET+APPEND"],
  ]);
});
