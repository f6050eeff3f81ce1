/**
 * Cluster membership against real servers: a node joining takes its share of partitions, a
 * node leaving hands its partitions over drained (no redelivery storm), and a node frozen past
 * its lease (SIGSTOP) cannot write stale state when it wakes up.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { assert, assertEquals } from "./helpers/assert.ts";
import { type Cluster, clusterTest, PARTITIONS } from "./helpers/cluster.ts";
import { deliveryCheck, publishReadings } from "./helpers/failover.ts";
import type { NodeProcess } from "./helpers/process.ts";

const DEVICES = Array.from({ length: 300 }, (_, d) => `m-${d}`);

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

/** Asserts every device's twin, read from `nodes` in turn, counts `expected` readings. */
async function expectCounts(
  cluster: Cluster,
  nodes: readonly NodeProcess[],
  expected: number,
): Promise<void> {
  const check = await deliveryCheck(cluster, nodes, new Map(DEVICES.map((d) => [d, expected])));
  assertEquals(check.wrong, [], `every device counts ${expected}`);
}

/** Publishes readings `from … to-1` of every device (a round each, flushed). */
const publish = (nc: NatsConnection, from: number, to: number) =>
  publishReadings(nc, DEVICES, from, to);

clusterTest(
  "cluster: a joining node takes a share; a leaving node hands over drained, nothing redelivered",
  { nodes: 2 },
  async (cluster) => {
    await cluster.settled();
    const nc = await cluster.client();
    await publish(nc, 0, 10);

    // A third node joins while messages flow: it takes a share, handed over drained.
    const third = await cluster.addNode();
    const publishing = publish(nc, 10, 20);
    const shares = await cluster.settled();
    await publishing;
    assert(shares[2]! > 0, `the new node owns ${shares[2]} partitions`);
    await cluster.drained();
    await expectCounts(cluster, cluster.nodes, 20);

    // The first node leaves gracefully (SIGTERM) while messages flow.
    const [leaver, ...stay] = cluster.nodes;
    const leaving = leaver!.stop("SIGTERM");
    await publish(nc, 20, 30);
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
  },
);

clusterTest(
  "cluster: a node frozen past its lease (SIGSTOP) cannot write stale state when it resumes",
  { nodes: 2 },
  async (cluster) => {
    await cluster.settled();
    const nc = await cluster.client();
    const [frozen, other] = cluster.nodes as [NodeProcess, NodeProcess];
    await publish(nc, 0, 1);
    await cluster.drained();

    // Freeze a node with work in hand: a round published, not yet all applied.
    await publish(nc, 1, 2);
    frozen.signal("SIGSTOP");
    // The other node takes its partitions once the lease runs out, and goes on.
    await cluster.settled([other], false);
    await publish(nc, 2, 5);
    await cluster.drained();
    await expectCounts(cluster, [other], 5);

    // Thawed, the old owner finds its leases gone and stops before writing anything stale.
    frozen.signal("SIGCONT");
    await publish(nc, 5, 8);
    await cluster.settled();
    await cluster.drained();
    await expectCounts(cluster, cluster.nodes, 8);
    assert(
      frozen.lines.some((l) => l.msg === "partition lost"),
      "the thawed node noticed it had lost its partitions",
    );
  },
);
