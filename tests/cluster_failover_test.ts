/**
 * Cluster mode against real servers: three node processes, a nats-server, a redis-server.
 * One node is killed with SIGKILL while devices publish; every message must be applied exactly
 * once, in order per device.
 */
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { assert, assertEquals } from "./helpers/assert.ts";
import { type Cluster, PARTITIONS, startCluster } from "./helpers/cluster.ts";
import type { NodeProcess } from "./helpers/process.ts";

const DEVICES = 500;
const PER_DEVICE = 40; // 20,000 messages

/** Publishes readings `from … to-1` of every device with core NATS, as devices would. */
async function publish(cluster: Cluster, from: number, to: number): Promise<void> {
  const nc = await cluster.client();
  for (let seq = from; seq < to; seq++) {
    for (let d = 0; d < DEVICES; d++) {
      nc.publish(
        `iot.dev-${d}.telemetry`,
        JSON.stringify({ ts: 1_700_000_000_000 + seq, readings: { seq } }),
      );
    }
    await nc.flush();
  }
}

/** Every `seq` reading of the telemetry events in the events stream, per device, in order. */
async function appliedOrder(cluster: Cluster): Promise<Map<string, number[]>> {
  const js = jetstream(await cluster.client());
  const consumer = await js.consumers.get("FLOTILLA_EVENTS", { deliver_policy: DeliverPolicy.All });
  const out = new Map<string, number[]>();
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 2000, expires: 1000 });
    let n = 0;
    for await (const msg of batch) {
      n++;
      if (msg.subject !== "fl.ev.telemetry") continue;
      const e = msg.json<{ device?: string; readings?: { seq?: number } }>();
      if (e.device === undefined || e.readings?.seq === undefined) continue;
      out.set(e.device, [...(out.get(e.device) ?? []), e.readings.seq]);
    }
    if (n === 0) return out;
  }
}

/** Polls the survivors until they own every partition; returns when (ms, performance.now). */
async function allOwned(
  cluster: Cluster,
  survivors: NodeProcess[],
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const owned = await cluster.owned(survivors);
    if (owned.reduce((a, b) => a + b, 0) === PARTITIONS) return performance.now();
    if (performance.now() > deadline) {
      throw new Error(`partitions not taken over: ${owned.join("/")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "cluster: SIGKILL of one of three nodes mid-stream loses and doubles nothing, order kept",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cluster = await startCluster({ nodes: 3 });
    try {
      const owned = await cluster.settled();
      await publish(cluster, 0, PER_DEVICE / 2);
      // Kill the node owning the most partitions while it works through the first half.
      const victim = owned.indexOf(Math.max(...owned));
      cluster.nodes[victim]!.signal("SIGKILL");
      const killedAt = performance.now();
      const survivors = cluster.nodes.filter((_, i) => i !== victim);
      const [ownedAt] = await Promise.all([
        allOwned(cluster, survivors),
        publish(cluster, PER_DEVICE / 2, PER_DEVICE),
      ]);
      await cluster.drained();
      const drainedAt = performance.now();

      const counts = await Promise.all(Array.from({ length: DEVICES }, async (_, d) => {
        const twin = await cluster.twin(`dev-${d}`, survivors[d % 2]!);
        return [`dev-${d}`, twin?.messageCount] as const;
      }));
      assertEquals(
        counts.filter(([, n]) => n !== PER_DEVICE),
        [],
        "every device counts exactly what it was sent",
      );

      const order = await appliedOrder(cluster);
      let checked = 0;
      for (const [device, seqs] of order) {
        for (let i = 1; i < seqs.length; i++) {
          assert(seqs[i]! > seqs[i - 1]!, `${device} applied ${seqs[i]} after ${seqs[i - 1]}`);
        }
        checked += seqs.length;
      }
      assert(checked >= DEVICES * PER_DEVICE * 0.9, `order checked on ${checked} events`);
      const takeovers = survivors.flatMap((n) => n.lines).filter((l) =>
        l.msg === "partition taken over"
      );
      const ready = takeovers.map((l) => Number(l.silentForMs) + Number(l.readyInMs));
      console.log(
        `takeovers logged: ${takeovers.length}; lease silent→consuming: max ${
          Math.max(...ready)
        } ms, ` +
          `median ${ready.sort((a, b) => a - b)[Math.floor(ready.length / 2)]} ms`,
      );
      console.log(
        `failover: node-${victim + 1} (${
          owned[victim]
        } of ${PARTITIONS} partitions) SIGKILLed; its partitions ` +
          `processing again after ${((ownedAt - killedAt) / 1000).toFixed(2)} s; all ${
            DEVICES * PER_DEVICE
          } ` +
          `messages applied exactly once, in order, ${
            ((drainedAt - killedAt) / 1000).toFixed(2)
          } s after the kill`,
      );
    } finally {
      await cluster.stop();
    }
  },
});
