/**
 * Fault (a): nats-server SIGKILLed under load and restarted on the same port and store.
 * Publishers retry until acknowledged; nodes reconnect, retake their partitions and apply
 * every acknowledged reading exactly once, in order.
 */
import { assert } from "../helpers/assert.ts";
import { faultTest, OUTAGE_MS, runScenario } from "./harness.ts";

faultTest({
  id: "a",
  name: "nats-server SIGKILL and restart under load",
  fn: () =>
    runScenario({
      id: "a",
      name: "nats-server SIGKILL and restart",
      async fault({ cluster, load }) {
        const retries = load.retries;
        cluster.nats.kill("SIGKILL");
        await cluster.nats.exited;
        await new Promise((r) => setTimeout(r, OUTAGE_MS)); // the outage itself
        await cluster.nats.restart();
        await cluster.settled();
        assert(load.retries > retries, "publishes failed during the outage and were retried");
      },
    }),
});
