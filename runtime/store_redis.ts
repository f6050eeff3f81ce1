/**
 * A {@link StateStore} on Redis, through ioredis.
 *
 * Layout, every key under a configurable prefix `P` (default `flotilla:`) so one Redis can host
 * several deployments or test runs:
 * - `P s:<key>` — a snapshot: a string `"<version>:<json>"` (the version in decimal, a colon,
 *   the value's JSON text). One string per snapshot, so `getMany` is one `MGET`, and the scripts
 *   read the version with `GETRANGE` without copying the value.
 * - `P j:<key>` — a journal: a list of the events' JSON texts; its length is its version, event
 *   `seq` is at index `seq - 1`.
 * - `P si`, `P ji` — sorted sets (every score 0) of the snapshot and journal keys that exist:
 *   Redis has no ordered key listing, so `keys` pages through these with `ZRANGEBYLEX`. The
 *   scripts that create or delete a key update its index in the same atomic step.
 *
 * Every write is one Lua script (`EVALSHA`, loaded when the store connects and again, through
 * `EVAL`, when the server answers `NOSCRIPT` — after a restart, say), so each operation is
 * checked and applied atomically, also against other clients. A batch is one pipeline: one
 * round trip, one script per operation, results in operation order. A batch is not atomic as a
 * whole.
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
import { StoreError } from "./errors.ts";
import {
  assertDistinctKeys,
  type JournalEntry,
  type JsonValue,
  type KeyPage,
  type OpResult,
  type StateStore,
  type StoreOp,
  type Versioned,
} from "./store.ts";

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
  /** Further ioredis options (TLS, username, password, db …), applied last but for the above. */
  readonly redis?: RedisOptions;
}

// KEYS: snapshot, index. ARGV: expected version ("" for any), JSON, the key (index member).
const PUT = `
local head = redis.call('GETRANGE', KEYS[1], 0, 23)
local version = 0
if head ~= '' then
  version = tonumber(string.match(head, '^(%d+):'))
  if not version then return redis.error_reply('not a Flotilla snapshot: ' .. KEYS[1]) end
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= version then return {0, version} end
version = version + 1
redis.call('SET', KEYS[1], string.format('%d:', version))
redis.call('APPEND', KEYS[1], ARGV[2])
if version == 1 then redis.call('ZADD', KEYS[2], 0, ARGV[3]) end
return {1, version}
`;

// KEYS: snapshot, index. ARGV: expected version ("" for any), the key.
const DELETE = `
local head = redis.call('GETRANGE', KEYS[1], 0, 23)
local version = 0
if head ~= '' then
  version = tonumber(string.match(head, '^(%d+):'))
  if not version then return redis.error_reply('not a Flotilla snapshot: ' .. KEYS[1]) end
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= version then return {0, version} end
if version > 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return {1, 0}
`;

// KEYS: journal, index. ARGV: expected version, the key, then the events' JSON.
const APPEND = `
local length = redis.call('LLEN', KEYS[1])
if length ~= tonumber(ARGV[1]) then return {0, length} end
local last = #ARGV
for i = 3, last, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, last)))
end
if length == 0 and last > 2 then redis.call('ZADD', KEYS[2], 0, ARGV[2]) end
return {1, length + last - 2}
`;

const SCRIPTS = { put: PUT, delete: DELETE, append: APPEND } as const;
type ScriptName = keyof typeof SCRIPTS;

/** Keys per `MGET`, so one huge `getMany` does not block the server for long. */
const MGET_BATCH = 1000;

/** An operation encoded as a script call, or its result when it cannot be sent. */
type Call = {
  readonly script: ScriptName;
  readonly keys: [string, string];
  readonly args: string[];
};

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
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #where: string;
  #shas = new Map<ScriptName, string>();
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
        `cannot connect to Redis at ${store.#where}: ${describe(e)}; is it running and reachable?`,
        { cause: e },
      );
    }
    return store;
  }

  private constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
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
      const asked = keys.filter(wellFormed);
      const pipeline = this.#client.pipeline();
      for (let i = 0; i < asked.length; i += MGET_BATCH) {
        pipeline.mget(asked.slice(i, i + MGET_BATCH).map((k) => this.#snapshotKey(k)));
      }
      const replies = asked.length === 0 ? [] : await exec(pipeline);
      const texts = replies.flatMap((r) => r as (string | null)[]);
      const found = new Map(asked.map((k, i) => [k, texts[i] ?? null]));
      return keys.map((k) => parseSnapshot(found.get(k) ?? null));
    });
  }

  async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    this.#assertOpen();
    assertDistinctKeys(ops);
    const results: OpResult[] = new Array(ops.length);
    const calls: [number, Call][] = [];
    ops.forEach((op, i) => {
      const call = this.#encode(op);
      if ("ok" in call) results[i] = call;
      else calls.push([i, call]);
    });
    if (calls.length === 0) return results;
    return await this.#call("commit", async () => {
      let pending = calls;
      for (let attempt = 0; pending.length > 0; attempt++) {
        // The first attempt uses the loaded scripts; scripts the server lost go again by EVAL.
        const byEval = attempt > 0;
        const pipeline = this.#client.pipeline();
        for (const [, call] of pending) {
          if (byEval) pipeline.eval(SCRIPTS[call.script], 2, ...call.keys, ...call.args);
          else pipeline.evalsha(this.#shas.get(call.script)!, 2, ...call.keys, ...call.args);
        }
        const replies = await pipeline.exec();
        if (replies === null) throw new Error("the pipeline was discarded");
        const missing: [number, Call][] = [];
        replies.forEach(([error, reply], j) => {
          const [index, call] = pending[j]!;
          if (error === null) results[index] = resultOf(reply);
          else if (!(error instanceof ReplyError)) throw error; // the connection, not the op
          else if (/^NOSCRIPT/.test(error.message) && !byEval) missing.push([index, call]);
          else results[index] = refuse(ops[index]!.key, error.message, error);
        });
        pending = missing;
        if (missing.length > 0) this.#loadScripts().catch(() => {/* EVAL works meanwhile */});
      }
      return results;
    });
  }

  journalVersion(key: string): Promise<number> {
    return this.#call("read", async () => {
      if (!wellFormed(key)) return 0;
      return await this.#client.llen(this.#journalKey(key));
    });
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#call("read", async () => {
      if (!wellFormed(key) || !(limit > 0)) return [];
      const start = Math.max(0, Math.floor(afterSeq));
      const stop = Number.isFinite(limit) ? start + Math.ceil(limit) - 1 : -1;
      const texts = await this.#client.lrange(this.#journalKey(key), start, stop);
      return texts.map((text, i) => ({ seq: start + i + 1, event: JSON.parse(text) as JsonValue }));
    });
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", () => this.#list("si", prefix, page));
  }

  journalKeys(prefix: string): Promise<string[]> {
    return this.#call("list", () => this.#list("ji", prefix));
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

  #encode(op: StoreOp): Call | OpResult {
    if (!wellFormed(op.key)) return refuse(op.key, "the key holds a lone surrogate");
    const expected = op.expectedVersion === null ? "" : String(op.expectedVersion);
    if (op.op === "delete") {
      return {
        script: "delete",
        keys: [this.#snapshotKey(op.key), this.#index("si")],
        args: [
          expected,
          op.key,
        ],
      };
    }
    if (op.op === "append") {
      const events = op.events.map(encode);
      if (events.includes(undefined)) return refuse(op.key, "an event is not JSON-serialisable");
      return {
        script: "append",
        keys: [this.#journalKey(op.key), this.#index("ji")],
        args: [String(op.expectedVersion), op.key, ...events as string[]],
      };
    }
    const json = encode(op.value);
    if (json === undefined) return refuse(op.key, "the value is not JSON-serialisable");
    return {
      script: "put",
      keys: [this.#snapshotKey(op.key), this.#index("si")],
      args: [expected, json, op.key],
    };
  }

  #index(name: "si" | "ji"): string {
    return `${this.#prefix}${name}`;
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
    const entries = Object.entries(SCRIPTS) as [ScriptName, string][];
    const shas = await Promise.all(
      entries.map(([, source]) => this.#client.script("LOAD", source) as Promise<string>),
    );
    entries.forEach(([name], i) => this.#shas.set(name, shas[i]!));
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
      if (e instanceof StoreError) throw e;
      const ambiguous = what === "commit" ? " (some of its operations may have been applied)" : "";
      throw new StoreError(
        `Redis at ${this.#where} failed a ${what}${ambiguous}: ${describe(e)}`,
        { cause: e },
      );
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

function resultOf(reply: unknown): OpResult {
  const [applied, version] = reply as [number, number];
  return applied === 1
    ? { ok: true, version }
    : { ok: false, conflict: true, actualVersion: version };
}

function parseSnapshot(text: string | null): Versioned | null {
  if (text === null) return null;
  const colon = text.indexOf(":");
  return { version: Number(text.slice(0, colon)), value: JSON.parse(text.slice(colon + 1)) };
}

function wellFormed(key: string): boolean {
  return key.isWellFormed();
}

function encode(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined; // a cycle or a BigInt
  }
}

function refuse(key: string, why: string, cause?: unknown): OpResult {
  const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
  return {
    ok: false,
    conflict: false,
    error: new StoreError(`Redis cannot store ${shown}: ${why}`, { cause }),
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
