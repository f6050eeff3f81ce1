/**
 * Fault (f): a rolling restart under load — each node in turn stopped with SIGTERM (it hands
 * its partitions over, drained) and started again with the same id; the next one only once
 * the previous one is ready (`/readyz` 200) and the cluster is balanced again. Every
 * acknowledged reading applied exactly once, in order.
 * A restarted node's `/readyz` is never 200 before the node owns its share of the partitions
 * (here at least one) with their consumers caught up.
 */
import { assert } from "../helpers/assert.ts";
import type { NodeProcess } from "../helpers/process.ts";
import { faultTest, runScenario, waitUntil } from "./harness.ts";

/** Polls `/readyz` until 200; returns the partitions the node said it owned then. */
async function ownedWhenReady(node: NodeProcess): Promise<number> {
  return await waitUntil(
    `${node.url}/readyz to answer 200`,
    async () => {
      const res = await fetch(`${node.url}/readyz`);
      const body = await res.json();
      if (res.status !== 200) return undefined;
      return Number(/^(\d+) of/.exec(body.checks?.partitions ?? "")?.[1] ?? NaN);
    },
    30_000,
    20,
  );
}

faultTest({
  id: "f",
  name: "rolling restart of every node under load, paced by /readyz",
  fn: async () => {
    const readyOwning: number[] = [];
    await runScenario({
      id: "f",
      name: "rolling restart",
      async fault({ cluster, load }) {
        for (let i = 0; i < cluster.nodes.length; i++) {
          const node = await cluster.restartNode(i, "SIGTERM");
          readyOwning.push(await ownedWhenReady(node));
          await cluster.settled();
          // Some load on the new arrangement before the next restart.
          await load.until(load.total + 50, `readings after restarting ${cluster.names[i]}`);
        }
      },
      check() {
        assert(
          readyOwning.every((n) => n > 0),
          `/readyz was 200 only once the node owned partitions (owned when ready: ${readyOwning})`,
        );
      },
    });
  },
});
