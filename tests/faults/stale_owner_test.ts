/**
 * Fault (e): the node owning the most partitions frozen (SIGSTOP) under load for three lease
 * lengths — the others take its partitions over — then thawed (SIGCONT). In its first moments
 * awake it still has work under way: state writes, journal appends, reminders of partitions
 * it no longer holds. None may land: the node refuses them itself (its lease ran out, even
 * before it noticed), and whatever still reaches the store is refused there (fencing by the
 * lease); both are counted in `flotilla_store_fenced_total`, which must be > 0.
 *
 * How it is observed: Redis `MONITOR` on a connection of its own, from just before the thaw;
 * the frozen node's connections (its sockets in /proc, and clients named `flotilla-<nodeId>`
 * in `CLIENT LIST`); the history of the lease bucket. A write is stale if the node did not
 * hold the key's partition at the time; it landed if the store's script changed the key (see
 * `stale_writes.ts`). The check is not vacuous: the node's fenced counter must have moved.
 */
import { Redis } from "ioredis";
import { assert, assertEquals } from "../helpers/assert.ts";
import { allOwned } from "../helpers/failover.ts";
import { eventsSeq, faultTest, LEASE_MS, runScenario } from "./harness.ts";
import { RedisMonitor } from "./redis_monitor.ts";
import {
  connectionsOf,
  LeaseHistory,
  namedClients,
  type StaleWrite,
  staleWrites,
} from "./stale_writes.ts";

/** How long the node stays frozen: well past its lease. */
const FROZEN_MS = 3 * LEASE_MS;
/** How long after the thaw its writes are watched. */
const WATCH_MS = 3000;

faultTest({
  id: "e",
  name: "SIGSTOP of a partition owner past its lease, then SIGCONT: no stale write lands",

  fn: async () => {
    let stale: StaleWrite[] = [];
    let fenced = NaN;
    let victimName = "";
    await runScenario({
      id: "e",
      name: "SIGSTOP past the lease",
      async fault({ cluster, load }) {
        const redis = cluster.redis!;
        const owned = await cluster.owned();
        const v = owned.indexOf(Math.max(...owned));
        const victim = cluster.nodes[v]!;
        victimName = cluster.names[v]!;
        const admin = new Redis(redis.url, { lazyConnect: true });
        const leases = await LeaseHistory.watch(await cluster.client());
        let monitor: RedisMonitor | undefined;
        try {
          await admin.connect();
          victim.signal("SIGSTOP");
          const frozenAt = Date.now();
          const ackedBefore = new Map([...load.acked].map(([d, seqs]) => [d, seqs.length - 1]));
          await allOwned(cluster, cluster.nodes.filter((n) => n !== victim));
          await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + FROZEN_MS - Date.now())));

          // Its connections cannot change while it is frozen; new ones are looked for below.
          const addrs = new Set<string>();
          const lookUp = async () => {
            for (const a of await connectionsOf(victim.pid, redis.port)) addrs.add(a);
            const list = await admin.client("LIST") as string;
            for (const a of namedClients(list, `flotilla-${victimName}`)) addrs.add(a);
          };
          await lookUp();
          assert(addrs.size > 0, `${victimName} has no connection to Redis`);
          const eventsBefore = await eventsSeq(cluster);
          const wokeAt = Date.now();
          monitor = await RedisMonitor.start(redis.port, wokeAt);
          await monitor.reach(wokeAt); // MONITOR is on (it sees the other nodes' traffic)
          victim.signal("SIGCONT");
          let watching = true;
          const watched = monitor.reach(wokeAt + WATCH_MS, WATCH_MS + 10_000)
            .finally(() => (watching = false));
          watched.catch(() => {}); // awaited below; not unhandled meanwhile
          while (watching) {
            await lookUp(); // a connection it opens after waking counts too
            await new Promise((r) => setTimeout(r, 100));
          }
          await watched;
          await monitor.close();
          stale = staleWrites(monitor.calls, {
            addrs,
            node: victimName,
            leases,
            from: wokeAt,
            to: wokeAt + WATCH_MS,
          });
          await cluster.settled();
          fenced = await cluster.metric("flotilla_store_fenced_total", [victim]);
          return { lateEvents: { after: eventsBefore, ackedBefore } };
        } finally {
          await monitor?.close();
          leases.stop();
          admin.disconnect();
        }
      },
      check() {
        const landed = stale.filter((w) => w.landed);
        const kinds = (ws: StaleWrite[]) => {
          const out: Record<string, number> = {};
          for (const w of ws) {
            const kind = `${w.key.startsWith("r/") ? "reminder" : w.key.split("/")[1]}:${w.how}`;
            out[kind] = (out[kind] ?? 0) + 1;
          }
          return out;
        };
        console.log(
          `stale writes of ${victimName} after waking: ${stale.length} sent, ${landed.length} ` +
            `landed; ${JSON.stringify(kinds(stale))}; flotilla_store_fenced_total ${fenced}`,
        );
        // Either its writes reached Redis and the fences refused them, or it refused them itself
        // (its lease ran out while it was frozen): the fenced counter says the path was taken.
        assertEquals(
          landed.slice(0, 10).map((w) => `${w.key} (partition ${w.partition}): ${w.how}`),
          [],
          `no stale write landed (${landed.length} did)`,
        );
        assert(fenced > 0, `flotilla_store_fenced_total on ${victimName} is ${fenced}, not > 0`);
      },
    });
  },
});
