/**
 * Stale-owner writes: which writes a node sent to Redis for partitions it did not hold, and
 * whether any of them changed the store.
 *
 * - Whose connection: the node's sockets to Redis, read from `/proc/<pid>` (works for a frozen
 *   process), and the clients named `flotilla-<nodeId>` in `CLIENT LIST`.
 * - Who held what when: the `flotilla-leases` bucket's history (server timestamps), against
 *   MONITOR's server timestamps — one machine, one clock.
 * - Whether a write landed: the commands the store's script ran for the key. None: refused
 *   (fenced). A checked put swapped in and put back (`SET … GET`, then `SET`/`DEL` of the same
 *   key): refused on its version. Anything else changed the key.
 *
 * @module
 */
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { partitionOf } from "../../runtime/nats/mod.ts";
import { PARTITIONS } from "../helpers/cluster.ts";
import type { MonitoredCall } from "./redis_monitor.ts";

/** The `ip:port` of each TCP connection process `pid` has open to `port` (IPv4, from /proc). */
export async function connectionsOf(pid: number, port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    try {
      const link = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`);
      const match = /^socket:\[(\d+)\]$/.exec(link);
      if (match !== null) inodes.add(match[1]!);
    } catch { /* closed meanwhile */ }
  }
  const out = new Set<string>();
  const table = await Deno.readTextFile(`/proc/${pid}/net/tcp`);
  for (const line of table.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, remote, inode] = [fields[1], fields[2], fields[9]];
    if (local === undefined || remote === undefined || inode === undefined) continue;
    if (!inodes.has(inode) || parseInt(remote.split(":")[1]!, 16) !== port) continue;
    const [ipHex, portHex] = local.split(":") as [string, string];
    // The address is the 32-bit value printed in host (little-endian) order: bytes reversed.
    const ip = [3, 2, 1, 0].map((i) => parseInt(ipHex.slice(2 * i, 2 * i + 2), 16)).join(".");
    out.add(`${ip}:${parseInt(portHex, 16)}`);
  }
  return out;
}

/** The addresses of the clients named `name` in a `CLIENT LIST` reply. */
export function namedClients(clientList: string, name: string): Set<string> {
  const out = new Set<string>();
  for (const line of clientList.split("\n")) {
    const fields = Object.fromEntries(
      line.trim().split(" ").map((f) => [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)]),
    );
    if (fields.name === name && fields.addr !== undefined) out.add(fields.addr);
  }
  return out;
}

/** One change of a partition's lease: who holds it from `ts` on (null: nobody). */
export interface LeaseChange {
  readonly partition: number;
  readonly node: string | null;
  /** Server time, epoch ms. */
  readonly ts: number;
}

/** The history of the `flotilla-leases` bucket from when {@link LeaseHistory.watch} was called. */
export class LeaseHistory {
  readonly changes: LeaseChange[] = [];
  #stop: () => void;

  private constructor(stop: () => void) {
    this.#stop = stop;
  }

  /** A history of these changes (for tests of the checks). */
  static of(changes: readonly LeaseChange[]): LeaseHistory {
    const history = new LeaseHistory(() => {});
    history.changes.push(...changes);
    return history;
  }

  /** Watches the bucket (its current values first, then every change). */
  static async watch(nc: NatsConnection): Promise<LeaseHistory> {
    const kv = await new Kvm(nc).open("flotilla-leases");
    const watcher = await kv.watch({ key: "p.*" });
    const history = new LeaseHistory(() => watcher.stop());
    (async () => {
      for await (const entry of watcher) {
        const partition = Number(entry.key.slice(2));
        const node = entry.operation === "PUT" ? entry.json<{ node: string }>().node : null;
        history.changes.push({ partition, node, ts: entry.created.getTime() });
      }
    })().catch(() => {});
    return history;
  }

  /**
   * Whether `node` held `partition` at `ts`: true, false, or null within `marginMs` of the
   * node gaining or losing it (lease timestamps have millisecond resolution).
   */
  held(node: string, partition: number, ts: number, marginMs = 2): boolean | null {
    let holder: string | null = null;
    for (const change of this.changes) {
      if (change.partition !== partition) continue;
      const transition = (change.node === node) !== (holder === node);
      if (transition && Math.abs(change.ts - ts) <= marginMs) return null;
      if (change.ts > ts) break;
      holder = change.node;
    }
    return holder === node;
  }

  stop(): void {
    this.#stop();
  }
}

/** A write a node sent for a partition it did not hold. */
export interface StaleWrite {
  /** Server time, epoch ms. */
  readonly ts: number;
  /** The store key (`a/<type>/<id>`, `r/<p>/…`). */
  readonly key: string;
  readonly partition: number;
  /** Whether it changed the store, and how (`refused`, `put back`, or the commands run). */
  readonly landed: boolean;
  readonly how: string;
}

/** The partition a store key belongs to: reminders carry it, actors' keys hash their id. */
export function partitionOfKey(key: string): number | null {
  const reminder = /^r\/(\d+)\//.exec(key);
  if (reminder !== null) return Number(reminder[1]);
  const actor = /^a\/[^/]+\/(.+)$/.exec(key);
  return actor === null ? null : partitionOf(actor[1]!, PARTITIONS);
}

/** Options of {@link staleWrites}. */
export interface StaleWriteOptions {
  /** The node's Redis client addresses. */
  readonly addrs: ReadonlySet<string>;
  /** The node's id, as in its leases. */
  readonly node: string;
  readonly leases: LeaseHistory;
  /** Window of server time to look at, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** The store's key prefix. @default "flotilla:" */
  readonly prefix?: string;
}

/** The writes of `calls` that the node sent for partitions it did not hold at the time. */
export function staleWrites(
  calls: readonly MonitoredCall[],
  options: StaleWriteOptions,
): StaleWrite[] {
  const prefix = options.prefix ?? "flotilla:";
  const out: StaleWrite[] = [];
  for (const call of calls) {
    if (!options.addrs.has(call.addr) || call.ts < options.from || call.ts > options.to) continue;
    for (const redisKey of call.keys) {
      const kind = redisKey.slice(prefix.length, prefix.length + 2);
      if (!redisKey.startsWith(prefix) || (kind !== "s:" && kind !== "j:")) continue;
      const key = redisKey.slice(prefix.length + 2);
      const partition = partitionOfKey(key);
      if (partition === null) continue;
      if (options.leases.held(options.node, partition, call.ts) !== false) continue;
      const verdict = call.command.startsWith("eval") || call.command.startsWith("fcall")
        ? scriptVerdict(call, redisKey)
        : { landed: true, how: call.command.toUpperCase() };
      out.push({ ts: call.ts, key, partition, ...verdict });
    }
  }
  return out;
}

function scriptVerdict(call: MonitoredCall, redisKey: string): { landed: boolean; how: string } {
  const writes = call.writes.filter((w) => w.key === redisKey);
  if (writes.length === 0) return { landed: false, how: "refused" };
  const [first, ...rest] = writes;
  if (first!.command === "SET" && first!.get && rest.some((w) => /^(SET|DEL)$/.test(w.command))) {
    return { landed: false, how: "put back" };
  }
  return { landed: true, how: writes.map((w) => w.command).join("+") };
}
