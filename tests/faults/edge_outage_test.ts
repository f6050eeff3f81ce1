/**
 * Edge sites (`docs/edge-sites.md`): the link between a site and its hub goes down while the
 * site's devices publish and its terminal approves payments offline, and while the hub decides
 * things for the site; the site node crashes and a hub node restarts during the outage. After
 * the link is back, every hub node shows each site device's exact `messageCount` and last
 * values, each payment once, each alert once; what the hub decided reached the site once.
 *
 * Short form (CI): 20 devices, a 5 s outage. Full form (`deno task edge`, or `deno task faults`):
 * 100 devices, a 30 s outage.
 *
 * @module
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { unpackEvents } from "../../runtime/nats/mod.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { type EdgeRig, startEdge } from "../helpers/edge.ts";
import type { NodeProcess } from "../helpers/process.ts";
import { delay, waitFor } from "../helpers/wait.ts";
import { scale } from "./harness.ts";

const DEVICES = scale(20, 100);
const OUTAGE_MS = scale(5_000, 30_000);
/** Readings each device publishes before the outage, and during it. */
const BEFORE = 5;
const DURING = scale(10, 30);
const OFFLINE_PAYMENTS = scale(5, 20);
const TERMINAL = "till-1";
const CARD = "tok-4111";

const json = { "content-type": "application/json" };

async function call(
  node: NodeProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await node.api(path, {
    method,
    headers: json,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : JSON.parse(text) };
}

async function ok(node: NodeProcess, method: string, path: string, body?: unknown) {
  const r = await call(node, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const ids = Array.from({ length: DEVICES }, (_, i) => `edge-${i}`);

/** Publishes `count` readings for every device at the site, numbered from `from`. */
async function publish(rig: EdgeRig, from: number, count: number): Promise<void> {
  const nc = await rig.siteClient();
  const js = jetstream(nc);
  for (let n = from; n < from + count; n++) {
    await Promise.all(ids.map((id, i) =>
      js.publish(
        `iot.${id}.telemetry`,
        JSON.stringify({ readings: { seq: n, temp: i < 2 ? 150 : 20 } }),
        { msgID: `${id}:${n}` },
      )
    ));
  }
}

async function siteLink(node: NodeProcess): Promise<string> {
  const body = await ok(node, "GET", "/api/sites");
  return String((body.items as { link: string }[])[0]?.link);
}

Deno.test({
  name: `edge site: a ${OUTAGE_MS / 1000} s outage, ${DEVICES} devices, offline payments, ` +
    "commands from the hub; site node crash and hub restart during it",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const rig = await startEdge({ hubNodes: 2 });
  const started = Date.now();
  try {
    const [hub1] = rig.hubNodes as [NodeProcess, NodeProcess];
    // The site: devices (two with a threshold they will break: one alert each), a terminal.
    for (const [i, id] of ids.entries()) {
      await ok(rig.node, "PUT", `/api/devices/${id}`, {
        type: "sensor",
        ...(i < 2 ? { thresholds: { temp: { max: 100 } } } : {}),
      });
    }
    await ok(rig.node, "PUT", `/api/terminals/${TERMINAL}`, { timezone: "UTC", online: true });
    await ok(rig.node, "PUT", `/api/terminals/${TERMINAL}/cards`, { cards: { [CARD]: "valid" } });
    await ok(rig.node, "POST", `/api/terminals/${TERMINAL}/payments`, {
      transactionId: "tx-online",
      amount: 10000,
      currency: "KRW",
      cardToken: CARD,
    });
    await publish(rig, 0, BEFORE);
    // The hub knows the site's devices before the link goes.
    await waitFor(
      "the hub has every site device",
      () => Promise.all(ids.map((id) => call(hub1, "GET", `/api/devices/${id}`))),
      (rs) => rs.every((r) => r.status === 200 && r.body.messageCount === BEFORE),
      30_000,
    );

    // ---- the outage
    rig.cutLink();
    await waitFor(
      "the site sees the link down",
      () => siteLink(rig.node),
      (l) => l === "disconnected",
    );
    const ready = await call(rig.node, "GET", "/readyz");
    assertEquals(ready.status, 200, "the site stays ready with the link down");
    assertEquals(ready.body.checks, { ...ready.body.checks as object, hub: "disconnected" });

    const outageEnds = Date.now() + OUTAGE_MS;
    // Device 1 listens for its commands at the site, as devices do.
    const device1 = await rig.siteClient();
    const received: string[] = [];
    device1.subscribe(`cmd.${ids[1]}`, {
      callback: (_e, m) => void received.push(new TextDecoder().decode(m.data)),
    });
    await device1.flush();
    // The hub decides things for the site: sent down, 202, not applied at the hub.
    const desired = await call(hub1, "PATCH", `/api/devices/${ids[0]}/desired`, { mode: "eco" });
    assertEquals(desired.status, 202, JSON.stringify(desired.body));
    assertEquals(desired.body.site, rig.site);
    const command = await call(hub1, "POST", `/api/devices/${ids[1]}/commands`, {
      name: "reboot",
      ttl: "PT10M",
    });
    assertEquals(command.status, 202, JSON.stringify(command.body));
    const commandId = String(command.body.commandId);

    // The site keeps working: devices publish, the terminal approves offline.
    await ok(rig.node, "PUT", `/api/terminals/${TERMINAL}`, { timezone: "UTC", online: false });
    await publish(rig, BEFORE, Math.floor(DURING / 2));
    for (let i = 0; i < OFFLINE_PAYMENTS; i++) {
      const paid = await ok(rig.node, "POST", `/api/terminals/${TERMINAL}/payments`, {
        transactionId: `tx-off-${i}`,
        amount: 5000,
        currency: "KRW",
        cardToken: CARD,
      });
      assertEquals(paid.status, "approved_offline", JSON.stringify(paid));
    }
    // The site node crashes and comes back; a hub node restarts.
    await rig.stopSiteNode("SIGKILL");
    await rig.startSiteNode();
    await rig.restartHubNode(1);
    await publish(rig, BEFORE + Math.floor(DURING / 2), DURING - Math.floor(DURING / 2));
    await ok(rig.node, "PUT", `/api/terminals/${TERMINAL}`, { timezone: "UTC", online: true });
    const site = await call(rig.node, "GET", `/api/devices/${ids[0]}`);
    assertEquals(site.status, 200, "the site answers for its devices with the link down");
    await delay(Math.max(0, outageEnds - Date.now()));

    // ---- the link is back
    rig.restoreLink();
    const total = BEFORE + DURING;
    const siteTerminal = await waitFor(
      "the offline queue flushed at the site",
      () => ok(rig.node, "GET", `/api/terminals/${TERMINAL}`),
      (t) => (t.offlineQueue as { count: number }).count === 0,
      30_000,
    );
    for (const hub of rig.hubNodes) {
      const twins = await waitFor(
        "every hub node shows each site device's exact count",
        () => Promise.all(ids.map((id) => call(hub, "GET", `/api/devices/${id}`))),
        (rs) => rs.every((r) => r.body.messageCount === total),
        60_000,
      );
      for (const [i, { body }] of twins.entries()) {
        assertEquals(body.site, rig.site);
        assert(typeof body.syncedAt === "number", "syncedAt is a time");
        const reported = body.reported as Record<string, { value: number }>;
        assertEquals(reported.seq?.value, total - 1, `${ids[i]}: the last value`);
      }
      const terminal = await waitFor(
        "the hub shows the terminal as the site does",
        () => ok(hub, "GET", `/api/terminals/${TERMINAL}`),
        (t) => JSON.stringify(t.counts) === JSON.stringify(siteTerminal.counts),
        30_000,
      );
      assertEquals(terminal.site, rig.site);
      assertEquals(
        (terminal.counts as { approved_offline: number }).approved_offline,
        OFFLINE_PAYMENTS,
      );
      // Each alert once: the two devices over their threshold, one open alert each.
      const alerts = await ok(hub, "GET", `/api/alerts?status=open`);
      const siteAlerts = await ok(rig.node, "GET", `/api/alerts?status=open`);
      const idsOf = (page: Record<string, unknown>) =>
        (page.items as { id: string }[]).map((a) => a.id).sort();
      assertEquals(idsOf(alerts), idsOf(siteAlerts));
      assertEquals(idsOf(alerts).length, 2);
    }

    // The hub's device list has the site's devices, marked with their site.
    const listed = await ok(hub1, "GET", "/api/devices?limit=500");
    const siteItems = (listed.items as { id: string; site?: string; messageCount: number }[])
      .filter((d) => d.site === rig.site);
    assertEquals(siteItems.map((d) => d.id).sort(), [...ids].sort());
    assert(siteItems.every((d) => d.messageCount === total), "list counts are the twins'");

    // Acknowledging a site's alert at the hub goes down; the site's new state comes back up.
    const open = await ok(hub1, "GET", `/api/alerts?status=open`);
    const alertId = (open.items as { id: string }[])[0]!.id;
    const acked = await call(hub1, "POST", `/api/alerts/${alertId}/ack`);
    assertEquals(acked.status, 202, JSON.stringify(acked.body));
    await waitFor(
      "the acknowledgement reached the site and came back",
      () => ok(hub1, "GET", `/api/alerts/${alertId}`),
      (a) => a.status === "acknowledged" && a.site === rig.site,
      30_000,
    );
    assertEquals((await ok(rig.node, "GET", `/api/alerts/${alertId}`)).status, "acknowledged");

    // Each payment once on the hub's event stream; each hub decision applied once at the site.
    const hubNc = await (await import("@nats-io/transport-node")).connect({
      servers: rig.hubNats.url,
    });
    try {
      const events = await hubEvents(hubNc);
      const decided = new Map<string, number>();
      for (const e of events) {
        if (e.topic === "payments" && e.data.type === "payment.decided" && e.data.site) {
          const tx = String(e.data.transactionId);
          decided.set(tx, (decided.get(tx) ?? 0) + 1);
        }
      }
      // The command's status (pending) came up from the site, once.
      const statuses = events.filter((e) =>
        e.topic === "commands" && e.data.kind === "status" && e.data.commandId === commandId
      );
      assertEquals(statuses.map((e) => [e.data.status, e.data.site]), [["pending", rig.site]]);
      for (
        const tx of [
          "tx-online",
          ...Array.from({ length: OFFLINE_PAYMENTS }, (_, i) => `tx-off-${i}`),
        ]
      ) {
        assertEquals(decided.get(tx), 1, `payment ${tx} decided once at the hub`);
      }
    } finally {
      await hubNc.close();
    }
    const twin0 = await waitFor(
      "the desired change reached the site",
      () => ok(rig.node, "GET", `/api/devices/${ids[0]}`),
      (t) => (t.desired as Record<string, unknown>)?.mode === "eco",
      30_000,
    );
    assertEquals(twin0.desiredVersion, 1, "the desired change applied once");
    const commands = await waitFor(
      "the command reached the site",
      () => ok(rig.node, "GET", `/api/devices/${ids[1]}/commands`),
      (page) => (page.items as unknown[]).length > 0,
      30_000,
    );
    assertEquals(
      (commands.items as { commandId: string }[]).map((c) => c.commandId),
      [commandId],
      "the command exists once at the site",
    );
    await waitFor(
      "the device received the command",
      () => Promise.resolve(received.map((r) => JSON.parse(r))),
      (ms) => ms.some((m) => m.kind === "command" && m.commandId === commandId),
      30_000,
    );
    const atHub = await call(hub1, "GET", `/api/devices/${ids[1]}/commands`);
    assertEquals(atHub.status, 404, "never applied at the hub");
    console.log(
      `edge outage: ${DEVICES} devices × ${total} readings, ${OFFLINE_PAYMENTS} offline ` +
        `payments, ${OUTAGE_MS / 1000} s outage; done in ${Date.now() - started} ms`,
    );
  } finally {
    await rig.stop();
  }
});

/** Every event in the hub's event stream, oldest first. */
async function hubEvents(
  nc: import("@nats-io/transport-node").NatsConnection,
): Promise<{ topic: string; data: Record<string, unknown> }[]> {
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const last = (await jsm.streams.info("FLOTILLA_EVENTS")).state.last_seq;
  const consumer = await js.consumers.get("FLOTILLA_EVENTS");
  const events: { topic: string; data: Record<string, unknown> }[] = [];
  let seen = 0;
  while (seen < last) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
    let got = 0;
    for await (const msg of batch) {
      got++;
      seen = msg.info.pending === 0 ? last : msg.info.streamSequence;
      const topic = msg.subject.slice("fl.ev.".length);
      for (const { data } of unpackEvents(msg.headers, msg.data) ?? []) {
        events.push({ topic, data: data as Record<string, unknown> });
      }
    }
    if (got === 0) break;
  }
  return events;
}
