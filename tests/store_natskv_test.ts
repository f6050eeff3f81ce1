import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { StoreError } from "../runtime/errors.ts";
import {
  decodeKey,
  encodeKey,
  NatsKvStore,
  type NatsKvStoreOptions,
} from "../runtime/stores/natskv.ts";
import type { StateStore } from "../runtime/store.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { startNatsServer } from "./helpers/servers.ts";
import {
  append,
  assertNoTornReads,
  assertOk,
  del,
  put,
  storeConformance,
} from "./store_conformance.ts";

// One server for the file, started outside any test (see tests/helpers/servers.ts); every case
// gets its own bucket.
const server = await startNatsServer();
let cases = 0;

/** A store on a fresh bucket; `reopen` opens another connection to the same bucket. */
async function fixture(options: NatsKvStoreOptions = {}, url = server.url) {
  const bucket = `T${++cases}`;
  const handles: StateStore[] = [];
  const reopen = async () => {
    const store = await NatsKvStore.connect(url, { ...options, bucket });
    handles.push(store);
    return store;
  };
  const store = await reopen();
  /** A raw connection and the bucket, for looking under the store. */
  const raw = async () => {
    const nc = await connect({ servers: url });
    const kv = await new Kvm(nc).open(bucket);
    const jsm = await jetstreamManager(nc);
    return { nc, kv, jsm, stream: `KV_${bucket}` };
  };
  const cleanup = async () => {
    for (const handle of handles) await handle.close();
    const nc = await connect({ servers: url }).catch(() => undefined);
    if (nc === undefined) return; // the server of a case that stopped it
    try {
      await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`);
    } catch {
      /* never created */
    } finally {
      await nc.close();
    }
  };
  return { store, reopen, raw, cleanup, bucket };
}

storeConformance("natskv", () => fixture(), { durable: true });

function kvTest(
  name: string,
  body: (f: Awaited<ReturnType<typeof fixture>>) => Promise<void>,
  options: NatsKvStoreOptions = {},
) {
  Deno.test(`natskv store: ${name}`, async () => {
    const f = await fixture(options);
    try {
      await body(f);
    } finally {
      await f.cleanup();
    }
  });
}

Deno.test("natskv store: keys are encoded reversibly into KV's alphabet", () => {
  const samples = [
    "",
    "a",
    "a.b",
    "a b",
    "=",
    "==41",
    "x/y-z_0",
    "é",
    "日本",
    "😀",
    "a\u0000z",
    ".",
    "*>",
  ];
  for (const key of samples) {
    const token = encodeKey(key)!;
    assert(/^[-/_=A-Za-z0-9]+$/.test(token), `${JSON.stringify(key)} → ${token}`);
    assertEquals(decodeKey(token), key);
  }
  assertEquals(encodeKey("a.b"), "a=2Eb");
  assertEquals(encodeKey("é"), "=C3=A9");
  assertEquals(encodeKey("device/42"), "device/42");
  assertEquals(encodeKey("\ud800"), undefined);
  assertEquals(encodeKey("x".repeat(3000)), undefined);
});

kvTest("keys with any characters round-trip and list in JavaScript order", async ({ store }) => {
  const keys = ["a.b", "a b", "=", "é", "日本", "😀", "\uffff", "*", ">", "a.", ".a", "a..b", ""];
  assertOk(await store.commit(keys.map((k) => put(k, k, 0))), keys.map(() => 1));
  assertOk(await store.commit(keys.map((k) => append(k, [k], 0))), keys.map(() => 1));
  for (const k of keys) {
    assertEquals(await store.get(k), { version: 1, value: k });
    assertEquals(await store.readJournal(k, 0), [{ seq: 1, event: k }]);
  }
  assertEquals(await store.keys(""), [...keys].sort());
  assertEquals(await store.journalKeys(""), [...keys].sort());
  assertEquals(await store.keys("a"), ["a b", "a.", "a..b", "a.b"]);
});

kvTest("what the store cannot hold gets an error result, not a rejection", async ({ store }) => {
  const results = await store.commit([
    put("x".repeat(3000), 1, null),
    put("\ud800", 1, null),
    append("j", ["e".repeat(1_100_000)], 0), // an event larger than one KV value
    put("fine", "ok", 0),
  ]);
  results.slice(0, 3).forEach((r, i) => {
    assert(!r.ok && !r.conflict && r.error instanceof StoreError, `op ${i}: ${JSON.stringify(r)}`);
  });
  assertEquals(results[3], { ok: true, version: 1 });
  assertEquals(await store.journalKeys(""), []);
  assertEquals(await store.get("\ud800"), null);
  assertEquals(await store.keys(""), ["fine"]);
});

kvTest("a value larger than the bucket's value size is stored in pieces", async (f) => {
  const { store } = f;
  const { nc, jsm, stream } = await f.raw();
  try {
    const subjects = async (filter: string) => {
      const info = await jsm.streams.info(stream, { subjects_filter: filter });
      return Object.keys(info.state.subjects ?? {}).length;
    };
    const big = "b".repeat(200_000), wide = "é€😀".repeat(20_000);
    assertOk(await store.commit([put("big", big, 0), put("wide", wide, 0)]), [1, 1]);
    assertEquals(await store.getMany(["big", "wide"]), [
      { version: 1, value: big },
      { version: 1, value: wide },
    ]);
    assertEquals(await subjects(`$KV.${f.bucket}.c.big.>`), 4); // 200 002 bytes in 63 KiB pieces
    assertOk(await store.commit([put("big", "small", 1)]), [2]);
    assertEquals(await store.get("big"), { version: 2, value: "small" });
    assertOk(await store.commit([put("wide", "w", null), del("big", 2)]), [2, 0]);
    assertEquals(await subjects(`$KV.${f.bucket}.c.>`), 0); // purged, no markers left
    // A reader racing a writer never sees a torn value, also when it is in pieces.
    await assertNoTornReads(store, await f.reopen(), 150_000);
  } finally {
    await nc.close();
  }
}, { maxValueBytes: 64 * 1024 });

kvTest("an append that died after claiming its first event is fenced off", async (f) => {
  const { nc, kv } = await f.raw();
  try {
    // A writer claimed event 1 on the absent head (base 0), then died without committing.
    await kv.put("j.dead.1", `0\n"orphan"`);
    const started = Date.now();
    assertOk(await f.store.commit([append("dead", ["mine"], 0)]), [1]);
    assert(Date.now() - started >= 200, "waited for the rival first");
    assertEquals(await f.store.readJournal("dead", 0), [{ seq: 1, event: "mine" }]);
    // Garbage past the head (events of an append on an older head) is overwritten.
    const head = await kv.get("h.dead");
    await kv.put("j.dead.2", `${head!.revision - 1}\n"garbage"`);
    assertOk(await f.store.commit([append("dead", ["two", "three"], 1)]), [3]);
    assertEquals((await f.store.readJournal("dead", 0)).map((e) => e.event), [
      "mine",
      "two",
      "three",
    ]);
  } finally {
    await nc.close();
  }
}, { claimPatienceMs: 200 });

Deno.test("natskv store: a server killed and restarted: calls fail, then succeed, data kept", async () => {
  const own = await startNatsServer();
  const f = await fixture({ timeoutMs: 1000 }, own.url);
  try {
    assertOk(await f.store.commit([put("k", 1, 0), append("j", ["e1"], 0)]), [1, 1]);
    own.kill("SIGKILL");
    await own.exited;
    await assertRejects(() => f.store.commit([put("k", 2, 1)]), StoreError);
    await assertRejects(() => f.store.get("k"), StoreError);
    await own.restart();
    let back;
    for (let i = 0; i < 100 && back === undefined; i++) {
      back = await f.store.commit([put("k", 2, 1)]).catch(() => undefined);
      if (back === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assertOk(back!, [2]);
    assertEquals(await f.store.get("k"), { version: 2, value: 2 });
    assertEquals(await f.store.readJournal("j", 0), [{ seq: 1, event: "e1" }]);
  } finally {
    await f.cleanup();
    await own.stop();
  }
});

Deno.test("natskv store: connecting to nothing rejects with StoreError", async () => {
  await assertRejects(
    () => NatsKvStore.connect("nats://127.0.0.1:1", { timeoutMs: 1000 }),
    StoreError,
    "cannot open the JetStream KV bucket",
  );
});

Deno.test("natskv store: stop the server", async () => {
  await server.stop();
  assert(!server.running);
});
