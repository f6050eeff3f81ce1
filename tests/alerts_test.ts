/**
 * Alerts: lifecycle raised → acknowledged → cleared, dedup of an open alert by
 * (source, type) with severity escalation, rules (suppress, re-map, route), the SSE
 * announcements, history, the cross-source index, and the HTTP contract with bad inputs.
 */
import {
  type Alert,
  alertId,
  applyBookEvent,
  checkSignal,
  emptyBook,
  entityOf,
  lookup,
  parseAlertId,
  raise,
} from "../actors/alerts/alert.ts";
import { type AlertRule, applyRules, checkRules } from "../actors/alerts/rules.ts";
import * as alerts from "../actors/alerts/mod.ts";
import { ALERT_BOOK, type AlertSignal, clearAlert, raiseAlert } from "../actors/contracts.ts";
import {
  type BusEvent,
  ConfigError,
  ManualClock,
  MemoryStore,
  ValidationError,
} from "../runtime/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { testApp } from "./helpers/app.ts";
import { journalEvents } from "./helpers/stored.ts";
import { setup } from "./helpers/system.ts";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const PROBLEM = "application/problem+json; charset=utf-8";
const sig = (p: Partial<AlertSignal> = {}): AlertSignal => ({
  source: "device/robot-1",
  type: "threshold_violation",
  severity: "high",
  message: "temperature 51 above 50",
  data: { sensor: "temperature", value: 51 },
  ...p,
});

// ---------------------------------------------------------------- lifecycle (pure)

/** `GET /api/alerts` as the HTTP API answers it. */
type HttpAlertPage = { items: alerts.Alert[]; next: string | null; total: number };

Deno.test("alert ids are URL-safe and name their source", () => {
  assertEquals(alertId("device/robot-1", 3), "device.robot-1.3");
  assertEquals(parseAlertId("device.robot-1.3"), { source: "device/robot-1", n: 3 });
  assertEquals(parseAlertId("tx-rollup.all.12"), { source: "tx-rollup/all", n: 12 });
  for (
    const bad of ["device.robot-1", "device.robot-1.0", "device/robot-1.1", "x.y.z", "1dev.a.1", ""]
  ) {
    assertEquals(parseAlertId(bad), null, bad);
  }
  assertEquals(encodeURIComponent(alertId("session/c_9-x", 42)), "session.c_9-x.42");
  assertEquals(entityOf("device/robot-1"), "robot-1");
});

Deno.test("alert a repeat of an open alert is merged: counted, latest data, severity only escalates", () => {
  const book = emptyBook();
  const s = (p: Partial<AlertSignal>, at: number) => checkSignal("device/robot-1", sig(p), at);
  const apply = (at: number, p: Partial<AlertSignal> = {}) =>
    applyBookEvent(book, raise(book, "device/robot-1", s(p, at)), 50);
  apply(1000);
  apply(2000, { severity: "critical", data: { value: 60 } });
  apply(3000, { severity: "low", data: { value: 52 } });
  const open = book.open["threshold_violation"]!;
  assertEquals(
    [open.id, open.count, open.severity, open.raisedAt, open.lastAt, open.data],
    ["device.robot-1.1", 3, "critical", 1000, 3000, { value: 52 }],
  );
  apply(4000, { type: "rapid_change", severity: "medium" });
  assertEquals(Object.values(book.open).map((a) => a.id), ["device.robot-1.1", "device.robot-1.2"]);
});

Deno.test("alert lifecycle raised → acknowledged → cleared; a raise after clearing is a new alert", () => {
  const book = emptyBook();
  const first = raise(book, "device/robot-1", checkSignal("device/robot-1", sig(), 1000));
  applyBookEvent(book, first, 50);
  applyBookEvent(book, { kind: "acknowledged", id: "device.robot-1.1", at: 2000 }, 50);
  assertEquals(book.open["threshold_violation"]!.status, "acknowledged");
  applyBookEvent(book, { kind: "cleared", id: "device.robot-1.1", at: 3000, by: "operator" }, 50);
  assertEquals(book.open, {});
  assertEquals(
    book.closed.map((a) => [a.id, a.status, a.acknowledgedAt, a.clearedAt, a.clearedBy]),
    [["device.robot-1.1", "cleared", 2000, 3000, "operator"]],
  );
  applyBookEvent(
    book,
    raise(book, "device/robot-1", checkSignal("device/robot-1", sig(), 4000)),
    50,
  );
  assertEquals(book.open["threshold_violation"]!.id, "device.robot-1.2");
  assertEquals(lookup(book, "device.robot-1.1").found, "cleared");
  assertEquals(lookup(book, "device.robot-1.2").found, "open");
  assertEquals(lookup(book, "device.robot-1.3").found, "none");
});

Deno.test("alert the book keeps a bounded number of cleared alerts and still knows older ones were cleared", () => {
  const book = emptyBook();
  for (let i = 1; i <= 5; i++) {
    applyBookEvent(book, raise(book, "device/d", checkSignal("device/d", sig(), i)), 2);
    applyBookEvent(book, { kind: "cleared", id: `device.d.${i}`, at: i, by: "source" }, 2);
  }
  assertEquals(book.closed.map((a) => a.id), ["device.d.4", "device.d.5"]);
  assertEquals(lookup(book, "device.d.1"), { found: "cleared", alert: null });
});

Deno.test("alert signals are checked: source, type, severity, message, data size", () => {
  const e = assertThrows(
    () =>
      checkSignal(
        "nope",
        { source: "nope", type: "1x", severity: "urgent", message: 3 } as never,
        0,
      ),
    ValidationError,
  );
  assertEquals(e.issues.map((i) => i.path), ["source", "type", "severity", "message"]);
  assertThrows(
    () => checkSignal("device/a", sig({ data: "x".repeat(20_000) }), 0),
    ValidationError,
  );
  assertEquals(checkSignal("device/a", sig({ at: undefined }), 77).at, 77, "at defaults to now");
});

// ---------------------------------------------------------------- rules (pure)

Deno.test("rules suppress, re-map severity and route, in order", () => {
  const rules: AlertRule[] = checkRules([
    { name: "bench", when: { source: "device/bench-*" }, then: { suppress: true } },
    {
      name: "hot",
      when: { type: "threshold_violation", data: { value: { gt: 80 } } },
      then: { severity: "critical" },
    },
    { name: "page", when: { minSeverity: "critical" }, then: { webhooks: ["oncall"], stop: true } },
    { name: "never", then: { severity: "low" } },
  ], ["oncall"]);
  const subject = (p: Partial<AlertSignal> = {}) => {
    const s = sig(p);
    return { source: s.source, type: s.type, severity: s.severity, data: s.data ?? null };
  };
  assertEquals(applyRules(rules, subject({ source: "device/bench-7" })).suppressed, true);
  const hot = applyRules(rules, subject({ data: { value: 81 } }));
  assertEquals([hot.suppressed, hot.severity, hot.webhooks.raised, hot.matched], [
    false,
    "critical",
    ["oncall"],
    ["hot", "page"],
  ]);
  const warm = applyRules(rules, subject({ data: { value: 80 } }));
  assertEquals(
    [warm.severity, warm.webhooks.raised, warm.matched],
    ["low", [], ["never"]],
    "80 is not above 80",
  );
  const noValue = applyRules(rules, subject({ data: null }));
  assertEquals(noValue.matched, ["never"], "a comparison on a missing field fails");
});

Deno.test("rules conditions: type lists, severities, exists, in, nested paths", () => {
  const s = {
    source: "session/c1",
    type: "RAPID_LOGIN_ATTEMPTS",
    severity: "high" as const,
    data: { risk: 0.8, geo: { country: "KR" } },
  };
  const m = (when: AlertRule["when"]) =>
    applyRules([{ name: "r", when, then: {} }], s).matched.length === 1;
  assert(m({ type: ["fraud_detected", "RAPID_LOGIN_ATTEMPTS"] }));
  assert(!m({ type: "fraud_detected" }));
  assert(m({ severity: ["high", "critical"] }) && !m({ severity: "low" }));
  assert(m({ minSeverity: "medium" }) && !m({ minSeverity: "critical" }));
  assert(
    m({ data: { "geo.country": { in: ["KR", "JP"] } } }) &&
      !m({ data: { "geo.country": { eq: "US" } } }),
  );
  assert(m({ data: { missing: { exists: false } } }) && !m({ data: { risk: { exists: false } } }));
  assert(m({ data: { risk: { gte: 0.8, lt: 0.9 } } }) && !m({ data: { risk: { gt: 0.8 } } }));
  assert(m({ source: ["device/*", "session/*"] }) && !m({ source: "session/c" }));
});

Deno.test("rules from configuration are checked", () => {
  assertThrows(() => checkRules([{ then: {} }], []), ConfigError, "name");
  assertThrows(
    () => checkRules([{ name: "x", when: { severity: "urgent" }, then: {} }], []),
    ConfigError,
  );
  assertThrows(
    () => checkRules([{ name: "x", then: { webhooks: ["a"] } }], []),
    ConfigError,
    "not configured",
  );
  assertThrows(
    () => checkRules([{ name: "x", when: { data: { v: {} } }, then: {} }], []),
    ConfigError,
  );
  assertThrows(() => checkRules([{ name: "x", then: { supress: true } }], []), ConfigError);
});

// ---------------------------------------------------------------- the book actor

async function startBooks(config: Partial<alerts.AlertsConfig> = {}, store = new MemoryStore()) {
  const clock = new ManualClock(T0);
  const { system } = setup(alerts.actors(config), { clock, store, logs: "discard" });
  const published: BusEvent[] = [];
  system.events.subscribe({ topics: ["alerts"] }, (e) => {
    if ("topic" in e) published.push(e);
  });
  const index = system.project(alerts.alertIndexDefinition());
  await system.start();
  const def = alerts.alertBookActor(alerts.resolveAlertsConfig(config));
  const book = (source: string) => system.ref(def, source);
  return { system, clock, store, published, index, book };
}

Deno.test("alert book dedups, announces on the alerts topic, and journals its history", async () => {
  const t = await startBooks();
  const b = t.book("device/robot-1");
  assertEquals((await b.ask("raise", sig())).outcome, "raised");
  assertEquals((await b.ask("raise", sig({ severity: "high" }))).outcome, "merged");
  assertEquals((await b.ask("raise", sig({ severity: "critical" }))).outcome, "merged");
  const id = "device.robot-1.1";
  assertEquals((await b.ask("ack", { id })).result, "done");
  assertEquals((await b.ask("ack", { id })).result, "unchanged", "acknowledging twice is harmless");
  assertEquals(await b.ask("resolve", { type: "threshold_violation", at: T0 + 5 }), id);
  assertEquals(
    await b.ask("resolve", { type: "threshold_violation" }),
    null,
    "nothing open any more",
  );
  assertEquals((await b.ask("ack", { id })).result, "cleared");
  assertEquals((await b.ask("clear", { id })).result, "unchanged");
  assertEquals((await b.ask("ack", { id: "device.robot-1.9" })).result, "not_found");
  assertEquals(
    t.published.map((
      e,
    ) => [
      e.key,
      (e.data as { event: string }).event,
      (e.data as unknown as alerts.Announcement).alert.severity,
    ]),
    [
      ["robot-1", "raised", "high"],
      ["robot-1", "escalated", "critical"],
      ["robot-1", "acknowledged", "critical"],
      ["robot-1", "cleared", "critical"],
    ],
    "a plain repeat is not announced",
  );
  const history = await journalEvents(t.store, `a/${ALERT_BOOK}/device/robot-1`);
  assertEquals(
    history.map((e) => (e as { kind: string }).kind),
    ["raised", "repeated", "repeated", "acknowledged", "cleared"],
  );
  const { open, closed } = await b.ask("alerts");
  assertEquals(open, []);
  assertEquals(closed.map((a) => [a.id, a.status, a.count, a.clearedBy]), [[
    id,
    "cleared",
    3,
    "source",
  ]]);
  await t.system.shutdown();
});

Deno.test("alert book rules: a suppressed signal raises nothing, a re-mapped one keeps its new severity", async () => {
  const t = await startBooks({
    rules: [
      { name: "quiet", when: { type: "rapid_change" }, then: { suppress: true } },
      {
        name: "offline is critical",
        when: { type: "device_offline" },
        then: { severity: "critical" },
      },
    ],
  });
  const b = t.book("device/robot-1");
  assertEquals(await b.ask("raise", sig({ type: "rapid_change" })), {
    outcome: "suppressed",
    rules: ["quiet"],
  });
  await b.ask("raise", sig({ type: "device_offline", severity: "high" }));
  const { open } = await b.ask("alerts");
  assertEquals(open.map((a) => [a.type, a.severity]), [["device_offline", "critical"]]);
  await t.system.shutdown();
});

Deno.test("alert book a malformed signal is refused and changes nothing", async () => {
  const t = await startBooks();
  let refused: unknown;
  try {
    await t.book("device/robot-1").ask("raise", { ...sig(), severity: "urgent" } as never);
  } catch (e) {
    refused = e;
  }
  assert(refused instanceof ValidationError);
  assertEquals((await t.book("device/robot-1").ask("alerts")).open, []);
  await t.system.shutdown();
});

Deno.test("alert index: every source's alerts in one view, rebuilt from the journals", async () => {
  const store = new MemoryStore();
  const first = await startBooks({}, store);
  await first.book("device/robot-1").ask("raise", sig());
  await first.book("device/robot-2").ask(
    "raise",
    sig({ type: "device_offline", severity: "medium" }),
  );
  await first.book("session/c1").ask(
    "raise",
    sig({ source: "session/c1", type: "RAPID_LOGIN_ATTEMPTS" }),
  );
  await first.book("device/robot-2").ask("clear", { id: "device.robot-2.1" });
  const q = (view: alerts.AlertIndexView, p: Partial<alerts.AlertQuery> = {}) =>
    alerts.queryAlerts(view, { limit: 100, offset: 0, ...p }).alerts.map((a) => a.id).sort();
  assertEquals(q(first.index.view), ["device.robot-1.1", "device.robot-2.1", "session.c1.1"]);
  assertEquals(q(first.index.view, { status: ["cleared"] }), ["device.robot-2.1"]);
  assertEquals(q(first.index.view, { device: "robot-1" }), ["device.robot-1.1"]);
  await first.system.shutdown();

  const second = await startBooks({}, store);
  assertEquals(q(second.index.view), ["device.robot-1.1", "device.robot-2.1", "session.c1.1"]);
  assertEquals(second.index.view.byId.get("device.robot-2.1")!.status, "cleared");
  await second.system.shutdown();
});

Deno.test("alert index pages newest first", () => {
  const view: alerts.AlertIndexView = { byId: new Map(), cleared: [] };
  const def = alerts.alertIndexDefinition(2);
  for (let i = 1; i <= 5; i++) {
    const alert = { ...emptyAlert(), id: `device.d.${i}`, raisedAt: T0 + i };
    def.apply(view, { kind: "raised", alert }, { id: "device/d", seq: i });
  }
  const page = alerts.queryAlerts(view, { limit: 2, offset: 0 });
  assertEquals([page.alerts.map((a) => a.id), page.total, page.next], [
    ["device.d.5", "device.d.4"],
    5,
    2,
  ]);
  const last = alerts.queryAlerts(view, { limit: 2, offset: 4 });
  assertEquals([last.alerts.map((a) => a.id), last.next], [["device.d.1"], null]);
  for (let i = 1; i <= 3; i++) {
    def.apply(view, { kind: "cleared", id: `device.d.${i}`, at: T0, by: "source" }, {
      id: "device/d",
      seq: 5 + i,
    });
  }
  assertEquals([...view.byId.keys()].sort(), [
    "device.d.2",
    "device.d.3",
    "device.d.4",
    "device.d.5",
  ], "2 cleared kept");
});

function emptyAlert(): Alert {
  return {
    id: "",
    source: "device/d",
    type: "t",
    severity: "low",
    status: "raised",
    message: "",
    data: null,
    raisedAt: 0,
    count: 1,
    lastAt: 0,
    acknowledgedAt: null,
    clearedAt: null,
    clearedBy: null,
  };
}

// ---------------------------------------------------------------- HTTP

async function problemOf(res: Response, status: number, code: string) {
  assertEquals(res.status, status, `status for ${code}`);
  assertEquals(res.headers.get("content-type"), PROBLEM);
  const body = await res.json();
  assertEquals(body.code, code);
  return body;
}

/** Raises through the contract, as the other areas do. */
function raiseVia(t: Awaited<ReturnType<typeof testApp>>, s: AlertSignal) {
  raiseAlert({
    tell: (to, kind, payload) => t.system.ref(to.type, to.id).tell(kind, payload as never),
  }, s);
}

Deno.test("HTTP GET /api/alerts lists across sources with filters; ack and clear follow the lifecycle", async () => {
  const t = await testApp();
  raiseVia(t, sig());
  raiseVia(t, sig({ source: "device/robot-2", type: "device_offline", severity: "medium" }));
  raiseVia(t, sig({ source: "session/c1", type: "RAPID_LOGIN_ATTEMPTS", severity: "critical" }));
  await t.system.idle();
  const list = async (q = "") => {
    const res = await t.app.request(`/api/alerts${q}`);
    assertEquals(res.status, 200);
    return (await res.json()) as HttpAlertPage;
  };
  assertEquals((await list()).total, 3);
  assertEquals((await list("?device=robot-2")).items.map((a) => a.id), ["device.robot-2.1"]);
  assertEquals((await list("?severity=high,critical")).items.map((a) => a.id).sort(), [
    "device.robot-1.1",
    "session.c1.1",
  ]);
  assertEquals(
    (await list("?severity=high&severity=medium")).total,
    2,
    "repeated parameters work too",
  );
  assertEquals((await list("?minSeverity=critical")).items.map((a) => a.type), [
    "RAPID_LOGIN_ATTEMPTS",
  ]);
  assertEquals((await list("?type=device_offline")).total, 1);
  assertEquals((await list("?limit=1")).next, "1");
  assertEquals(
    (await list("?limit=1&after=1")).items.length,
    1,
    "next is where the next page starts",
  );

  let res = await t.app.request("/api/alerts/device.robot-1.1/ack", { method: "POST" });
  assertEquals(res.status, 200);
  const acked = await res.json();
  assertEquals([acked.status, acked.acknowledgedAt], ["acknowledged", t.clock.now()]);
  assertEquals((await list("?status=acknowledged")).items.map((a) => a.id), ["device.robot-1.1"]);
  assertEquals((await list("?status=open")).total, 3);

  res = await t.app.request("/api/alerts/device.robot-1.1/clear", { method: "POST" });
  assertEquals((await res.json()).status, "cleared");
  assertEquals((await list("?status=open")).total, 2);
  assertEquals((await list("?status=cleared&device=robot-1")).items.map((a) => a.clearedBy), [
    "operator",
  ]);
  res = await t.app.request("/api/alerts/device.robot-1.1/clear", { method: "POST" });
  assertEquals(
    [res.status, (await res.json()).status],
    [200, "cleared"],
    "clearing twice is harmless",
  );
  await problemOf(
    await t.app.request("/api/alerts/device.robot-1.1/ack", { method: "POST" }),
    409,
    "alert_cleared",
  );

  res = await t.app.request("/api/alerts/session.c1.1");
  assertEquals((await res.json()).severity, "critical");
  await t.close();
});

Deno.test("HTTP alerts from the contract's clearAlert show as cleared by their source", async () => {
  const t = await testApp();
  const sender = {
    tell: (to: { type: string; id: string }, kind: string, payload?: unknown) =>
      t.system.ref(to.type, to.id).tell(kind, payload as never),
  };
  raiseAlert(sender, sig({ type: "device_offline" }));
  await t.system.idle();
  clearAlert(sender, "device/robot-1", "device_offline", T0 + 1);
  await t.system.idle();
  const body = await (await t.app.request("/api/alerts?status=cleared")).json() as HttpAlertPage;
  assertEquals(body.items.map((a) => [a.type, a.clearedBy, a.clearedAt]), [[
    "device_offline",
    "source",
    T0 + 1,
  ]]);
  await t.close();
});

Deno.test("HTTP alerts: bad input gets a problem, never a 500", async () => {
  const t = await testApp();
  await problemOf(await t.app.request("/api/alerts?severity=urgent"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?status=closed"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?limit=0"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?limit=abc"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?offset=-1"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?device=a/b"), 400, "invalid_input");
  await problemOf(await t.app.request("/api/alerts?source=robot-1"), 400, "invalid_input");
  const unknown = await problemOf(
    await t.app.request("/api/alerts?sevrity=high"),
    400,
    "invalid_input",
  );
  assertEquals(unknown.errors[0].path, "sevrity");
  await problemOf(
    await t.app.request("/api/alerts/robot-1/ack", { method: "POST" }),
    400,
    "invalid_input",
  );
  await problemOf(
    await t.app.request("/api/alerts/device.robot-1.0/clear", { method: "POST" }),
    400,
    "invalid_input",
  );
  await problemOf(
    await t.app.request("/api/alerts/device.robot-1.1/ack", { method: "POST" }),
    404,
    "not_found",
  );
  await problemOf(
    await t.app.request("/api/alerts/device.robot-1.1/clear", { method: "POST" }),
    404,
    "not_found",
  );
  await problemOf(await t.app.request("/api/alerts/device.robot-1.1"), 404, "not_found");
  await t.close();
});

Deno.test("HTTP alerts go out on the SSE alerts topic, keyed by device", async () => {
  const t = await testApp();
  const seen: BusEvent[] = [];
  t.events.subscribe({ topics: ["alerts"], key: "robot-1" }, (e) => {
    if ("topic" in e) seen.push(e);
  });
  raiseVia(t, sig());
  raiseVia(t, sig({ source: "device/robot-2" }));
  await t.system.idle();
  await t.app.request("/api/alerts/device.robot-1.1/ack", { method: "POST" });
  assertEquals(seen.map((e) => (e.data as { event: string }).event), ["raised", "acknowledged"]);
  await t.close();
});
