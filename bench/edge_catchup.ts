/**
 * `edge-catchup`: how fast a hub catches up with an edge site's uplink after an outage, against
 * a raw JetStream source of the same messages in the same run.
 *
 * One run (`tests/helpers/edge.ts`): the hub's nats-server, a redis-server and one hub node;
 * the site's nats-server (a leaf node of the hub's) and one site node. The leaf connection is
 * cut; for `BENCH_EDGE_OUTAGE_S` seconds (default 60) `BENCH_EDGE_DEVICES` devices (default 50)
 * at the site publish `BENCH_EDGE_RATE` readings a second each (default 10) while the site
 * node turns their changes into uplink messages: twin snapshots (one per device every 5 s
 * while the link is down) and every reading (`BENCH_EDGE_TELEMETRY`, the site's
 * `FLOTILLA_UPLINK_TELEMETRY`, default 1: every one).
 * Then the link is restored.
 *
 * - **Flotilla**: uplink messages per second from the first message the hub sources after the
 *   link is back until every uplink message is applied by the hub's replicas and durable (the
 *   hub's stream holds all of them and its feed consumers have nothing pending or
 *   unacknowledged).
 * - **Baseline**: a plain stream at the hub sourcing the same uplink stream across the same
 *   leaf connection (JetStream alone, nothing applied), created before the outage, so it
 *   resumes after it with the same messages at the same time; messages per second from its
 *   first message after the link is back to its last. (A source resuming after an outage is
 *   slower than a fresh one; a fresh source of the same messages, alone, afterwards, is in the
 *   details.)
 *
 * Target: ratio ≥ 0.5. Details: messages, both times, how long the hub took to source again
 * after the link came back, and whether every device's `messageCount` at the hub equals the
 * site's.
 *
 * @module
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { SITE_STREAMS } from "../runtime/nats/mod.ts";
import { startEdge } from "../tests/helpers/edge.ts";
import { PARTITIONS } from "../tests/helpers/cluster.ts";
import { machine, report } from "./lib.ts";

const OUTAGE_S = Number(Deno.env.get("BENCH_EDGE_OUTAGE_S") ?? 60);
const DEVICES = Number(Deno.env.get("BENCH_EDGE_DEVICES") ?? 50);
const RATE = Number(Deno.env.get("BENCH_EDGE_RATE") ?? 10);
const TARGET = 0.5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TELEMETRY = Deno.env.get("BENCH_EDGE_TELEMETRY") ?? "1";

const rig = await startEdge({ env: { FLOTILLA_UPLINK_TELEMETRY: TELEMETRY } });
try {
  const site = rig.site;
  const hubNc = await connect({ servers: rig.hubNats.url });
  const siteNc = await rig.siteClient();
  const hubJsm = await jetstreamManager(hubNc);
  const siteJsm = await jetstreamManager(siteNc);
  const upStream = SITE_STREAMS.up(site);
  const ids = Array.from({ length: DEVICES }, (_, i) => `bench-${i}`);

  // Every device known at the hub before the outage.
  const publishRound = (n: number) => {
    for (const id of ids) {
      siteNc.publish(`iot.${id}.telemetry`, JSON.stringify({ readings: { seq: n, v: n % 97 } }));
    }
  };
  publishRound(0);
  await siteNc.flush();
  const unfinished = async () => {
    const infos = await Promise.all(
      Array.from(
        { length: PARTITIONS },
        (_, p) => hubJsm.consumers.info(upStream, `up-${site}-p${p}`).catch(() => null),
      ),
    );
    return infos.reduce((n, c) => n + (c === null ? 1 : c.num_pending + c.num_ack_pending), 0);
  };
  const caughtUp = async () => {
    const [siteInfo, hubInfo] = await Promise.all([
      siteJsm.streams.info(SITE_STREAMS.uplink),
      hubJsm.streams.info(upStream),
    ]);
    return hubInfo.state.messages >= siteInfo.state.messages && await unfinished() === 0;
  };
  // The baseline: a plain stream at the hub sourcing the same uplink, across the same link.
  const raw = `RAW_${site}`;
  await hubJsm.streams.add({
    name: raw,
    sources: [{ name: SITE_STREAMS.uplink, external: { api: `$JS.${site}.API`, deliver: "" } }],
  });
  const rawCount = async () => (await hubJsm.streams.info(raw)).state.messages;
  while (!(await caughtUp())) await sleep(200);
  const siteCount = async () => (await siteJsm.streams.info(SITE_STREAMS.uplink)).state.messages;
  while (await rawCount() < await siteCount()) await sleep(200);

  // ---- the outage: devices keep publishing at the site
  rig.cutLink();
  const before = (await hubJsm.streams.info(upStream)).state.last_seq;
  let round = 1;
  const outageEnd = Date.now() + OUTAGE_S * 1000;
  while (Date.now() < outageEnd) {
    const next = Date.now() + 1000 / RATE;
    publishRound(round++);
    await sleep(Math.max(0, next - Date.now()));
  }
  await siteNc.flush();
  // The site node's last flush of snapshots.
  await sleep(1000);
  const uplinkTotal = (await siteJsm.streams.info(SITE_STREAMS.uplink)).state.last_seq;
  const backlog = uplinkTotal - before;

  // ---- the link is back: both catch up with the same messages at the same time
  const restored = performance.now();
  const rawBefore = await rawCount();
  rig.restoreLink();
  const rawDone = (async () => {
    let first = 0;
    for (;;) {
      const n = await rawCount();
      if (n > rawBefore && first === 0) first = performance.now();
      if (n >= rawBefore + backlog) return (performance.now() - first) / 1000;
      await sleep(first === 0 ? 5 : 20);
    }
  })();
  let firstAt = 0;
  for (;;) {
    const seq = (await hubJsm.streams.info(upStream)).state.last_seq;
    if (seq > before) {
      firstAt = performance.now();
      break;
    }
    await sleep(5);
  }
  // Polled as lightly as the baseline is: one stream info until the hub's stream holds every
  // message, then its consumers (their infos are 16 requests a poll).
  while ((await hubJsm.streams.info(upStream)).state.last_seq < before + backlog) await sleep(20);
  const sourcedAt = performance.now();
  while (await unfinished() > 0) await sleep(20);
  const flotillaS = (performance.now() - firstAt) / 1000;
  const sourcedS = ((sourcedAt || performance.now()) - firstAt) / 1000;
  const resumeS = (firstAt - restored) / 1000;
  const rawS = await rawDone;

  // A fresh source of the same messages, alone, for comparison (details only).
  const fresh = `FRESH_${site}`;
  await hubJsm.streams.add({
    name: fresh,
    sources: [{
      name: SITE_STREAMS.uplink,
      opt_start_seq: rawBefore + 1,
      external: { api: `$JS.${site}.API`, deliver: "" },
    }],
  });
  let freshFirst = 0;
  for (;;) {
    const n = (await hubJsm.streams.info(fresh)).state.messages;
    if (n > 0 && freshFirst === 0) freshFirst = performance.now();
    if (n >= backlog) break;
    await sleep(freshFirst === 0 ? 5 : 20);
  }
  const freshS = (performance.now() - freshFirst) / 1000;
  await hubJsm.streams.delete(fresh);
  await hubJsm.streams.delete(raw);

  // Exactness: every device's count at the hub equals the site's.
  let mismatched = 0;
  for (const id of ids) {
    const [h, s] = await Promise.all([
      rig.hubNodes[0]!.api(`/api/devices/${id}`).then((r) => r.json()),
      rig.node.api(`/api/devices/${id}`).then((r) => r.json()),
    ]);
    if (h.messageCount !== s.messageCount) mismatched++;
  }
  await hubNc.close();

  const value = backlog / flotillaS;
  const baselineValue = backlog / rawS;
  const ratio = value / baselineValue;
  await report(
    {
      name: "edge-catchup",
      value,
      unit: "uplink msg/s",
      baseline: "raw JetStream source of the same messages, resumed at the same time",
      baselineValue,
      ratio,
      target: `ratio >= ${TARGET}`,
      met: ratio >= TARGET && mismatched === 0,
      machine: machine(),
      details: {
        outageS: OUTAGE_S,
        devices: DEVICES,
        readingsPerSecondPerDevice: RATE,
        uplinkTelemetry: TELEMETRY,
        readings: (round - 1) * DEVICES,
        uplinkMessages: backlog,
        flotillaSeconds: flotillaS,
        sourcedSeconds: sourcedS,
        rawSeconds: rawS,
        freshSourceSeconds: freshS,
        freshSourceMsgPerSecond: backlog / freshS,
        resumeSeconds: resumeS,
        devicesMismatched: mismatched,
      },
    },
    `${backlog} messages after a ${OUTAGE_S} s outage; sourcing resumed ${
      resumeS.toFixed(1)
    } s after the link; ${mismatched} devices mismatched`,
  );
} finally {
  await rig.stop();
}
