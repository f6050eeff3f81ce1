import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { type NodeProcess, startNodeProcess, TEST_API_TOKEN } from "./helpers/process.ts";

async function post(url: string, id: string, body: unknown): Promise<Response> {
  return await fetch(`${url}/api/devices/${id}/telemetry`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${TEST_API_TOKEN}` },
    body: JSON.stringify(body),
  });
}

Deno.test("dev node logs its mode first, serves, and keeps telemetry across a restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "flotilla-process-" });
  try {
    let node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir });
    const first = node.lines[0]!;
    assertEquals(first.mode, "embedded");
    assertEquals(first.transport, "in-process");
    assertEquals(first.store, "denokv");
    assertEquals(first.storePath, `${dataDir}/flotilla.kv`);
    assertMatch(String(first.msg), /embedded mode/);
    assertMatch(node.url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await fetch(`${node.url}/healthz`);
    assertEquals(await health.json(), { status: "ok" });
    for (let i = 1; i <= 3; i++) {
      const res = await post(node.url, "robot-7", { readings: { coordX: i, coordY: -i } });
      assertEquals(res.status, 202);
      await res.body?.cancel();
    }
    assertEquals(await node.stop("SIGTERM"), 0);
    assert(node.lines.some((l) => l.msg === "stopped; all state flushed"), "says it flushed");

    node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir });
    const twin = await (await fetch(`${node.url}/api/devices/robot-7`)).json();
    assertEquals(twin.messageCount, 3);
    assertEquals(twin.reported.coordX.value, 3);
    assertEquals(twin.reported.coordY.value, -3);
    assertEquals(await node.stop("SIGINT"), 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGTERM during a burst: every acknowledged message survives the restart", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "flotilla-process-" });
  try {
    let node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir });
    const url = node.url;
    let acked = 0;
    const someAcked = Promise.withResolvers<void>();
    const burst = Array.from({ length: 300 }, async (_, i) => {
      try {
        const res = await post(url, `burst-${i % 10}`, { readings: { n: i } });
        if (res.status === 202 && ++acked === 20) someAcked.resolve();
        await res.body?.cancel();
      } catch {
        // Refused once the server stopped accepting connections: not acknowledged.
      }
    });
    // Signal while the rest of the burst is in flight.
    await someAcked.promise;
    const code = await node.stop("SIGTERM");
    await Promise.all(burst);
    assertEquals(code, 0);
    assert(acked >= 20, "requests were acknowledged before the signal");

    node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir });
    let applied = 0;
    for (let d = 0; d < 10; d++) {
      const res = await fetch(`${node.url}/api/devices/burst-${d}`);
      if (res.status === 200) applied += (await res.json()).messageCount;
      else await res.body?.cancel();
    }
    assert(applied >= acked, `applied ${applied} ≥ acknowledged ${acked}`);
    assertEquals(await node.stop("SIGTERM"), 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/**
 * Opens a telemetry POST whose body never comes, so a stopping node waits for it (a graceful
 * shutdown waits for the connections of requests in flight); closing the connection ends it.
 * Resolves once the server is reading the body: it says `100 Continue` when it starts.
 */
async function hangingRequest(url: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const head = `POST /api/devices/d1/telemetry HTTP/1.1\r\nHost: ${hostname}\r\n` +
    `Authorization: Bearer ${TEST_API_TOKEN}\r\nContent-Type: application/json\r\n` +
    `Content-Length: 100\r\nExpect: 100-continue\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head));
  const buffer = new Uint8Array(256);
  const n = await conn.read(buffer);
  assertMatch(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 100 Continue/);
  return conn;
}

/** Resolves once the node has logged `msg`; fails after 10 s. */
async function logged(node: NodeProcess, msg: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!node.lines.some((l) => l.msg === msg)) {
    assert(Date.now() < deadline, `the node did not log ${JSON.stringify(msg)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Runs `check` on a node stuck in its graceful stop — SIGINT received, a request in flight that
 * never ends (closing `conn` ends it) — then removes its data.
 */
async function stuckStopping(
  check: (node: NodeProcess, conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "flotilla-process-" });
  try {
    const node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir });
    const conn = await hangingRequest(node.url);
    node.signal("SIGINT");
    await logged(node, "stopping: draining mailboxes and flushing state");
    await check(node, conn);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("one Ctrl-C that arrives twice (process group, then deno task) stops the node once", async () => {
  await stuckStopping(async (node, conn) => {
    node.signal("SIGINT"); // a few ms after the first: the same Ctrl-C
    const status = node.stop("SIGTERM"); // the same too
    conn.close(); // the request in flight ends; the stop completes
    assertEquals(await status, 0);
    const said = (msg: string) => node.lines.filter((l) => l.msg === msg).length;
    assertEquals(said("signal received"), 1);
    assertEquals(said("stopped; all state flushed"), 1);
    assert(node.lines.every((l) => !String(l.msg).startsWith("second signal")), "no forced exit");
  });
});

Deno.test("a second signal half a second or more after the first exits at once", async () => {
  await stuckStopping(async (node, conn) => {
    // The node is stuck stopping (the request never finishes). The child's clock is the real
    // one: wait out the window in which a signal counts as the same one.
    await new Promise((r) => setTimeout(r, 600));
    const stuck = setTimeout(() => node.signal("SIGKILL"), 10_000); // a hang fails, not blocks
    const code = await node.stop("SIGINT");
    clearTimeout(stuck);
    conn.close();
    assertEquals(code, 130);
    assert(node.lines.some((l) => String(l.msg).startsWith("second signal while stopping")));
    assert(node.lines.every((l) => l.msg !== "stopped; all state flushed"));
  });
});

Deno.test("a bad configuration stops the node with a message naming the variable", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts"],
    env: { PORT: "eighty", FLOTILLA_LOG_FORMAT: "json" },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await command.output();
  assertEquals(code, 1);
  assertMatch(new TextDecoder().decode(stderr), /PORT=eighty must be a whole number/);
});

Deno.test("a node started without FLOTILLA_API_TOKEN makes one up, prints it, and requires it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "flotilla-process-" });
  try {
    const node = await startNodeProcess({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_API_TOKEN: "" });
    const body = JSON.stringify({ readings: { t: 1 } });
    const headers = { "Content-Type": "application/json" };
    const refused = await fetch(`${node.url}/api/devices/d1/telemetry`, {
      method: "POST",
      headers,
      body,
    });
    assertEquals(refused.status, 401);
    await refused.body?.cancel();
    assertEquals(await node.stop("SIGTERM"), 0);
    const printed = /this run's API token is\n {2}(\S+)\n/.exec(await node.stderr);
    assert(printed !== null, "the generated token is printed on the console");
    const token = printed[1]!;
    assert(token.length >= 32, "and it is long");
    assert(
      node.lines.every((l) => !JSON.stringify(l).includes(token)),
      "it never appears in the structured log",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
