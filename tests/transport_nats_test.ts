/**
 * The NATS transport against a real nats-server: the transport conformance suite, each case a
 * node alone in its cluster that takes every partition's lease, then hands them over on stop.
 */
import type { Envelope } from "../runtime/mod.ts";
import type { DeliveryOptions } from "../runtime/transport.ts";
import { createLogger, MetricsRegistry, ShutdownError } from "../runtime/mod.ts";
import { connectNats, ensureStreams, NatsTransport } from "../runtime/nats/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";
import { RecordingDelivery, transportConformance } from "./transport_conformance.ts";

const PARTITIONS = 4;
const logger = createLogger({ level: "error", write: () => {} });

// One server for the file, started outside any test (see tests/helpers/servers.ts).
const server = await startNatsServer();
let nodes = 0;

async function open() {
  const clients = await connectNats(server.url, { name: "conformance", logger });
  await ensureStreams(clients.jsm);
  const transport = new NatsTransport({
    ...clients,
    nodeId: `node-${++nodes}`,
    partitions: PARTITIONS,
    logger,
    metrics: new MetricsRegistry(),
  });
  return {
    transport,
    partitions: PARTITIONS,
    // Alone, the node takes every lease once its settling period (one lease) is over.
    async ready() {
      const deadline = Date.now() + 20_000;
      while (transport.placement.owned().length < PARTITIONS) {
        assert(Date.now() < deadline, `owns ${transport.placement.owned().length} partitions`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    cleanup: () => clients.nc.close(),
  };
}

transportConformance("nats", open, { sanitize: false });

/** Gives up on the first delivery of payload 0 the way a dropped actor does. */
class GivesUpOnce extends RecordingDelivery {
  #given = false;
  override deliver(envelope: Envelope, options: DeliveryOptions = {}): Promise<unknown> {
    const got = super.deliver(envelope, options);
    if (envelope.payload !== 0 || this.#given) return got;
    this.#given = true;
    return Promise.reject(new ShutdownError("dropped; retry"));
  }
}

Deno.test({
  name:
    "nats transport: a delivery given up while the partition stays comes again, then all after it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const f = await open();
    const local = new GivesUpOnce();
    try {
      await f.transport.start(local);
      await f.ready();
      const acquired = local.acquiredPartitions.length;
      const id = `gives-up-${crypto.randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 10; i++) {
        await f.transport.send({ type: "thing", id, kind: "note", payload: i });
      }
      // The first 0 was given up; some of 1..9 may have been handed over behind it.
      const deadline = Date.now() + 20_000;
      const after = () => {
        const got = local.to(id).map((d) => d.envelope.payload);
        return got.slice(got.lastIndexOf(0));
      };
      while (
        after().length < 10 || local.to(id).filter((d) => d.envelope.payload === 0).length < 2
      ) {
        assert(
          Date.now() < deadline,
          `delivered ${JSON.stringify(local.to(id).map((d) => d.envelope.payload))}`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
      // From the second 0 on, every message comes again in order: an actor that skips what it
      // has seen applies 0 before any later one.
      assertEquals(after(), Array.from({ length: 10 }, (_, i) => i));
      assert(local.acquiredPartitions.length > acquired, "the partition was taken again");
    } finally {
      await f.transport.stop();
      await f.cleanup();
    }
  },
});

Deno.test("nats transport: stop the server", async () => {
  await server.stop();
  assert(!server.running);
});
