/**
 * `failover`: seconds from the SIGKILL of one of three nodes until every partition it held
 * processes messages again, and the messages lost and applied twice — the median of several
 * runs, each on a fresh cluster (own nats-server with the partition mappings, own
 * redis-server, three `main.ts` node processes; `tests/helpers/cluster.ts`).
 *
 * Each run: devices (128 by default, as many in each partition) publish a numbered reading every 50 ms
 * over core NATS, as real devices do, and this process follows the `telemetry` events. Once
 * every partition has processed readings, the node holding the most partitions gets SIGKILL.
 * A partition of the victim (its lease holder in KV `flotilla-leases`) is *processing again*
 * when the event of a reading published after the kill arrives for one of its devices: only a
 * survivor can have applied it, durably (events go out after the state is stored). The run's
 * figure is the time until the last of the victim's partitions got there. Publishing goes on
 * for a moment, then the streams are drained and every device twin's `messageCount` is
 * compared with what it was sent (lost, doubled), and the events stream checked for order.
 *
 * No other system runs here, so there is no same-run baseline: the figure is absolute, held
 * against the 3 s target (Orleans detects a dead silo in ~15 s by default, Akka Cluster's
 * split-brain resolver downs a node after ~25–45 s).
 *
 * Env: `BENCH_FAILOVER_RUNS` (default 5), `BENCH_FAILOVER_DEVICES` (default 128).
 * The whole benchmark stops starting runs after 150 s.
 *
 * @module
 */
import { PARTITIONS, startCluster } from "../tests/helpers/cluster.ts";
import {
  allOwned,
  appliedOrder,
  deliveryCheck,
  devicesByPartition,
  leaseHolders,
  orderViolations,
  publishReading,
  type ReadingEvent,
  takeoverStats,
} from "../tests/helpers/failover.ts";
import { partitionOf, unpackEvents } from "../runtime/nats/mod.ts";
import { machine, report } from "./lib.ts";

const RUNS = Number(Deno.env.get("BENCH_FAILOVER_RUNS") ?? 5);
const DEVICES = Number(Deno.env.get("BENCH_FAILOVER_DEVICES") ?? 128);
/** Devices are spread evenly over the partitions. */
const PER_PARTITION = Math.max(1, Math.round(DEVICES / PARTITIONS));
const INTERVAL_MS = 50;
/** Publishing goes on this long after the last partition is processing again. */
const AFTER_MS = 500;
const BUDGET_MS = 150_000;
const TARGET_S = 3;

/** One run's figures. */
interface Run {
  /** SIGKILL → the last of the victim's partitions processing again, s. */
  readonly processingS: number;
  /** SIGKILL → the survivors' `/readyz` report every partition owned, s. */
  readonly ownedS: number;
  /** SIGKILL → every message applied and acked, s. */
  readonly drainedS: number;
  readonly victimPartitions: number;
  readonly sent: number;
  readonly lost: number;
  readonly doubled: number;
  readonly outOfOrder: number;
  /** From the survivors' `partition taken over` log lines: lease silent → consuming, ms. */
  readonly takeoverMaxMs: number;
  readonly takeoverMedianMs: number;
  readonly takeoverMaxSilentMs: number;
  readonly takeoverMaxReadyInMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(n: number): Promise<Run> {
  // Redis without an append-only file, as the recorded results ran (the nodes are allowed to).
  const cluster = await startCluster({ nodes: 3, redis: { durable: false } });
  try {
    const owned = await cluster.settled();
    const groups = devicesByPartition(PER_PARTITION);
    const devices = groups.flat();
    const nc = await cluster.client();

    // Follow the telemetry events: which partitions have processed what.
    let afterKill = Infinity; // first seq published after the kill
    const seen = new Set<number>(); // partitions with any event
    const back = new Map<number, number>(); // victim partition → when processing again
    nc.subscribe("fl.ev.telemetry", {
      callback: (_error, msg) => {
        for (const { data } of unpackEvents(msg.headers, msg.data) ?? []) {
          const e = data as ReadingEvent;
          const seq = e?.readings?.seq;
          if (e?.device === undefined || seq === undefined) continue;
          const p = partitionOf(e.device, PARTITIONS);
          seen.add(p);
          if (seq >= afterKill && !back.has(p)) back.set(p, performance.now());
        }
      },
    });
    await nc.flush();

    // Devices publish a reading every INTERVAL_MS until told to stop.
    let seq = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const started = performance.now();
        publishReading(nc, devices, seq++);
        await nc.flush();
        await sleep(Math.max(0, INTERVAL_MS - (performance.now() - started)));
      }
    })();

    // Steady state: every partition has processed readings.
    const deadline = performance.now() + 30_000;
    while (seen.size < PARTITIONS) {
      if (performance.now() > deadline) throw new Error(`only ${seen.size} partitions processing`);
      await sleep(20);
    }
    await sleep(500);

    const victim = owned.indexOf(Math.max(...owned));
    const name = cluster.names[victim]!;
    const leases = await leaseHolders(cluster);
    const victimPartitions = new Set([...leases].filter(([, n]) => n === name).map(([p]) => p));
    if (victimPartitions.size !== owned[victim]) {
      throw new Error(
        `${name} reports ${owned[victim]} partitions, leases ${victimPartitions.size}`,
      );
    }
    afterKill = seq; // every reading published from now on is published after the kill
    cluster.nodes[victim]!.signal("SIGKILL");
    const killedAt = performance.now();
    const survivors = cluster.nodes.filter((_, i) => i !== victim);

    const ownedAt = allOwned(cluster, survivors);
    const allBack = performance.now() + 30_000;
    while ([...victimPartitions].some((p) => !back.has(p))) {
      if (performance.now() > allBack) {
        const missing = [...victimPartitions].filter((p) => !back.has(p));
        throw new Error(`partitions ${missing.join(", ")} not processing 30 s after the kill`);
      }
      await sleep(5);
    }
    const processingAt = Math.max(...[...victimPartitions].map((p) => back.get(p)!));
    await sleep(AFTER_MS);
    publishing = false;
    await publisher;
    const ownedSeen = await ownedAt;
    await cluster.drained();
    const drainedAt = performance.now();

    const sent = new Map(devices.map((d) => [d, seq]));
    const delivery = await deliveryCheck(cluster, survivors, sent);
    const order = orderViolations(await appliedOrder(cluster));
    const takeovers = takeoverStats(survivors);
    const result: Run = {
      processingS: (processingAt - killedAt) / 1000,
      ownedS: (ownedSeen - killedAt) / 1000,
      drainedS: (drainedAt - killedAt) / 1000,
      victimPartitions: victimPartitions.size,
      sent: devices.length * seq,
      lost: delivery.lost,
      doubled: delivery.doubled,
      outOfOrder: order.violations.length,
      takeoverMaxMs: takeovers.maxMs,
      takeoverMedianMs: takeovers.medianMs,
      takeoverMaxSilentMs: takeovers.maxSilentMs,
      takeoverMaxReadyInMs: takeovers.maxReadyInMs,
    };
    console.error(
      `failover run ${n}: ${name} (${result.victimPartitions} partitions) killed; processing ` +
        `again after ${result.processingS.toFixed(2)} s (readyz ${result.ownedS.toFixed(2)} s, ` +
        `takeover log: lease silent ≤ ${result.takeoverMaxSilentMs} ms + consuming in ≤ ` +
        `${result.takeoverMaxReadyInMs} ms); ${result.sent} messages, lost ` +
        `${result.lost}, doubled ${result.doubled}, out of order ${result.outOfOrder}`,
    );
    if (delivery.wrong.length > 0) {
      console.error(`  devices off: ${JSON.stringify(delivery.wrong.slice(0, 5))}`);
    }
    return result;
  } finally {
    await cluster.stop();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

if (import.meta.main) {
  const started = performance.now();
  const runs: Run[] = [];
  for (let i = 1; i <= RUNS; i++) {
    if (i > 1 && performance.now() - started > BUDGET_MS) {
      console.error(`failover: time budget spent after ${runs.length} runs`);
      break;
    }
    runs.push(await run(i));
  }
  const value = median(runs.map((r) => r.processingS));
  const lost = runs.reduce((a, r) => a + r.lost, 0);
  const doubled = runs.reduce((a, r) => a + r.doubled, 0);
  const outOfOrder = runs.reduce((a, r) => a + r.outOfOrder, 0);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  await report({
    name: "failover",
    value,
    unit: "s (median, SIGKILL → partitions processing again)",
    baseline: "none (absolute)",
    baselineValue: TARGET_S,
    ratio: value / TARGET_S,
    target: "≤ 3 s median, 0 lost, 0 doubled (Orleans ~15 s, Akka ~25–45 s)",
    met: value <= TARGET_S && lost === 0 && doubled === 0,
    machine: machine(),
    details: {
      note: "no same-run baseline exists for a failover: baselineValue is the 3 s target and " +
        "ratio = value / 3 (≤ 1 meets it)",
      runs: runs.length,
      nodes: 3,
      partitions: PARTITIONS,
      lease: "2000 ms",
      devices: PER_PARTITION * PARTITIONS,
      publishIntervalMs: INTERVAL_MS,
      processingAgainS: runs.map((r) => round(r.processingS)),
      readyzAllOwnedS: runs.map((r) => round(r.ownedS)),
      drainedS: runs.map((r) => round(r.drainedS)),
      maxS: round(Math.max(...runs.map((r) => r.processingS))),
      victimPartitions: runs.map((r) => r.victimPartitions),
      takeoverLogMaxMs: runs.map((r) => r.takeoverMaxMs),
      takeoverLogMedianMs: runs.map((r) => r.takeoverMedianMs),
      takeoverLogMaxSilentMs: runs.map((r) => r.takeoverMaxSilentMs),
      takeoverLogMaxReadyInMs: runs.map((r) => r.takeoverMaxReadyInMs),
      messages: runs.reduce((a, r) => a + r.sent, 0),
      lost,
      doubled,
      outOfOrder,
    },
  });
}
