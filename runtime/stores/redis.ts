/**
 * A {@link StateStore} on Redis, through ioredis.
 *
 * Layout, every key under a configurable prefix `P` (default `flotilla:`) so one Redis can host
 * several deployments or test runs:
 * - `P s:<key>` — a snapshot: a string `"<version>:<json>"` (the version in decimal, a colon,
 *   the value's JSON text). One string per snapshot, so `getMany` is one `MGET`, a put with an
 *   expected version is one `SET … GET` whose old string's version the script checks after,
 *   and the other writes read the version with `GETRANGE` without copying the value.
 * - `P j:<key>` — a journal: a list of the events' JSON texts; its length is its version, event
 *   `seq` is at index `seq - 1`.
 * - `P si`, `P ji` — sorted sets (every score 0) of the snapshot and journal keys that exist:
 *   Redis has no ordered key listing, so `keys` pages through these with `ZRANGEBYLEX`. The
 *   scripts that create or delete a key update its index in the same atomic step.
 *
 * Writes go through one Lua script (`EVALSHA`, loaded when the store connects and again, through
 * `EVAL`, when the server answers `NOSCRIPT` — after a restart, say) that applies a whole batch
 * of operations, each checked on its own (a conflict or a bad key fails only its operation), so
 * each operation is applied atomically, also against other clients. A batch is one pipeline, one
 * round trip; a large one is split into calls of at most 256 operations or about 4 MB, which
 * the server runs one after the other (other clients' commands run between them). Results come
 * in operation order. A batch is not atomic as a whole. One call per batch instead of one per
 * operation is what makes the store fast: Redis's cost is mostly per script call.
 *
 * Connection loss: ioredis reconnects with exponential backoff for as long as the store is
 * open. A call made while disconnected waits in ioredis's offline queue through at most
 * {@link RedisStoreOptions.maxRetriesPerRequest} reconnection attempts, then rejects with a
 * {@link StoreError}; a call whose commands were on a connection when it dropped rejects at once
 * (its commands are not resent: they may or may not have been applied, which is what the
 * contract's ambiguous rejection means); a server that does not answer at all fails calls after
 * {@link RedisStoreOptions.commandTimeoutMs}.
 *
 * Limits: keys must be well-formed UTF-16 (no lone surrogates, which UTF-8 cannot carry); other
 * keys get an error result on writes and read as absent. Values are limited by Redis (512 MB).
 * Keys sort by UTF-8 bytes in Redis and by UTF-16 code units in JavaScript; the two orders differ
 * only between astral characters and U+E000–U+FFFF, where a page may split unevenly.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Redis, type RedisOptions, ReplyError } from "ioredis";
import { describeError, FencedError, StoreError, StoreRegressedError } from "../errors.ts";
import {
  assertDistinctKeys,
  type Fence,
  type FenceRecord,
  type JournalEntry,
  type JsonValue,
  type KeyPage,
  type OpResult,
  type StateStore,
  type StoreOp,
  type Versioned,
} from "../store.ts";
import type { StoreDurability } from "../durability.ts";
import { parseInfo, redisDurability } from "./redis_durability.ts";
import { callFailed, refusal, skipped, toJson } from "./support.ts";

/** Options of {@link RedisStore.connect}. */
export interface RedisStoreOptions {
  /** Prefix of every key the store writes. @default "flotilla:" */
  readonly prefix?: string;
  /** How long to wait for the first connection. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** A call whose reply takes longer fails with a {@link StoreError}. @default 10000 */
  readonly commandTimeoutMs?: number;
  /**
   * Reconnection attempts a call made while disconnected waits through before it fails.
   * @default 2
   */
  readonly maxRetriesPerRequest?: number;
  /** First reconnection delay; each next one doubles, up to `maxDelayMs`. @default 50 */
  readonly retryDelayMs?: number;
  /** Longest reconnection delay. @default 2000 */
  readonly maxRetryDelayMs?: number;
  /**
   * The name the connection gives itself (`CLIENT SETNAME`), so that `CLIENT LIST` and
   * `MONITOR` say whose commands are whose: a node uses `flotilla-<nodeId>`. Characters Redis
   * refuses in a name (spaces, controls) become `_`. @default none
   */
  readonly connectionName?: string;
  /** Further ioredis options (TLS, username, password, db …), applied last but for the above. */
  readonly redis?: RedisOptions;
}

// One call applies a batch of operations, each checked on its own (a conflict or a bad key
// fails only its operation), the call as a whole one atomic step. KEYS: the snapshot index, the
// journal index, the journals' trimmed counts (a hash), the call's fence records (hashes: field
// "t" the token, "m:<source>" the positions), then one key per operation. ARGV: the byte length
// of the keys' common start ("<prefix>s:" or "<prefix>j:"; the rest is the index member), the
// number of fences, three values per fence — token, positions known and positions to mark
// ("<source>=<n>;…", maybe empty) — then two values per operation, its head and a value, and
// for an append its events. The head is the kind and expected version in one ("P7", "p",
// "d3", "a0", "t"), then optionally "/<fence>" (a fence's index, 1-based) and "/<op>" (the
// index in this call, 1-based, of the operation it depends on: "P7/1", "p/1/3", "p//3"):
// - 'P' put with an expected version: the value is the whole stored string, "<v+1>:<json>",
//   built by the client. The script swaps it in with one `SET … GET` and checks the old
//   string's version afterwards; on a conflict (rare) it puts the old string back. One Redis
//   command per put instead of a read and a write: Redis's cost in a script is mostly per call
//   and per argument;
// - 'p' put of any version: the value is the JSON;
// - 'd' delete: the value is empty;
// - 'a' append: the value is the number of events that follow; a journal's version is its
//   length plus the events trimmed from it;
// - 't' trim: the value is the last sequence number to delete.
// A fence is checked once, before its first operation: a record holding a newer token refuses
// its operations (-2 and the token held), one holding positions below those known too (-3 and
// the positions held: the store went back in time). Applied, the record takes the token and the
// marks (by maximum). An operation whose dependency did not apply is skipped (-4).
// Replies: two values per operation, flat — 1 and the version (applied), 0 and the version
// (conflict), -1 and a message (error), or the codes above.
const BATCH = `
local out = {}
local o = 0
local skip = tonumber(ARGV[1]) + 1
local nf = tonumber(ARGV[2])
local verdict = {}
local held = {}
local function positions(text)
  local t = {}
  for source, n in string.gmatch(text, '([^=;]+)=(%d+)') do t[source] = tonumber(n) end
  return t
end
local function check(f)
  if verdict[f] ~= nil then return verdict[f] end
  local key = KEYS[3 + f]
  local base = 3 + (f - 1) * 3
  local token = tonumber(ARGV[base]) or 0
  local stored = tonumber(redis.call('HGET', key, 't') or '0')
  if stored > token then
    verdict[f], held[f] = -2, stored
    return -2
  end
  for source, n in pairs(positions(ARGV[base + 1])) do
    local have = tonumber(redis.call('HGET', key, 'm:' .. source) or '0')
    if have < n then
      local all = {}
      local fields = redis.call('HGETALL', key)
      for i = 1, #fields, 2 do
        if string.sub(fields[i], 1, 2) == 'm:' then
          all[#all + 1] = string.sub(fields[i], 3) .. '=' .. fields[i + 1]
        end
      end
      verdict[f], held[f] = -3, table.concat(all, ';')
      return -3
    end
  end
  verdict[f] = 1
  return 1
end
local statuses = {}
local a = 3 + nf * 3
for i = 4 + nf, #KEYS do
  local key = KEYS[i]
  local head, value = ARGV[a], ARGV[a + 1]
  a = a + 2
  local kind, expected, f, dep = string.match(head, '^(%a)(%d*)/?(%d*)/?(%d*)$')
  local status, result
  local count = 0
  if kind == 'a' then count = tonumber(value) end
  if f ~= '' then
    local v = check(tonumber(f))
    if v ~= 1 then status, result = v, held[tonumber(f)] end
  end
  if status == nil and dep ~= '' and statuses[tonumber(dep)] ~= 1 then
    status, result = -4, tonumber(dep)
  end
  if status ~= nil then
    -- refused: nothing to do
  elseif kind == 'P' then
    local old = redis.pcall('SET', key, value, 'GET')
    if type(old) == 'table' then
      status, result = -1, old.err
    else
      local version = 0
      if old then version = tonumber(string.match(old, '^(%d+):')) end
      if not version then
        redis.call('SET', key, old)
        status, result = -1, 'not a Flotilla snapshot: ' .. key
      elseif version ~= tonumber(expected) then
        if old then redis.call('SET', key, old) else redis.call('DEL', key) end
        status, result = 0, version
      else
        if version == 0 then redis.call('ZADD', KEYS[1], 0, string.sub(key, skip)) end
        status, result = 1, version + 1
      end
    end
  elseif kind == 'a' or kind == 't' then
    local member = string.sub(key, skip)
    local length = redis.pcall('LLEN', key)
    if type(length) == 'table' then
      status, result = -1, length.err
    else
      local trimmed = tonumber(redis.call('HGET', KEYS[3], member) or '0')
      local version = trimmed + length
      if kind == 't' then
        local drop = math.min(length, math.max(0, tonumber(value) - trimmed))
        if drop > 0 then
          redis.call('LTRIM', key, drop, -1)
          redis.call('HINCRBY', KEYS[3], member, drop)
        end
        status, result = 1, version
      elseif version ~= tonumber(expected) then
        status, result = 0, version
      else
        local last = a + count - 1
        for j = a, last, 1000 do
          redis.call('RPUSH', key, unpack(ARGV, j, math.min(j + 999, last)))
        end
        if version == 0 and count > 0 then redis.call('ZADD', KEYS[2], 0, member) end
        status, result = 1, version + count
      end
    end
  else
    local current = redis.pcall('GETRANGE', key, 0, 23)
    local version = 0
    if type(current) == 'table' then
      status, result = -1, current.err
    elseif current ~= '' then
      version = tonumber(string.match(current, '^(%d+):'))
      if not version then status, result = -1, 'not a Flotilla snapshot: ' .. key end
    end
    if status == nil then
      if expected ~= '' and tonumber(expected) ~= version then
        status, result = 0, version
      elseif kind == 'd' then
        if version > 0 then
          redis.call('DEL', key)
          redis.call('ZREM', KEYS[1], string.sub(key, skip))
        end
        status, result = 1, 0
      else
        version = version + 1
        redis.call('SET', key, string.format('%d:', version))
        redis.call('APPEND', key, value)
        if version == 1 then redis.call('ZADD', KEYS[1], 0, string.sub(key, skip)) end
        status, result = 1, version
      end
    end
  end
  a = a + count
  statuses[i - 3 - nf] = status
  out[o + 1] = status
  out[o + 2] = result
  o = o + 2
end
for f = 1, nf do
  if verdict[f] == 1 then
    local key = KEYS[3 + f]
    local base = 3 + (f - 1) * 3
    local token = tonumber(ARGV[base]) or 0
    if tonumber(redis.call('HGET', key, 't') or '0') < token then
      redis.call('HSET', key, 't', token)
    end
    for source, n in pairs(positions(ARGV[base + 2])) do
      if tonumber(redis.call('HGET', key, 'm:' .. source) or '0') < n then
        redis.call('HSET', key, 'm:' .. source, n)
      end
    end
  end
end
return out
`;

// Takes a fence for a new owner: KEYS[1] the record, ARGV[1] the token, ARGV[2] positions to
// mark ("<source>=<n>;…", maybe empty). Replies with the token held afterwards and the record's
// fields.
const FENCE = `
local stored = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local token = tonumber(ARGV[1])
if stored <= token then
  redis.call('HSET', KEYS[1], 't', token)
  stored = token
  for source, n in string.gmatch(ARGV[2], '([^=;]+)=(%d+)') do
    if tonumber(redis.call('HGET', KEYS[1], 'm:' .. source) or '0') < tonumber(n) then
      redis.call('HSET', KEYS[1], 'm:' .. source, n)
    end
  end
end
return {stored, redis.call('HGETALL', KEYS[1])}
`;

// Reads a journal from a sequence number: KEYS[1] the list, KEYS[2] the trimmed counts, ARGV the
// member, the sequence after which to read and how many (-1: all). Replies with the number
// trimmed and the events.
const READ_JOURNAL = `
local trimmed = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local start = math.max(0, tonumber(ARGV[2]) - trimmed)
local count = tonumber(ARGV[3])
local stop = -1
if count >= 0 then stop = start + count - 1 end
return {trimmed, redis.call('LRANGE', KEYS[1], start, stop)}
`;

/** Keys per `MGET`, so one huge `getMany` does not block the server for long. */
const MGET_BATCH = 1000;

/**
 * Most operations, and about the most bytes, per script call: a call runs alone on the server,
 * so a huge batch goes as several calls (in one pipeline) and never blocks Redis for long.
 */
const CALL_OPS = 256;
const CALL_BYTES = 4 * 1024 * 1024;

/** An operation encoded for the batch script: its key and its arguments. */
type Encoded = {
  readonly key: string;
  /** Kind and expected version. */
  readonly head: string;
  readonly value: string;
  /** An append's events' JSON. */
  readonly events: string[] | null;
};

/** One script call: the operations' indexes in the batch, keys and arguments. */
type Call = { readonly ops: number[]; readonly keys: string[]; readonly args: string[] };

/**
 * A {@link StateStore} on Redis. Open it with {@link RedisStore.connect}.
 *
 * @example
 * ```ts
 * const store = await RedisStore.connect("redis://127.0.0.1:6379", { prefix: "app:" });
 * const [result] = await store.commit([{ op: "put", key: "k", value: 1, expectedVersion: 0 }]);
 * await store.close();
 * ```
 */
export class RedisStore implements StateStore {
  readonly name = "redis";
  readonly fencing = "atomic";
  readonly #client: Redis;
  readonly #prefix: string;
  /** Byte length of "<prefix>s:" (and "<prefix>j:"), for the batch script. */
  readonly #skip: string;
  readonly #where: string;
  #sha = "";
  #closed = false;
  /** Calls whose commands are on the current connection: they fail when it drops. */
  #onLine = new Set<(cause: Error) => void>();
  #lastError: Error | undefined;

  /**
   * Connects to the Redis at `url` (`redis://[user:password@]host:port[/db]`, or `rediss://`)
   * and loads the store's scripts. Rejects with a {@link StoreError} when Redis cannot be
   * reached within `connectTimeoutMs`.
   */
  static async connect(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const initial = Math.max(1, options.retryDelayMs ?? 50);
    const max = Math.max(initial, options.maxRetryDelayMs ?? 2000);
    const client = new Redis(url, {
      ...options.redis,
      ...(options.connectionName === undefined
        ? {}
        : { connectionName: options.connectionName.replace(/[^!-~]/g, "_") }),
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      commandTimeout: options.commandTimeoutMs ?? 10_000,
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
      // Keep calls made during a short outage, bounded by maxRetriesPerRequest.
      enableOfflineQueue: true,
      // A command that was on a dropped connection may have been applied: resending it could
      // apply it twice; its call fails instead (see #onLine).
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) =>
        Math.min(initial * 2 ** Math.min(times - 1, 20), max) * (0.8 + 0.4 * Math.random()),
    });
    const store = new RedisStore(client, options.prefix ?? "flotilla:");
    try {
      await client.connect();
      await store.#loadScripts();
    } catch (e) {
      client.disconnect();
      throw new StoreError(
        `cannot connect to Redis at ${store.#where}: ${
          describeError(e)
        }; is it running and reachable?`,
        { cause: e },
      );
    }
    return store;
  }

  private constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
    this.#skip = String(new TextEncoder().encode(`${prefix}s:`).length);
    const { host, port } = client.options;
    this.#where = `${host}:${port}`;
    // Without a listener ioredis prints every connection error; the last one explains failures.
    client.on("error", (e: Error) => {
      this.#lastError = e;
    });
    client.on("close", () => {
      const lost = new Error("the connection to Redis was lost", { cause: this.#lastError });
      for (const fail of this.#onLine) fail(lost);
      this.#onLine.clear();
    });
  }

  async get(key: string): Promise<Versioned | null> {
    return (await this.getMany([key]))[0] ?? null;
  }

  getMany(keys: readonly string[]): Promise<(Versioned | null)[]> {
    return this.#call("read", async () => {
      // Malformed keys cannot exist: they are not asked and read as absent.
      const asked = keys.every(wellFormed) ? keys : keys.filter(wellFormed);
      if (asked.length === 0) return keys.map(() => null);
      const pipeline = this.#client.pipeline();
      for (let i = 0; i < asked.length; i += MGET_BATCH) {
        const slice = asked.length <= MGET_BATCH ? asked : asked.slice(i, i + MGET_BATCH);
        pipeline.mget(slice.map((k) => this.#snapshotKey(k)));
      }
      const replies = await exec(pipeline);
      const out = new Array<Versioned | null>(keys.length);
      let i = 0;
      for (const reply of replies) {
        for (const text of reply as (string | null)[]) {
          if (asked !== keys) { while (!wellFormed(keys[i]!)) out[i++] = null; }
          out[i++] = parseSnapshot(text);
        }
      }
      while (i < keys.length) out[i++] = null;
      return out;
    });
  }

  async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    this.#assertOpen();
    assertDistinctKeys(ops);
    const results: OpResult[] = new Array(ops.length);
    // Ops grouped into calls; an op that depends on another stays in its call.
    const groups: { ops: number[]; encoded: Encoded[] }[] = [];
    let group: { ops: number[]; encoded: Encoded[] } | null = null;
    let bytes = 0;
    ops.forEach((op, i) => {
      const encoded = this.#encode(op);
      if ("ok" in encoded) {
        results[i] = encoded;
        return;
      }
      let size = encoded.value.length;
      if (encoded.events !== null) { for (const e of encoded.events) size += e.length; }
      const full = group === null || group.ops.length >= CALL_OPS || bytes + size > CALL_BYTES;
      if (full && op.onlyIf === undefined) {
        group = { ops: [], encoded: [] };
        groups.push(group);
        bytes = 0;
      }
      group!.ops.push(i);
      group!.encoded.push(encoded);
      bytes += size;
    });
    if (groups.length === 0) return results;
    const calls = groups.map((g) => this.#callOf(ops, g.ops, g.encoded));
    return await this.#call("commit", async () => {
      let pending = calls;
      for (let attempt = 0; pending.length > 0; attempt++) {
        // The first attempt uses the loaded script; if the server lost it, EVAL sends it along.
        const byEval = attempt > 0;
        const pipeline = this.#client.pipeline();
        for (const c of pending) {
          if (byEval) pipeline.eval(BATCH, c.keys.length, ...c.keys, ...c.args);
          else pipeline.evalsha(this.#sha, c.keys.length, ...c.keys, ...c.args);
        }
        const replies = await pipeline.exec();
        if (replies === null) throw new Error("the pipeline was discarded");
        const missing: Call[] = [];
        replies.forEach(([error, reply], j) => {
          const c = pending[j]!;
          if (error === null) {
            const flat = reply as (number | string)[];
            c.ops.forEach((index, k) => {
              results[index] = resultOf(ops[index]!, flat[2 * k]!, flat[2 * k + 1]!);
            });
          } else if (!(error instanceof ReplyError)) {
            throw error; // the connection, not the ops
          } else if (/^NOSCRIPT/.test(error.message) && !byEval) {
            missing.push(c);
          } else {
            for (const index of c.ops) {
              results[index] = refuse(ops[index]!.key, error.message, error);
            }
          }
        });
        pending = missing;
        if (missing.length > 0) this.#loadScripts().catch(() => {/* EVAL works meanwhile */});
      }
      return results;
    });
  }

  /** One script call for the operations `indexes` of a batch (see the script's layout). */
  #callOf(ops: readonly StoreOp[], indexes: number[], encoded: Encoded[]): Call {
    const fences: Fence[] = [];
    const fenceIndex = new Map<Fence, number>();
    for (const i of indexes) {
      const fence = ops[i]!.fence;
      if (fence !== undefined && !fenceIndex.has(fence)) {
        fences.push(fence);
        fenceIndex.set(fence, fences.length);
      }
    }
    const keys = [this.#index("si"), this.#index("ji"), this.#index("jt")];
    const args = [this.#skip, String(fences.length)];
    for (const fence of fences) {
      keys.push(this.#fenceKey(fence.key));
      args.push(String(fence.token), positionsText(fence.known), positionsText(fence.marks));
    }
    const local = new Map<number, number>();
    indexes.forEach((i, k) => {
      local.set(i, k + 1);
      const op = ops[i]!;
      const e = encoded[k]!;
      const f = op.fence === undefined ? "" : String(fenceIndex.get(op.fence));
      const dep = op.onlyIf === undefined ? "" : String(local.get(op.onlyIf) ?? 0);
      const head = f === "" && dep === ""
        ? e.head
        : dep === ""
        ? `${e.head}/${f}`
        : `${e.head}/${f}/${dep}`;
      keys.push(e.key);
      args.push(head, e.value);
      if (e.events !== null) { for (const event of e.events) args.push(event); }
    });
    return { ops: indexes, keys, args };
  }

  fence(
    key: string,
    token: number,
    marks?: Readonly<Record<string, number>>,
  ): Promise<FenceRecord> {
    return this.#call("commit", async () => {
      const [held, fields] = await this.#client.eval(
        FENCE,
        1,
        this.#fenceKey(key),
        String(token),
        positionsText(marks),
      ) as [
        number,
        string[],
      ];
      const positions: Record<string, number> = {};
      for (let i = 0; i < fields.length; i += 2) {
        if (fields[i]!.startsWith("m:")) positions[fields[i]!.slice(2)] = Number(fields[i + 1]);
      }
      return { token: held, marks: positions };
    });
  }

  journalVersion(key: string): Promise<number> {
    return this.#call("read", async () => {
      if (!wellFormed(key)) return 0;
      const [length, trimmed] = await exec(
        this.#client.pipeline().llen(this.#journalKey(key)).hget(this.#index("jt"), key),
      ) as [number, string | null];
      return length + Number(trimmed ?? 0);
    });
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#call("read", async () => {
      if (!wellFormed(key) || !(limit > 0)) return [];
      const after = Math.max(0, Math.floor(afterSeq));
      const count = Number.isFinite(limit) ? Math.ceil(limit) : -1;
      const [trimmed, texts] = await this.#client.eval(
        READ_JOURNAL,
        2,
        this.#journalKey(key),
        this.#index("jt"),
        key,
        String(after),
        String(count),
      ) as [number, string[]];
      const first = Math.max(after, trimmed);
      return texts.map((text, i) => ({ seq: first + i + 1, event: JSON.parse(text) as JsonValue }));
    });
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", () => this.#list("si", prefix, page));
  }

  journalKeys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", () => this.#list("ji", prefix, page));
  }

  /**
   * Reads the server's persistence settings (`CONFIG GET appendonly`, `appendfsync`, `save`;
   * `INFO persistence` when `CONFIG` is refused) and judges them (see redis_durability.ts): a
   * Redis with its append-only file on is durable, one without it is not.
   */
  durability(): Promise<StoreDurability> {
    return this.#call("read", async () => {
      // A refusal (NOPERM, an unknown command) is an answer; a lost connection is not.
      const refused = (e: unknown) => {
        if (e instanceof ReplyError) return { error: (e as Error).message };
        throw e;
      };
      const config = await this.#client.config("GET", "append*").then(
        async (reply) => ({
          ...pairs(reply as string[]),
          ...pairs(await this.#client.config("GET", "save").catch(() => []) as string[]),
        }),
        refused,
      );
      if (!("error" in config) && config.appendonly !== undefined) {
        return redisDurability({ config });
      }
      const info = await this.#client.info("persistence").then(parseInfo, refused);
      return redisDurability({ config, info });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  #snapshotKey(key: string): string {
    return `${this.#prefix}s:${key}`;
  }

  #journalKey(key: string): string {
    return `${this.#prefix}j:${key}`;
  }

  #encode(op: StoreOp): Encoded | OpResult {
    if (!wellFormed(op.key)) return refuse(op.key, "the key holds a lone surrogate");
    if (op.op === "trim") {
      return { key: this.#journalKey(op.key), head: "t", value: String(op.through), events: null };
    }
    const expected = op.expectedVersion === null ? "" : String(op.expectedVersion);
    if (op.op === "delete") {
      return { key: this.#snapshotKey(op.key), head: `d${expected}`, value: "", events: null };
    }
    if (op.op === "append") {
      const events: string[] = [];
      for (const event of op.events) {
        const json = toJson(event);
        if (json === undefined) return refuse(op.key, "an event is not JSON-serialisable");
        events.push(json);
      }
      return {
        key: this.#journalKey(op.key),
        head: `a${op.expectedVersion}`,
        value: String(events.length),
        events,
      };
    }
    const json = toJson(op.value);
    if (json === undefined) return refuse(op.key, "the value is not JSON-serialisable");
    // With an expected version the stored string is known here: the script only checks.
    // Every argument is a string: one Buffer among them puts ioredis on a path that encodes
    // each argument into a buffer on its own, about three times the client's CPU per write.
    return op.expectedVersion === null
      ? { key: this.#snapshotKey(op.key), head: "p", value: json, events: null }
      : {
        key: this.#snapshotKey(op.key),
        head: `P${expected}`,
        value: `${op.expectedVersion + 1}:${json}`,
        events: null,
      };
  }

  /** The snapshot and journal indexes, and the journals' trimmed counts. */
  #index(name: "si" | "ji" | "jt"): string {
    return `${this.#prefix}${name}`;
  }

  #fenceKey(key: string): string {
    return `${this.#prefix}f:${key}`;
  }

  async #list(index: "si" | "ji", prefix: string, page: KeyPage = {}): Promise<string[]> {
    const { after, limit = Infinity } = page;
    if (!(limit > 0) || !wellFormed(prefix)) return [];
    const min = after !== undefined && after >= prefix ? `(${after}` : `[${prefix}`;
    // No UTF-8 text holds byte 0xFF: every key starting with the prefix sorts below prefix+0xFF.
    const max = prefix === "" ? "+" : Buffer.concat([Buffer.from(`[${prefix}`), Buffer.of(0xff)]);
    const keys = Number.isFinite(limit)
      ? await this.#client.zrangebylex(this.#index(index), min, max, "LIMIT", 0, Math.ceil(limit))
      : await this.#client.zrangebylex(this.#index(index), min, max);
    return keys.sort();
  }

  async #loadScripts(): Promise<void> {
    this.#sha = await this.#client.script("LOAD", BATCH) as string;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("the Redis store is closed");
  }

  /** Runs a call; a failure of Redis or of the connection becomes a {@link StoreError}. */
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    const lost = Promise.withResolvers<never>();
    const fail = (cause: Error) => lost.reject(cause);
    // Commands sent now ride the current connection; queued ones wait for the next.
    if (this.#client.status === "ready") this.#onLine.add(fail);
    try {
      return await Promise.race([run(), lost.promise]);
    } catch (e) {
      throw callFailed(`Redis at ${this.#where}`, what, e);
    } finally {
      this.#onLine.delete(fail);
    }
  }
}

/** Runs a pipeline of reads; any error fails it whole. */
async function exec(pipeline: ReturnType<Redis["pipeline"]>): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("the pipeline was discarded");
  return replies.map(([error, reply]) => {
    if (error !== null) throw error;
    return reply;
  });
}

/** `[name, value, name, value, …]` as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function resultOf(op: StoreOp, status: number | string, value: number | string): OpResult {
  if (status === 1) return { ok: true, version: value as number };
  if (status === 0) return { ok: false, conflict: true, actualVersion: value as number };
  if (status === -2) {
    return {
      ok: false,
      conflict: false,
      error: new FencedError(op.fence!.key, op.fence!.token, Number(value)),
    };
  }
  if (status === -3) {
    return {
      ok: false,
      conflict: false,
      error: new StoreRegressedError(
        op.fence!.key,
        parsePositions(String(value)),
        op.fence!.known ?? {},
      ),
    };
  }
  if (status === -4) return skipped(op.key, Number(value));
  return refuse(op.key, String(value));
}

/** Positions as the batch script reads them: `"<source>=<n>;…"`. */
function positionsText(positions: Readonly<Record<string, number>> | undefined): string {
  if (positions === undefined) return "";
  return Object.entries(positions).map(([source, n]) => `${source}=${Math.floor(n)}`).join(";");
}

function parsePositions(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(";")) {
    const eq = part.lastIndexOf("=");
    if (eq > 0) out[part.slice(0, eq)] = Number(part.slice(eq + 1));
  }
  return out;
}

function parseSnapshot(text: string | null): Versioned | null {
  if (text === null) return null;
  const colon = text.indexOf(":");
  return { version: Number(text.slice(0, colon)), value: JSON.parse(text.slice(colon + 1)) };
}

function wellFormed(key: string): boolean {
  return key.isWellFormed();
}

function refuse(key: string, why: string, cause?: unknown): OpResult {
  return refusal("Redis", key, why, cause);
}
