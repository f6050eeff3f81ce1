/**
 * `/readyz` in cluster mode against real servers and node processes: a node joining a running
 * cluster answers 503 until it owns its share of the partitions with their consumers caught up,
 * then 200, while the node already running stays ready through the rebalance; a node taking
 * over partitions with a backlog is ready only once it has applied the backlog.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { clusterTest, PARTITIONS } from "./helpers/cluster.ts";
import { deliveryCheck, publishReadings } from "./helpers/failover.ts";
import type { NodeProcess } from "./helpers/process.ts";

const DEVICES = Array.from({ length: 160 }, (_, d) => `ready-${d}`);

/** What `/readyz` said. */
interface Seen {
  readonly status: number;
  readonly partitions: string;
}

async function readyz(node: NodeProcess): Promise<Seen> {
  const res = await fetch(`${node.url}/readyz`);
  const body = await res.json();
  return { status: res.status, partitions: String(body.checks?.partitions) };
}

/** Polls `/readyz` every 20 ms until it answers 200; returns every answer. */
async function untilReady(node: NodeProcess, timeoutMs = 30_000): Promise<Seen[]> {
  const seen: Seen[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    seen.push(await readyz(node));
    if (seen.at(-1)!.status === 200) return seen;
    if (Date.now() > deadline) {
      throw new Error(`never ready: ${seen.at(-1)!.partitions}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Asserts a ready answer owns its whole share, nothing left to take or catch up. */
function ownsShare(seen: Seen): number {
  const m = new RegExp(`^(\\d+) of ${PARTITIONS} owned here, (\\d+) wanted$`).exec(seen.partitions);
  assert(m !== null, `ready with its share complete: ${seen.partitions}`);
  assertEquals(m[1], m[2], "owned = wanted");
  return Number(m[1]);
}

clusterTest(
  "readiness: a joining node is 503 until it owns its share; the running node stays ready",
  { nodes: 1, leaseMs: 3000 },
  async (cluster) => {
    await cluster.settled();
    const [first] = cluster.nodes as [NodeProcess];
    const nc = await cluster.client();
    await publishReadings(nc, DEVICES, 0, 3);

    const firstSeen: Seen[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        firstSeen.push(await readyz(first));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const joiner = await cluster.addNode();
    const publishing = publishReadings(nc, DEVICES, 3, 6);
    const seen = await untilReady(joiner);
    await publishing;
    const shares = await cluster.settled();
    watching = false;
    await watch;

    assertEquals(seen[0]!.status, 503, "not ready when it starts listening");
    for (const s of seen.slice(0, -1)) {
      assertMatch(s.partitions, /placement settling|to take|catching up/, "503 says why");
    }
    const owned = ownsShare(seen.at(-1)!);
    assert(owned > 0, "its share is not empty");
    assertEquals(shares[1], owned, "the share it was ready with is the one it keeps");
    assert(firstSeen.length > 0 && firstSeen.every((s) => s.status === 200), "first stayed ready");
  },
);

clusterTest(
  "readiness: a node taking over a backlog is ready only once it has applied it",
  { nodes: 1 },
  async (cluster) => {
    await cluster.settled();
    const nc = await cluster.client();
    await publishReadings(nc, DEVICES, 0, 1);
    await cluster.drained();

    // The only node dies; readings pile up in the stream with nobody consuming them.
    const rounds = 25;
    await cluster.nodes[0]!.stop("SIGKILL");
    await publishReadings(nc, DEVICES, 1, rounds);

    const node = await cluster.addNode();
    const seen = await untilReady(node);
    // Read at once: had it said ready before applying the backlog, twins would be behind.
    const check = await deliveryCheck(cluster, [node], new Map(DEVICES.map((d) => [d, rounds])));
    assertEquals(check.wrong, [], "the whole backlog was applied when it said ready");
    assertEquals(ownsShare(seen.at(-1)!), PARTITIONS, "alone, it owns every partition");
    assertEquals(seen[0]!.status, 503);
  },
);
