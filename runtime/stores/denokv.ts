/**
 * A {@link StateStore} on Deno KV: SQLite on the local disk, shared safely by every handle and
 * process that opens the same file.
 *
 * Layout (values are JSON text, exactly what Redis would hold):
 * - `["s", key]`: a snapshot's head, `[version, json]`, or `[version, pieces]` when the JSON is
 *   longer than {@link CHUNK_CHARS} characters and lies in pieces at `["c", key, 0 … pieces-1]`,
 *   written by the same atomic operation as the head.
 * - `["jh", key]`: a journal's head, its event count (= its version); absent while empty.
 * - `["j", key, seq]`: a journal event, `seq` = 1, 2, … (events up to a trim are deleted).
 * - `["f", key]`: a fence record's token; `["fm", key, source]`: its positions (`KvU64`,
 *   raised with Deno KV's atomic `max`, so concurrent writers never conflict on them).
 *
 * Deno KV compare-and-set checks versionstamps, not version numbers, so the store remembers the
 * versionstamp of every head version it has seen (a bounded cache). A remembered versionstamp that
 * another handle has since outdated makes the check fail; the store then reads the head again and
 * decides afresh, so a stale memory costs a round trip, never a wrong answer.
 *
 * @module
 */
import { FencedError, StoreError, StoreRegressedError } from "../errors.ts";
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
import { behind, HeadCache, jitteredSleep, pool, refusal, skipped, toJson } from "./support.ts";

/**
 * Characters of JSON per stored piece. V8 stores a string at up to two bytes a character, so a
 * piece stays under Deno KV's 64 KiB value limit.
 */
export const CHUNK_CHARS = 30_000;

/** The most events one append may carry; a larger append gets an error result. */
export const MAX_APPEND_EVENTS = 500;

/**
 * The longest key, in UTF-8 bytes: Deno KV's 2 KiB key limit less room for the layout's own key
 * parts. Writing a longer key gets an error result; reading one finds nothing.
 */
export const MAX_KEY_BYTES = 2000;

// One atomic operation's budget, with margin under Deno KV's limits (100 checks, 1000 mutations,
// 800 KiB of keys and values, 80 KiB of keys). Sizes are estimates; an atomic that overshoots
// anyway is retried op by op, so a wrong estimate costs time, not correctness.
const BUDGET = { checks: 100, mutations: 1000, bytes: 700_000, keyBytes: 72_000 };
// Deno KV reads at most 10 keys per getMany.
const READ_BATCH = 10;
// Encoded bytes the layout adds around a user key (space tag, type tags, a sequence number),
// and that V8 adds around a stored value.
const OVERHEAD = 16;
// V8 stores a string with any character above U+00FF at two bytes per character.
const TWO_BYTE = /[\u0100-\uffff]/;
// How long to keep retrying while another connection to the file holds SQLite's write lock.
const LOCK_PATIENCE_MS = 10_000;

/** Options of {@link DenoKvStore}. */
export interface DenoKvStoreOptions {
  /** How many head versionstamps to remember (default 100 000); each saves a read per write. */
  readonly cacheSize?: number;
  /** How many atomic operations or reads one call keeps in flight (default 8). */
  readonly concurrency?: number;
}

/** A head version with the versionstamp that proves it. */
interface Head {
  readonly version: number;
  readonly versionstamp: string | null;
  /** Pieces of a chunked snapshot; 0 when inline, absent, or a journal. */
  readonly pieces: number;
}

const ABSENT: Head = { version: 0, versionstamp: null, pieces: 0 };

type SnapshotHead = [version: number, body: string | number];

/** An operation encoded for writing. */
interface Plan {
  readonly index: number;
  readonly op: StoreOp;
  readonly head: Deno.KvKey;
  /** JSON pieces of a put, or encoded events of an append. */
  readonly texts: readonly string[];
  readonly bytes: number;
  /** Estimated encoded size of one of its keys. */
  readonly keyBytes: number;
  /** A check on its head failed: read the head before trying again. */
  stale: boolean;
}

/** A plan against the head it expects, with what it costs in an atomic operation. */
interface Attempt {
  readonly plan: Plan;
  readonly head: Head;
  readonly mutations: number;
  readonly bytes: number;
  readonly keyBytes: number;
  /** The fence token's entry as read: checked in the same atomic operation. */
  readonly fence?: Deno.KvEntryMaybe<number> | null;
}

/** A fence as a batch read it: the token's entry, and whether it refuses its operations. */
interface FenceCheck {
  readonly entry: Deno.KvEntryMaybe<number>;
  readonly refusal: Error | null;
}

/**
 * A {@link StateStore} on Deno KV.
 *
 * Every operation is checked and applied atomically on its own key, also against other handles
 * and processes on the same file. A batch is split into as few atomic operations as Deno KV's
 * limits allow, committed concurrently: it is not atomic as a whole.
 *
 * Limits: keys up to {@link MAX_KEY_BYTES} UTF-8 bytes; a snapshot's JSON up to about 800 000
 * bytes as V8 stores it (one byte a character, two if any character is above U+00FF); an append
 * up to {@link MAX_APPEND_EVENTS} events, each event's JSON up to 64 KiB as V8 stores it, all
 * within one atomic operation (800 KiB; 80 KiB of keys). Operations beyond them get an error
 * result, not a rejection.
 */
export class DenoKvStore implements StateStore {
  readonly name = "denokv";
  readonly fencing = "atomic";
  #kv: Deno.Kv;
  #heads: HeadCache<Head>;
  #concurrency: number;
  #closed = false;
  /** The file, when opened by {@link open}. */
  #path: string | null = null;

  /** Opens (creating it and its directory if needed) the Deno KV database at `path`. */
  static async open(path: string, options?: DenoKvStoreOptions): Promise<DenoKvStore> {
    try {
      const dir = path.replace(/[\\/][^\\/]*$/, "");
      if (dir !== path && dir !== "") await Deno.mkdir(dir, { recursive: true });
      const store = new DenoKvStore(await Deno.openKv(path), options);
      store.#path = path;
      return store;
    } catch (e) {
      throw new StoreError(`cannot open Deno KV at ${path}`, { cause: e });
    }
  }

  /** Wraps an open Deno KV handle; {@link close} closes it. */
  constructor(kv: Deno.Kv, options: DenoKvStoreOptions = {}) {
    this.#kv = kv;
    this.#heads = new HeadCache(options.cacheSize ?? 100_000);
    this.#concurrency = Math.max(1, options.concurrency ?? 8);
  }

  async get(key: string): Promise<Versioned | null> {
    return (await this.getMany([key]))[0] ?? null;
  }

  getMany(keys: readonly string[]): Promise<(Versioned | null)[]> {
    return this.#call("read", async () => {
      const heads = await this.#readHeads(keys.filter(fits).map((k) => ["s", k]));
      const found = new Map(heads.map((e) => [e.key[1] as string, e]));
      return Promise.all(keys.map((key) => {
        const entry = found.get(key);
        return entry === undefined ? null : this.#snapshot(key, entry);
      }));
    });
  }

  async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    this.#assertOpen();
    assertDistinctKeys(ops);
    return await this.#call("commit", () => this.#commit(ops));
  }

  fence(
    key: string,
    token: number,
    marks: Readonly<Record<string, number>> = {},
  ): Promise<FenceRecord> {
    return this.#call("commit", () =>
      unlocked(async () => {
        for (;;) {
          const entry = await this.#kv.get<number>(["f", key]);
          const held = entry.value ?? 0;
          if (held > token) return { token: held, marks: await this.#marks(key) };
          const atomic = this.#kv.atomic().check(entry).set(["f", key], token);
          for (const [source, n] of Object.entries(marks)) {
            atomic.max(["fm", key, source], BigInt(Math.floor(n)));
          }
          if ((await atomic.commit()).ok) return { token, marks: await this.#marks(key) };
        }
      }));
  }

  journalVersion(key: string): Promise<number> {
    return this.#call("read", async () => {
      if (!fits(key)) return 0;
      const [entry] = await this.#readHeads([["jh", key]]);
      return headOf(entry!).version;
    });
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#call("read", () =>
      unlocked(async () => {
        const out: JournalEntry[] = [];
        if (!fits(key) || limit <= 0) return out;
        const start = ["j", key, Math.max(0, Math.floor(afterSeq)) + 1];
        const list = this.#kv.list<string>(
          { prefix: ["j", key], start },
          { limit: Number.isFinite(limit) ? Math.ceil(limit) : undefined },
        );
        for await (const { key: k, value } of list) {
          out.push({ seq: k[2] as number, event: JSON.parse(value) as JsonValue });
        }
        return out;
      }));
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", () => unlocked(() => this.#list("s", prefix, page)));
  }

  journalKeys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", () => unlocked(() => this.#list("jh", prefix, page)));
  }

  /**
   * Durable: a SQLite file on this machine, written before a commit is acknowledged, survives
   * a crash of the process (not a lost disk). Deno KV in memory (`:memory:`) is not.
   */
  durability(): Promise<StoreDurability> {
    const durable = this.#path !== ":memory:";
    return Promise.resolve({
      durable,
      detail: durable
        ? `Deno KV file ${this.#path ?? "(an open handle)"}: SQLite on this machine's disk`
        : "Deno KV in memory: nothing outlives the process",
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#heads.clear();
      this.#kv.close();
    }
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("the Deno KV store is closed");
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await run();
    } catch (e) {
      throw e instanceof StoreError ? e : new StoreError(`Deno KV ${what} failed`, { cause: e });
    }
  }

  /** A fence record's positions. */
  async #marks(key: string): Promise<Record<string, number>> {
    const marks: Record<string, number> = {};
    for await (const e of this.#kv.list<Deno.KvU64>({ prefix: ["fm", key] })) {
      marks[e.key[2] as string] = Number(e.value.value);
    }
    return marks;
  }

  /**
   * Reads the fences of a batch: the token's entry (checked again by every atomic operation that
   * writes under it) and, for fences that say what they know, the positions held. A fence whose
   * record holds a newer token, or older positions, refuses its operations.
   */
  async #fences(ops: readonly StoreOp[]): Promise<Map<Fence, FenceCheck>> {
    const fences = new Map<Fence, FenceCheck>();
    for (const op of ops) {
      const fence = op.fence;
      if (fence === undefined || fences.has(fence)) continue;
      const entry = await this.#kv.get<number>(["f", fence.key]);
      const held = entry.value ?? 0;
      let refusal: Error | null = null;
      if (held > fence.token) refusal = new FencedError(fence.key, fence.token, held);
      else if (fence.known !== undefined) {
        const marks = await this.#marks(fence.key);
        if (behind(marks, fence.known)) {
          refusal = new StoreRegressedError(fence.key, marks, fence.known);
        }
      }
      fences.set(fence, { entry, refusal });
    }
    return fences;
  }

  async #commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    const results: OpResult[] = new Array(ops.length);
    let pending: Plan[] = [];
    const trims: Plan[] = [];
    ops.forEach((op, index) => {
      const plan = prepare(op, index);
      if ("ok" in plan) results[index] = plan;
      else if (op.op === "trim") trims.push(plan);
      else pending.push(plan);
    });
    while (pending.length > 0) {
      const fences = await unlocked(() => this.#fences(pending.map((p) => p.op)));
      const heads = await this.#headsFor(pending);
      const attempts: Attempt[] = [];
      pending.forEach((plan, i) => {
        const head = heads[i]!;
        const op = plan.op;
        const fence = op.fence === undefined ? undefined : fences.get(op.fence);
        const anchor = op.onlyIf === undefined ? null : results[op.onlyIf];
        if (fence?.refusal) {
          results[plan.index] = { ok: false, conflict: false, error: fence.refusal };
        } else if (anchor !== null && anchor !== undefined && !anchor.ok) {
          results[plan.index] = skipped(op.key, op.onlyIf!);
        } else if (expectedOf(op) !== null && expectedOf(op) !== head.version) {
          // #headsFor read every head that disagrees with its op, so this conflict is current.
          results[plan.index] = { ok: false, conflict: true, actualVersion: head.version };
        } else {
          attempts.push({ ...cost(plan, head), fence: fence?.entry ?? null });
        }
      });
      // Dependents whose anchor was refused above never go out.
      const sent = attempts.filter((a) => {
        const dep = a.plan.op.onlyIf;
        if (dep === undefined || results[dep] === undefined || results[dep]!.ok) return true;
        results[a.plan.index] = skipped(a.plan.op.key, dep);
        return false;
      });
      const retry = await pool(pack(sent), this.#concurrency, (b) => this.#apply(b, results));
      pending = retry.flat();
    }
    for (const plan of trims) results[plan.index] = await this.#trim(plan, results);
    return results;
  }

  /**
   * Deletes a journal's events up to `through`, a few hundred per atomic operation (under the
   * fence, if any: each checks its token again). Old events are never written again, so nothing
   * else needs checking.
   */
  async #trim(plan: Plan, results: readonly OpResult[]): Promise<OpResult> {
    const op = plan.op as StoreOp & { op: "trim" };
    if (op.onlyIf !== undefined && !results[op.onlyIf]?.ok) return skipped(op.key, op.onlyIf);
    return await unlocked(async () => {
      const fence = op.fence === undefined ? null : (await this.#fences([op])).get(op.fence)!;
      if (fence?.refusal) return { ok: false, conflict: false, error: fence.refusal };
      const head = headOf((await this.#readHeads([["jh", op.key]]))[0]!);
      const end = ["j", op.key, Math.min(op.through, head.version) + 1];
      let keys: Deno.KvKey[] = [];
      const flush = async () => {
        const atomic = this.#kv.atomic();
        if (fence !== null) atomic.check(fence.entry);
        for (const k of keys) atomic.delete(k);
        keys = [];
        const done = await atomic.commit();
        if (!done.ok) throw new StoreError(`the fence of ${JSON.stringify(op.key)} moved`);
      };
      for await (const e of this.#kv.list({ start: ["j", op.key, 1], end })) {
        keys.push(e.key);
        if (keys.length === 500) await flush();
      }
      if (keys.length > 0) await flush();
      return { ok: true, version: head.version };
    });
  }

  /**
   * The head each plan should be checked against: remembered when it agrees with the op, read
   * when it does not (so a conflict is decided on a fresh read), and for a create of a key never
   * seen, guessed absent: the check proves or refutes the guess without a read.
   */
  async #headsFor(plans: readonly Plan[]): Promise<Head[]> {
    const heads = plans.map((plan): Head | undefined => {
      if (plan.stale) return undefined;
      const known = this.#heads.get(idOf(plan.head));
      const expected = expectedOf(plan.op);
      if (known === undefined) return expected === 0 ? ABSENT : undefined;
      return expected === null || expected === known.version ? known : undefined;
    });
    const unknown = plans.filter((_, i) => heads[i] === undefined);
    const read = await this.#readHeads(unknown.map((plan) => plan.head));
    for (const plan of unknown) plan.stale = false;
    let next = 0;
    return heads.map((head) => head ?? headOf(read[next++]!));
  }

  /** Commits one atomic operation; returns the plans to try again. */
  async #apply(batch: readonly Attempt[], results: OpResult[]): Promise<Plan[]> {
    let outcome: Deno.KvCommitResult | Deno.KvCommitError;
    try {
      outcome = await unlocked(() => {
        const atomic = this.#kv.atomic();
        for (const attempt of batch) write(atomic, attempt);
        return atomic.commit();
      });
    } catch (e) {
      // Op by op, only the op that breaks a limit is refused.
      if (!isLimit(e)) throw e;
      if (batch.length > 1) {
        return (await pool(batch, this.#concurrency, (a) => this.#apply([a], results))).flat();
      }
      const { plan } = batch[0]!;
      results[plan.index] = refuse(plan.op.key, e.message, e);
      return [];
    }
    if (!outcome.ok) {
      // A head moved since it was seen: another handle or process wrote. Read, then decide again.
      for (const { plan } of batch) plan.stale = true;
      return batch.map((a) => a.plan);
    }
    for (const attempt of batch) {
      const [result, head] = applied(attempt, outcome.versionstamp);
      results[attempt.plan.index] = result;
      this.#learn(attempt.plan.head, head);
    }
    return [];
  }

  /** Assembles a snapshot from its head, reading its pieces if it has any. */
  async #snapshot(key: string, entry: Deno.KvEntryMaybe<unknown>): Promise<Versioned | null> {
    for (;;) {
      if (entry.versionstamp === null) return null;
      const [version, body] = entry.value as SnapshotHead;
      if (typeof body === "string") return { version, value: JSON.parse(body) as JsonValue };
      const pieces = await this.#read(Array.from({ length: body }, (_, i) => ["c", key, i]));
      // The pieces of this version carry its head's versionstamp; any other is a later write's,
      // so the read raced a writer: read the head again.
      if (pieces.every((p) => p.versionstamp === entry.versionstamp)) {
        return { version, value: JSON.parse(pieces.map((p) => p.value).join("")) as JsonValue };
      }
      entry = (await this.#readHeads([["s", key]]))[0]!;
    }
  }

  async #list(space: "s" | "jh", prefix: string, page: KeyPage = {}): Promise<string[]> {
    const out: string[] = [];
    if (!fits(prefix)) return out;
    const { after, limit = Infinity } = page;
    const from = after !== undefined && after > prefix ? after : prefix;
    // Keys sharing a prefix are contiguous in Deno KV's order: start at it, stop past it.
    for await (const entry of this.#kv.list({ prefix: [space], start: [space, from] })) {
      const key = entry.key[1] as string;
      if (!key.startsWith(prefix)) break;
      if (after !== undefined && key <= after) continue;
      if (out.length >= limit) break;
      out.push(key);
    }
    // Deno KV orders by UTF-8 bytes (code points); JavaScript by UTF-16 code units. They differ
    // only between astral characters and U+E000–U+FFFF, which a page may then split unevenly.
    return out.sort();
  }

  async #read(keys: readonly Deno.KvKey[]): Promise<Deno.KvEntryMaybe<unknown>[]> {
    const groups: Deno.KvKey[][] = [];
    for (let i = 0; i < keys.length; i += READ_BATCH) groups.push(keys.slice(i, i + READ_BATCH));
    const read = await pool(
      groups,
      this.#concurrency,
      (g) => unlocked(() => this.#kv.getMany<unknown[]>(g)),
    );
    return read.flat();
  }

  async #readHeads(keys: readonly Deno.KvKey[]): Promise<Deno.KvEntryMaybe<unknown>[]> {
    const entries = await this.#read(keys);
    for (const entry of entries) this.#learn(entry.key, headOf(entry));
    return entries;
  }

  #learn(key: Deno.KvKey, head: Head): void {
    this.#heads.learn(idOf(key), head);
  }
}

/**
 * Runs `run` again while SQLite reports the file locked: a transaction that read (a check) and
 * then finds another connection has written since fails at once, whatever SQLite's busy timeout,
 * and applied nothing.
 */
async function unlocked<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_PATIENCE_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!isLocked(e) || Date.now() > deadline) throw e;
      await jitteredSleep(attempt, 50);
    }
  }
}

function isLocked(e: unknown): boolean {
  return e instanceof Error && /database is locked|busy/i.test(e.message);
}

/** Whether Deno KV refused an atomic operation for breaking one of its size or count limits. */
function isLimit(e: unknown): e is TypeError {
  return e instanceof TypeError && /too (large|many)/i.test(e.message);
}

function idOf(head: Deno.KvKey): string {
  return `${String(head[0])}:${String(head[1])}`;
}

function fits(key: string): boolean {
  return key.length * 3 <= MAX_KEY_BYTES || keySize(key) <= MAX_KEY_BYTES;
}

/** A key's size as Deno KV encodes it: UTF-8, with each NUL escaped to two bytes. */
function keySize(key: string): number {
  return utf8.encode(key.replaceAll("\0", "\0\0")).length;
}

const utf8 = new TextEncoder();

function headOf(entry: Deno.KvEntryMaybe<unknown>): Head {
  const { value, versionstamp } = entry;
  if (versionstamp === null) return ABSENT;
  if (typeof value === "number") return { version: value, versionstamp, pieces: 0 };
  const [version, body] = value as SnapshotHead;
  return { version, versionstamp, pieces: typeof body === "number" ? body : 0 };
}

function textBytes(text: string): number {
  return text.length * (TWO_BYTE.test(text) ? 2 : 1) + OVERHEAD;
}

/** Splits JSON into pieces of at most {@link CHUNK_CHARS}, never inside a surrogate pair. */
function split(json: string): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < json.length;) {
    let end = Math.min(at + CHUNK_CHARS, json.length);
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end--;
    pieces.push(json.slice(at, end));
    at = end;
  }
  return pieces;
}

function refuse(key: string, why: string, cause?: unknown): OpResult {
  return refusal("Deno KV", key, why, cause);
}

function prepare(op: StoreOp, index: number): Plan | OpResult {
  if (!fits(op.key)) return refuse(op.key, `the key is longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  const keyBytes = keySize(op.key) + OVERHEAD;
  const plan = { index, op, keyBytes, stale: false };
  if (op.op === "delete") return { ...plan, head: ["s", op.key], texts: [], bytes: 0 };
  if (op.op === "trim") return { ...plan, head: ["jh", op.key], texts: [], bytes: 0 };
  if (op.op === "append") {
    if (op.events.length > MAX_APPEND_EVENTS) {
      return refuse(op.key, `an append carries at most ${MAX_APPEND_EVENTS} events`);
    }
    const events = op.events.map(toJson);
    if (events.includes(undefined)) return refuse(op.key, "an event is not JSON-serialisable");
    const texts = events as string[];
    const bytes = texts.reduce((sum, text) => sum + textBytes(text), 0);
    return { ...plan, head: ["jh", op.key], texts, bytes };
  }
  const json = toJson(op.value);
  if (json === undefined) return refuse(op.key, "the value is not JSON-serialisable");
  const texts = split(json);
  return { ...plan, head: ["s", op.key], texts, bytes: textBytes(json) + texts.length * OVERHEAD };
}

/** The version an operation expects (`null`: any; a trim expects none). */
function expectedOf(op: StoreOp): number | null {
  return op.op === "trim" ? null : op.expectedVersion;
}

/** Pieces a put leaves stored: none when its JSON fits the head. */
function piecesOf(plan: Plan): number {
  return plan.op.op === "put" && plan.texts.length > 1 ? plan.texts.length : 0;
}

function cost(plan: Plan, head: Head): Attempt {
  const mutations = plan.op.op === "append"
    ? plan.texts.length + (plan.texts.length > 0 ? 1 : 0)
    : 1 + Math.max(piecesOf(plan), head.pieces);
  return {
    plan,
    head,
    mutations,
    bytes: plan.bytes + mutations * plan.keyBytes,
    keyBytes: (mutations + 1) * plan.keyBytes,
  };
}

/** Groups attempts, in order, into as few atomic operations as {@link BUDGET} allows. */
function pack(attempts: readonly Attempt[]): Attempt[][] {
  const batches: Attempt[][] = [];
  let batch: Attempt[] = [];
  let mutations = 0, bytes = 0, keyBytes = 0;
  for (const a of attempts) {
    // An operation that depends on another rides in its atomic operation.
    if (
      batch.length > 0 && a.plan.op.onlyIf === undefined && (batch.length === BUDGET.checks ||
        mutations + a.mutations > BUDGET.mutations || bytes + a.bytes > BUDGET.bytes ||
        keyBytes + a.keyBytes > BUDGET.keyBytes)
    ) {
      batches.push(batch);
      batch = [];
      mutations = bytes = keyBytes = 0;
    }
    batch.push(a);
    mutations += a.mutations;
    bytes += a.bytes;
    keyBytes += a.keyBytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Adds an attempt's check and mutations to an atomic operation. */
function write(atomic: Deno.AtomicOperation, { plan, head, fence }: Attempt): void {
  const { op, texts } = plan;
  atomic.check({ key: plan.head, versionstamp: head.versionstamp });
  if (fence) {
    atomic.check(fence);
    for (const [source, position] of Object.entries(op.fence!.marks ?? {})) {
      atomic.max(["fm", op.fence!.key, source], BigInt(Math.floor(position)));
    }
  }
  if (op.op === "trim") return; // trims go through #trim
  if (op.op === "append") {
    texts.forEach((event, i) => atomic.set(["j", op.key, op.expectedVersion + i + 1], event));
    if (texts.length > 0) atomic.set(plan.head, op.expectedVersion + texts.length);
    return;
  }
  const pieces = piecesOf(plan);
  if (op.op === "put") {
    const body: SnapshotHead[1] = pieces === 0 ? texts[0]! : pieces;
    atomic.set(plan.head, [head.version + 1, body] satisfies SnapshotHead);
    for (let i = 0; i < pieces; i++) atomic.set(["c", op.key, i], texts[i]!);
  } else {
    atomic.delete(plan.head);
  }
  // Pieces of the old version beyond the new one's would be garbage nobody reads again.
  for (let i = pieces; i < head.pieces; i++) atomic.delete(["c", op.key, i]);
}

/** An applied attempt's result, and the head it left. */
function applied({ plan, head }: Attempt, versionstamp: string): [OpResult, Head] {
  const { op, texts } = plan;
  if (op.op === "delete") return [{ ok: true, version: 0 }, ABSENT];
  if (op.op === "append") {
    const version = op.expectedVersion + texts.length;
    return [{ ok: true, version }, texts.length > 0 ? { version, versionstamp, pieces: 0 } : head];
  }
  const version = head.version + 1;
  return [{ ok: true, version }, { version, versionstamp, pieces: piecesOf(plan) }];
}
