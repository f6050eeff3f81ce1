/**
 * Fault (c): redis-server with `appendfsync everysec` SIGKILLed under load, and the last
 * second of its append-only file lost before the restart — what a machine crash does to a
 * Redis that fsyncs once a second. The store goes back to older versions of actors whose
 * readings JetStream had already acknowledged; the nodes must notice and apply those readings
 * again from the stream, so that every acknowledged reading is still applied exactly once,
 * in order. (Their events come again: one rewind per device is allowed after the loss.)
 *
 * The test proves the cut removed acknowledged state: a throwaway redis-server loads a copy
 * of the cut file, before the nodes can touch it, and shows device journals shorter than the
 * writes the cut removed had made them (a device twin is journaled: each reading an event
 * appended to its journal, a snapshot now and then).
 */
import { Redis } from "ioredis";
import { assert } from "../helpers/assert.ts";
import { startRedisServer } from "../helpers/servers.ts";
import { AofSizes, truncateAof } from "./aof.ts";
import { eventsSeq, faultTest, runScenario, waitUntil } from "./harness.ts";

/** How much of the file's tail is lost: everysec loses up to about a second. */
const TAIL_MS = 1000;
const DEVICE_JOURNAL = "flotilla:j:a/device/";
/** The hash of the journals' trimmed counts, by journal key without the prefix. */
const TRIMMED = "flotilla:jt";

/** Per device journal, the events `commands` appended to it: how many, and the last one. */
function lostEvents(commands: readonly string[][]): Map<string, { count: number; last: string }> {
  const out = new Map<string, { count: number; last: string }>();
  for (const [name = "", key = "", ...values] of commands) {
    if (!key.startsWith(DEVICE_JOURNAL) || name.toUpperCase() !== "RPUSH") continue;
    if (values.length === 0) continue;
    const count = (out.get(key)?.count ?? 0) + values.length;
    out.set(key, { count, last: values[values.length - 1]! });
  }
  return out;
}

faultTest({
  id: "c",
  name: "redis-server SIGKILL (appendfsync everysec) losing the AOF tail, under load",

  fn: () =>
    runScenario({
      id: "c",
      name: "redis-server SIGKILL, AOF tail lost",
      cluster: {
        redis: {
          durable: true,
          appendfsync: "everysec",
          // No rewrite may move the writes to a new file while the test measures this one.
          args: ["--auto-aof-rewrite-percentage", "0"],
        },
      },
      async fault({ cluster }) {
        const redis = cluster.redis!;
        const sizes = await AofSizes.start(redis.aofDir);
        const sampling = Date.now();
        await waitUntil(
          `${TAIL_MS} ms of AOF samples`,
          () => Date.now() - sampling > TAIL_MS + 200 && sizes.sizeAt(Date.now() - TAIL_MS) > 0,
        );
        const eventsBefore = await eventsSeq(cluster);
        redis.kill("SIGKILL");
        const killedAt = Date.now();
        await redis.exited;
        sizes.stop();
        const sample = sizes.sampleAt(killedAt - TAIL_MS);
        const cut = await truncateAof(sizes.path, sample.size);
        const lost = lostEvents(cut.lost);

        // What the restarted Redis will hold, read from a copy before any node can write.
        const regressed: string[] = [];
        {
          await using copy = await startRedisServer({ durable: true, aofFrom: redis.dir });
          const client = new Redis(copy.url, { lazyConnect: true });
          try {
            await client.connect();
            for (const [key, events] of lost) {
              const member = key.slice("flotilla:j:".length);
              // The journal the restarted Redis holds lacks the last event the cut removed.
              if (await client.lpos(key, events.last) !== null) continue;
              const length = await client.llen(key);
              const trimmed = Number(await client.hget(TRIMMED, member) ?? 0);
              const loaded = length + trimmed;
              regressed.push(`${member} v${loaded + events.count} → v${loaded}`);
            }
          } finally {
            client.disconnect();
          }
        }
        console.log(
          `AOF tail cut back to its size ${killedAt - sample.at} ms before the kill: ` +
            `${cut.removed} of ${cut.kept + cut.removed} bytes, ` +
            `${cut.lost.length} commands; ${regressed.length} device journals went back, ` +
            `e.g. ${regressed.slice(0, 3).join(", ")}`,
        );
        assert(
          regressed.length > 0,
          `the cut removed acknowledged device state (${cut.removed} bytes, ${cut.lost.length} ` +
            `commands, ${lost.size} device journals appended to in them)`,
        );

        await redis.restart();
        await cluster.settled();
        return { rewindsAfter: eventsBefore };
      },
    }),
});
