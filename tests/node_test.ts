/**
 * The node's configuration (`node/config.ts`) and assembly (`node/assemble.ts`), in process:
 * an embedded node on the memory store, called through `app.request()` or served on loopback.
 */
import { ACTOR_HEAP_BUDGET, assemble, defaultMaxActiveActors, loadConfig } from "../node/mod.ts";
import { ConfigError, createLogger, StoreError } from "../runtime/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./helpers/assert.ts";

const TOKEN = "node-test-token-0123456789abcdef";
const CARD_KEY = "node-test-card-key-0123456789abcdef";

/** A silent logger that keeps what it writes. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function telemetry(body: unknown, token: string | null = TOKEN): RequestInit {
  return {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  };
}

Deno.test("assemble: an embedded node logs its mode first, takes telemetry, stops cleanly", async () => {
  const { logger, lines } = recordingLogger();
  const config = loadConfig({
    FLOTILLA_STORE: "memory",
    FLOTILLA_API_TOKEN: TOKEN,
    FLOTILLA_CARD_KEY: CARD_KEY,
  });
  const node = await assemble(config, { logger });
  assertEquals(lines[0]?.msg, "flotilla starting in embedded mode");
  assertEquals(lines[0]?.store, "memory");
  assertEquals(lines[0]?.transport, "in-process");
  assertEquals(node.url, null, "not served until it listens");

  const res = await node.app.request(
    "/api/devices/robot-1/telemetry",
    telemetry({
      readings: { temperature: 21.5 },
    }),
  );
  assertEquals(res.status, 202);
  assertEquals(await res.json(), { device: "robot-1", messageCount: 1 });
  const twin = await node.app.request("/api/devices/robot-1", {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assertEquals((await twin.json()).reported.temperature.value, 21.5);
  assert(
    !lines.some((l) => String(l.msg).includes("FLOTILLA_CARD_KEY is not set")),
    "the configured card key is used",
  );

  const stopping = node.stop();
  assertEquals(node.stop(), stopping, "a second stop is the same stop");
  assertEquals(await stopping, true, "all state flushed");
  assertEquals(lines.at(-1)?.msg, "stopped; all state flushed");
  await assertRejects(() => node.store.get("device/robot-1"), StoreError, "closed");
});

Deno.test("assemble: without a configured API token the API is never open", async () => {
  const { logger, lines } = recordingLogger();
  const node = await assemble(loadConfig({ FLOTILLA_STORE: "memory" }), { logger });
  const res = await node.app.request("/api/devices/d1/telemetry", telemetry({}, null));
  assertEquals(res.status, 401);
  await res.body?.cancel();
  assert(
    lines.some((l) => String(l.msg).includes("FLOTILLA_CARD_KEY is not set")),
    "without a card key, the development key is used with a warning",
  );
  assertEquals(await node.stop(), true);
});

Deno.test("assemble: listen serves the app on the configured address until stop", async () => {
  const { logger, lines } = recordingLogger();
  const node = await assemble(
    loadConfig({
      FLOTILLA_STORE: "memory",
      HOST: "127.0.0.1",
      PORT: "0",
      FLOTILLA_API_TOKEN: TOKEN,
    }),
    { logger },
  );
  const url = await node.listen();
  assertEquals(node.url, url);
  assert(/^http:\/\/127\.0\.0\.1:\d+$/.test(url), url);
  assertEquals(await node.listen(), url, "listening twice serves once");
  const listening = lines.find((l) => l.msg === "listening");
  assertEquals(listening?.url, url);
  assertEquals(listening?.auth, "API token configured");
  const res = await fetch(
    `${url}/api/devices/robot-2/telemetry`,
    telemetry({ readings: { t: 1 } }),
  );
  assertEquals(res.status, 202);
  await res.body?.cancel();
  assertEquals(await node.stop(), true);
  await assertRejects(() => fetch(`${url}/healthz`), TypeError);
});

Deno.test("loadConfig: the card key is carried; a short one is refused naming the variable", () => {
  assertEquals(loadConfig({ FLOTILLA_CARD_KEY: CARD_KEY }).cardKey, CARD_KEY);
  assertEquals(loadConfig({ FLOTILLA_CARD_KEY: "" }).cardKey, null);
  assertEquals(loadConfig({}).cardKey, null);
  assertThrows(
    () => loadConfig({ FLOTILLA_CARD_KEY: "short" }),
    ConfigError,
    "FLOTILLA_CARD_KEY must be at least 32 characters (got 5)",
  );
});

Deno.test("loadConfig: a wrong value stops the node with a message naming the variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: "eighty" }, "PORT=eighty must be a whole number from 0 to 65535"],
    [{ FLOTILLA_STORE: "disk" }, "FLOTILLA_STORE=disk: use one of denokv, memory, redis, natskv"],
    [{ FLOTILLA_STORE: "redis" }, "FLOTILLA_STORE=redis needs REDIS_URL"],
    [{ NATS_URL: "nats://n:4222", FLOTILLA_STORE: "memory" }, "FLOTILLA_STORE=memory keeps state"],
    [{ FLOTILLA_LOG_FORMAT: "xml" }, "FLOTILLA_LOG_FORMAT=xml: use json or pretty"],
    [{ FLOTILLA_API_TOKEN: "short" }, "FLOTILLA_API_TOKEN must be at least 16 characters"],
    [{ FLOTILLA_STREAM_MAX_AGE: "soon" }, "FLOTILLA_STREAM_MAX_AGE"],
    [
      { FLOTILLA_MAX_ACTIVE_ACTORS: "-1" },
      "FLOTILLA_MAX_ACTIVE_ACTORS=-1 must be a whole number from 0 to 1000000000",
    ],
    [{ FLOTILLA_MAX_ACTIVE_ACTORS: "1.5" }, "FLOTILLA_MAX_ACTIVE_ACTORS=1.5 must be a whole"],
  ];
  for (const [env, message] of cases) assertThrows(() => loadConfig(env), ConfigError, message);
});

Deno.test("loadConfig: --embedded ignores NATS_URL; NATS_URL alone means cluster mode", () => {
  const env = { NATS_URL: "nats://a:4222,nats://b:4222", REDIS_URL: "redis://r:6379" };
  const cluster = loadConfig(env);
  assertEquals([cluster.mode, cluster.store, cluster.natsUrl], [
    "cluster",
    "redis",
    "nats://a:4222,nats://b:4222",
  ]);
  const embedded = loadConfig(env, false, true);
  assertEquals([embedded.mode, embedded.store, embedded.natsUrl], ["embedded", "denokv", null]);
  assertEquals(loadConfig({}, true).logFormat, "pretty", "pretty logs on a terminal");
});

Deno.test("loadConfig: FLOTILLA_MAX_ACTIVE_ACTORS caps live actors; 0 turns the cap off", () => {
  assertEquals(loadConfig({}).maxActiveActors, defaultMaxActiveActors());
  // By default, half the heap limit at 16 KB an actor: 4 GiB → 131,072; never under 1,000.
  assertEquals(defaultMaxActiveActors(4 * 2 ** 30), 2 * 2 ** 30 / ACTOR_HEAP_BUDGET);
  assertEquals(defaultMaxActiveActors(2 ** 20), 1000);
  assertEquals(loadConfig({ FLOTILLA_MAX_ACTIVE_ACTORS: "20000" }).maxActiveActors, 20_000);
  assertEquals(loadConfig({ FLOTILLA_MAX_ACTIVE_ACTORS: "0" }).maxActiveActors, Infinity);
});
