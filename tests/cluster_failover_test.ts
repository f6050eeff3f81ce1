/**
 * Cluster mode against real servers: three node processes, a nats-server, a redis-server.
 * One node is killed with SIGKILL while devices publish; every message must be applied exactly
 * once, in order per device. (`bench/failover.ts` measures the same failover, repeatedly.)
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { clusterTest, PARTITIONS } from "./helpers/cluster.ts";
import {
  allOwned,
  appliedOrder,
  deliveryCheck,
  orderViolations,
  publishReadings,
  takeoverStats,
} from "./helpers/failover.ts";

const DEVICES = Array.from({ length: 500 }, (_, d) => `dev-${d}`);
const PER_DEVICE = 40; // 20,000 messages

clusterTest(
  "cluster: SIGKILL of one of three nodes mid-stream loses and doubles nothing, order kept",
  { nodes: 3 },
  async (cluster) => {
    const owned = await cluster.settled();
    const nc = await cluster.client();
    await publishReadings(nc, DEVICES, 0, PER_DEVICE / 2);
    // Kill the node owning the most partitions while it works through the first half.
    const victim = owned.indexOf(Math.max(...owned));
    cluster.nodes[victim]!.signal("SIGKILL");
    const killedAt = performance.now();
    const survivors = cluster.nodes.filter((_, i) => i !== victim);
    const [ownedAt] = await Promise.all([
      allOwned(cluster, survivors),
      publishReadings(nc, DEVICES, PER_DEVICE / 2, PER_DEVICE),
    ]);
    await cluster.drained();
    const drainedAt = performance.now();

    const delivery = await deliveryCheck(
      cluster,
      survivors,
      new Map(DEVICES.map((d) => [d, PER_DEVICE])),
    );
    assertEquals(delivery.wrong, [], "every device counts exactly what it was sent");

    const { checked, violations } = orderViolations(await appliedOrder(cluster));
    assertEquals(violations, [], "every device's readings applied in order");
    const total = DEVICES.length * PER_DEVICE;
    assert(checked >= total * 0.9, `order checked on ${checked} events`);
    const takeovers = takeoverStats(survivors);
    console.log(
      `takeovers logged: ${takeovers.count}; lease silent→consuming: ` +
        `max ${takeovers.maxMs} ms, median ${takeovers.medianMs} ms (silent ≤ ` +
        `${takeovers.maxSilentMs} ms, consuming after ≤ ${takeovers.maxReadyInMs} ms)`,
    );
    console.log(
      `failover: node-${victim + 1} (${owned[victim]} of ${PARTITIONS} partitions) ` +
        `SIGKILLed; its partitions processing again after ` +
        `${((ownedAt - killedAt) / 1000).toFixed(2)} s; all ${total} messages applied ` +
        `exactly once, in order, ${((drainedAt - killedAt) / 1000).toFixed(2)} s after the kill`,
    );
  },
);
