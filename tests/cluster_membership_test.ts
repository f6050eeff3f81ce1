/**
 * Cluster membership against real servers: a node joining takes its share of partitions, a
 * node leaving hands its partitions over drained (no redelivery storm), and a node frozen past
 * its lease (SIGSTOP) cannot write stale state when it wakes up.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { type Cluster, PARTITIONS, startCluster } from "./helpers/cluster.ts";
import type { NodeProcess } from "./helpers/process.ts";

const DEVICES = 300;

async function publishRound(cluster: Cluster, seq: number): Promise<void> {
  const nc = await cluster.client();
  for (let d = 0; d < DEVICES; d++) {
    nc.publish(
      `iot.m-${d}.telemetry`,
      JSON.stringify({ ts: 1_700_000_000_000 + seq, readings: { seq } }),
    );
  }
  await nc.flush();
}

/** Sum of one metric series over `nodes`. */
async function metric(nodes: readonly NodeProcess[], series: string): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith(`${series} `) || line.startsWith(`${series}{`)) {
        total += Number(line.split(" ").at(-1));
      }
    }
  }
  return total;
}

async function expectCounts(
  cluster: Cluster,
  nodes: readonly NodeProcess[],
  expected: number,
): Promise<void> {
  const wrong: string[] = [];
  await Promise.all(Array.from({ length: DEVICES }, async (_, d) => {
    const twin = await cluster.twin(`m-${d}`, nodes[d % nodes.length]!);
    if (twin?.messageCount !== expected) wrong.push(`m-${d}: ${twin?.messageCount}`);
  }));
  assertEquals(wrong, [], `every device counts ${expected}`);
}

Deno.test({
  name:
    "cluster: a joining node takes a share; a leaving node hands over drained, nothing redelivered",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await startCluster({ nodes: 2 });
    try {
      await cluster.settled();
      for (let seq = 0; seq < 10; seq++) await publishRound(cluster, seq);

      // A third node joins while messages flow: it takes a share, handed over drained.
      const third = await cluster.addNode();
      const publishing = (async () => {
        for (let seq = 10; seq < 20; seq++) await publishRound(cluster, seq);
      })();
      const shares = await cluster.settled();
      await publishing;
      assert(shares[2]! > 0, `the new node owns ${shares[2]} partitions`);
      await cluster.drained();
      await expectCounts(cluster, cluster.nodes, 20);

      // The first node leaves gracefully (SIGTERM) while messages flow.
      const [leaver, ...stay] = cluster.nodes;
      const leaving = leaver!.stop("SIGTERM");
      for (let seq = 20; seq < 30; seq++) await publishRound(cluster, seq);
      assertEquals(await leaving, 0, "the leaving node exits 0");
      const owned = await cluster.settled(stay);
      assertEquals(owned.reduce((a, b) => a + b, 0), PARTITIONS);
      await cluster.drained();
      await expectCounts(cluster, stay, 30);
      assertEquals(
        await metric(stay, "flotilla_duplicates_skipped_total"),
        0,
        "handovers were drained: no message came twice",
      );
      assertEquals(
        await metric(stay, "flotilla_redeliveries_total"),
        0,
        "and none was redelivered",
      );
      assert(third.lines.some((l) => l.msg === "listening"), "the joiner served");
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test({
  name: "cluster: a node frozen past its lease (SIGSTOP) cannot write stale state when it resumes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await startCluster({ nodes: 2 });
    try {
      await cluster.settled();
      const [frozen, other] = cluster.nodes as [NodeProcess, NodeProcess];
      await publishRound(cluster, 0);
      await cluster.drained();

      // Freeze a node with work in hand: a round published, not yet all applied.
      await publishRound(cluster, 1);
      frozen.signal("SIGSTOP");
      // The other node takes its partitions once the lease runs out, and goes on.
      await cluster.settled([other], false);
      for (let seq = 2; seq < 5; seq++) await publishRound(cluster, seq);
      await cluster.drained();
      await expectCounts(cluster, [other], 5);

      // Thawed, the old owner finds its leases gone and stops before writing anything stale.
      frozen.signal("SIGCONT");
      for (let seq = 5; seq < 8; seq++) await publishRound(cluster, seq);
      await cluster.settled();
      await cluster.drained();
      await expectCounts(cluster, cluster.nodes, 8);
      assert(
        frozen.lines.some((l) => l.msg === "partition lost"),
        "the thawed node noticed it had lost its partitions",
      );
    } finally {
      await cluster.stop();
    }
  },
});
