/**
 * The README's first screens, run as a reader runs them (`tests/helpers/doc_commands.ts`): the
 * set-up is the two commands it promises; the "Try it" server block starts the dev node in a
 * terminal of its own and the client block's commands run one by one in another, each exiting 0
 * and printing what the README shows; then Ctrl-C stops the node cleanly.
 *
 * Everything is as written — `npx -y deno@2.9.6` included — but for two things: the node gets a
 * free port through `PORT` (a reader's node is on 8080), so the commands' `127.0.0.1:8080` becomes
 * that port and the simulator is pointed at it; and it all runs in a sandbox, a temporary copy of
 * the repository's root (links), so `.data/` is the test's own.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  assertStoppedCleanly,
  commandsOf,
  logLines,
  markedBlocks,
  readerEnv,
  repoPath,
  runBlock,
  sandbox,
  Terminal,
} from "./helpers/doc_commands.ts";
import { freePort } from "./helpers/servers.ts";

const README = await Deno.readTextFile(repoPath("README.md"));
const blocks = markedBlocks(README, "readme-test");

Deno.test("README: the set-up is two commands, dev and test, with the pinned Deno", () => {
  const setup = commandsOf(blocks.get("setup") ?? "").map((c) => c.text.replace(/\s+#.*$/, ""));
  assertEquals(setup, ["npx -y deno@2.9.6 task dev", "npx -y deno@2.9.6 task test"]);
  assertEquals(Deno.version.deno, "2.9.6", "the README pins the Deno these tests run on");
  // The marked blocks come before the first section after "Try it".
  const end = README.indexOf("\n## ", README.indexOf("## Try it") + 1);
  assert(README.lastIndexOf("<!-- readme-test:") < end, "marked blocks end with Try it");
});

Deno.test({
  name: "README: Try it, pasted into two terminals, works and prints what it shows",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const box = await sandbox();
    const port = freePort();
    const env = readerEnv();
    const server = new Terminal(blocks.get("server")!, box.dir, { ...env, PORT: String(port) });
    try {
      await server.waitFor(
        "listening line",
        (out) => logLines(out).some((l) => l.msg === "listening"),
      );
      const url = `http://127.0.0.1:${port}`;
      assertEquals(logLines(server.output).find((l) => l.msg === "listening")?.url, url);

      const ran = await runBlock(blocks.get("client")!, box.dir, env, (command) => {
        const text = command.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`);
        return /task simulate/.test(text) && !/--url /.test(text) ? `${text} --url ${url}` : text;
      }, (text, result) => {
        if (!/task simulate/.test(text)) return;
        const total = /total\s+(\d+) sent, (\d+) acked, 0 errors/.exec(result.output);
        assert(total !== null, `the simulator's summary:\n${result.output}`);
        assertEquals(total[1], total[2], "everything the simulator sent was acknowledged");
      });
      assert(ran >= 3, `the client block has its commands (${ran})`);

      // The dashboard the README points at, and what needs no token.
      const page = await fetch(`${url}/`);
      assertEquals(page.status, 200);
      assertMatch(page.headers.get("content-type") ?? "", /^text\/html/);
      await page.body?.cancel();

      // Ctrl-C, as the README says: one stop, state flushed.
      await assertStoppedCleanly(server);
    } finally {
      server.kill();
      await box.remove();
    }
  },
});
