import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { startNodeProcess, TEST_API_TOKEN } from "./helpers/process.ts";

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
