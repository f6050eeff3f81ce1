/**
 * A {@link StateStore} on NATS JetStream KV: one bucket (default `FLOTILLA`; history 1, file
 * storage, replicas configurable) per store; how keys and values lie in the bucket is in
 * natskv_layout.ts.
 *
 * Compare-and-set: KV checks a key's revision (the stream sequence of its last write), not the
 * store's version, which lives in the value. The store remembers the revision of every head
 * version it has seen (a bounded cache, like denokv.ts with versionstamps); a write checks
 * the remembered revision, and when the check fails (another handle wrote) it reads the head
 * again and decides afresh — a stale memory costs a round trip, never a wrong answer. Conflicts
 * are only ever reported from a fresh read.
 *
 * Journals: an append writes its events, then compare-and-sets the head from `<base>` to the
 * new count; the head write is the commit point and readers read only up to the head, so events
 * past the head are garbage the next append overwrites. Each event carries its append's
 * `<base>`, which keeps two appends from overwriting each other's events:
 * - an existing event with a smaller base belongs to an append that can no longer commit (the
 *   head has moved past its base) — it is garbage and is overwritten (by revision);
 * - an event with the same base belongs to a rival append on the same head: the first event
 *   (`seq = version + 1`) is the claim, only one append can write it. The other waits for the
 *   head to move (then reports a conflict, or retries if the rival died); a rival that never
 *   commits is fenced off after {@link NatsKvStoreOptions.claimPatienceMs} by rewriting the head
 *   with the same count (a new revision), which makes the rival's commit fail;
 * - an event with a larger base means this append's head is stale: it reads the head again.
 *
 * Limits: keys up to {@link MAX_ENCODED_KEY} encoded characters and well-formed UTF-16; a value
 * of any size (pieces of the bucket's value size); an append up to {@link MAX_APPEND_EVENTS}
 * events, each event within one KV value. Beyond, an error result. Listing keys reads every
 * snapshot (or journal) key of the bucket: O(keys in the bucket), not O(page).
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import { describeError, FencedError, StoreError, StoreRegressedError } from "../errors.ts";
import {
  assertDistinctKeys,
  type Fence,
  type FenceRecord,
  type JournalEntry,
  type JsonValue,
  type KeyPage,
  type OpResult,
  pageOf,
  type StateStore,
  type StoreOp,
  type Versioned,
} from "../store.ts";
import {
  ABSENT,
  decodeKey,
  encodeKey,
  type Head,
  headOf,
  MAX_APPEND_EVENTS,
  MAX_ENCODED_KEY,
  type Plan,
  prepare,
  refuse,
} from "./natskv_layout.ts";
import type { StoreDurability } from "../durability.ts";
import { behind, callFailed, HeadCache, jitteredSleep, pool, skipped } from "./support.ts";

export { decodeKey, encodeKey, MAX_APPEND_EVENTS, MAX_ENCODED_KEY };

const utf8 = new TextEncoder();

/**
 * Whether a JetStream KV bucket keeps acknowledged writes: in memory storage it does not (a
 * nats-server restart loses the bucket); in file storage it does, and with one replica the
 * detail says what that costs (one server's disk holds the only copy, and nats-server syncs
 * file storage to disk every two minutes by default — `sync_interval` — so a crash of its
 * machine may lose writes of that time, with the streams' messages beside them).
 */
export function natsKvDurability(
  { bucket, storage, replicas }: { bucket: string; storage: string; replicas: number },
): StoreDurability {
  if (storage !== StorageType.File) {
    return {
      durable: false,
      detail:
        `JetStream KV bucket ${bucket} is in ${storage} storage: a nats-server restart loses it`,
    };
  }
  return {
    durable: true,
    detail: replicas > 1
      ? `JetStream KV bucket ${bucket}: file storage, ${replicas} replicas`
      : `JetStream KV bucket ${bucket}: file storage, 1 replica (the only copy is on one ` +
        "server's disk; nats-server syncs it every 2 minutes unless sync_interval says otherwise, " +
        "so a crash of that machine may lose that much): FLOTILLA_STREAM_REPLICAS=3 on a 3-server cluster",
  };
}

/** Options of {@link NatsKvStore.connect}. */
export interface NatsKvStoreOptions {
  /** The KV bucket (created if missing). @default "FLOTILLA" */
  readonly bucket?: string;
  /** Replicas of the bucket's stream when the store creates it (1, 3 or 5). @default 1 */
  readonly replicas?: number;
  /** Storage of the bucket when the store creates it. @default "file" */
  readonly storage?: "file" | "memory";
  /**
   * The bucket's largest value in bytes when the store creates it; larger snapshots are stored
   * in pieces of this size. Capped by the server's `max_payload`. @default 1048576
   */
  readonly maxValueBytes?: number;
  /** Operations (and reads) of one call in flight at once. @default 100 */
  readonly concurrency?: number;
  /** How many head revisions to remember; each saves a read per write. @default 100000 */
  readonly cacheSize?: number;
  /** JetStream request timeout; a call waiting longer fails with StoreError. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * How long an append waits for a rival append on the same head to commit before fencing it
   * off (a rival whose process died mid-append). @default 2000
   */
  readonly claimPatienceMs?: number;
}

/** The KV subject of a fence record. */
function fenceSubject(key: string): string {
  return `f.${encodeKey(key) ?? "="}`;
}

/** A fence record as stored (`{token, marks}` JSON), or the empty record. */
function recordOf(entry: KvEntry | null): FenceRecord {
  if (entry === null || entry.operation !== "PUT") return { token: 0, marks: {} };
  return JSON.parse(entry.string()) as FenceRecord;
}

/** What writing one event found. */
type EventWrite = "written" | "taken" | "stale";

/** A write the server refused because the key's revision was not the expected one. */
function isWrongRevision(e: unknown): boolean {
  return e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/**
 * A {@link StateStore} on a NATS JetStream KV bucket. Open it with {@link NatsKvStore.connect}.
 *
 * Every operation is checked and applied atomically on its own key, also against other handles
 * and processes on the same bucket. The operations of a batch run concurrently (up to
 * `concurrency` at once): a batch is not atomic as a whole.
 *
 * @example
 * ```ts
 * const store = await NatsKvStore.connect("nats://127.0.0.1:4222", { bucket: "APP" });
 * await store.commit([{ op: "put", key: "k", value: 1, expectedVersion: 0 }]);
 * await store.close();
 * ```
 */
export class NatsKvStore implements StateStore {
  readonly name = "natskv";
  readonly fencing = "checked";
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  readonly #bucket: string;
  readonly #pieceBytes: number;
  readonly #concurrency: number;
  readonly #patience: number;
  readonly #heads: HeadCache<Head>;
  #closed = false;

  /**
   * Connects to NATS (a URL, or a connection the caller owns and closes) and opens the bucket,
   * creating it if missing. Rejects with a {@link StoreError} when NATS or JetStream cannot be
   * reached.
   */
  static async connect(
    natsUrlOrConnection: string | NatsConnection,
    options: NatsKvStoreOptions = {},
  ): Promise<NatsKvStore> {
    const owned = typeof natsUrlOrConnection === "string";
    const where = owned ? natsUrlOrConnection : "the given connection";
    let nc: NatsConnection | undefined;
    try {
      nc = owned
        ? await connect({
          servers: natsUrlOrConnection,
          name: "flotilla-store",
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          timeout: options.timeoutMs ?? 5000,
        })
        : natsUrlOrConnection;
      const timeout = options.timeoutMs ?? 5000;
      const js = jetstream(nc, { timeout });
      const jsm = await jetstreamManager(nc, { timeout });
      const bucket = options.bucket ?? "FLOTILLA";
      const replicas = options.replicas ?? 1;
      const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
      const kv = await new Kvm(js).create(bucket, {
        history: 1,
        replicas,
        storage: options.storage === "memory" ? StorageType.Memory : StorageType.File,
        maxValueSize: Math.min(options.maxValueBytes ?? 1024 * 1024, maxPayload),
        // Direct gets may be answered by a lagging replica: only with one replica.
        allow_direct: replicas === 1,
        timeout,
      });
      const status = await kv.status();
      const limit = status.maxValueSize > 0 ? status.maxValueSize : maxPayload;
      // Room for the head's version and the message's headers.
      const pieceBytes = Math.min(limit, maxPayload) - 1024;
      return new NatsKvStore(nc, owned, kv, jsm, bucket, pieceBytes, options);
    } catch (e) {
      if (owned) await nc?.close().catch(() => {});
      throw new StoreError(
        `cannot open the JetStream KV bucket at ${where}: ${describeError(e)}; is nats-server ` +
          "running with JetStream enabled?",
        { cause: e },
      );
    }
  }

  private constructor(
    nc: NatsConnection,
    owned: boolean,
    kv: KV,
    jsm: JetStreamManager,
    bucket: string,
    pieceBytes: number,
    options: NatsKvStoreOptions,
  ) {
    this.#nc = nc;
    this.#owned = owned;
    this.#kv = kv;
    this.#jsm = jsm;
    this.#bucket = bucket;
    this.#pieceBytes = pieceBytes;
    this.#concurrency = Math.max(1, options.concurrency ?? 100);
    this.#heads = new HeadCache(options.cacheSize ?? 100_000);
    this.#patience = options.claimPatienceMs ?? 2000;
  }

  async get(key: string): Promise<Versioned | null> {
    return (await this.getMany([key]))[0] ?? null;
  }

  getMany(keys: readonly string[]): Promise<(Versioned | null)[]> {
    return this.#call("read", () => pool(keys, this.#concurrency, (key) => this.#read(key)));
  }

  async commit(ops: readonly StoreOp[]): Promise<OpResult[]> {
    this.#assertOpen();
    assertDistinctKeys(ops);
    // Every value is serialised here, before the first await: the caller may reuse its objects.
    const plans = ops.map((op) => prepare(op, this.#pieceBytes));
    return await this.#call("commit", async () => {
      // Fences are checked before the writes, not with them: JetStream KV (before nats-server
      // 2.12's atomic batches) writes one key at a time (`fencing = "checked"`).
      const verdicts = new Map<Fence, Error | null>();
      for (const op of ops) {
        if (op.fence !== undefined && !verdicts.has(op.fence)) {
          verdicts.set(op.fence, await this.#checkFence(op.fence));
        }
      }
      const results: OpResult[] = new Array(ops.length);
      const one = async (plan: Plan | OpResult, i: number): Promise<OpResult> => {
        if ("ok" in plan) return plan;
        const op = ops[i]!;
        const refusal = op.fence === undefined ? null : verdicts.get(op.fence)!;
        if (refusal !== null) return { ok: false, conflict: false, error: refusal };
        if (op.onlyIf !== undefined && !results[op.onlyIf]?.ok) return skipped(op.key, op.onlyIf);
        try {
          return await this.#apply(plan);
        } catch (e) {
          // The server refused this op (a size limit, say), not the connection.
          if (e instanceof JetStreamApiError && !isWrongRevision(e)) {
            return refuse(plan.op.key, e.message, e);
          }
          throw e;
        }
      };
      // Independent operations at once; those that depend on another after it.
      const first = plans.map((_, i) => i).filter((i) => ops[i]!.onlyIf === undefined);
      await pool(first, this.#concurrency, async (i) => {
        results[i] = await one(plans[i]!, i);
      });
      for (let i = 0; i < ops.length; i++) {
        if (ops[i]!.onlyIf !== undefined) results[i] = await one(plans[i]!, i);
      }
      for (const [fence, refusal] of verdicts) if (refusal === null) await this.#mark(fence);
      return results;
    });
  }

  fence(
    key: string,
    token: number,
    marks: Readonly<Record<string, number>> = {},
  ): Promise<FenceRecord> {
    return this.#call("commit", async () => {
      const subject = fenceSubject(key);
      for (;;) {
        const entry = await this.#kv.get(subject);
        const record = recordOf(entry);
        if (record.token > token) return record;
        const merged: Record<string, number> = { ...record.marks };
        for (const [source, n] of Object.entries(marks)) {
          merged[source] = Math.max(merged[source] ?? 0, n);
        }
        const raised = { token, marks: merged };
        try {
          await this.#kv.put(subject, JSON.stringify(raised), {
            previousSeq: entry?.revision ?? 0,
          });
          return raised;
        } catch (e) {
          if (!isWrongRevision(e)) throw e;
        }
      }
    });
  }

  /** Whether a fence refuses its operations: a newer token, or positions gone back. */
  async #checkFence(fence: Fence): Promise<Error | null> {
    const record = recordOf(await this.#kv.get(fenceSubject(fence.key)));
    if (record.token > fence.token) return new FencedError(fence.key, fence.token, record.token);
    if (behind(record.marks, fence.known)) {
      return new StoreRegressedError(fence.key, record.marks, fence.known!);
    }
    return null;
  }

  /** Raises a fence record's positions to the fence's marks (by maximum). */
  async #mark(fence: Fence): Promise<void> {
    if (fence.marks === undefined || Object.keys(fence.marks).length === 0) return;
    const subject = fenceSubject(fence.key);
    for (let attempt = 0;; attempt++) {
      const entry = await this.#kv.get(subject);
      const record = recordOf(entry);
      const marks: Record<string, number> = { ...record.marks };
      let changed = false;
      for (const [source, n] of Object.entries(fence.marks)) {
        if ((marks[source] ?? 0) < n) {
          marks[source] = n;
          changed = true;
        }
      }
      if (!changed) return;
      try {
        await this.#kv.put(subject, JSON.stringify({ token: record.token, marks }), {
          previousSeq: entry?.revision ?? 0,
        });
        return;
      } catch (e) {
        if (!isWrongRevision(e)) throw e;
        await jitteredSleep(attempt, 50);
      }
    }
  }

  journalVersion(key: string): Promise<number> {
    return this.#call("read", async () => {
      const k = encodeKey(key);
      return k === undefined ? 0 : (await this.#readHead(`h.${k}`)).version;
    });
  }

  readJournal(key: string, afterSeq: number, limit = Infinity): Promise<JournalEntry[]> {
    return this.#call("read", async () => {
      const k = encodeKey(key);
      if (k === undefined || !(limit > 0)) return [];
      const [{ version }, trimmed] = await Promise.all([
        this.#readHead(`h.${k}`),
        this.#trimmed(k),
      ]);
      const from = Math.max(trimmed, Math.floor(afterSeq)) + 1;
      const to = Math.min(version, Number.isFinite(limit) ? from + Math.ceil(limit) - 1 : version);
      const seqs = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
      return await pool(seqs, this.#concurrency, async (seq) => {
        const entry = await this.#kv.get(`j.${k}.${seq}`);
        if (entry === null || entry.operation !== "PUT") {
          throw new StoreError(`event ${seq} of journal ${JSON.stringify(key)} is missing`);
        }
        const text = entry.string();
        return { seq, event: JSON.parse(text.slice(text.indexOf("\n") + 1)) as JsonValue };
      });
    });
  }

  keys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", async () => pageOf(await this.#list("s", prefix), page));
  }

  journalKeys(prefix: string, page?: KeyPage): Promise<string[]> {
    return this.#call("list", async () => pageOf(await this.#list("h", prefix), page));
  }

  /**
   * The bucket's storage and replicas, as nats-server reports them (see
   * {@link natsKvDurability}).
   */
  durability(): Promise<StoreDurability> {
    return this.#call("read", async () => {
      const status = await this.#kv.status();
      return natsKvDurability({
        bucket: this.#bucket,
        storage: status.streamInfo.config.storage,
        replicas: status.replicas,
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#heads.clear();
    if (this.#owned) await this.#nc.close().catch(() => {});
  }

  // ------------------------------------------------------------ snapshots

  async #read(key: string): Promise<Versioned | null> {
    const k = encodeKey(key);
    if (k === undefined) return null;
    for (;;) {
      const entry = await this.#kv.get(`s.${k}`);
      const head = this.#learnEntry(`s.${k}`, entry);
      if (head.version === 0) return null;
      const text = entry!.string();
      const body = text.slice(text.indexOf("\n") + 1);
      if (head.pieces === undefined) return { version: head.version, value: JSON.parse(body) };
      const { id, count } = head.pieces;
      const pieces = await Promise.all(
        Array.from({ length: count }, (_, i) => this.#kv.get(`c.${k}.${id}.${i}`)),
      );
      // A later write replaced this version and purged its pieces: read the head again.
      if (pieces.some((p) => p === null || p.operation !== "PUT")) continue;
      const json = new TextDecoder().decode(concat(pieces.map((p) => p!.value)));
      return { version: head.version, value: JSON.parse(json) };
    }
  }

  #apply(plan: Plan): Promise<OpResult> {
    const { op, k, texts } = plan;
    if (op.op === "trim") return this.#trim(k, op.through);
    if (op.op === "append") return this.#append(k, texts, op.expectedVersion);
    if (op.op === "delete") return this.#delete(k, op.expectedVersion);
    return this.#put(k, texts[0]!, op.expectedVersion);
  }

  async #put(k: string, json: string, expected: number | null): Promise<OpResult> {
    const subject = `s.${k}`;
    const bytes = utf8.encode(json);
    let pieces: Head["pieces"];
    if (bytes.length > this.#pieceBytes) {
      pieces = { id: randomId(), count: Math.ceil(bytes.length / this.#pieceBytes) };
    }
    let written = false;
    return await this.#untilDecided(subject, expected, async (head) => {
      if (expected !== null && expected !== head.version) {
        // A remembered head is checked by the write; a conflict is decided on a fresh read.
        if (pieces !== undefined && written) await this.#purgePieces(k, pieces.id);
        return { ok: false, conflict: true, actualVersion: head.version };
      }
      if (pieces !== undefined && !written) {
        await this.#writePieces(k, pieces.id, bytes);
        written = true;
      }
      const version = head.version + 1;
      const body = pieces === undefined ? json : `*${pieces.id}:${pieces.count}`;
      const revision = await this.#kv.put(subject, `${version}\n${body}`, {
        previousSeq: head.revision,
      });
      this.#heads.learn(subject, { version, revision, pieces });
      if (head.pieces !== undefined) await this.#purgePieces(k, head.pieces.id);
      return { ok: true, version };
    });
  }

  async #delete(k: string, expected: number | null): Promise<OpResult> {
    const subject = `s.${k}`;
    return await this.#untilDecided(subject, expected, async (head, fresh) => {
      if (expected !== null && expected !== head.version) {
        return { ok: false, conflict: true, actualVersion: head.version };
      }
      if (head.version === 0) {
        // Deleting nothing writes nothing, so "nothing" must come from a fresh read.
        return fresh ? { ok: true, version: 0 } : undefined;
      }
      await this.#kv.delete(subject, { previousSeq: head.revision });
      // The delete marker's revision is not returned: the next write reads it.
      this.#heads.forget(subject);
      if (head.pieces !== undefined) await this.#purgePieces(k, head.pieces.id);
      return { ok: true, version: 0 };
    });
  }

  async #writePieces(k: string, id: string, bytes: Uint8Array): Promise<void> {
    const starts: number[] = [];
    for (let at = 0; at < bytes.length; at += this.#pieceBytes) starts.push(at);
    await pool(starts, 8, async (at) => {
      const i = at / this.#pieceBytes;
      await this.#kv.put(`c.${k}.${id}.${i}`, bytes.subarray(at, at + this.#pieceBytes));
    });
  }

  /** Removes a version's pieces without leaving delete markers; a failure leaves garbage only. */
  async #purgePieces(k: string, id: string): Promise<void> {
    try {
      await this.#jsm.streams.purge(`KV_${this.#bucket}`, {
        filter: `$KV.${this.#bucket}.c.${k}.${id}.>`,
      });
    } catch { /* unreferenced pieces are harmless */ }
  }

  // ------------------------------------------------------------ journals

  /** The last sequence trimmed from journal `k` (0: none). */
  async #trimmed(k: string): Promise<number> {
    const entry = await this.#kv.get(`t.${k}`);
    return entry === null || entry.operation !== "PUT" ? 0 : Number(entry.string());
  }

  /** Deletes a journal's events up to `through` (no delete markers left), then notes it. */
  async #trim(k: string, through: number): Promise<OpResult> {
    const [{ version }, trimmed] = await Promise.all([this.#readHead(`h.${k}`), this.#trimmed(k)]);
    const last = Math.min(through, version);
    if (last <= trimmed) return { ok: true, version };
    // The trim point first: readers then never ask for an event about to go.
    await this.#kv.put(`t.${k}`, String(last));
    const seqs = Array.from({ length: last - trimmed }, (_, i) => trimmed + i + 1);
    await pool(seqs, 8, async (seq) => {
      await this.#jsm.streams.purge(`KV_${this.#bucket}`, {
        filter: `$KV.${this.#bucket}.j.${k}.${seq}`,
      });
    });
    return { ok: true, version };
  }

  async #append(k: string, texts: readonly string[], expected: number): Promise<OpResult> {
    const subject = `h.${k}`;
    if (texts.length === 0) {
      // Nothing is written, so the version is checked on a fresh read.
      const { version } = await this.#readHead(subject);
      return version === expected
        ? { ok: true, version }
        : { ok: false, conflict: true, actualVersion: version };
    }
    return await this.#untilDecided(subject, expected, async (head) => {
      if (head.version !== expected) {
        return { ok: false, conflict: true, actualVersion: head.version };
      }
      const base = head.revision;
      const seq = (i: number) => `j.${k}.${expected + i + 1}`;
      // The first event is the claim: of the appends on one head, one writes it.
      const claim = await this.#writeEvent(seq(0), base, texts[0]!);
      if (claim === "taken") return await this.#awaitRival(subject, base);
      let fresh = claim === "written";
      if (fresh && texts.length > 1) {
        const rest = await pool(
          texts.slice(1),
          this.#concurrency,
          (text, i) => this.#writeEvent(seq(i + 1), base, text!),
        );
        fresh = rest.every((r) => r === "written");
      }
      // Not fresh: the head moved (another append, or a fence); read it and decide again.
      if (!fresh) return undefined;
      const version = expected + texts.length;
      const revision = await this.#kv.put(subject, String(version), { previousSeq: base });
      this.#heads.learn(subject, { version, revision });
      return { ok: true, version };
    });
  }

  /** Writes one event of an append on the head revision `base`, unless a rival owns the slot. */
  async #writeEvent(subject: string, base: number, text: string): Promise<EventWrite> {
    let previous = 0; // first guess: the slot is empty
    for (;;) {
      try {
        await this.#kv.put(subject, `${base}\n${text}`, { previousSeq: previous });
        return "written";
      } catch (e) {
        if (!isWrongRevision(e)) throw e;
      }
      const entry = await this.#kv.get(subject);
      if (entry === null) {
        previous = 0;
        continue;
      }
      if (entry.operation === "PUT") {
        const theirs = Number(entry.string().slice(0, entry.string().indexOf("\n")));
        if (theirs === base) return "taken";
        if (theirs > base) return "stale";
      }
      previous = entry.revision; // garbage of an append that can no longer commit
    }
  }

  /**
   * Waits until the head leaves revision `base` (a rival append committed or was fenced) and
   * returns it; after the patience runs out, fences the rival off by rewriting the head.
   */
  async #awaitRival(subject: string, base: number): Promise<Head> {
    const deadline = Date.now() + this.#patience;
    for (let attempt = 0;; attempt++) {
      await jitteredSleep(attempt, 50);
      const head = await this.#readHead(subject);
      if (head.revision !== base) return head;
      if (Date.now() < deadline) continue;
      try {
        const revision = await this.#kv.put(subject, String(head.version), { previousSeq: base });
        const fenced = { version: head.version, revision };
        this.#heads.learn(subject, fenced);
        return fenced;
      } catch (e) {
        if (!isWrongRevision(e)) throw e;
      }
    }
  }

  // ------------------------------------------------------------ heads

  /**
   * The head to check a write against without reading: remembered when it agrees with the
   * expected version (or any is fine), guessed absent for a create of a key never seen; else
   * undefined (read it).
   */
  #remembered(subject: string, expected: number | null): Head | undefined {
    const known = this.#heads.get(subject);
    if (known === undefined) return expected === 0 ? ABSENT : undefined;
    return expected === null || expected === known.version ? known : undefined;
  }

  /**
   * Runs a compare-and-set `step` on the head of `subject` until it decides: first against the
   * remembered head when it agrees with `expected` (`fresh` false), else against a fresh read.
   * `step` returns the result; or the head to try again with; or `undefined` when it lost a
   * race (as when KV refuses its write for a wrong revision): the head is then read again, and
   * from the fourth attempt on after a jittered, growing delay.
   */
  async #untilDecided(
    subject: string,
    expected: number | null,
    step: (head: Head, fresh: boolean) => Promise<OpResult | Head | undefined>,
  ): Promise<OpResult> {
    let head = this.#remembered(subject, expected);
    for (let attempt = 0;; attempt++) {
      const fresh = head === undefined;
      head ??= await this.#readHead(subject);
      let next: OpResult | Head | undefined;
      try {
        next = await step(head, fresh);
      } catch (e) {
        if (!isWrongRevision(e)) throw e;
      }
      if (next !== undefined && "ok" in next) return next;
      head = next;
      if (next === undefined) {
        this.#heads.forget(subject);
        if (attempt > 2) await jitteredSleep(attempt, 100);
      }
    }
  }

  async #readHead(subject: string): Promise<Head> {
    return this.#learnEntry(subject, await this.#kv.get(subject));
  }

  #learnEntry(subject: string, entry: KvEntry | null): Head {
    const head = headOf(entry);
    if (entry !== null) this.#heads.learn(subject, head);
    else this.#heads.forget(subject);
    return head;
  }

  // ------------------------------------------------------------ listing and plumbing

  async #list(space: "s" | "h", prefix: string): Promise<string[]> {
    const out: string[] = [];
    const keys = await this.#kv.keys(`${space}.>`);
    for await (const subject of keys) {
      const key = decodeKey(subject.slice(2));
      if (key.startsWith(prefix)) out.push(key);
    }
    return out.sort();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("the NATS KV store is closed");
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    try {
      return await run();
    } catch (e) {
      throw callFailed(`NATS KV bucket ${this.#bucket}`, what, e);
    }
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
