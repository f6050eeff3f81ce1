/**
 * Fault (b): redis-server SIGKILLed under load and restarted on the same port and data, with
 * `appendonly yes` and `appendfsync always`: nothing the store acknowledged is lost, so every
 * acknowledged reading is applied exactly once, in order.
 */
import { assert } from "../helpers/assert.ts";
import { faultTest, OUTAGE_MS, runScenario } from "./harness.ts";

faultTest({
  id: "b",
  name: "redis-server SIGKILL and restart (appendfsync always) under load",
  fn: () =>
    runScenario({
      id: "b",
      name: "redis-server SIGKILL and restart, appendfsync always",
      cluster: { redis: { durable: true, appendfsync: "always" } },
      async fault({ cluster }) {
        const redis = cluster.redis!;
        const errors = await cluster.metric("flotilla_store_errors_total");
        redis.kill("SIGKILL");
        await redis.exited;
        await new Promise((r) => setTimeout(r, OUTAGE_MS)); // the outage itself
        await redis.restart();
        await cluster.settled();
        assert(
          await cluster.metric("flotilla_store_errors_total") > errors,
          "the nodes' store calls failed during the outage",
        );
      },
    }),
});
