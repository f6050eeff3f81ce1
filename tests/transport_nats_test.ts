/**
 * The NATS transport against a real nats-server: the transport conformance suite, each case a
 * node alone in its cluster that takes every partition's lease, then hands them over on stop.
 */
import { createLogger, MetricsRegistry } from "../runtime/mod.ts";
import { connectNats, ensureStreams, NatsTransport } from "../runtime/nats/mod.ts";
import { assert } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";
import { transportConformance } from "./transport_conformance.ts";

const PARTITIONS = 4;
const logger = createLogger({ level: "error", write: () => {} });

// One server for the file, started outside any test (see tests/helpers/servers.ts).
const server = await startNatsServer();
let nodes = 0;

transportConformance("nats", async () => {
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
}, { sanitize: false });

Deno.test("nats transport: stop the server", async () => {
  await server.stop();
  assert(!server.running);
});
