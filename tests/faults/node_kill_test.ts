/**
 * Fault (d): the node owning the most partitions SIGKILLed under load; the survivors take its
 * partitions over from their ack floors, then it is started again (same node id, as a
 * supervisor would) and gets its share back. Every acknowledged reading applied exactly once,
 * in order.
 */
import { assert } from "../helpers/assert.ts";
import { allOwned, takeoverStats } from "../helpers/failover.ts";
import { waitFor } from "../helpers/wait.ts";
import { faultTest, runScenario } from "./harness.ts";

faultTest({
  id: "d",
  name: "node SIGKILL under load, then restarted",
  fn: () =>
    runScenario({
      id: "d",
      name: "node SIGKILL and restart",
      async fault({ cluster }) {
        const owned = await cluster.owned();
        const victim = owned.indexOf(Math.max(...owned));
        cluster.nodes[victim]!.signal("SIGKILL");
        const survivors = cluster.nodes.filter((_, i) => i !== victim);
        await allOwned(cluster, survivors);
        // A node logs a takeover as it starts answering for the partition: its line may reach
        // this process after its /readyz did.
        const takeovers = await waitFor(
          "the takeovers logged",
          () => Promise.resolve(takeoverStats(survivors)),
          (t) => t.count >= owned[victim]!,
          5_000,
        ).catch(() => takeoverStats(survivors));
        assert(
          takeovers.count >= owned[victim]!,
          `the survivors took the ${owned[victim]} partitions of ${cluster.names[victim]} over ` +
            `(${takeovers.count} takeovers logged)`,
        );
        await cluster.restartNode(victim, "SIGKILL");
        await cluster.settled();
      },
    }),
});
