/**
 * Readiness decisions on made-up state: the partitions' part (`runtime/nats/readiness.ts`) —
 * ready once the node owns its share with consumers caught up, and from then on while its lease
 * keeper lives — and the node's check (`node/readiness.ts`), which adds the store, NATS and
 * the store's durability. Against a real cluster: cluster_readiness_test.ts.
 */
import { readinessCheck } from "../node/readiness.ts";
import { MemoryStore } from "../runtime/mod.ts";
import {
  type NatsClients,
  type PartitionsReadiness,
  partitionsReadiness,
  type PartitionsState,
} from "../runtime/nats/mod.ts";
import { assertEquals } from "./helpers/assert.ts";

const BASE: PartitionsState = {
  partitions: 16,
  owned: 6,
  wanted: 6,
  missing: 0,
  catchingUp: 0,
  failure: null,
  stopping: false,
  joined: false,
};

Deno.test("partitions readiness: a table of states → ready, with why", () => {
  const cases: [string, Partial<PartitionsState>, boolean, string][] = [
    ["its share, caught up", {}, true, "6 of 16 owned here, 6 wanted"],
    ["alone: all of them", { owned: 16, wanted: 16 }, true, "16 of 16 owned here, 16 wanted"],
    [
      "placement settling after start",
      { owned: 0, wanted: null },
      false,
      "0 of 16 owned here; placement settling (waiting to hear from every node)",
    ],
    [
      "joining: part of its share still held elsewhere",
      { owned: 4, missing: 2 },
      false,
      "4 of 16 owned here, 6 wanted; 2 to take",
    ],
    [
      "joining: owned, consumers catching up",
      { catchingUp: 2 },
      false,
      "6 of 16 owned here, 6 wanted; 2 catching up",
    ],
    [
      "both",
      { owned: 5, missing: 1, catchingUp: 3 },
      false,
      "5 of 16 owned here, 6 wanted; 1 to take, 3 catching up",
    ],
    [
      "a node joined elsewhere: it still owns more than its new share",
      { owned: 8, wanted: 6 },
      true,
      "8 of 16 owned here, 6 wanted",
    ],
    [
      "ready before, now taking over a dead node's partitions",
      { owned: 6, wanted: 9, missing: 3, joined: true },
      true,
      "6 of 16 owned here, 9 wanted; 3 to take",
    ],
    [
      "the lease keeper failed",
      { owned: 0, joined: true, failure: "the lease keeper thread failed: boom" },
      false,
      "0 of 16 owned here; the lease keeper failed: the lease keeper thread failed: boom",
    ],
    [
      "leaving the cluster",
      { stopping: true, joined: true },
      false,
      "6 of 16 owned here; leaving the cluster",
    ],
    [
      "repairing a partition from the stream after the store lost writes",
      { joined: true, repairing: [{ partition: 3, reason: "the store went back in time" }] },
      false,
      "6 of 16 owned here; repairing partition 3 from the stream: the store went back in time",
    ],
  ];
  for (const [name, change, ready, detail] of cases) {
    assertEquals(partitionsReadiness({ ...BASE, ...change }), { ready, detail }, name);
  }
});

/** The node's check on a memory store, a fake NATS connection and a fake transport. */
function check(partitions: PartitionsReadiness, closed = false, durability: string | null = null) {
  const nats = { nc: { isClosed: () => closed } } as unknown as NatsClients;
  return readinessCheck({
    store: new MemoryStore(),
    durability,
    cluster: { nats, transport: { readiness: () => partitions } },
  })();
}

Deno.test("readiness check: the partitions decide in cluster mode; durability is reported", async () => {
  const detail = "6 of 16 owned here, 6 wanted";
  assertEquals(await check({ ready: true, detail }, false, "appendonly yes, appendfsync always"), {
    ready: true,
    checks: {
      store: "ok",
      durability: "appendonly yes, appendfsync always",
      nats: "ok",
      partitions: detail,
    },
  });
  const joining = "2 of 16 owned here, 6 wanted; 4 to take";
  assertEquals((await check({ ready: false, detail: joining })).ready, false);
  assertEquals((await check({ ready: true, detail }, true)).checks.nats, "closed");
  assertEquals((await check({ ready: true, detail }, true)).ready, false);
  const volatile = "volatile, allowed by FLOTILLA_ALLOW_VOLATILE_STORE=1: appendonly no";
  assertEquals((await check({ ready: true, detail }, false, volatile)).ready, true);
});

Deno.test("readiness check: embedded mode is ready when the store answers", async () => {
  const store = new MemoryStore();
  assertEquals(await readinessCheck({ store, cluster: null })(), {
    ready: true,
    checks: { store: "ok" },
  });
  await store.close();
  const closed = await readinessCheck({ store, cluster: null })();
  assertEquals(closed.ready, false);
  assertEquals(closed.checks.store, "StoreError: the memory store is closed");
});
