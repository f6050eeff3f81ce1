import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { checkPartitionMapping, splitCredentials } from "../runtime/nats/connection.ts";
import { ensureStreams, STREAMS } from "../runtime/nats/streams.ts";
import { ConfigError } from "../runtime/mod.ts";
import { assertEquals, assertMatch, assertRejects, assertThrows } from "./helpers/assert.ts";
import { mappingsConfig } from "./helpers/cluster.ts";
import { startNatsServer } from "./helpers/servers.ts";

Deno.test("splitCredentials takes user and password out of NATS URLs", () => {
  assertEquals(splitCredentials(["nats://127.0.0.1:4222"]), { urls: ["nats://127.0.0.1:4222"] });
  assertEquals(splitCredentials(["nats://node:s%40cret@a:4222", "nats://node:s%40cret@b:4222"]), {
    urls: ["nats://a:4222", "nats://b:4222"],
    user: "node",
    pass: "s@cret",
  });
  assertEquals(splitCredentials(["tls://token@host:4222"]), {
    urls: ["tls://host:4222"],
    user: "token",
    pass: "",
  });
  assertThrows(() => splitCredentials(["nats://a:x@h1:1", "nats://b:y@h2:2"]), ConfigError);
});

Deno.test({
  name: "checkPartitionMapping: refuses a server without the device mappings; probes store nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const full = mappingsConfig(16);
    // Flotilla's mappings but the hello and command report ones.
    const partial = full.split("\n").filter((l) => !/iot\.\*\.(hello|commands)/.test(l)).join("\n");
    for (const [config, missing] of [[full, null], [partial, "iot.*.hello"]] as const) {
      const server = await startNatsServer({ config });
      const nc = await connect({ servers: server.url });
      try {
        const jsm = await jetstreamManager(nc);
        await ensureStreams(jsm);
        if (missing === null) {
          await checkPartitionMapping(nc, 16);
          const info = await jsm.streams.info(STREAMS.ingest);
          assertEquals(info.state.messages, 0, "the probes were not stored");
        } else {
          const error = await assertRejects(() => checkPartitionMapping(nc, 16), ConfigError);
          assertMatch(error.message, /iot\.flotilla-mapping-probe\.hello → nothing/);
          assertMatch(error.message, /"iot\.\*\.commands": "fl\.in\.\{\{partition\(16,1\)\}\}/);
        }
        // The partition count is checked too.
        if (missing === null) await assertRejects(() => checkPartitionMapping(nc, 8), ConfigError);
      } finally {
        await nc.close();
        await server.stop();
      }
    }
  },
});
