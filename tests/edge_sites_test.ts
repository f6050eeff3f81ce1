/**
 * Edge sites without servers: the configuration, the hub's replicas applying uplink items
 * once (by their origin position), the uplink feed skipping superseded snapshots while keeping
 * each replica's order, the origin position of sourced messages, and the site's uplink
 * publisher (what it publishes for which events, sampling, the counted refusal). The whole
 * path over real servers is `tests/faults/edge_outage_test.ts`.
 *
 * @module
 */
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { registerActors } from "../actors/mod.ts";
import {
  LIVE_READING_MS,
  REPLICA_PAYMENTS,
  siteAlerts,
  siteDevice,
  siteTerminal,
  type UplinkItem,
} from "../actors/sites/mod.ts";
import { loadConfig } from "../node/mod.ts";
import { downlinkFeed, uplinkFeed } from "../node/sites/feeds.ts";
import { UplinkPublisher } from "../node/sites/uplink.ts";
import {
  ConfigError,
  type Envelope,
  type JsonValue,
  type LocalDelivery,
  RingEventBus,
} from "../runtime/mod.ts";
import { originSeq } from "../runtime/nats/mod.ts";
import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { sample, setup } from "./helpers/system.ts";

const NATS = { NATS_URL: "nats://127.0.0.1:4999" };

Deno.test("config: a site node, a hub node, and what is refused", () => {
  const site = loadConfig({ ...NATS, FLOTILLA_SITE: "store1", FLOTILLA_STORE: "denokv" });
  assertEquals(site.edge.site, "store1");
  assertEquals(site.store, "denokv", "one node at a site may keep its state in a file");
  assertEquals(site.edge.uplinkTelemetry, 10);
  assertEquals(site.edge.hubDomain, "hub");
  assertEquals(site.edge.linkMaxAgeMs, 7 * 86_400_000);
  assertEquals(site.edge.linkMaxBytes, 1024 ** 3);
  const hub = loadConfig({
    ...NATS,
    REDIS_URL: "redis://127.0.0.1:1",
    FLOTILLA_SITES: "store1, store2,store1",
    FLOTILLA_UPLINK_TELEMETRY: "none",
    FLOTILLA_LINK_MAX_AGE: "P1D",
  });
  assertEquals(hub.edge.sites, ["store1", "store2"]);
  assertEquals(hub.edge.uplinkTelemetry, 0);
  assertEquals(hub.edge.linkMaxAgeMs, 86_400_000);
  const refused: Record<string, string>[] = [
    { FLOTILLA_SITE: "store1" }, // no NATS_URL
    { ...NATS, FLOTILLA_SITE: "store 1" },
    { ...NATS, FLOTILLA_SITE: "a", FLOTILLA_SITES: "b" },
    { ...NATS, FLOTILLA_SITES: "hub" },
    { ...NATS, FLOTILLA_STORE: "denokv" }, // denokv only at a site
    { ...NATS, FLOTILLA_SITE: "s", FLOTILLA_UPLINK_TELEMETRY: "-1" },
    { ...NATS, FLOTILLA_SITE: "s", FLOTILLA_LINK_MAX_BYTES: "10" },
  ];
  for (const env of refused) {
    assertThrows(() => loadConfig(env), ConfigError);
  }
});

function item(kind: UplinkItem["kind"], key: string, at: number, data: JsonValue): UplinkItem {
  return { kind, key, at, data };
}

Deno.test("replicas: each uplink position applied once, events re-emitted once", async () => {
  const events = new RingEventBus();
  const seen: string[] = [];
  events.subscribe({}, (e) => {
    if (!("reset" in e)) seen.push(`${e.topic}:${JSON.stringify(e.data)}`);
  });
  const { system } = setup([], { events, logs: "discard" });
  registerActors(system);
  await system.start();
  const deliver = (type: string, id: string, it: UplinkItem, seq: number) =>
    system.deliver(
      {
        type,
        id,
        kind: "apply",
        payload: { site: "s1", items: [{ ...it, seq }] } as unknown as JsonValue,
      },
      { source: "up/s1", seq },
    );
  const twin = { id: "d1", messageCount: 3 };
  await deliver("site-device", "d1", item("device", "d1", 100, twin), 1);
  const reading = { topic: "telemetry", key: "d1", data: { device: "d1", readings: { t: 1 } } };
  await deliver("site-link", "s1", item("telemetry", "d1", 101, reading), 2);
  // Sourced again after a restart: the same positions, skipped.
  await deliver("site-device", "d1", item("device", "d1", 100, { id: "d1", messageCount: 0 }), 1);
  await deliver("site-link", "s1", item("telemetry", "d1", 101, reading), 2);
  assertEquals(await system.ref(siteDevice, "d1").ask("replica"), {
    site: "s1",
    syncedAt: 100,
    view: twin,
  });
  assertEquals(seen, ['telemetry:{"device":"d1","readings":{"t":1},"site":"s1"}']);
  // A reading older than LIVE_READING_MS when applied is history: not shown live.
  const old = { topic: "telemetry", key: "d1", data: { device: "d1", readings: { t: 0 } } };
  await deliver("site-device", "d1", item("telemetry", "d1", -LIVE_READING_MS - 1, old), 6);
  assertEquals(seen.length, 1);

  // A payment announced twice (at a new position: the site's resync after a crash) is once.
  const decided = {
    topic: "payments",
    key: "t1",
    data: { type: "payment.decided", terminal: "t1", transactionId: "tx1", status: "approved" },
  };
  await deliver("site-terminal", "t1", item("payment", "payment.decided:tx1", 200, decided), 3);
  await deliver("site-terminal", "t1", item("payment", "payment.decided:tx1", 300, decided), 9);
  const payments = await system.ref(siteTerminal, "t1").ask("payments");
  assertEquals(Object.keys(payments), ["tx1"]);
  assertEquals(seen.filter((s) => s.startsWith("payments:")).length, 1);
  assert(REPLICA_PAYMENTS >= 1000);

  // Alerts: the latest state of each, with its site.
  const raised = { event: "raised", alert: { id: "device.d1.1", status: "raised", raisedAt: 5 } };
  const cleared = {
    event: "cleared",
    alert: { id: "device.d1.1", status: "cleared", raisedAt: 5 },
  };
  await deliver(
    "site-alerts",
    "s1",
    item("alert", "device.d1.1", 400, { topic: "alerts", key: "d1", data: raised }),
    4,
  );
  await deliver(
    "site-alerts",
    "s1",
    item("alert", "device.d1.1", 401, { topic: "alerts", key: "d1", data: cleared }),
    5,
  );
  const alerts = await system.ref(siteAlerts, "s1").ask("alerts");
  assertEquals(alerts.length, 1);
  assertEquals(alerts[0]!.status, "cleared");
  assertEquals(alerts[0]!.site, "s1");
  assertEquals(alerts[0]!.syncedAt, 401);
  await system.shutdown();
});

Deno.test("originSeq: the position in the stream a message was sourced from", () => {
  const h = headers();
  h.set("Nats-Stream-Source", "FLOTILLA_UPLINK:Ug4dKuir 42");
  assertEquals(originSeq({ headers: h, seq: 7 }), 42);
  assertEquals(originSeq({ headers: undefined, seq: 7 }), 7);
});

const encoder = new TextEncoder();

function uplinkMsg(seq: number, kind: string, id: string, data: JsonValue): JsMsg {
  const body: UplinkItem = { kind: kind as UplinkItem["kind"], key: id, at: seq, data };
  return {
    subject: `fl.up.s1.3.${kind}.${id}`,
    seq,
    headers: undefined,
    data: encoder.encode(JSON.stringify(body)),
  } as unknown as JsMsg;
}

Deno.test("uplink feed: a burst is one delivery per replica, in order, superseded snapshots dropped", async () => {
  const delivered: string[] = [];
  const local: LocalDelivery = {
    deliver(envelope: Envelope, options) {
      const { items } = envelope.payload as unknown as { items: (UplinkItem & { seq: number })[] };
      delivered.push(
        `${envelope.type}/${envelope.id}:` +
          `${items.map((i) => `${i.kind}@${i.seq}`).join(",")}@${options?.seq}`,
      );
      return Promise.resolve();
    },
    acquired: () => Promise.resolve(null),
    released: () => Promise.resolve(),
  };
  const feed = uplinkFeed("s1");
  const done = [
    feed.handle(uplinkMsg(1, "terminal", "a", { n: 1 }), local),
    feed.handle(uplinkMsg(2, "terminal", "b", { n: 1 }), local),
    feed.handle(uplinkMsg(3, "terminal", "a", { n: 2 }), local),
    // Another item of b's replica (a payment of terminal b): after b's snapshot.
    feed.handle(uplinkMsg(4, "payment", "b", { topic: "payments", key: "b", data: {} }), local),
    feed.handle(uplinkMsg(5, "terminal", "a", { n: 3 }), local),
  ];
  await Promise.all(done);
  // One delivery per replica per burst, at its last position; a's older snapshots dropped.
  assertEquals(delivered.sort(), [
    "site-terminal/a:terminal@5@5",
    "site-terminal/b:terminal@2,payment@4@4",
  ]);
});

Deno.test("uplink publisher: snapshots coalesce (and wait while the link is down), readings sampled, failures kept and counted", async () => {
  const published: { subject: string; item: UplinkItem }[] = [];
  let refuse = false;
  let link = true;
  const js = {
    publish(subject: string, data: Uint8Array) {
      if (refuse) return Promise.reject(new Error("maximum bytes exceeded"));
      published.push({ subject, item: JSON.parse(new TextDecoder().decode(data)) });
      return Promise.resolve({ seq: published.length });
    },
  } as unknown as JetStreamClient;
  const { system, clock } = setup([], { logs: "discard", now: 1000 });
  registerActors(system);
  await system.start();
  const ingest = (n: number) =>
    system.ref("device", "d1").ask("telemetry", { ts: 1000 + n, readings: { t: n } });
  const uplink = new UplinkPublisher({
    js,
    system,
    site: "s1",
    partitions: 16,
    clock,
    logger: system.logger,
    metrics: system.metrics,
    telemetryEvery: 2,
    flushMs: 1_000_000,
    linkUp: () => link,
    snapshotMs: 0,
    offlineSnapshotMs: 1_000_000,
  });
  await uplink.start(); // nothing to resync yet
  for (let n = 1; n <= 4; n++) {
    await ingest(n);
    uplink.observe("telemetry", { device: "d1", ts: 1000 + n, readings: { t: n } }, "d1");
  }
  uplink.observe("sessions", { kind: "session" }, "c1"); // not for the hub
  await uplink.flush();
  const kinds = published.map((p) => p.item.kind);
  assertEquals(kinds.filter((k) => k === "device").length, 1, "one snapshot for four readings");
  assertEquals(kinds.filter((k) => k === "telemetry").length, 2, "every second reading");
  const snapshot = published.find((p) => p.item.kind === "device")!;
  assertEquals((snapshot.item.data as { messageCount: number }).messageCount, 4);
  assert(/^fl\.up\.s1\.\d+\.device\.d1$/.test(snapshot.subject), snapshot.subject);

  // With the link down, snapshots go up at most every offlineSnapshotMs; events every flush.
  link = false;
  uplink.observe("payments", { kind: "rollup", start: 0 }, null);
  await uplink.flush(); // snapshots wait 1,000 s while the link is down
  const before = published.length;
  await ingest(5);
  uplink.observe("telemetry", { device: "d1", readings: { t: 5 } }, "d1"); // not sampled
  uplink.observe("payments", { kind: "rollup", start: 60_000 }, null);
  await uplink.flush();
  assertEquals(published.slice(before).map((p) => p.item.kind), ["event"]);
  assertEquals(uplink.pending, 1, "the snapshot waits");
  link = true;

  refuse = true;
  await ingest(6);
  uplink.observe("telemetry", { device: "d1", readings: { t: 6 } }, "d1"); // sampled
  await uplink.flush();
  assertEquals(uplink.pending, 2, "kept for the next flush");
  assertEquals(sample(system, "flotilla_uplink_refused_total"), 2);
  refuse = false;
  await uplink.stop();
  assertEquals(uplink.pending, 0);
  const last = published.findLast((p) => p.item.kind === "device")!;
  assertEquals((last.item.data as { messageCount: number }).messageCount, 6);
  await system.shutdown();
});

Deno.test("replicas: a batch sent again with new items next to applied ones applies the new", async () => {
  const events = new RingEventBus();
  let emitted = 0;
  events.subscribe({ topics: ["telemetry"] }, () => void emitted++);
  const { system } = setup([], { events, logs: "discard" });
  registerActors(system);
  await system.start();
  const reading = (seq: number) => ({
    ...item("telemetry", "d1", seq, { topic: "telemetry", key: "d1", data: { n: seq } }),
    seq,
  });
  const deliver = (seqs: number[]) =>
    system.deliver({
      type: "site-link",
      id: "s1",
      kind: "apply",
      payload: { site: "s1", items: seqs.map(reading) } as unknown as JsonValue,
    }, { source: "up/s1", seq: Math.max(...seqs) });
  await deliver([1, 2]);
  // A crash before the acknowledgement: 1 and 2 come again, with 3, in one burst.
  await deliver([1, 2, 3]);
  assertEquals(emitted, 3, "each reading shown once");
  await system.shutdown();
});

Deno.test("downlink feed: each operation to its actor at its origin position; refusals reported", async () => {
  const calls: string[] = [];
  const local: LocalDelivery = {
    deliver(envelope: Envelope, options) {
      calls.push(
        `${envelope.type}/${envelope.id}.${envelope.kind} ${JSON.stringify(envelope.payload)} ` +
          (options?.source === undefined ? "ask" : `${options.source}@${options.seq}`),
      );
      if (envelope.kind === "commandTarget") {
        return Promise.resolve({ known: true, online: true, commandsInUse: true });
      }
      return Promise.resolve(undefined);
    },
    acquired: () => Promise.resolve(null),
    released: () => Promise.resolve(),
  };
  const events = new RingEventBus();
  const refused: unknown[] = [];
  events.subscribe({ topics: ["system"] }, (e) => void refused.push("data" in e ? e.data : e));
  const applied: number[] = [];
  const { system } = setup([], { logs: "discard" });
  const feed = downlinkFeed({
    site: "s1",
    logger: system.logger,
    events,
    applied: (seq) => void applied.push(seq),
  });
  const msg = (seq: number, op: string, id: string, body: JsonValue): JsMsg => {
    const h = headers();
    h.set("Nats-Stream-Source", `FLOTILLA_DOWN_s1:abc ${seq * 10}`);
    return {
      subject: `fl.down.s1.2.${op}.${id}`,
      seq,
      headers: h,
      data: encoder.encode(JSON.stringify(body)),
    } as unknown as JsMsg;
  };
  await feed.handle(msg(1, "register", "d1", { type: "robot" }), local);
  await feed.handle(msg(2, "command", "d1", { name: "reboot", commandId: "c1" }), local);
  await feed.handle(msg(3, "alertAck", "device/d1", { id: "device.d1.1" }), local);
  await feed.handle(msg(4, "explode", "d1", {}), local);
  assertEquals(calls, [
    'device/d1.register {"type":"robot"} down/s1@10',
    "device/d1.commandTarget null ask",
    'device-commands/d1.create {"command":{"name":"reboot","commandId":"c1"},"deviceOnline":true} ' +
    "down/s1@20",
    'alert-book/device/d1.ack {"id":"device.d1.1"} down/s1@30',
  ]);
  assertEquals(applied, [10, 20, 30]);
  assertEquals(refused.length, 1);
  assertEquals((refused[0] as { type: string }).type, "downlink.refused");
});
