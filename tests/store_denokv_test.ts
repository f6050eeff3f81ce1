import { DenoKvStore, MAX_APPEND_EVENTS, MAX_KEY_BYTES } from "../runtime/stores/denokv.ts";
import type { StateStore } from "../runtime/store.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { append, assertOk, conflict, del, put, storeConformance } from "./store_conformance.ts";

/** A Deno KV file in a fresh directory (one level down, so `open` must create it). */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "flotilla-denokv-" });
  const path = `${dir}/state/kv.sqlite3`;
  const handles: { close(): unknown }[] = [];
  const reopen = async () => {
    const store = await DenoKvStore.open(path);
    handles.push(store);
    return store;
  };
  const raw = async () => {
    const kv = await Deno.openKv(path);
    handles.push(kv);
    return kv;
  };
  const store = await reopen();
  const cleanup = async () => {
    for (const handle of handles) {
      try {
        await handle.close();
      } catch { /* already closed */ }
    }
    await Deno.remove(dir, { recursive: true });
  };
  return { store, reopen, raw, cleanup };
}

storeConformance("denokv", fixture, { durable: true });

function kvTest(name: string, body: (f: Awaited<ReturnType<typeof fixture>>) => Promise<void>) {
  Deno.test(`denokv store: ${name}`, async () => {
    const f = await fixture();
    try {
      await body(f);
    } finally {
      await f.cleanup();
    }
  });
}

kvTest("two handles writing alternately never lose a write nor both win", async (f) => {
  const handles: StateStore[] = [f.store, await f.reopen()];
  assertOk(await handles[1]!.commit([put("k", "start", 0)]), [1]);
  let version = 1, value = "start";
  const lastSeen = [0, 1];
  for (let i = 0; i < 48; i++) {
    const h = i % 2;
    const store = handles[h]!;
    // This handle remembers the versionstamp of its own last write, which the other has outdated.
    switch (Math.floor(i / 2) % 4) {
      case 0: { // expecting what it last saw: a conflict, told the current version...
        const results = await store.commit([put("k", `old ${i}`, lastSeen[h]!)]);
        // ...unless a delete brought the version back to that number: then it is current.
        if (lastSeen[h] === version) assertOk(results, [++version]);
        else assertEquals(results, [conflict(version)]);
        break;
      }
      case 1: // expecting the current version: applied
        assertOk(await store.commit([put("k", `cas ${i}`, version)]), [++version]);
        break;
      case 2: // unconditional: applied at the next version
        assertOk(await store.commit([put("k", `blind ${i}`, null)]), [++version]);
        break;
      case 3:
        assertOk(await store.commit([del("k", version)]), [0]);
        version = 0;
        break;
    }
    value = `turn ${i}`;
    assertOk(await store.commit([put("k", value, version)]), [++version]);
    lastSeen[h] = version;
  }
  for (const store of handles) assertEquals(await store.get("k"), { version, value });
});

kvTest("pieces of a large value are removed when it shrinks or goes", async (f) => {
  const kv = await f.raw();
  const pieces = async (key: string) => {
    const out: Deno.KvKey[] = [];
    for await (const e of kv.list({ prefix: ["c", key] })) out.push(e.key);
    return out.length;
  };
  const { store } = f;
  await store.commit([put("big", "x".repeat(200_000), 0)]);
  assertEquals(await pieces("big"), 7);
  await store.commit([put("big", "y".repeat(100_000), 1)]);
  assertEquals(await pieces("big"), 4);
  await store.commit([put("big", "small", null)]);
  assertEquals(await pieces("big"), 0);
  await store.commit([put("big", "z".repeat(90_001), 3)]);
  assertEquals(await pieces("big"), 4);
  await store.commit([del("big", null)]);
  assertEquals(await pieces("big"), 0);
  // Nothing but heads and pieces of live keys remains.
  await store.commit([put("a", "a".repeat(70_000), 0), put("b", 1, 0)]);
  const left: Deno.KvKey[] = [];
  for await (const e of kv.list({ prefix: [] })) left.push(e.key);
  assertEquals(left, [["c", "a", 0], ["c", "a", 1], ["c", "a", 2], ["s", "a"], ["s", "b"]]);
});

kvTest("what Deno KV cannot hold gets an error result, not a rejection", async ({ store }) => {
  const longKey = "k".repeat(MAX_KEY_BYTES + 1);
  const results = await store.commit([
    put(longKey, 1, null),
    append("j", Array.from({ length: MAX_APPEND_EVENTS + 1 }, (_, i) => i), 0),
    append("wide", ["€".repeat(40_000)], 0), // 80 KB: over the 64 KiB value limit
    put("huge", "h".repeat(900_000), null), // over the 800 KiB limit of one atomic operation
    put("fine", "ok", 0),
  ]);
  results.slice(0, 4).forEach((r, i) => {
    assert(!r.ok && !r.conflict && r.error instanceof Error, `op ${i}: ${JSON.stringify(r)}`);
  });
  assertEquals(results[4], { ok: true, version: 1 });
  assertEquals(await store.get(longKey), null);
  assertEquals(await store.keys(""), ["fine"]);
  assertEquals(await store.journalKeys(""), []);
  const most = Array.from({ length: MAX_APPEND_EVENTS }, (_, i) => i);
  assertOk(await store.commit([append("j", most, 0)]), [MAX_APPEND_EVENTS]);
});
