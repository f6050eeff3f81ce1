/**
 * docs/cluster.md's "Three nodes on one machine", run as a reader runs it
 * (`tests/helpers/doc_commands.ts`): the settings block writes `.data/cluster.env` with one token
 * and one card key; nats-server, Redis and three nodes start, each in a terminal of its own; the
 * client block's commands exit 0 and print what the page shows; Ctrl-C stops each node cleanly.
 *
 * Everything is as written but the ports: the page's 14222, 11883, 18222, 16379 and 8081–8083
 * become free ones (a machine running tests has its own), and it all runs in a sandbox, a
 * temporary copy of the repository's root (links), so `.data/` is the test's own.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  assertStoppedCleanly,
  commandsOf,
  logLines,
  markedBlocks,
  readerEnv,
  repoPath,
  runBash,
  runBlock,
  sandbox,
  Terminal,
} from "./helpers/doc_commands.ts";
import { freePort } from "./helpers/servers.ts";

const PAGE = await Deno.readTextFile(repoPath("docs/cluster.md"));
const blocks = markedBlocks(PAGE, "cluster-test");

/** The page's ports, each to a free one. */
function freePorts(): Map<string, string> {
  const ports = new Map<string, string>();
  for (const port of ["14222", "11883", "18222", "16379", "8081", "8082", "8083"]) {
    let free: string;
    do free = String(freePort()); while ([...ports.values()].includes(free));
    ports.set(port, free);
  }
  return ports;
}

function withPorts(text: string, ports: Map<string, string>): string {
  return text.replace(/\b(14222|11883|18222|16379|808[1-3])\b/g, (p) => ports.get(p)!);
}

Deno.test({
  name: "docs/cluster.md: three nodes on one machine, on other ports, as written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const box = await sandbox();
    const ports = freePorts();
    const env = readerEnv();
    const terminals: Terminal[] = [];
    try {
      const once = await runBash(withPorts(blocks.get("once")!, ports), box.dir, env);
      assertEquals(once.code, 0, once.output);
      const settings = await Deno.readTextFile(`${box.dir}/.data/cluster.env`);
      assertMatch(settings, /^export FLOTILLA_API_TOKEN=[0-9a-f]{48}$/m);
      assertMatch(settings, /^export FLOTILLA_CARD_KEY=[0-9a-f]{64}$/m);

      const [nats, redis] = commandsOf(blocks.get("servers")!).map((c) =>
        new Terminal(withPorts(c.text, ports), box.dir, env)
      );
      assert(nats !== undefined && redis !== undefined, "two servers");
      terminals.push(nats, redis);
      await nats.waitFor("ready line", (out) => out.includes("Server is ready"));
      assertMatch(
        nats.output,
        new RegExp(`client connections on 127\\.0\\.0\\.1:${ports.get("14222")}`),
      );
      await redis.waitFor("ready line", (out) => out.includes("Ready to accept connections"));

      const nodes = commandsOf(blocks.get("nodes")!).map((c) =>
        new Terminal(withPorts(c.text, ports), box.dir, env)
      );
      assertEquals(nodes.length, 3);
      terminals.push(...nodes);
      for (const node of nodes) {
        await node.waitFor(
          "listening line",
          (out) => logLines(out).some((l) => l.msg === "listening"),
        );
        const listening = logLines(node.output).find((l) => l.msg === "listening")!;
        assertMatch(String(listening.url), /^http:\/\/127\.0\.0\.1:\d+$/, "loopback only");
      }

      const ran = await runBlock(blocks.get("client")!, box.dir, env, (t) => withPorts(t, ports));
      assert(ran >= 5, `the client block has its commands (${ran})`);

      // Ctrl-C on each node: one stop, its partitions handed over, its state flushed.
      for (const node of nodes) await assertStoppedCleanly(node);
    } finally {
      for (const terminal of terminals.reverse()) {
        await terminal.stop("SIGINT").catch(() => terminal.kill());
      }
      await box.remove();
    }
  },
});
