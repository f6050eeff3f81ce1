/**
 * The dashboard's client state (`routes/dashboard/store.js`, `alert_store.js`) and what the
 * views derive from it (`select.js`), run in Deno as they are: facts arrive out of order and
 * the newer one wins, robots leave trails, alerts only move forward, the feed and the key
 * figures follow.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import {
  type AlertData,
  alertFeed,
  MAX_ALERTS,
  mergeAlert,
  mergeOpenAlerts,
  setPending,
} from "../routes/dashboard/alert_store.js";
import {
  applyPayment,
  applyTelemetry,
  createFleet,
  type EdgeNode,
  mergeDevice,
  mergeNode,
  TRAIL,
} from "../routes/dashboard/store.js";
import {
  alertSummary,
  connectionText,
  deviceKind,
  kpiTexts,
  nodeSummary,
  qualityLevel,
  readingsOf,
  severityClass,
  siteFigures,
  usageLevel,
} from "../routes/dashboard/select.js";

const T = Date.UTC(2026, 4, 1, 12, 0, 0);

function alert(id: string, fields: Partial<AlertData> = {}): AlertData {
  return {
    id,
    source: `device/${id}`,
    type: "threshold_violation",
    severity: "high",
    status: "raised",
    message: "too hot",
    raisedAt: T,
    lastAt: T,
    count: 1,
    ...fields,
  };
}

function node(id: string, fields: Partial<EdgeNode> = {}): EdgeNode {
  return { id, status: "active", heartbeats: 1, statusSince: T, ...fields };
}

Deno.test("store: a device summary and its twin merge, newer facts winning", () => {
  const fleet = createFleet();
  const d = mergeDevice(
    fleet,
    {
      id: "sensor-1",
      type: "climate",
      location: "Cold room",
      status: "online",
      lastSeen: T,
      messageCount: 5,
      reported: { temperature: { value: 4, ts: T } },
      quality: { score: 0.5 },
    },
    false,
    T,
  );
  assert(d !== null);
  assertEquals(d.status, "online");
  assertEquals(d.quality, null, "a summary's quality is not taken, only a twin's");
  // The twin, asked for earlier: counters and times do not go back; an older reading is not
  // taken, a newer one is.
  mergeDevice(
    fleet,
    {
      id: "sensor-1",
      lastSeen: T - 5000,
      messageCount: 3,
      battery: 80,
      reported: { temperature: { value: 3, ts: T - 5000 }, humidity: { value: 60, ts: T } },
      quality: { score: 0.92 },
      thresholds: { temperature: { min: -10, max: 8 } },
    },
    true,
    T - 5000,
  );
  assertEquals(d.lastSeen, T);
  assertEquals(d.messageCount, 5);
  assertEquals(d.battery, 80);
  assertEquals(d.reported, { temperature: { value: 4, ts: T }, humidity: { value: 60, ts: T } });
  assertEquals(d.quality, 0.92);
  assertEquals(d.thresholds, { temperature: { min: -10, max: 8 } });
  assertEquals(d.type, "climate", "kept when the answer has none");
  assertEquals(mergeDevice(fleet, null, false, T), null);
  assertEquals(mergeDevice(fleet, { id: 5 } as unknown as { id: string }, false, T), null);
  assertEquals(fleet.devices.size, 1);
});

Deno.test("store: a snapshot asked for before a stream event does not undo it", () => {
  const fleet = createFleet();
  applyTelemetry(fleet, { device: "d", ts: T, readings: { humidity: 40 } }, T + 10);
  // Asked at T, answered after the event: its status is older than the event's.
  const d = mergeDevice(fleet, { id: "d", status: "offline" }, false, T)!;
  assertEquals(d.status, "online");
  // Asked after the event: it is the freshest word.
  mergeDevice(fleet, { id: "d", status: "offline" }, false, T + 20);
  assertEquals(d.status, "offline");
});

Deno.test("store: telemetry brings a device online, counts it, and keeps the newer reading", () => {
  const fleet = createFleet();
  const r = applyTelemetry(fleet, { device: "d", ts: T, readings: { temperature: 21.5 } }, T + 3);
  assert(r !== null && r.readings);
  const d = r.device;
  assertEquals([d.status, d.messageCount, d.lastSeen, d.eventAt], ["online", 1, T + 3, T + 3]);
  applyTelemetry(fleet, { device: "d", ts: T - 1000, readings: { temperature: 19 } }, T + 4);
  assertEquals(d.reported.temperature, { value: 21.5, ts: T }, "a late, older reading");
  assertEquals(d.messageCount, 2, "still a message");
  // A change of presence: no message, no reading.
  const off = applyTelemetry(fleet, { device: "d", ts: T, status: "offline" }, T + 5);
  assertEquals(off?.readings, false);
  assertEquals([d.status, d.messageCount, d.eventAt], ["offline", 2, T + 5]);
  assertEquals(applyTelemetry(fleet, null, T), null);
  assertEquals(applyTelemetry(fleet, { ts: T } as never, T), null);
});

Deno.test("store: a device with coordinates is a robot with a trail of TRAIL positions", () => {
  const fleet = createFleet();
  applyTelemetry(fleet, { device: "s", ts: T, readings: { humidity: 1 } }, T);
  assertEquals(fleet.robots.size, 0, "no coordinates, not on the map");
  applyTelemetry(fleet, { device: "r", ts: T, readings: { coordX: 0, coordY: 0 } }, T);
  const robot = fleet.robots.get("r")!;
  assertEquals([robot.x, robot.y, robot.drawX, robot.drawY, robot.trail], [0, 0, 0, 0, []]);
  applyTelemetry(fleet, { device: "r", ts: T + 1, readings: { motorRPM: 5 } }, T + 1);
  assertEquals(robot.trail, [], "not moved, no trail");
  for (let i = 1; i <= TRAIL + 5; i++) {
    applyTelemetry(fleet, { device: "r", ts: T + i, readings: { coordX: i, coordY: -i } }, T + i);
  }
  assertEquals([robot.x, robot.y], [TRAIL + 5, -(TRAIL + 5)]);
  assertEquals(robot.trail.length, TRAIL);
  assertEquals(robot.trail[0], [5, -5], "the oldest kept");
  assertEquals(robot.trail.at(-1), [TRAIL + 4, -(TRAIL + 4)]);
  assertEquals([robot.drawX, robot.drawY], [0, 0], "the map eases it there");
  applyTelemetry(fleet, { device: "r", ts: T, status: "offline" }, T + 99);
  assertEquals(robot.status, "offline");
});

Deno.test("alert store: an alert only moves forward; an acknowledgement stays pending", () => {
  const fleet = createFleet();
  assert(mergeAlert(fleet, alert("a"), T));
  assert(setPending(fleet, "a", true));
  assert(!setPending(fleet, "a", true), "already pending");
  assert(!setPending(fleet, "nope", true));
  assert(mergeAlert(fleet, alert("a", { count: 2, lastAt: T + 5 }), T + 5), "a repeat");
  assertEquals(fleet.alerts.get("a")?.pending, true, "kept across the merge");
  assertEquals(fleet.alerts.get("a")?.seenAt, T + 5);
  assert(!mergeAlert(fleet, alert("a", { count: 1 }), T + 6), "fewer repeats: older");
  assert(mergeAlert(fleet, alert("a", { status: "cleared", count: 2, lastAt: T + 5 }), T + 7));
  assert(!mergeAlert(fleet, alert("a", { status: "acknowledged", count: 9 }), T + 8));
  assertEquals(fleet.alerts.get("a")?.status, "cleared");
  assert(!mergeAlert(fleet, null, T));
});

Deno.test("alert store: the open snapshot forgets what closed while the page was away", () => {
  const fleet = createFleet();
  mergeAlert(fleet, alert("gone"), T - 100);
  mergeAlert(fleet, alert("fresh"), T + 50);
  mergeAlert(fleet, alert("done", { status: "cleared" }), T - 100);
  mergeOpenAlerts(fleet, { items: [alert("listed")], total: 4 }, T, T + 100);
  assertEquals([...fleet.alerts.keys()].sort(), ["done", "fresh", "listed"]);
  assertEquals(fleet.unlistedOpen, 3);
  mergeOpenAlerts(fleet, { items: [] }, T + 200, T + 300);
  assertEquals(fleet.unlistedOpen, 0);
  assertEquals([...fleet.alerts.keys()], ["done"], "only the cleared one is left");
});

Deno.test("alert store: the feed lists open alerts and the 20 latest cleared, newest first", () => {
  const fleet = createFleet();
  for (let i = 0; i < 30; i++) {
    mergeAlert(fleet, alert(`c${i}`, { status: "cleared", raisedAt: T + i }), T);
  }
  mergeAlert(fleet, alert("old-open", { raisedAt: T - 1000 }), T);
  mergeAlert(fleet, alert("new-open", { raisedAt: T + 100, status: "acknowledged" }), T);
  mergeAlert(fleet, alert("tie-b", { raisedAt: T + 50 }), T);
  mergeAlert(fleet, alert("tie-a", { raisedAt: T + 50 }), T);
  const { listed, open } = alertFeed(fleet);
  assertEquals(open.map((a) => a.id), ["new-open", "tie-a", "tie-b", "old-open"]);
  assertEquals(listed.length, 24);
  assertEquals(listed.slice(0, 4).map((a) => a.id), ["new-open", "tie-a", "tie-b", "c29"]);
  assertEquals(listed.at(-1)?.id, "old-open");
  assert(!listed.some((a) => a.id === "c9"), "the 21st latest cleared is left off");
  assertEquals(fleet.alerts.size, 24, "and forgotten");
  // Never more than MAX_ALERTS, even all open.
  for (let i = 0; i < MAX_ALERTS + 10; i++) mergeAlert(fleet, alert(`o${i}`), T);
  assertEquals(alertFeed(fleet).listed.length, MAX_ALERTS);
});

Deno.test("store: an edge node's older state is not taken", () => {
  const fleet = createFleet();
  assert(mergeNode(fleet, node("n", { heartbeats: 3 })));
  assert(!mergeNode(fleet, node("n", { heartbeats: 2 })));
  assert(!mergeNode(fleet, node("n", { heartbeats: 3, statusSince: T - 1 })));
  assert(mergeNode(fleet, node("n", { heartbeats: 3, statusSince: T + 1, status: "inactive" })));
  assertEquals(fleet.nodes.get("n")?.status, "inactive");
  assert(!mergeNode(fleet, undefined));
});

Deno.test("store: payments are counted by decision", () => {
  const fleet = createFleet();
  for (const status of ["approved", "approved_offline", "rejected", "pending_online", "x"]) {
    assert(applyPayment(fleet, { type: "payment.decided", status }));
  }
  assert(!applyPayment(fleet, { type: "rollup" }));
  assert(!applyPayment(fleet, null));
  assertEquals(fleet.payments, { approved: 2, rejected: 1, pending: 2 });
});

Deno.test("select: readings sorted with coordinates last, marked outside their thresholds", () => {
  const fleet = createFleet();
  const d = mergeDevice(
    fleet,
    {
      id: "r",
      reported: {
        coordX: { value: 1, ts: T },
        temperature: { value: 60, ts: T },
        coordY: { value: 2, ts: T },
        humidity: { value: 10, ts: T },
        battery: { value: 50, ts: T },
      },
      thresholds: { temperature: { min: -10, max: 50 }, humidity: { min: 20 } },
    },
    true,
    T,
  )!;
  const view = readingsOf(d);
  assertEquals(view.readings.map((r) => [r.sensor, r.outside]), [
    ["battery", false],
    ["humidity", true],
    ["temperature", true],
    ["coordX", false],
    ["coordY", false],
  ]);
  // Back inside: the marks change, the values do not.
  d.thresholds = {};
  const after = readingsOf(d);
  assert(after.sig !== view.sig);
  assertEquals(after.values, view.values);
  d.reported.humidity = { value: 11, ts: T + 1 };
  assert(readingsOf(d).values !== after.values);
});

Deno.test("select: the key figures and summaries", () => {
  const fleet = createFleet();
  assertEquals(kpiTexts(fleet), {
    "kpi-online": "0",
    "kpi-devices": "/ 0",
    "kpi-robots": "0",
    "kpi-alerts": "0",
    "kpi-alerts-detail": "",
    "kpi-nodes": "0",
    "kpi-nodes-total": "/ 0",
    "kpi-pay": "0",
    "kpi-pay-detail": "none yet",
  });
  applyTelemetry(fleet, { device: "a", ts: T, readings: { coordX: 1, coordY: 1 } }, T);
  applyTelemetry(fleet, { device: "b", ts: T, readings: { humidity: 1 } }, T);
  applyTelemetry(fleet, { device: "b", ts: T, status: "offline" }, T);
  mergeAlert(fleet, alert("x", { severity: "critical" }), T);
  mergeAlert(fleet, alert("y", { severity: "low", status: "acknowledged" }), T);
  mergeAlert(fleet, alert("z", { status: "cleared" }), T);
  mergeOpenAlerts(fleet, { items: [], total: 5 }, T - 1, T);
  mergeNode(fleet, node("n1"));
  mergeNode(fleet, node("n2", { status: "inactive" }));
  applyPayment(fleet, { type: "payment.decided", status: "approved" });
  applyPayment(fleet, { type: "payment.decided", status: "rejected" });
  assertEquals(kpiTexts(fleet), {
    "kpi-online": "1",
    "kpi-devices": "/ 2",
    "kpi-robots": "1",
    "kpi-alerts": "7",
    "kpi-alerts-detail": "1 high or critical",
    "kpi-nodes": "1",
    "kpi-nodes-total": "/ 2",
    "kpi-pay": "2",
    "kpi-pay-detail": "1 approved · 1 rejected",
  });
  const { open } = alertFeed(fleet);
  assertEquals(alertSummary(open), "1 to acknowledge · 2 open");
  assertEquals(alertSummary([]), "");
  assertEquals(nodeSummary(fleet), "1 of 2 active");
  assertEquals(nodeSummary(createFleet()), "");
});

Deno.test("select: levels, classes and words", () => {
  assertEquals([95, 90, 89, 70, 69].map(qualityLevel), ["ok", "ok", "warn", "warn", "bad"]);
  assertEquals([90, 80, 64, 63].map((v) => usageLevel(v, 80)), ["bad", "bad", "warn", "ok"]);
  assertEquals(["critical", "medium", "weird"].map(severityClass), ["critical", "medium", "low"]);
  assertEquals(connectionText("live"), "Live");
  assertEquals(connectionText("reconnecting"), "Reconnecting…");
  assertEquals(connectionText("down"), "Offline");
  assertEquals(connectionText("down", 4000), "Offline · retrying in 4 s");
  const fleet = createFleet();
  const d = mergeDevice(fleet, { id: "x", type: "robot", location: "Yard" }, false, T)!;
  assertEquals(deviceKind(d), "robot · Yard");
  d.location = null;
  assertEquals(deviceKind(d), "robot");
});

Deno.test("siteFigures: a link's state, colour, uplink lag, downlink backlog and age", () => {
  const now = Date.UTC(2026, 4, 1, 12, 0, 0);
  const up = siteFigures({
    site: "store1",
    role: "hub",
    link: "connected",
    since: now - 5 * 60_000,
    uplinkLagMessages: 0,
    uplinkLagSeconds: 0,
    downlinkPending: 0,
  }, now);
  assertEquals(up.state, "Connected");
  assertEquals(up.tone, "ok");
  assertEquals(up.lag, "uplink in sync");
  assertEquals(up.pending, "downlink applied");
  assertEquals(up.since, "since 5 min ago");
  const down = siteFigures({
    site: "store1",
    role: "site",
    link: "disconnected",
    since: null,
    uplinkLagMessages: 1200,
    uplinkLagSeconds: 31.5,
    downlinkPending: 3,
  }, now);
  assertEquals([down.state, down.tone, down.since], ["Disconnected", "bad", ""]);
  assert(/^uplink 1.?200 behind \(31\.5 s\)$/.test(down.lag), down.lag);
  assertEquals(down.pending, "downlink 3 pending");
});
