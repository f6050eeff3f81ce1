/**
 * Cluster mode across server restarts: nats-server and redis-server killed and restarted
 * mid-stream; nodes reconnect and nothing is lost or applied twice.
 */
import { jetstream } from "@nats-io/jetstream";
import { assertEquals } from "./helpers/assert.ts";
import { clusterTest } from "./helpers/cluster.ts";
import { deliveryCheck, publishReading } from "./helpers/failover.ts";

const DEVICES = 200;
const ROUNDS = 30;

/** Device ids `<prefix>-0 … <prefix>-199`. */
const devices = (prefix: string) => Array.from({ length: DEVICES }, (_, d) => `${prefix}-${d}`);

clusterTest(
  "cluster: nats-server killed and restarted mid-stream; nodes reconnect, nothing lost or doubled",
  { nodes: 2 },
  async (cluster) => {
    await cluster.settled();
    // A device that must not lose readings across a server crash publishes with JetStream:
    // acknowledged, retried until acknowledged, deduplicated by message id.
    const js = jetstream(await cluster.client());
    const publishAll = async () => {
      for (let seq = 0; seq < ROUNDS; seq++) {
        await Promise.all(
          devices("n").map(async (device) => {
            for (;;) {
              try {
                await js.publish(
                  `iot.${device}.telemetry`,
                  JSON.stringify({ ts: 1_700_000_000_000 + seq, readings: { seq } }),
                  { msgID: `${device}-${seq}`, timeout: 2000 },
                );
                return;
              } catch {
                await new Promise((r) => setTimeout(r, 200));
              }
            }
          }),
        );
      }
    };
    const publishing = publishAll();
    await new Promise((r) => setTimeout(r, 1000)); // mid-stream
    cluster.nats.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.nats.restart();
    await publishing;
    await cluster.settled();
    await cluster.drained();
    const check = await deliveryCheck(
      cluster,
      cluster.nodes,
      new Map(devices("n").map((d) => [d, ROUNDS])),
    );
    assertEquals(check.wrong, [], `every device counts ${ROUNDS}`);
  },
);

clusterTest(
  "cluster: redis-server killed and restarted mid-stream; nothing lost or doubled",
  { nodes: 2, redis: { durable: true, appendfsync: "always" } },
  async (cluster) => {
    await cluster.settled();
    const nc = await cluster.client();
    const publishing = (async () => {
      for (let seq = 0; seq < ROUNDS; seq++) {
        publishReading(nc, devices("r"), seq);
        await nc.flush();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    cluster.redis!.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.redis!.restart();
    await publishing;
    await cluster.drained();
    const check = await deliveryCheck(
      cluster,
      cluster.nodes,
      new Map(devices("r").map((d) => [d, ROUNDS])),
    );
    assertEquals(check.wrong, [], `every device counts ${ROUNDS}`);
  },
);
