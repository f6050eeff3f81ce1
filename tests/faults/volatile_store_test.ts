/**
 * Fault (h): a Redis that keeps nothing on disk (`appendonly no`) loses every acknowledged
 * message when it restarts. A node must refuse to start against it, with a message naming
 * `FLOTILLA_ALLOW_VOLATILE_STORE`, and start when that variable is `1` (tests, demos).
 * (A Redis with an append-only file is accepted without it: scenarios (b) and (c).)
 */
import { AssertionError, assertMatch } from "../helpers/assert.ts";
import { startCluster } from "../helpers/cluster.ts";
import { faultTest, MODE } from "./harness.ts";

faultTest({
  id: "h",
  name: "a node refuses a Redis without an append-only file",
  fn: async () => {
    const startedAt = performance.now();
    const cluster = await startCluster({
      nodes: 0,
      redis: { durable: false },
      allowVolatileStore: false,
    });
    try {
      const error = await cluster.addNode().then(
        () => {
          throw new AssertionError(
            "a node started against a Redis with appendonly no, FLOTILLA_ALLOW_VOLATILE_STORE unset",
          );
        },
        (e) => e as Error,
      );
      assertMatch(error.message, /FLOTILLA_ALLOW_VOLATILE_STORE/);
      const node = await cluster.addNode({ FLOTILLA_ALLOW_VOLATILE_STORE: "1" });
      await cluster.settled([node]);
      console.log(
        `faults ${MODE} (h) volatile store refused: ${
          error.message.split("\n").find((l) => l.includes("FLOTILLA_ALLOW_VOLATILE_STORE"))
        }; ${((performance.now() - startedAt) / 1000).toFixed(1)} s`,
      );
    } finally {
      await cluster.stop();
    }
  },
});
