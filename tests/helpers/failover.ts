/**
 * What a failover test and the `failover` benchmark share: publishing numbered readings as
 * devices do, finding which node leases which partition, waiting until the survivors own
 * every partition, and checking afterwards that every reading was applied exactly once and in
 * order per device.
 *
 * A reading's `seq` is carried in `readings.seq`; the device actor emits it back in its
 * `telemetry` event, which is how order and "processing again" are observed.
 *
 * @module
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionOf, unpackEvents } from "../../runtime/nats/mod.ts";
import { type Cluster, PARTITIONS } from "./cluster.ts";
import type { NodeProcess } from "./process.ts";

/** Publishes reading `seq` of every device with core NATS, as a device would. */
export function publishReading(nc: NatsConnection, devices: readonly string[], seq: number): void {
  for (const device of devices) {
    nc.publish(
      `iot.${device}.telemetry`,
      JSON.stringify({ ts: 1_700_000_000_000 + seq, readings: { seq } }),
    );
  }
}

/** Publishes readings `from … to-1` of every device, flushing after each round. */
export async function publishReadings(
  nc: NatsConnection,
  devices: readonly string[],
  from: number,
  to: number,
): Promise<void> {
  for (let seq = from; seq < to; seq++) {
    publishReading(nc, devices, seq);
    await nc.flush();
  }
}

/** The `telemetry` event fields these helpers read. */
export interface ReadingEvent {
  readonly device?: string;
  readonly readings?: { readonly seq?: number };
}

/** Device ids `<prefix><n>`, `perPartition` of them in each partition, grouped by partition. */
export function devicesByPartition(perPartition: number, prefix = "fo-"): string[][] {
  const groups: string[][] = Array.from({ length: PARTITIONS }, () => []);
  let left = perPartition * PARTITIONS;
  for (let n = 0; left > 0; n++) {
    const id = `${prefix}${n}`;
    const group = groups[partitionOf(id, PARTITIONS)]!;
    if (group.length < perPartition) {
      group.push(id);
      left--;
    }
  }
  return groups;
}

/** Which node (`node-<n>`) holds each partition's lease right now (KV bucket `flotilla-leases`). */
export async function leaseHolders(cluster: Cluster): Promise<Map<number, string>> {
  const kv = await new Kvm(await cluster.client()).open("flotilla-leases");
  const out = new Map<number, string>();
  for (let p = 0; p < PARTITIONS; p++) {
    const entry = await kv.get(`p.${p}`);
    if (entry === null || entry.operation !== "PUT") continue;
    out.set(p, entry.json<{ node: string }>().node);
  }
  return out;
}

/**
 * Polls the survivors' `/readyz` until together they own every partition.
 * @returns when (`performance.now()`)
 */
export async function allOwned(
  cluster: Cluster,
  survivors: readonly NodeProcess[],
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const owned = await cluster.owned(survivors);
    if (owned.reduce((a, b) => a + b, 0) === PARTITIONS) return performance.now();
    if (performance.now() > deadline) {
      throw new Error(`partitions not taken over: ${owned.join("/")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A device's telemetry event as the events stream holds it. */
export interface AppliedReading {
  /** The reading's `seq`. */
  readonly seq: number;
  /** The sequence of the event's message (its batch) in the `FLOTILLA_EVENTS` stream. */
  readonly streamSeq: number;
}

/** Every telemetry event carrying a `seq`, per device, in stream order, with its stream sequence. */
export async function appliedEvents(cluster: Cluster): Promise<Map<string, AppliedReading[]>> {
  const nc = await cluster.client();
  const js = jetstream(nc);
  // Read up to the last event there is now, without waiting for an empty fetch to time out.
  const last = (await (await jetstreamManager(nc)).streams.info("FLOTILLA_EVENTS")).state.last_seq;
  const consumer = await js.consumers.get("FLOTILLA_EVENTS", { deliver_policy: DeliverPolicy.All });
  const out = new Map<string, AppliedReading[]>();
  for (let seen = 0; seen < last;) {
    const batch = await consumer.fetch({ max_messages: 2000, expires: 1000 });
    let n = 0;
    for await (const msg of batch) {
      n++;
      seen = msg.seq;
      const batch = msg.subject === "fl.ev.telemetry" ? unpackEvents(msg.headers, msg.data) : null;
      for (const { data } of batch ?? []) {
        const e = data as ReadingEvent;
        if (e?.device === undefined || e.readings?.seq === undefined) continue;
        let seqs = out.get(e.device);
        if (seqs === undefined) out.set(e.device, seqs = []);
        seqs.push({ seq: e.readings.seq, streamSeq: msg.seq });
      }
      if (seen >= last) break;
    }
    if (n === 0) break; // nothing more (the stream dropped old events)
  }
  return out;
}

/** Every `seq` of the telemetry events in the events stream, per device, in stream order. */
export async function appliedOrder(cluster: Cluster): Promise<Map<string, number[]>> {
  const events = await appliedEvents(cluster);
  return new Map([...events].map(([device, list]) => [device, list.map((e) => e.seq)]));
}

/** Events applied out of order (or twice): `"<device> applied <seq> after <seq>"`. */
export function orderViolations(order: ReadonlyMap<string, readonly number[]>): {
  checked: number;
  violations: string[];
} {
  let checked = 0;
  const violations: string[] = [];
  for (const [device, seqs] of order) {
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i]! <= seqs[i - 1]!) {
        violations.push(`${device} applied ${seqs[i]} after ${seqs[i - 1]}`);
      }
    }
    checked += seqs.length;
  }
  return { checked, violations };
}

/** What the twins counted against what was sent. */
export interface DeliveryCheck {
  /** Messages sent but not counted. */
  readonly lost: number;
  /** Messages counted more than once. */
  readonly doubled: number;
  /** Devices whose count differs: `[device, counted, sent]`. */
  readonly wrong: [string, number, number][];
}

/**
 * Compares each device twin's `messageCount`, read from the survivors in turn, with the
 * number of messages sent to it. Call once the streams are drained.
 */
export async function deliveryCheck(
  cluster: Cluster,
  survivors: readonly NodeProcess[],
  sent: ReadonlyMap<string, number>,
): Promise<DeliveryCheck> {
  const entries = [...sent];
  const counted = await Promise.all(entries.map(async ([device], i) => {
    const twin = await cluster.twin(device, survivors[i % survivors.length]);
    return Number(twin?.messageCount ?? 0);
  }));
  let lost = 0;
  let doubled = 0;
  const wrong: [string, number, number][] = [];
  entries.forEach(([device, want], i) => {
    const got = counted[i]!;
    if (got === want) return;
    wrong.push([device, got, want]);
    if (got < want) lost += want - got;
    else doubled += got - want;
  });
  return { lost, doubled, wrong };
}

/**
 * The survivors' `partition taken over` log lines: how long from the last renewal of the old
 * lease a node saw (`silentForMs`) until it was consuming the partition (`+ readyInMs`).
 */
export function takeoverStats(survivors: readonly NodeProcess[]): {
  count: number;
  maxMs: number;
  medianMs: number;
  /** The largest `silentForMs` (lease silence before the takeover began). */
  maxSilentMs: number;
  /** The largest `readyInMs` (takeover begun → consuming). */
  maxReadyInMs: number;
} {
  const lines = survivors.flatMap((n) => n.lines).filter((l) => l.msg === "partition taken over");
  const ready = lines.map((l) => Number(l.silentForMs) + Number(l.readyInMs)).sort((a, b) => a - b);
  return {
    count: ready.length,
    maxMs: ready.at(-1) ?? NaN,
    medianMs: ready[Math.floor(ready.length / 2)] ?? NaN,
    maxSilentMs: Math.max(...lines.map((l) => Number(l.silentForMs))),
    maxReadyInMs: Math.max(...lines.map((l) => Number(l.readyInMs))),
  };
}
