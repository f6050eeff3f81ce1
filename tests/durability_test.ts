/**
 * The durability check's decisions on made-up answers: what a Redis's persistence settings
 * mean (`runtime/stores/redis_durability.ts`), what a JetStream KV bucket's storage means
 * (`natsKvDurability`), and what a node does with it (`node/durability.ts`): accept, warn, or
 * refuse naming `FLOTILLA_ALLOW_VOLATILE_STORE`. Against real servers: store_durability_test.ts.
 */
import { ALLOW_VOLATILE_ENV, judgeDurability } from "../node/durability.ts";
import { loadConfig } from "../node/mod.ts";
import { ConfigError } from "../runtime/mod.ts";
import { natsKvDurability } from "../runtime/stores/natskv.ts";
import {
  parseInfo,
  redisDurability,
  type RedisPersistence,
} from "../runtime/stores/redis_durability.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";

const NOPERM = { error: "NOPERM this user has no permissions to run the 'config|get' command" };
const UNKNOWN = { error: "ERR unknown command 'CONFIG'" };

/** What a node does on a Redis answering `persistence`, with and without the override. */
function verdicts(persistence: RedisPersistence): [string, string] {
  const durability = redisDurability(persistence);
  const base = { store: "redis", redisUrl: "redis://u:secret@redis.example:6380/0" } as const;
  return [
    judgeDurability({ ...base, allowVolatileStore: false }, durability).action,
    judgeDurability({ ...base, allowVolatileStore: true }, durability).action,
  ];
}

Deno.test("redis durability: a table of settings → accepted, refused (warned with the override)", () => {
  const cases: [string, RedisPersistence, [string, string], RegExp][] = [
    [
      "AOF, fsync always",
      { config: { appendonly: "yes", appendfsync: "always", save: "" } },
      ["accept", "accept"],
      /^appendonly yes, appendfsync always: every acknowledged write is on disk/,
    ],
    [
      "AOF, fsync everysec",
      { config: { appendonly: "yes", appendfsync: "everysec", save: "3600 1" } },
      ["accept", "accept"],
      /^appendonly yes, appendfsync everysec: .*at most the last second.*from the streams/,
    ],
    [
      "AOF, fsync left to the OS",
      { config: { appendonly: "yes", appendfsync: "no" } },
      ["accept", "accept"],
      /^appendonly yes, appendfsync no: .*about 30 s/,
    ],
    [
      "snapshots only",
      { config: { appendonly: "no", appendfsync: "everysec", save: "3600 1 300 100 60 10000" } },
      ["refuse", "warn"],
      /^appendonly no: Redis keeps no log of writes, only snapshots \(save 3600 1 300 100 60 10000\)/,
    ],
    [
      "nothing on disk",
      { config: { appendonly: "no", appendfsync: "everysec", save: "" } },
      ["refuse", "warn"],
      /^appendonly no: Redis keeps nothing on disk/,
    ],
    [
      "CONFIG refused by an ACL, INFO says AOF on",
      { config: NOPERM, info: { aof_enabled: "1", rdb_changes_since_last_save: "4" } },
      ["accept", "accept"],
      /CONFIG GET refused \(NOPERM.*INFO persistence says aof_enabled:1/,
    ],
    [
      "CONFIG renamed away, INFO says AOF off",
      { config: UNKNOWN, info: { aof_enabled: "0" } },
      ["refuse", "warn"],
      /CONFIG GET refused \(ERR unknown command 'CONFIG'\); INFO persistence says aof_enabled:0/,
    ],
    [
      "neither CONFIG nor INFO allowed",
      { config: NOPERM, info: { error: "NOPERM … 'info' command" } },
      ["refuse", "warn"],
      /^cannot tell whether it keeps a log of writes: CONFIG GET refused .* INFO persistence refused/,
    ],
    [
      "INFO without the field",
      { config: UNKNOWN, info: { loading: "0" } },
      ["refuse", "warn"],
      /^cannot tell.*INFO persistence had no aof_enabled/,
    ],
  ];
  for (const [name, persistence, expected, detail] of cases) {
    assertEquals(verdicts(persistence), expected, name);
    assertMatch(redisDurability(persistence).detail, detail, name);
  }
});

Deno.test("redis durability: the refusal says what is wrong and both ways out", () => {
  const verdict = judgeDurability(
    {
      store: "redis",
      redisUrl: "redis://u:secret@redis.example:6380/0",
      allowVolatileStore: false,
    },
    redisDurability({ config: { appendonly: "no", save: "" } }),
  );
  assert(verdict.action === "refuse");
  assertMatch(verdict.message, /the Redis at redis\.example:6380 is not durable/);
  assertMatch(verdict.message, /appendonly no: Redis keeps nothing on disk/);
  assertMatch(verdict.message, /appendonly yes with appendfsync everysec \(or always\)/);
  assertMatch(verdict.message, new RegExp(`set ${ALLOW_VOLATILE_ENV}=1`));
  assert(!verdict.message.includes("secret"), "no password in the message");

  const unknown = judgeDurability(
    { store: "redis", redisUrl: "redis://r:6379", allowVolatileStore: false },
    redisDurability({ config: NOPERM, info: NOPERM }),
  );
  assert(unknown.action === "refuse");
  assertMatch(unknown.message, /let this node's Redis user run CONFIG GET or INFO/);
  assertMatch(unknown.message, new RegExp(ALLOW_VOLATILE_ENV));
});

Deno.test("durability verdicts: memory warns, JetStream KV in memory is refused, unchecked is accepted", () => {
  const memory = { durable: false, detail: "the memory store keeps state in this process only" };
  assertEquals(
    judgeDurability({ store: "memory", redisUrl: null, allowVolatileStore: false }, memory),
    { action: "warn", detail: `volatile (FLOTILLA_STORE=memory): ${memory.detail}` },
  );
  const inMemory = natsKvDurability({ bucket: "FLOTILLA", storage: "memory", replicas: 1 });
  assertEquals(inMemory.durable, false);
  const refused = judgeDurability(
    { store: "natskv", redisUrl: null, allowVolatileStore: false },
    inMemory,
  );
  assert(refused.action === "refuse");
  assertMatch(
    refused.message,
    /bucket FLOTILLA is in memory storage.*file storage.*FLOTILLA_ALLOW/,
  );
  const allowed = judgeDurability(
    { store: "natskv", redisUrl: null, allowVolatileStore: true },
    inMemory,
  );
  assertEquals(allowed.action, "warn");
  assertMatch(
    (allowed as { detail: string }).detail,
    /^volatile, allowed by FLOTILLA_ALLOW_VOLATILE_STORE=1: /,
  );

  const one = natsKvDurability({ bucket: "FLOTILLA", storage: "file", replicas: 1 });
  assertEquals(one.durable, true);
  assertMatch(one.detail, /file storage, 1 replica \(the only copy is on one server's disk/);
  assertEquals(
    natsKvDurability({ bucket: "FLOTILLA", storage: "file", replicas: 3 }).detail,
    "JetStream KV bucket FLOTILLA: file storage, 3 replicas",
  );
  assertEquals(
    judgeDurability({ store: "denokv", redisUrl: null, allowVolatileStore: false }, null).action,
    "accept",
  );
});

Deno.test("parseInfo reads the fields of an INFO section", () => {
  assertEquals(
    parseInfo("# Persistence\r\nloading:0\r\naof_enabled:1\r\naof_last_write_status:ok\r\n"),
    { loading: "0", aof_enabled: "1", aof_last_write_status: "ok" },
  );
});

Deno.test("loadConfig: FLOTILLA_ALLOW_VOLATILE_STORE is off unless 1 or true", () => {
  assertEquals(loadConfig({}).allowVolatileStore, false);
  assertEquals(loadConfig({ FLOTILLA_ALLOW_VOLATILE_STORE: "0" }).allowVolatileStore, false);
  assertEquals(loadConfig({ FLOTILLA_ALLOW_VOLATILE_STORE: "1" }).allowVolatileStore, true);
  assertEquals(loadConfig({ FLOTILLA_ALLOW_VOLATILE_STORE: "true" }).allowVolatileStore, true);
  assertThrows(
    () => loadConfig({ FLOTILLA_ALLOW_VOLATILE_STORE: "yes" }),
    ConfigError,
    "FLOTILLA_ALLOW_VOLATILE_STORE=yes: use 1",
  );
});
