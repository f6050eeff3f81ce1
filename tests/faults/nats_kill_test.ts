/**
 * Fault (a): nats-server SIGKILLed under load and restarted on the same port and store.
 * Publishers retry until acknowledged; nodes reconnect, retake their partitions and apply
 * every acknowledged reading exactly once, in order.
 */
import { assertEquals } from "../helpers/assert.ts";
import { faultTest, OUTAGE_MS, runScenario } from "./harness.ts";

faultTest({
  id: "a",
  name: "nats-server SIGKILL and restart under load",
  fn: () =>
    runScenario({
      id: "a",
      name: "nats-server SIGKILL and restart",
      async fault({ cluster, load }) {
        cluster.nats.kill("SIGKILL");
        const status = await cluster.nats.exited;
        // The outage itself; acks the server sent before it died are read within it, too.
        await new Promise((r) => setTimeout(r, OUTAGE_MS / 4));
        const acked = load.total;
        await new Promise((r) => setTimeout(r, OUTAGE_MS * 3 / 4));
        assertEquals(
          [status.signal, load.total],
          ["SIGKILL", acked],
          "nats-server was down: nothing was acknowledged meanwhile",
        );
        await cluster.nats.restart();
        await cluster.settled();
      },
    }),
});
