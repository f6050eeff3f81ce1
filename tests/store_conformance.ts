/**
 * The behaviour every {@link StateStore} must show. A backend's test file calls
 * {@link storeConformance} once; each case runs on a fresh, empty store.
 *
 * @module
 */
import { FencedError, StoreError, StoreRegressedError } from "../runtime/errors.ts";
import { assert, assertEquals, AssertionError, assertRejects } from "./helpers/assert.ts";
import type { Fence, JsonValue, OpResult, StateStore, StoreOp } from "../runtime/store.ts";

/** A fresh store for one test case. */
export interface StoreFixture {
  readonly store: StateStore;
  /**
   * Opens another handle on the same data, while `store` is open or after it was closed.
   * Required when the suite is told the store is durable.
   */
  readonly reopen?: () => Promise<StateStore>;
  /** Closes every handle the fixture opened and deletes the data. */
  readonly cleanup: () => Promise<void>;
}

/** What the suite may expect of a backend beyond the contract. */
export interface StoreTraits {
  /** Data outlives a handle: the fixture's `reopen` sees what `store` wrote. */
  readonly durable: boolean;
}

/** Registers one `Deno.test` per criterion, named `"<name> store: <criterion>"`. */
export function storeConformance(
  name: string,
  open: () => Promise<StoreFixture>,
  traits: StoreTraits,
): void {
  const test = (
    criterion: string,
    body: (f: StoreFixture) => Promise<void>,
    ignore = false,
  ) =>
    Deno.test({
      name: `${name} store: ${criterion}`,
      ignore,
      async fn() {
        const fixture = await open();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup();
        }
      },
    });
  // Another writer: a second handle where the backend has one, else the same handle.
  const other = (f: StoreFixture) => f.reopen?.() ?? Promise.resolve(f.store);

  test("a missing key reads as null", async ({ store }) => {
    assertEquals(await store.get("nothing"), null);
    assertEquals(await store.getMany(["nothing", "none"]), [null, null]);
    assertEquals(await store.keys(""), []);
  });

  test("values round-trip exactly as JSON keeps them", async ({ store }) => {
    const values: Record<string, JsonValue> = {
      nested: { a: { b: [1, { c: [null, true, false] }] }, empty: {}, list: [] },
      array: [1, "two", [3, [4]], { five: 5 }],
      unicode: 'héllo wörld – 日本語 😀 \u0000 \n\t"\\ \ud800',
      numbers: [0, -1, 42, -3.25, 0.1, 1e21, -1e-7, Number.MAX_SAFE_INTEGER],
      booleans: [true, false],
      null: null,
      string: "",
      number: -0.5,
      flag: true,
    };
    const ops: StoreOp[] = Object.entries(values).map(([key, value]) => put(key, value, 0));
    assertOk(await store.commit(ops), Object.keys(values).map(() => 1));
    for (const [key, value] of Object.entries(values)) {
      assertEquals(await store.get(key), { version: 1, value }, key);
    }
    // What JSON drops or replaces is dropped or replaced, as JSON.stringify would.
    const lossy = { kept: 1, dropped: undefined, nan: NaN, list: [undefined, Infinity] };
    await store.commit([put("lossy", lossy as unknown as JsonValue, null)]);
    assertEquals((await store.get("lossy"))?.value, { kept: 1, nan: null, list: [null, null] });
  });

  test("a stored value is a copy, not the caller's object", async ({ store }) => {
    const value = { list: [1, 2] };
    await store.commit([put("k", value, 0)]);
    value.list.push(3);
    const read = await store.get("k");
    assertEquals(read?.value, { list: [1, 2] });
    (read?.value as { list: number[] }).list.push(4);
    assertEquals((await store.get("k"))?.value, { list: [1, 2] });
  });

  test("the version is 1 after the first write and grows by 1 with each", async ({ store }) => {
    for (let v = 1; v <= 5; v++) {
      assertOk(await store.commit([put("k", { v }, v - 1)]), [v]);
      assertEquals(await store.get("k"), { version: v, value: { v } });
    }
  });

  test("a put expecting the wrong version conflicts and changes nothing", async ({ store }) => {
    await store.commit([put("k", "one", 0)]);
    await store.commit([put("k", "two", 1)]);
    for (const wrong of [1, 3, 17]) {
      assertEquals(await store.commit([put("k", "bad", wrong)]), [conflict(2)]);
    }
    assertEquals(await store.get("k"), { version: 2, value: "two" });
  });

  test("expecting version 0 of an existing key conflicts", async ({ store }) => {
    await store.commit([put("k", "first", 0)]);
    assertEquals(await store.commit([put("k", "second", 0)]), [conflict(1)]);
    assertEquals(await store.get("k"), { version: 1, value: "first" });
  });

  test("an unconditional put creates at 1 and increments after", async ({ store }) => {
    assertOk(await store.commit([put("k", "a", null)]), [1]);
    assertOk(await store.commit([put("k", "b", null)]), [2]);
    assertOk(await store.commit([put("k", "c", null)]), [3]);
    assertEquals(await store.get("k"), { version: 3, value: "c" });
  });

  test("delete with CAS and unconditionally; a deleted key is re-created at 1", async (f) => {
    const { store } = f;
    await store.commit([put("a", 1, 0), put("b", 2, 0)]);
    await store.commit([put("a", 11, 1)]);
    assertEquals(await store.commit([del("a", 1)]), [conflict(2)]);
    assertEquals(await store.get("a"), { version: 2, value: 11 });
    assertOk(await store.commit([del("a", 2), del("b", null)]), [0, 0]);
    assertEquals(await store.getMany(["a", "b"]), [null, null]);
    assertEquals(await store.keys(""), []);
    assertEquals(await store.commit([del("a", 1)]), [conflict(0)]);
    assertOk(await store.commit([del("never", null)]), [0]);
    assertOk(await store.commit([put("a", "again", 0)]), [1]);
    assertEquals(await store.get("a"), { version: 1, value: "again" });
  });

  test("two writers expecting the same version: exactly one wins", async (f) => {
    const a = f.store;
    const b = await other(f);
    const keys = Array.from({ length: 50 }, (_, i) => `race-${i}`);
    await a.commit(keys.map((k) => put(k, "base", 0)));
    // One batch per writer, racing on every key.
    const [ra, rb] = await Promise.all([
      a.commit(keys.map((k) => put(k, "a", 1))),
      b.commit(keys.map((k) => put(k, "b", 1))),
    ]);
    const read = await a.getMany(keys);
    keys.forEach((key, i) => {
      const x = ra[i]!, y = rb[i]!;
      assertEquals(Number(x.ok) + Number(y.ok), 1, `one winner for ${key}`);
      assertEquals(x.ok ? y : x, conflict(2), key);
      assertEquals(read[i], { version: 2, value: x.ok ? "a" : "b" }, key);
    });
    // And one after the other: the second finds the first's version.
    assertOk(await a.commit([put("seq", "a", 0)]), [1]);
    assertEquals(await b.commit([put("seq", "b", 0)]), [conflict(1)]);
    assertEquals(await b.get("seq"), { version: 1, value: "a" });
  });

  test("racing unconditional puts are all applied, each at its own version", async (f) => {
    const a = f.store;
    const b = await other(f);
    const rounds = 10;
    const versions: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const results = await Promise.all([
        a.commit([put("k", `a${i}`, null)]),
        b.commit([put("k", `b${i}`, null)]),
      ]);
      for (const [r] of results) versions.push(r?.ok ? r.version : -1);
    }
    assertEquals(versions.sort((x, y) => x - y), range(1, 2 * rounds));
    assertEquals((await a.get("k"))?.version, 2 * rounds);
  });

  test("racing writers on many keys: every write lands once, versions exact", async (f) => {
    const stores = [f.store, await other(f), await other(f)];
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    const rounds = 4;
    const seen = new Map<string, number[]>(keys.map((k) => [k, []]));
    for (let round = 0; round < rounds; round++) {
      const all = await Promise.all(
        stores.map((s, n) => s.commit(keys.map((k) => put(k, `${n}/${round}`, null)))),
      );
      for (const results of all) {
        results.forEach((r, i) => {
          assert(r.ok, JSON.stringify(r));
          seen.get(keys[i]!)!.push(r.version);
        });
      }
    }
    const total = rounds * stores.length;
    for (const [key, versions] of seen) {
      assertEquals(versions.sort((x, y) => x - y), range(1, total), key);
      assertEquals((await f.store.get(key))?.version, total);
    }
    // Appends racing on one journal: each writer retries at the version it reads until it lands.
    await Promise.all(stores.map(async (s, n) => {
      for (let i = 0; i < 8; i++) {
        for (;;) {
          const at = await s.journalVersion("j");
          const [r] = await s.commit([append("j", [`${n}.${i}`, `${n}.${i}'`], at)]);
          if (r!.ok) break;
          assert(r!.conflict, JSON.stringify(r));
        }
      }
    }));
    const events = (await f.store.readJournal("j", 0)).map((e) => e.event as string);
    assertEquals(events.length, 48);
    assertEquals(new Set(events).size, 48);
    for (let i = 0; i < events.length; i += 2) assertEquals(events[i + 1], `${events[i]}'`);
  });

  test("a writer that remembers its own last write never loses a write to another", async (f) => {
    const a = f.store;
    const b = await other(f);
    // Each handle remembers what it wrote last (a versionstamp, a revision), which the other
    // outdates; a conflict is only reported from what is really stored.
    assertOk(await a.commit([put("k", "a1", 0)]), [1]);
    assertOk(await b.commit([put("k", "b2", 1)]), [2]);
    assertEquals(await a.commit([put("k", "stale", 1)]), [conflict(2)]);
    assertOk(await a.commit([put("k", "a3", 2)]), [3]);
    assertOk(await b.commit([put("k", "b4", null)]), [4]);
    assertOk(await a.commit([put("k", "a5", null)]), [5]);
    assertOk(await b.commit([del("k", 5)]), [0]);
    assertOk(await a.commit([put("k", "a-again", 0)]), [1]); // a remembers 5; the key is gone
    assertEquals(await b.commit([del("k", 0)]), [conflict(1)]);
    assertEquals(await b.get("k"), { version: 1, value: "a-again" });
    // b remembers the key absent after its delete; a re-created it.
    assertEquals(await b.commit([put("k", "b", 0)]), [conflict(1)]);
    assertOk(await b.commit([put("k", "b2", 1)]), [2]);

    // Journals: each handle remembers the head of its own last append.
    assertOk(await a.commit([append("j", [1, 2, 3], 0)]), [3]);
    assertOk(await b.commit([append("j", [4, 5], 3)]), [5]);
    assertEquals(await a.commit([append("j", ["dup"], 3)]), [conflict(5)]);
    assertOk(await a.commit([append("j", [6], 5)]), [6]);
    assertEquals((await b.readJournal("j", 0)).map((e) => e.event), [1, 2, 3, 4, 5, 6]);
  });

  test("every value is captured when commit returns, past any concurrency bound", async (f) => {
    const values = Array.from({ length: 250 }, (_, i) => ({ i, list: [i] }));
    const events = [{ n: 1 }];
    const ops = values.map((v, i) => put(`k${i}`, v, 0)).concat(append("j", events, 0));
    const committing = f.store.commit(ops);
    for (const v of values) v.list.push(-1);
    events[0]!.n = 2;
    assertOk(await committing, ops.map(() => 1));
    const read = await f.store.getMany(values.map((_, i) => `k${i}`));
    read.forEach((r, i) => assertEquals(r, { version: 1, value: { i, list: [i] } }));
    assertEquals(await f.store.readJournal("j", 0), [{ seq: 1, event: { n: 1 } }]);
  });

  test("getMany keeps key order with missing keys as null", async ({ store }) => {
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const present = keys.filter((_, i) => i % 3 !== 1);
    await store.commit(present.map((k) => put(k, { k }, 0)));
    const asked = [...keys].reverse().concat("missing", keys[0]!);
    const read = await store.getMany(asked);
    assertEquals(read.length, asked.length);
    asked.forEach((k, i) => {
      assertEquals(read[i], present.includes(k) ? { version: 1, value: { k } } : null, k);
    });
    assertEquals(await store.getMany([]), []);
  });

  test("a batch of 1200 puts commits with every version right", async ({ store }) => {
    const keys = Array.from({ length: 1200 }, (_, i) => `bulk/${i}`);
    assertOk(await store.commit(keys.map((k, i) => put(k, { i }, 0))), keys.map(() => 1));
    assertOk(await store.commit(keys.map((k, i) => put(k, { i: -i - 1 }, 1))), keys.map(() => 2));
    const read = await store.getMany(keys);
    keys.forEach((_, i) => assertEquals(read[i], { version: 2, value: { i: -i - 1 } }));
    assertEquals((await store.keys("bulk/")).length, 1200);
  });

  test("a batch with conflicting ops applies only the others", async ({ store }) => {
    await store.commit([put("x", "x1", 0), put("y", "y1", 0), append("j", ["e1"], 0)]);
    const results = await store.commit([
      put("new", "n1", 0),
      put("x", "stale", 0),
      put("y", "y2", 1),
      del("y-missing", 4),
      append("j", ["lost"], 0),
      append("j2", ["ok"], 0),
    ]);
    assertEquals(results, [
      { ok: true, version: 1 },
      conflict(1),
      { ok: true, version: 2 },
      conflict(0),
      conflict(1),
      { ok: true, version: 1 },
    ]);
    assertEquals(await store.getMany(["new", "x", "y"]), [
      { version: 1, value: "n1" },
      { version: 1, value: "x1" },
      { version: 2, value: "y2" },
    ]);
    assertEquals(await store.readJournal("j", 0), [{ seq: 1, event: "e1" }]);
  });

  test("a batch naming a key twice is rejected whole", async ({ store }) => {
    await assertRejects(() => store.commit([put("o", 1, 0), put("k", 1, 0), del("k", null)]));
    await assertRejects(() => store.commit([append("j", [1], 0), append("j", [2], 0)]));
    assertEquals(await store.getMany(["o", "k"]), [null, null]);
    assertEquals(await store.journalVersion("j"), 0);
    // A snapshot and a journal may share a key in one batch.
    assertOk(await store.commit([put("k", 1, 0), append("k", [1], 0)]), [1, 1]);
  });

  test("a value JSON cannot encode gets an error result and nothing else fails", async (f) => {
    const { store } = f;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const results = await store.commit([
      put("cyclic", cyclic as JsonValue, null),
      put("bigint", 1n as unknown as JsonValue, null),
      put("undefined", undefined as unknown as JsonValue, null),
      append("events", [1, undefined as unknown as JsonValue], 0),
      put("fine", "ok", 0),
    ]);
    results.slice(0, 4).forEach((r, i) => {
      assert(!r.ok && !r.conflict && r.error instanceof Error, `op ${i}: ${JSON.stringify(r)}`);
    });
    assertEquals(results[4], { ok: true, version: 1 });
    assertEquals(await store.keys(""), ["fine"]);
    assertEquals(await store.journalVersion("events"), 0);
  });

  test("large values round-trip", async ({ store }) => {
    const text = "0123456789abcdef".repeat(12_800); // 200 KB
    const wide = "é€😀".repeat(25_000); // 100 000 UTF-16 units, none Latin-1 only
    const object = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`field${i}`, { i, s: "x".repeat(40) }]),
    ); // ~100 KB of JSON
    assertOk(
      await store.commit([put("text", text, 0), put("wide", wide, 0), put("obj", object, 0)]),
      [1, 1, 1],
    );
    assertEquals(await store.getMany(["text", "wide", "obj"]), [
      { version: 1, value: text },
      { version: 1, value: wide },
      { version: 1, value: object },
    ]);
  });

  test("overwriting a large value with a small one and back leaves no stale data", async (f) => {
    const { store } = f;
    const a = "a".repeat(200_000), b = "b".repeat(95_000), c = { c: "c".repeat(140_000) };
    const steps: JsonValue[] = [a, "small", b, c, a, { small: true }, c, b, 7];
    let version = 0;
    for (const value of steps) {
      assertOk(await store.commit([put("k", value, version)]), [++version]);
      assertEquals(await store.get("k"), { version, value });
    }
    assertOk(await store.commit([del("k", version)]), [0]);
    assertEquals(await store.get("k"), null);
    assertOk(await store.commit([put("k", "tiny", 0)]), [1]);
    assertEquals(await store.get("k"), { version: 1, value: "tiny" });
    assertEquals(await store.keys(""), ["k"]);
  });

  test("a reader racing a writer of large values never sees a torn value", async (f) => {
    await assertNoTornReads(f.store, await other(f), 150_000);
  });

  test("journal: append, conflicts, and reading with afterSeq and limit", async ({ store }) => {
    assertEquals(await store.journalVersion("j"), 0);
    assertEquals(await store.readJournal("j", 0), []);
    const events: JsonValue[] = [{ type: "a", n: 1 }, ["b", 2.5, null], "c ✓", 4, {
      deep: { x: [] },
    }];
    assertOk(await store.commit([append("j", events.slice(0, 3), 0)]), [3]);
    assertOk(await store.commit([append("j", events.slice(3), 3)]), [5]);
    for (const wrong of [0, 3, 6]) {
      assertEquals(await store.commit([append("j", ["bad"], wrong)]), [conflict(5)]);
    }
    assertEquals(await store.commit([append("j", [], 4)]), [conflict(5)]);
    assertOk(await store.commit([append("j", [], 5)]), [5]);
    assertEquals(await store.journalVersion("j"), 5);
    const all = events.map((event, i) => ({ seq: i + 1, event }));
    assertEquals(await store.readJournal("j", 0), all);
    assertEquals(await store.readJournal("j", 2), all.slice(2));
    assertEquals(await store.readJournal("j", 1, 2), all.slice(1, 3));
    assertEquals(await store.readJournal("j", 0, 1), all.slice(0, 1));
    assertEquals(await store.readJournal("j", 5), []);
    assertEquals(await store.readJournal("j", 9), []);
    assertEquals(await store.readJournal("other", 0), []);
  });

  test("two appends at the same expected version: exactly one wins", async (f) => {
    const a = f.store;
    const b = await other(f);
    await a.commit([append("j", ["start"], 0)]);
    for (let round = 0; round < 10; round++) {
      const [[x], [y]] = await Promise.all([
        a.commit([append("j", [`a${round}`, "a"], 1 + 2 * round)]),
        b.commit([append("j", [`b${round}`, "b"], 1 + 2 * round)]),
      ]);
      assert(x && y);
      assertEquals(Number(x.ok) + Number(y.ok), 1, `round ${round}`);
      assertEquals(x.ok ? y : x, conflict(3 + 2 * round));
      const winner = x.ok ? "a" : "b";
      assertEquals(await b.readJournal("j", 1 + 2 * round), [
        { seq: 2 + 2 * round, event: `${winner}${round}` },
        { seq: 3 + 2 * round, event: winner },
      ]);
    }
    assertEquals(await a.journalVersion("j"), 21);
  });

  test("a journal and a snapshot can share a key", async ({ store }) => {
    assertOk(await store.commit([put("k", "snap", 0), append("k", ["ev"], 0)]), [1, 1]);
    assertOk(await store.commit([put("k", "snap2", 1), append("k", ["ev2"], 1)]), [2, 2]);
    assertOk(await store.commit([del("k", 2)]), [0]);
    assertEquals(await store.get("k"), null);
    assertEquals(await store.journalVersion("k"), 2);
    assertEquals((await store.readJournal("k", 0)).map((e) => e.event), ["ev", "ev2"]);
    assertEquals(await store.keys(""), []);
    assertEquals(await store.journalKeys(""), ["k"]);
    assertOk(await store.commit([put("k", "back", 0)]), [1]);
    assertEquals(await store.journalVersion("k"), 2);
  });

  test("keys and journalKeys list exactly the keys with the prefix, sorted", async (f) => {
    const { store } = f;
    const snaps = ["a", "b/1", "ab", "a/2", "a/10", "a/1", "é", "a\u0000z", "b", ""];
    await store.commit(snaps.map((k) => put(k, k, 0)).concat(append("a/j", [1], 0)));
    await store.commit([append("b/j", [1], 0), append("a/k", [1], 0), append("c", [1], 0)]);
    await store.commit([del("b", 1), append("empty", [], 0)]);
    const sorted = (xs: string[]) => [...xs].sort();
    assertEquals(await store.keys(""), sorted(snaps.filter((k) => k !== "b")));
    assertEquals(await store.keys("a"), sorted(["a", "ab", "a/2", "a/10", "a/1", "a\u0000z"]));
    assertEquals(await store.keys("a/"), ["a/1", "a/10", "a/2"]);
    assertEquals(await store.keys("a/1"), ["a/1", "a/10"]);
    assertEquals(await store.keys("b"), ["b/1"]);
    assertEquals(await store.keys("z"), []);
    assertEquals(await store.journalKeys(""), ["a/j", "a/k", "b/j", "c"]);
    assertEquals(await store.journalKeys("a/"), ["a/j", "a/k"]);
    assertEquals(await store.journalKeys("a/1"), []);
  });

  test("keys lists a page after a key, at most limit", async ({ store }) => {
    const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    await store.commit(keys.map((k) => put(k, k, 0)).concat(put("q/1", 1, 0), put("o/9", 1, 0)));
    assertEquals(await store.keys("p/", { limit: 10 }), keys.slice(0, 10));
    assertEquals(await store.keys("p/", { after: "p/09", limit: 10 }), keys.slice(10, 20));
    assertEquals(await store.keys("p/", { after: "p/19", limit: 10 }), keys.slice(20));
    assertEquals(await store.keys("p/", { after: "p/24", limit: 10 }), []);
    assertEquals(await store.keys("p/", { after: "p/05x" }), keys.slice(6));
    assertEquals(await store.keys("p/", { after: "a" }), keys, "an after before the prefix");
    assertEquals(await store.keys("p/", { limit: 0 }), []);
  });

  test("journalKeys lists a page after a key, at most limit", async ({ store }) => {
    const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    await store.commit(keys.map((k) => append(k, [k], 0)).concat(append("q/1", [1], 0)));
    assertEquals(await store.journalKeys("p/", { limit: 10 }), keys.slice(0, 10));
    assertEquals(await store.journalKeys("p/", { after: "p/09", limit: 10 }), keys.slice(10, 20));
    assertEquals(await store.journalKeys("p/", { after: "p/24", limit: 10 }), []);
    assertEquals(await store.journalKeys("p/", { after: "p/05x" }), keys.slice(6));
    assertEquals(await store.journalKeys("p/"), keys);
  });

  test("data survives close and reopen", async (f) => {
    assert(f.reopen, "a durable store's fixture must provide reopen");
    await f.store.commit([put("k", { n: 1 }, 0), put("big", "z".repeat(100_000), 0)]);
    await f.store.commit([put("k", { n: 2 }, 1), append("j", ["e1", "e2"], 0)]);
    await f.store.close();
    const again = await f.reopen();
    assertEquals(await again.get("k"), { version: 2, value: { n: 2 } });
    assertEquals(await again.get("big"), { version: 1, value: "z".repeat(100_000) });
    assertEquals(await again.journalVersion("j"), 2);
    assertEquals(await again.readJournal("j", 1), [{ seq: 2, event: "e2" }]);
    assertEquals(await again.commit([put("k", 3, 1)]), [conflict(2)]);
    assertOk(await again.commit([put("k", 3, 2)]), [3]);
  }, !traits.durable);

  test("a fence taken by a newer owner refuses the older owner's writes of every kind", async ({ store }) => {
    assertEquals(await store.fence("f/1", 5), { token: 5, marks: {} });
    const older: Fence = { key: "f/1", token: 4 };
    const newer: Fence = { key: "f/1", token: 5 };
    await store.commit([append("j", [1], 0), append("k", [1], 0)]);
    const results = await store.commit([
      { ...put("a", 1, 0), fence: older },
      { ...put("b", 1, null), fence: older },
      { ...del("c", null), fence: older },
      { ...append("j", [2], 1), fence: older },
      { op: "trim", key: "k", through: 1, fence: older },
      put("unfenced", 1, 0),
    ]);
    for (const r of results.slice(0, 5)) {
      const error = errorOf(r);
      assert(error instanceof FencedError, JSON.stringify(r));
      assertEquals(error.heldToken, 5);
    }
    assert(results[5]!.ok, "an unfenced write is not checked");
    assertEquals(await store.get("a"), null);
    assertEquals(await store.get("b"), null);
    assertEquals(await store.journalVersion("j"), 1);
    assertEquals(await store.readJournal("k", 0), [{ seq: 1, event: 1 }], "not trimmed");
    assertOk(await store.commit([{ ...put("a", 1, 0), fence: newer }]), [1]);
    // An older token never lowers the record; a newer one takes it.
    assertEquals((await store.fence("f/1", 3)).token, 5);
    assertEquals((await store.fence("f/1", 9)).token, 9);
    const refused = await store.commit([{ ...put("a", 2, 1), fence: newer }]);
    assert(errorOf(refused[0]!) instanceof FencedError);
    // An owner handing over marks where everything is durable; an older one cannot.
    assertEquals(await store.fence("f/1", 9, { "in/1": 40 }), { token: 9, marks: { "in/1": 40 } });
    assertEquals((await store.fence("f/1", 8, { "in/1": 99 })).marks, { "in/1": 40 });
    assertEquals((await store.fence("f/1", 9, { "in/1": 30 })).marks, { "in/1": 40 }, "by maximum");
    // Another fence is another partition: not affected.
    assertOk(await store.commit([{ ...put("z", 1, 0), fence: { key: "f/2", token: 1 } }]), [1]);
  });

  test("a fence's marks rise by maximum and a record below what was known is a regression", async ({ store }) => {
    const f = (marks: Record<string, number>, known?: Record<string, number>): Fence => ({
      key: "f/7",
      token: 1,
      marks,
      ...(known === undefined ? {} : { known }),
    });
    await store.fence("f/7", 1);
    assertOk(await store.commit([{ ...put("a", 1, 0), fence: f({ "in/7": 10, "msg/7": 3 }) }]), [
      1,
    ]);
    assertOk(await store.commit([{ ...put("b", 1, 0), fence: f({ "in/7": 8 }) }]), [1]);
    assertEquals((await store.fence("f/7", 1)).marks, { "in/7": 10, "msg/7": 3 });
    // Known positions the record holds: fine.
    assertOk(
      await store.commit([{ ...put("a", 2, 1), fence: f({ "in/7": 12 }, { "in/7": 10 }) }]),
      [2],
    );
    // Known positions beyond what it holds: the store went back in time; nothing is written.
    const [r] = await store.commit([
      { ...put("a", 3, 2), fence: f({ "in/7": 20 }, { "in/7": 15, "msg/7": 3 }) },
    ]);
    const regressed = errorOf(r!);
    assert(regressed instanceof StoreRegressedError, JSON.stringify(r));
    assertEquals(regressed.held["in/7"], 12);
    assertEquals((await store.get("a"))?.version, 2);
    assertEquals((await store.fence("f/7", 1)).marks["in/7"], 12);
  });

  test("onlyIf: an operation rides with the one it depends on, never without it", async ({ store }) => {
    await store.commit([put("state", 1, 0)]);
    const lost = await store.commit([
      put("state", 2, 0), // conflicts: the state is at 1
      { ...put("r/reminder", { due: 1 }, null), onlyIf: 0 },
      { ...del("r/old", null), onlyIf: 0 },
    ]);
    assertEquals(lost[0], conflict(1));
    assert(!lost[1]!.ok && !lost[1]!.conflict, "skipped with its state");
    assert(!lost[2]!.ok && !lost[2]!.conflict, "skipped with its state");
    assertEquals(await store.get("r/reminder"), null);
    const won = await store.commit([
      put("other", 1, 0),
      put("state", 2, 1),
      { ...put("r/reminder", { due: 2 }, null), onlyIf: 1 },
    ]);
    assertOk(won, [1, 2, 1]);
    assertEquals((await store.get("r/reminder"))?.value, { due: 2 });
    // A fenced anchor takes its dependents with it.
    await store.fence("f/3", 2);
    const fenced = await store.commit([
      { ...put("state", 3, 2), fence: { key: "f/3", token: 1 } },
      { ...put("r/reminder", { due: 3 }, null), onlyIf: 0 },
    ]);
    assert(!fenced[1]!.ok);
    assertEquals((await store.get("r/reminder"))?.value, { due: 2 });
  });

  test("onlyIf: a journal's snapshot rides with the append of the same key, never without it", async ({ store }) => {
    // What the runtime writes for a journaled actor crossing a snapshot boundary.
    assertOk(
      await store.commit([
        append("a/x", ["e1", "e2"], 0),
        { ...put("a/x", { j: 2 }, null), onlyIf: 0 },
      ]),
      [2, 1],
    );
    const lost = await store.commit([
      append("a/x", ["e3"], 1), // conflicts: the journal is at 2
      { ...put("a/x", { j: 3 }, null), onlyIf: 0 },
    ]);
    assertEquals(lost[0], conflict(2));
    assert(!lost[1]!.ok && !lost[1]!.conflict, "skipped with its append");
    assertEquals((await store.get("a/x"))?.value, { j: 2 });
    assertOk(
      await store.commit([
        append("a/x", ["e3"], 2),
        { ...put("a/x", { j: 3 }, null), onlyIf: 0 },
      ]),
      [3, 2],
    );
    assertEquals((await store.get("a/x"))?.value, { j: 3 });
    assertEquals(await store.journalVersion("a/x"), 3);
  });

  test("trimming a journal keeps its version and reads from the first event kept", async ({ store }) => {
    assertOk(await store.commit([append("j", [1, 2, 3, 4, 5], 0)]), [5]);
    assertOk(await store.commit([{ op: "trim", key: "j", through: 3 }]), [5]);
    assertEquals(await store.journalVersion("j"), 5);
    assertEquals(await store.readJournal("j", 0), [{ seq: 4, event: 4 }, { seq: 5, event: 5 }]);
    assertEquals(await store.readJournal("j", 4), [{ seq: 5, event: 5 }]);
    // Appends go on from the version; trimming again, or past the end, is harmless.
    assertOk(await store.commit([append("j", [6], 5)]), [6]);
    assertEquals(await store.commit([append("j", [7], 5)]), [conflict(6)]);
    assertOk(await store.commit([{ op: "trim", key: "j", through: 2 }]), [6]);
    assertOk(await store.commit([{ op: "trim", key: "j", through: 100 }]), [6]);
    assertEquals(await store.readJournal("j", 0), []);
    assertEquals(await store.journalVersion("j"), 6);
    assertOk(await store.commit([append("j", [7], 6)]), [7]);
    assertEquals(await store.readJournal("j", 0), [{ seq: 7, event: 7 }]);
    assertEquals(await store.journalKeys(""), ["j"]);
  });

  test("every call after close rejects with StoreError", async ({ store }) => {
    await store.commit([put("k", 1, 0)]);
    await store.close();
    const calls: [string, () => Promise<unknown>][] = [
      ["get", () => store.get("k")],
      ["getMany", () => store.getMany(["k"])],
      ["commit", () => store.commit([put("k", 2, null)])],
      ["journalVersion", () => store.journalVersion("j")],
      ["readJournal", () => store.readJournal("j", 0)],
      ["keys", () => store.keys("")],
      ["journalKeys", () => store.journalKeys("")],
      ["fence", () => store.fence("f/1", 1)],
    ];
    for (const [method, call] of calls) {
      await assertRejects(call, StoreError).catch((e: Error) => {
        throw new AssertionError(`${method}: ${e.message}`);
      });
    }
  });
}

/** The error of a refused operation (`null` when it applied or conflicted). */
export function errorOf(result: OpResult): Error | null {
  return !result.ok && !result.conflict ? result.error : null;
}

/** A put op. */
export function put(key: string, value: JsonValue, expectedVersion: number | null): StoreOp {
  return { op: "put", key, value, expectedVersion };
}

/** A delete op. */
export function del(key: string, expectedVersion: number | null): StoreOp {
  return { op: "delete", key, expectedVersion };
}

/** An append op. */
export function append(key: string, events: JsonValue[], expectedVersion: number): StoreOp {
  return { op: "append", key, events, expectedVersion };
}

/** The result of a conflict with `actualVersion`. */
export function conflict(actualVersion: number): OpResult {
  return { ok: false, conflict: true, actualVersion };
}

/** Asserts every result is ok, with the given versions. */
export function assertOk(results: readonly OpResult[], versions: readonly number[]): void {
  assertEquals(results, versions.map((version) => ({ ok: true, version })));
}

/**
 * Writes three values of `size` characters in turn at one key, 15 times, while `reader` reads
 * it: every read must be one whole value, the one its version says.
 */
export async function assertNoTornReads(
  writer: StateStore,
  reader: StateStore,
  size: number,
): Promise<void> {
  const values = ["x", "y", "z"].map((c) => c.repeat(size));
  await writer.commit([put("race", values[0]!, 0)]);
  let done = false;
  const writing = (async () => {
    for (let i = 1; i <= 15; i++) await writer.commit([put("race", values[i % 3]!, i)]);
    done = true;
  })();
  let reads = 0;
  try {
    while (!done) {
      const got = await reader.get("race");
      assert(got !== null, "the value is there");
      assertEquals(got.value, values[(got.version - 1) % 3], `version ${got.version}`);
      reads++;
    }
  } finally {
    await writing;
  }
  assert(reads > 0, "the reader read while the writer wrote");
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
