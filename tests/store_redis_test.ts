import { Redis } from "ioredis";
import { StoreError } from "../runtime/errors.ts";
import { RedisStore } from "../runtime/stores/redis.ts";
import type { OpResult, StateStore, StoreOp } from "../runtime/store.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { startRedisServer } from "./helpers/servers.ts";
import { append, assertOk, del, put, storeConformance } from "./store_conformance.ts";

// One server for the file, started outside any test (see tests/helpers/servers.ts); every case
// writes under its own key prefix.
const server = await startRedisServer();
let cases = 0;

/** A store under a fresh prefix; `reopen` opens another client on the same server and prefix. */
async function fixture(url = server.url, prefix = `t${++cases}:`) {
  const handles: StateStore[] = [];
  const reopen = async () => {
    const store = await RedisStore.connect(url, { prefix });
    handles.push(store);
    return store;
  };
  const store = await reopen();
  const cleanup = async () => {
    for (const handle of handles) await handle.close();
    // Delete what the case wrote, so the server stays small.
    const raw = new Redis(url, { lazyConnect: true });
    try {
      await raw.connect();
      const keys = await raw.keys(`${prefix}*`);
      if (keys.length > 0) await raw.del(...keys);
    } catch {
      /* the server of a case that stopped it */
    } finally {
      raw.disconnect();
    }
  };
  return { store, reopen, cleanup, prefix };
}

storeConformance("redis", fixture, { durable: true });

Deno.test("redis store: the layout is one string per snapshot, a list per journal, two indexes", async () => {
  const f = await fixture();
  const raw = new Redis(server.url);
  try {
    await f.store.commit([put("a/1", { n: 1 }, 0), put("b", "x", 0), append("j", [1, "two"], 0)]);
    await f.store.commit([put("a/1", { n: 2 }, 1), del("b", 1)]);
    const p = f.prefix;
    assertEquals(await raw.get(`${p}s:a/1`), '2:{"n":2}');
    assertEquals(await raw.exists(`${p}s:b`), 0);
    assertEquals(await raw.lrange(`${p}j:j`, 0, -1), ["1", '"two"']);
    assertEquals(await raw.zrange(`${p}si`, "0", "-1"), ["a/1"]);
    assertEquals(await raw.zrange(`${p}ji`, "0", "-1"), ["j"]);
    assertEquals((await raw.keys(`${p}*`)).sort(), [`${p}j:j`, `${p}ji`, `${p}s:a/1`, `${p}si`]);
  } finally {
    raw.disconnect();
    await f.cleanup();
  }
});

Deno.test("redis store: prefixes keep deployments apart", async () => {
  const a = await fixture();
  const b = await fixture();
  try {
    assertOk(await a.store.commit([put("k", "a", 0), append("j", ["a"], 0)]), [1, 1]);
    assertOk(await b.store.commit([put("k", "b", 0)]), [1]);
    assertEquals(await a.store.get("k"), { version: 1, value: "a" });
    assertEquals(await b.store.get("k"), { version: 1, value: "b" });
    assertEquals(await b.store.journalVersion("j"), 0);
    assertEquals(await b.store.keys(""), ["k"]);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

Deno.test("redis store: a prefix of multi-byte characters still indexes the bare keys", async () => {
  const f = await fixture(server.url, `ü€😀${++cases}:`);
  const raw = new Redis(server.url);
  try {
    assertOk(
      await f.store.commit([put("ключ/1", 1, 0), put("k2", 2, 0), append("jé", ["e"], 0)]),
      [1, 1, 1],
    );
    assertEquals(await f.store.keys(""), ["k2", "ключ/1"]);
    assertEquals(await f.store.journalKeys(""), ["jé"]);
    assertOk(await f.store.commit([del("ключ/1", 1)]), [0]);
    assertEquals(await f.store.keys(""), ["k2"]);
    assertEquals(await raw.zrange(`${f.prefix}si`, "0", "-1"), ["k2"]);
  } finally {
    raw.disconnect();
    await f.cleanup();
  }
});

Deno.test("redis store: a batch larger than one script call keeps every result in order", async () => {
  const f = await fixture();
  try {
    // Seed every third key at version 1, so a mixed batch meets conflicts all along.
    const N = 700;
    assertOk(
      await f.store.commit(Array.from({ length: N / 7 }, (_, i) => put(`k${i * 3}`, "old", 0))),
      Array.from({ length: N / 7 }, () => 1),
    );
    const ops: StoreOp[] = [];
    const expected: OpResult[] = [];
    for (let i = 0; i < N; i++) {
      const seeded = i % 3 === 0 && i / 3 < N / 7;
      if (i % 10 === 9) {
        ops.push(append(`j${i}`, [i, { big: "x".repeat(i) }], 0));
        expected.push({ ok: true, version: 2 });
      } else if (i % 10 === 4) {
        ops.push(del(`k${i}`, seeded ? 1 : 0));
        expected.push({ ok: true, version: 0 });
      } else {
        // Expects version 0: applied unless seeded, then a conflict at 1.
        ops.push(put(`k${i}`, { i, pad: "y".repeat(i * 10) }, 0));
        expected.push(
          seeded ? { ok: false, conflict: true, actualVersion: 1 } : { ok: true, version: 1 },
        );
      }
    }
    assertEquals(await f.store.commit(ops), expected);
    const read = await f.store.getMany(["k1", "k8", "k699"]);
    assertEquals(read.map((r) => r === null ? null : r.value), [{ i: 1, pad: "y".repeat(10) }, {
      i: 8,
      pad: "y".repeat(80),
    }, null]);
    assertEquals(await f.store.readJournal("j699", 0), [
      { seq: 1, event: 699 },
      { seq: 2, event: { big: "x".repeat(699) } },
    ]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("redis store: getMany over several MGETs keeps order around keys Redis cannot hold", async () => {
  const f = await fixture();
  try {
    const N = 2500; // three MGETs of at most 1,000 keys
    for (let i = 0; i < N; i += 500) {
      const ops = Array.from({ length: 500 }, (_, j) => put(`k${i + j}`, i + j, 0));
      assertOk(await f.store.commit(ops), ops.map(() => 1));
    }
    const asked: string[] = [];
    const expected: (number | null)[] = [];
    for (let i = 0; i < N; i++) {
      if (i % 600 === 0) {
        asked.push(`bad\uD800${i}`); // a lone surrogate: never stored, reads as absent
        expected.push(null);
      }
      asked.push(`k${N - 1 - i}`);
      expected.push(N - 1 - i);
      if (i % 999 === 0) {
        asked.push(`missing${i}`);
        expected.push(null);
      }
    }
    asked.push("\uDC00");
    expected.push(null);
    const read = await f.store.getMany(asked);
    assertEquals(read.map((r) => r === null ? null : r.value), expected);
    assertEquals(read[1]?.version, 1);
  } finally {
    await f.cleanup();
  }
});

Deno.test("redis store: a script error fails only its op", async () => {
  const f = await fixture();
  const raw = new Redis(server.url);
  try {
    // Not a snapshot string: the put script refuses it; a list where a string should be: Redis
    // refuses the command inside the script.
    await raw.set(`${f.prefix}s:garbage`, "no version here");
    await raw.rpush(`${f.prefix}s:wrongtype`, "x");
    const results = await f.store.commit([
      put("garbage", 1, null),
      put("wrongtype", 1, null),
      put("fine", 1, 0),
    ]);
    for (const r of results.slice(0, 2)) {
      assert(!r.ok && !r.conflict && r.error instanceof StoreError, JSON.stringify(r));
    }
    assertEquals(results[2], { ok: true, version: 1 });
    // The same with expected versions (the put swaps the value in first, then checks): the
    // foreign values stay as they were, and so does an absent key whose put conflicts.
    const checked = await f.store.commit([
      put("garbage", 2, 0),
      put("wrongtype", 2, 0),
      put("absent", 2, 3),
      put("fine", 2, 0),
    ]);
    for (const r of checked.slice(0, 2)) {
      assert(!r.ok && !r.conflict && r.error instanceof StoreError, JSON.stringify(r));
    }
    assertEquals(checked.slice(2), [
      { ok: false, conflict: true, actualVersion: 0 },
      { ok: false, conflict: true, actualVersion: 1 },
    ]);
    assertEquals(await raw.get(`${f.prefix}s:garbage`), "no version here");
    assertEquals(await raw.lrange(`${f.prefix}s:wrongtype`, "0", "-1"), ["x"]);
    assertEquals(await raw.exists(`${f.prefix}s:absent`), 0);
    assertEquals(await f.store.get("fine"), { version: 1, value: 1 });
    assertEquals(await f.store.keys(""), ["fine"]);
  } finally {
    raw.disconnect();
    await f.cleanup();
  }
});

Deno.test("redis store: scripts flushed from the server are sent again", async () => {
  const f = await fixture();
  const raw = new Redis(server.url);
  try {
    assertOk(await f.store.commit([put("k", 1, 0)]), [1]);
    await raw.script("FLUSH");
    assertOk(await f.store.commit([put("k", 2, 1), append("j", [1], 0), del("x", null)]), [
      2,
      1,
      0,
    ]);
    assertOk(await f.store.commit([put("k", 3, 2)]), [3]);
  } finally {
    raw.disconnect();
    await f.cleanup();
  }
});

Deno.test("redis store: connecting to nothing rejects with StoreError", async () => {
  const port = server.port === 1 ? 2 : 1; // nothing listens on port 1
  await assertRejects(
    () => RedisStore.connect(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 1000 }),
    StoreError,
    "cannot connect to Redis",
  );
});

Deno.test("redis store: restarted mid-batch: calls fail while it is down, nothing half-applied", async () => {
  // Its own server, with the append-only file on, so what Redis acknowledged survives SIGKILL.
  const durable = await startRedisServer({ durable: true });
  const store = await RedisStore.connect(durable.url, {
    prefix: "restart:",
    commandTimeoutMs: 3000,
    maxRetryDelayMs: 250,
  });
  try {
    const batch = (round: number): StoreOp[] =>
      Array.from({ length: 400 }, (_, i) => [
        put(`s/${round}/${i}`, { round, i, pad: "x".repeat(500) }, 0),
        append(`j/${round}/${i}`, [1, 2, 3].map((n) => ({ round, i, n })), 0),
      ]).flat();
    // Batches keep going while the server is killed under them.
    const outcomes: (OpResult[] | Error)[] = [];
    let stop = false;
    const writing = (async () => {
      for (let round = 0; !stop && round < 200; round++) {
        outcomes.push(await store.commit(batch(round)).catch((e: Error) => e));
      }
    })();
    while (outcomes.length < 2) await new Promise((r) => setTimeout(r, 5));
    durable.kill("SIGKILL");
    await durable.exited;
    // Down: every call fails with StoreError, in bounded time.
    const started = Date.now();
    await assertRejects(() => store.commit([put("down", 1, 0)]), StoreError);
    await assertRejects(() => store.get("down"), StoreError);
    await assertRejects(() => store.keys(""), StoreError);
    assert(Date.now() - started < 8000, `failing took ${Date.now() - started} ms`);
    stop = true;
    await writing;
    const failed = outcomes.filter((o) => o instanceof Error);
    assert(failed.length >= 1, "a batch was cut by the kill");
    for (const e of failed) assert(e instanceof StoreError, String(e));

    await durable.restart();
    // Back: calls succeed again on the same store (ioredis reconnects; scripts are reloaded).
    let back: OpResult[] | undefined;
    for (let i = 0; i < 100 && back === undefined; i++) {
      back = await store.commit([put("back", 1, 0)]).catch(() => undefined);
      if (back === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(back, [{ ok: true, version: 1 }]);

    // Every op of every batch is whole or absent: a snapshot with its value, a journal with its
    // three events; and every op reported applied is there.
    for (let round = 0; round < outcomes.length; round++) {
      const ops = batch(round);
      const outcome = outcomes[round]!;
      const snaps = await store.getMany(ops.filter((o) => o.op === "put").map((o) => o.key));
      for (let i = 0; i < ops.length; i += 2) {
        const snap = snaps[i / 2]!;
        const journal = await store.readJournal(ops[i + 1]!.key, 0);
        if (snap !== null) {
          assertEquals(snap, { version: 1, value: (ops[i] as { value: unknown }).value });
        }
        assert(journal.length === 0 || journal.length === 3, `journal of ${journal.length}`);
        if (!(outcome instanceof Error)) {
          assert(
            snap !== null && journal.length === 3,
            `round ${round} op ${i} was reported applied`,
          );
        }
      }
    }
  } finally {
    await store.close();
    await durable.stop();
  }
});

Deno.test("redis store: stop the server", async () => {
  await server.stop();
  assert(!server.running);
});
