/**
 * The customer session actor on a running system: the idle watermark advance (driven by a
 * ManualClock), session windows closing after exactly the gap, the anomaly score parts, alerts
 * raised by pattern matches, bounded state, and the timer re-armed after a restart.
 */
import * as alerts from "../actors/alerts/mod.ts";
import * as sessions from "../actors/sessions/mod.ts";
import { anomalyScore } from "../actors/sessions/session_window.ts";
import { resolveSessionsConfig, type SessionsConfig } from "../actors/sessions/config.ts";
import type { CustomerEvent } from "../actors/sessions/event.ts";
import { type BusEvent, ManualClock, MemoryStore } from "../runtime/mod.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { setup } from "./helpers/system.ts";

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A started system with the sessions and alerts actors, on a ManualClock at T0. */
async function start(config: Partial<SessionsConfig> = {}, store = new MemoryStore()) {
  const clock = new ManualClock(T0);
  const { system } = setup([...sessions.actors(config), ...alerts.actors()], {
    clock,
    store,
    logs: "discard",
  });
  const published: BusEvent[] = [];
  system.events.subscribe({}, (e) => {
    if ("topic" in e) published.push(e);
  });
  await system.start();
  const customer = (id: string) => system.ref(sessions.SESSION, id);
  const send = (id: string, ev: CustomerEvent) =>
    customer(id).ask("event", ev) as Promise<sessions.EventReceipt>;
  const view = (id: string) => customer(id).ask("view") as Promise<sessions.SessionView>;
  const book = (id: string) =>
    system.ref(alerts.alertBookActor(alerts.resolveAlertsConfig()), `session/${id}`).ask("alerts");
  /** Moves the clock in steps of `step` ms (timers set while it moves fire too). */
  const advance = async (ms: number, step = ms) => {
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await system.idle();
    }
  };
  return { system, clock, store, published, customer, send, view, book, advance };
}

const login = (ts: number): CustomerEvent => ({ type: "login", ts });

Deno.test("session actor an idle customer's watermark advances with processing time after 5 s", async () => {
  const t = await start();
  for (let i = 0; i < 5; i++) await t.send("c1", login(T0 + i * S));
  assertEquals((await t.book("c1")).open, [], "the last login is not final yet");
  assertEquals((await t.view("c1")).pending, 5);
  await t.advance(5 * S);
  assertEquals((await t.book("c1")).open, [], "5 s of silence: the newest login is not yet passed");
  await t.advance(1);
  const open = (await t.book("c1")).open;
  assertEquals(open.map((a) => [a.source, a.type, a.severity]), [
    ["session/c1", "RAPID_LOGIN_ATTEMPTS", "high"],
  ]);
  assertEquals((open[0]!.data as { risk: number }).risk, 0.8);
  assertEquals((await t.view("c1")).pending, 0);
  const pattern = t.published.find((e) => e.topic === "sessions");
  assertEquals(pattern?.key, "c1");
  assertEquals((pattern?.data as { kind: string }).kind, "pattern");
  await t.system.shutdown();
});

Deno.test("session actor a newer event releases older ones without waiting", async () => {
  const t = await start();
  for (let i = 0; i < 5; i++) await t.send("c1", login(T0 + i * S));
  await t.send("c1", { type: "page_view", ts: T0 + 10 * S, page: "/" });
  const view = await t.view("c1");
  assertEquals(view.pending, 1, "only the page view waits");
  assertEquals(view.matches.map((m) => m.pattern), ["RAPID_LOGIN_ATTEMPTS"]);
  await t.system.shutdown();
});

Deno.test("session actor events later than 5 s behind the newest are counted as late", async () => {
  const t = await start();
  assertEquals((await t.send("c1", login(T0 + 100 * S))).status, "accepted");
  assertEquals((await t.send("c1", login(T0 + 95 * S))).status, "accepted");
  assertEquals((await t.send("c1", login(T0 + 95 * S - 1))).status, "late");
  const view = await t.view("c1");
  assertEquals([view.events, view.late], [2, 1]);
  assertEquals(view.current[0]!.eventCount, 2, "a late event is not in the session");
  await t.system.shutdown();
});

Deno.test("session actor a session closes after exactly 30 min of inactivity", async () => {
  const t = await start();
  await t.send("c1", { type: "page_view", ts: T0, page: "/a" });
  await t.send("c1", { type: "page_view", ts: T0 + 10 * MIN, page: "/b" });
  await t.send("c1", { type: "page_view", ts: T0 + 10 * MIN + 1, page: "/a" });
  // The next event exactly 30 min after the last one starts a new session.
  await t.send("c1", { type: "api_call", ts: T0 + 40 * MIN + 1 });
  let view = await t.view("c1");
  assertEquals(view.current.length, 2);
  assertEquals(view.closed, [], "not closed before the watermark passes its end");
  await t.advance(5 * S);
  view = await t.view("c1");
  assertEquals(view.closed, [{
    start: T0,
    end: T0 + 10 * MIN + 1,
    durationMs: 10 * MIN + 1,
    eventCount: 3,
    uniquePages: 2,
    eventTypes: { page_view: 3 },
    anomalyScore: 0,
    anomalyFactors: [],
  }]);
  assertEquals(view.current.map((s) => s.eventCount), [1]);
  const closed = t.published.filter((e) =>
    e.topic === "sessions" && (e.data as { kind: string }).kind === "session"
  );
  assertEquals(closed.length, 1);
  // The idle customer's session closes 30 min (plus the 5 s lag) after its last event.
  await t.advance(30 * MIN - 1, 10 * MIN);
  assertEquals((await t.view("c1")).closed.length, 1);
  await t.advance(1);
  assertEquals((await t.view("c1")).closed.length, 2);
  await t.system.shutdown();
});

Deno.test("session anomaly score: each part at its boundary, capped at 1", () => {
  const c = resolveSessionsConfig().anomaly;
  assertEquals(anomalyScore(1000, 0, {}, c), { score: 0, factors: [] });
  assertEquals(anomalyScore(1001, 0, {}, c), { score: 0.3, factors: ["MANY_EVENTS"] });
  assertEquals(anomalyScore(1, HOUR, {}, c).score, 0, "exactly 1 h is not longer than 1 h");
  assertEquals(anomalyScore(1, HOUR + 1, {}, c), { score: 0.2, factors: ["LONG_SESSION"] });
  assertEquals(anomalyScore(100, 0, { api_call: 100 }, c).score, 0);
  assertEquals(anomalyScore(101, 0, { api_call: 101 }, c), {
    score: 0.5,
    factors: ["API_WITHOUT_PAGE_VIEWS"],
  });
  assertEquals(anomalyScore(102, 0, { api_call: 101, page_view: 1 }, c).score, 0, "one page view");
  assertEquals(anomalyScore(1001, HOUR + 1, { api_call: 1001 }, c), {
    score: 1,
    factors: ["MANY_EVENTS", "LONG_SESSION", "API_WITHOUT_PAGE_VIEWS"],
  });
  assertEquals(anomalyScore(1001, 0, { api_call: 1001 }, c).score, 0.8);
});

Deno.test("session actor a bot-like session scores its anomaly parts", async () => {
  const t = await start();
  for (let i = 0; i <= 100; i++) {
    t.clock.advanceTo(T0 + i * 40 * S);
    await t.system.idle();
    await t.send("bot", { type: "api_call", ts: T0 + i * 40 * S });
  }
  await t.advance(31 * MIN, 5 * MIN);
  const [closed] = (await t.view("bot")).closed;
  assertEquals(closed!.eventCount, 101);
  assertEquals(closed!.durationMs, 100 * 40 * S);
  assertEquals(closed!.anomalyFactors, ["LONG_SESSION", "API_WITHOUT_PAGE_VIEWS"]);
  assertEquals(closed!.anomalyScore, 0.7);
  await t.system.shutdown();
});

Deno.test("session actor state stays bounded over many events", async () => {
  const t = await start({ limits: { closedSessions: 3, matches: 4 } });
  for (let i = 0; i < 400; i++) {
    // Rapid logins, then a long pause: every 50 events a new session.
    const ts = T0 + Math.floor(i / 50) * HOUR + (i % 50) * S;
    t.clock.advanceTo(ts);
    await t.system.idle();
    await t.send("c1", login(ts));
  }
  await t.advance(HOUR, 10 * MIN);
  const state = await t.view("c1");
  assertEquals(state!.closed.length, 3);
  assertEquals(state!.matches.length, 4);
  assertEquals(state!.events, 400);
  const stored = JSON.stringify((await t.store.get("a/session/c1"))!.value);
  assert(stored.length < 20_000, `stored state is ${stored.length} characters`);
  await t.system.shutdown();
});

Deno.test("session actor a flood of events within the lag is bounded by the pending limit", async () => {
  const t = await start({ limits: { pending: 3 } });
  for (let i = 0; i < 5; i++) await t.send("c1", login(T0 + i));
  const view = await t.view("c1");
  assertEquals(view.pending, 3, "the oldest events were made final early");
  assertEquals(view.events, 5);
  assertEquals((await t.send("c1", login(T0))).status, "late", "behind the forced watermark");
  await t.system.shutdown();
});

Deno.test("session actor after a restart the watermark timer is armed again on activation", async () => {
  const store = new MemoryStore();
  const first = await start({}, store);
  for (let i = 0; i < 5; i++) await first.send("c1", login(T0 + i * S));
  await first.system.shutdown();

  const second = await start({}, store);
  // Activating the customer (any message, here a read) re-arms its timer from its state.
  assertEquals((await second.view("c1")).pending, 5);
  await second.advance(6 * S);
  assertEquals(
    (await second.book("c1")).open.map((a) => a.type),
    ["RAPID_LOGIN_ATTEMPTS"],
  );
  await second.system.shutdown();
});

Deno.test("session actor events too far in the future are refused and change nothing", async () => {
  const t = await start();
  let error: unknown;
  try {
    await t.send("c1", login(T0 + HOUR + 1));
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.name === "TimeOutOfRangeError", String(error));
  assertEquals(
    (await t.send("c1", login(T0 + HOUR))).status,
    "accepted",
    "exactly 1 h ahead is fine",
  );
  assertEquals((await t.view("c1")).events, 1);
  await t.system.shutdown();
});
