/**
 * The durability check against real servers: a node (assembled in process, on the `redis`
 * store) refuses a redis-server without an append-only file with a message naming
 * `FLOTILLA_ALLOW_VOLATILE_STORE`, starts on it with the override and warns in its log and
 * `/readyz`, and starts on one with AOF (`everysec`, `always`); managed-Redis restrictions
 * (`CONFIG` renamed away, an ACL without `CONFIG` and `INFO`) are judged from `INFO persistence`
 * or refused. The Redis connection is named `flotilla-<nodeId>`. JetStream KV buckets say their
 * storage. The decisions themselves, on made-up answers: durability_test.ts.
 */
import { Redis } from "ioredis";
import { assemble, loadConfig } from "../node/mod.ts";
import { ConfigError, createLogger } from "../runtime/mod.ts";
import { NatsKvStore } from "../runtime/stores/natskv.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { type RedisServerOptions, startNatsServer, startRedisServer } from "./helpers/servers.ts";

const TOKEN = "durability-test-token-0123456789";

/** A silent logger that keeps what it writes. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** An embedded node's configuration on the `redis` store at `url`. */
function config(url: string, env: Record<string, string> = {}) {
  return loadConfig(
    {
      FLOTILLA_STORE: "redis",
      REDIS_URL: url,
      FLOTILLA_NODE_ID: "durability test",
      FLOTILLA_API_TOKEN: TOKEN,
      FLOTILLA_CARD_KEY: "durability-test-card-key-0123456789",
      ...env,
    },
    false,
    true,
  );
}

/** Runs `body` with a redis-server started with `options`, stopped after it. */
async function withRedis(
  options: RedisServerOptions,
  body: (url: string, port: number) => Promise<void>,
): Promise<void> {
  const server = await startRedisServer(options);
  try {
    await body(server.url, server.port);
  } finally {
    await server.stop();
  }
}

/** Assembles a node on `url`, reads `/readyz`, stops it; returns the body and the log. */
async function startOn(url: string, env: Record<string, string> = {}) {
  const { logger, lines } = recordingLogger();
  const node = await assemble(config(url, env), { logger });
  try {
    const res = await node.app.request("/readyz");
    return { status: res.status, body: await res.json(), lines };
  } finally {
    await node.stop();
  }
}

Deno.test("durability: a Redis without an append-only file is refused, naming the override", async () => {
  await withRedis({ durable: false }, async (url, port) => {
    const { logger } = recordingLogger();
    const error = await assertRejects(() => assemble(config(url), { logger }), ConfigError);
    assertMatch(error.message, new RegExp(`the Redis at 127\\.0\\.0\\.1:${port} is not durable`));
    assertMatch(error.message, /appendonly no: Redis keeps nothing on disk \(save ""\)/);
    assertMatch(error.message, /appendonly yes with appendfsync everysec \(or always\)/);
    assertMatch(error.message, /set FLOTILLA_ALLOW_VOLATILE_STORE=1/);

    // With the override it starts, and says so in its log and in /readyz.
    const { status, body, lines } = await startOn(url, { FLOTILLA_ALLOW_VOLATILE_STORE: "1" });
    assertEquals(status, 200);
    assertMatch(
      body.checks.durability,
      /^volatile, allowed by FLOTILLA_ALLOW_VOLATILE_STORE=1: appendonly no/,
    );
    const warning = lines.find((l) => l.level === "warn" && String(l.msg).includes("volatile"));
    assert(warning !== undefined, "a warning in the log");
    assertEquals(warning.durability, body.checks.durability);
  });
});

Deno.test("durability: snapshots alone are refused too", async () => {
  await withRedis({ durable: false, args: ["--save", "3600 1"] }, async (url) => {
    const error = await assertRejects(
      () => assemble(config(url), { logger: recordingLogger().logger }),
      ConfigError,
    );
    assertMatch(error.message, /only snapshots \(save 3600 1\)/);
  });
});

Deno.test("durability: AOF with fsync everysec or always is accepted, logged and shown", async () => {
  for (const appendfsync of ["everysec", "always"] as const) {
    await withRedis({ durable: true, appendfsync }, async (url) => {
      const { status, body, lines } = await startOn(url);
      assertEquals(status, 200, appendfsync);
      assertMatch(
        body.checks.durability,
        new RegExp(`^appendonly yes, appendfsync ${appendfsync}`),
      );
      const info = lines.find((l) => l.msg === "store durability checked");
      assertEquals(info?.durability, body.checks.durability);
      assert(!lines.some((l) => l.level === "warn" && String(l.msg).includes("volatile")));
    });
  }
});

Deno.test("durability: CONFIG renamed away — INFO persistence decides", async () => {
  const noConfig = ["--rename-command", "CONFIG", ""];
  await withRedis({ durable: true, appendfsync: "everysec", args: noConfig }, async (url) => {
    const { status, body } = await startOn(url);
    assertEquals(status, 200);
    assertMatch(body.checks.durability, /CONFIG GET refused .*INFO persistence says aof_enabled:1/);
  });
  await withRedis({ durable: false, args: noConfig }, async (url) => {
    const error = await assertRejects(
      () => assemble(config(url), { logger: recordingLogger().logger }),
      ConfigError,
    );
    assertMatch(error.message, /INFO persistence says aof_enabled:0/);
  });
});

Deno.test("durability: a user that may run neither CONFIG nor INFO is refused with both ways out", async () => {
  await withRedis({ durable: true }, async (url, port) => {
    const admin = new Redis(url);
    try {
      await admin.call(
        "ACL",
        "SETUSER",
        "limited",
        "on",
        ">limited-pw",
        "~*",
        "&*",
        "+@all",
        "-config",
        "-info",
      );
    } finally {
      admin.disconnect();
    }
    const limited = `redis://limited:limited-pw@127.0.0.1:${port}`;
    const error = await assertRejects(
      () => assemble(config(limited), { logger: recordingLogger().logger }),
      ConfigError,
    );
    assertMatch(error.message, /cannot tell whether it keeps a log of writes/);
    assertMatch(error.message, /let this node's Redis user run CONFIG GET or INFO/);
    assertMatch(error.message, /FLOTILLA_ALLOW_VOLATILE_STORE=1/);
    assert(!error.message.includes("limited-pw"), "no password in the message");
  });
});

Deno.test("durability: the node's Redis connection is named flotilla-<nodeId>", async () => {
  await withRedis({ durable: true, appendfsync: "everysec" }, async (url) => {
    const node = await assemble(config(url), { logger: recordingLogger().logger });
    const admin = new Redis(url);
    try {
      const list = String(await admin.call("CLIENT", "LIST"));
      // "durability test": the space Redis refuses in a name becomes "_".
      assertMatch(list, / name=flotilla-durability_test /);
    } finally {
      admin.disconnect();
      await node.stop();
    }
  });
});

Deno.test("durability: a JetStream KV bucket says its storage and replicas", async () => {
  const server = await startNatsServer();
  try {
    const file = await NatsKvStore.connect(server.url, { bucket: "DFILE" });
    const memory = await NatsKvStore.connect(server.url, { bucket: "DMEM", storage: "memory" });
    try {
      const onFile = await file.durability();
      assertEquals(onFile.durable, true);
      assertMatch(onFile.detail, /^JetStream KV bucket DFILE: file storage, 1 replica/);
      assertEquals(await memory.durability(), {
        durable: false,
        detail: "JetStream KV bucket DMEM is in memory storage: a nats-server restart loses it",
      });
    } finally {
      await file.close();
      await memory.close();
    }
  } finally {
    await server.stop();
  }
});
