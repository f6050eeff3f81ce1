/**
 * Partition ownership across nodes, with leases in JetStream KV.
 *
 * Every node heartbeats a record in the `flotilla-nodes` bucket. Each partition has at most one
 * owner, holding the key `p.<n>` of the `flotilla-leases` bucket: the owner renews it with a
 * compare-and-set on its revision every `leaseMs / 4`; the revision at acquisition is the
 * partition's fencing token. A node never compares its clock with another's: it measures, on
 * its own monotonic clock, how long ago it saw a lease or a heartbeat change. A lease unchanged
 * for `leaseMs` has expired and may be taken over (again by compare-and-set, so one node wins);
 * an owner whose last successful renewal is older than `leaseMs - margin` stops processing the
 * partition on its own, before anyone else may take it (self-fencing). Which live node should
 * own a partition is decided by rendezvous hashing, so a node joining or leaving moves only its
 * share; a node giving a partition up drains it first and then deletes the lease, so the next
 * owner starts at once and nothing is redelivered.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm, type KvWatchEntry } from "@nats-io/kv";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { MetricsRegistry } from "../metrics.ts";
import { ownerOf } from "./hash.ts";

/** Options of {@link Placement}. */
export interface PlacementOptions {
  readonly nc: NatsConnection;
  readonly nodeId: string;
  readonly partitions: number;
  /** How long an unrenewed lease lasts. @default 2000 */
  readonly leaseMs?: number;
  /** Copies of the lease and node buckets (as the streams': 3 in a 3-server cluster). @default 1 */
  readonly replicas?: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /**
   * Told of every change of a partition's state here: 0 not owned, 1 acquiring, 2 active,
   * 3 handing over; `renewedAt` is when its last successful renewal was sent (epoch ms, high
   * resolution). Lets another thread answer `owns()` (see lease_keeper.ts).
   */
  onState?(partition: number, state: PartitionState, renewedAt: number): void;
  /** Told of each metric change, for a registry in another thread. */
  onMetric?(event: PlacementMetric): void;
  /** Told every round of {@link Placement.wanted}, for another thread's readiness check. */
  onWanted?(wanted: readonly number[] | null): void;
  /** Start hosting `partition`; `token` is its fencing token (the lease revision). */
  acquire(partition: number, token: number): Promise<void>;
  /**
   * Stop hosting `partition`. `graceful`: drain it first (everything delivered acknowledged);
   * otherwise (the lease was lost) stop at once.
   */
  release(partition: number, graceful: boolean): Promise<void>;
}

/** A partition's state on this node: 0 not owned, 1 acquiring, 2 active, 3 handing over. */
export type PartitionState = 0 | 1 | 2 | 3;

/** A metric change of the placement. */
export type PlacementMetric =
  | { readonly kind: "owned"; readonly value: number }
  | { readonly kind: "change"; readonly change: string }
  | { readonly kind: "failover"; readonly seconds: number };

const STATE: Readonly<Record<Owned["state"], PartitionState>> = {
  acquiring: 1,
  active: 2,
  releasing: 3,
};

interface Seen {
  readonly node: string;
  readonly revision: number;
  /** When this node saw the change (its monotonic clock, ms). */
  readonly seenAt: number;
  readonly leaving: boolean;
}

interface Owned {
  revision: number;
  /** When the last successful renewal was sent (monotonic ms). */
  renewedAt: number;
  token: number;
  state: "acquiring" | "active" | "releasing";
}

const NODES = "flotilla-nodes";
const LEASES = "flotilla-leases";
/** Most partitions handed over concurrently, so a rebalance is not a storm. */
const CONCURRENT_HANDOVERS = 8;

const now = () => performance.now();

/** Decides and holds this node's partitions. */
export class Placement {
  readonly nodeId: string;
  readonly partitions: number;
  readonly leaseMs: number;
  #o: PlacementOptions;
  #nodesKv!: KV;
  #leasesKv!: KV;
  #nodes = new Map<string, Seen>();
  #leases = new Map<number, Seen>();
  #owned = new Map<number, Owned>();
  #handovers = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #ticking = false;
  #stopping = false;
  #startedAt = 0;
  #watchers: { stop(): void }[] = [];
  #lastTick = 0;
  #round = 0;
  /**
   * Round period: leases are renewed every other round (four renewals fit in a lease, so one
   * slow round trip costs nothing), expiries looked for every round (a dead node's partitions
   * are taken within a round of their lease running out).
   */
  get #period(): number {
    return Math.max(25, Math.floor(this.leaseMs / 8));
  }
  #ownedGauge;
  #changes;
  #failover;

  constructor(options: PlacementOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
    this.partitions = options.partitions;
    this.leaseMs = options.leaseMs ?? 2000;
    this.#ownedGauge = options.metrics.gauge({
      name: "flotilla_partitions_owned",
      help: "Partitions this node owns now.",
    });
    this.#changes = options.metrics.counter({
      name: "flotilla_lease_changes_total",
      help: "Partition lease changes on this node: acquired, taken_over, released, lost.",
      labels: ["change"],
    });
    this.#failover = options.metrics.histogram({
      name: "flotilla_failover_seconds",
      help:
        "From the last renewal seen of a dead owner's lease to this node hosting the partition.",
      buckets: [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30],
    });
  }

  /** Whether this node holds `partition`'s lease, taking it over included, fresh on its clock. */
  holds(partition: number): boolean {
    const owned = this.#owned.get(partition);
    return owned !== undefined && now() - owned.renewedAt < this.#fenceMs();
  }

  /** Whether this node hosts `partition` now (owned, and its lease fresh on this node's clock). */
  owns(partition: number): boolean {
    const owned = this.#owned.get(partition);
    return owned !== undefined && owned.state !== "acquiring" &&
      now() - owned.renewedAt < this.#fenceMs();
  }

  /** The partitions this node hosts. */
  owned(): number[] {
    return [...this.#owned.entries()].filter(([p]) => this.owns(p)).map(([p]) => p).sort((a, b) =>
      a - b
    );
  }

  /**
   * The partitions this node should own now — its share: those rendezvous hashing gives it over
   * the live nodes it sees. `null` until a lease length after start (it has not heard every
   * node's heartbeat yet, and takes nothing meanwhile), while a node known only from the records
   * read at start has neither heartbeated since nor expired, and once it is leaving.
   */
  wanted(): number[] | null {
    const t = now();
    if (this.#startedAt === 0 || this.#stopping || t - this.#startedAt < this.leaseMs) return null;
    // A node heard of only in the records read at start may be dead (a record outlives its
    // node by up to a lease): counted, it would make a smaller share look complete. Wait until
    // it heartbeats again or expires.
    for (const n of this.#nodes.values()) {
      if (
        n.node !== this.nodeId && !n.leaving && t - n.seenAt < this.leaseMs &&
        n.seenAt - this.#startedAt < this.leaseMs / 2
      ) return null;
    }
    const live = this.liveNodes();
    const out: number[] = [];
    for (let p = 0; p < this.partitions; p++) if (ownerOf(p, live) === this.nodeId) out.push(p);
    return out;
  }

  /** Nothing renews this node's leases any more: never on this thread (see LeaseKeeper). */
  failure(): string | null {
    return null;
  }

  /** The live nodes this node sees (itself included). */
  liveNodes(): string[] {
    const t = now();
    const live = [...this.#nodes.values()]
      .filter((n) => !n.leaving && t - n.seenAt < this.leaseMs)
      .map((n) => n.node);
    if (!this.#stopping && !live.includes(this.nodeId)) live.push(this.nodeId);
    return live.sort();
  }

  /** Opens the buckets, starts watching, and after a settling period starts taking partitions. */
  async start(): Promise<void> {
    const kvm = new Kvm(this.#o.nc);
    const replicas = this.#o.replicas ?? 1;
    this.#nodesKv = await kvm.create(NODES, { history: 1, replicas });
    this.#leasesKv = await kvm.create(LEASES, { history: 1, replicas });
    await this.#watch(this.#nodesKv, (e) => this.#sawNode(e));
    await this.#watch(this.#leasesKv, (e) => this.#sawLease(e));
    this.#startedAt = now();
    await this.#heartbeat();
    this.#timer = setInterval(() => this.#tick(), this.#period);
  }

  /**
   * Leaves the cluster: marks this node as leaving, hands every partition over (drained), and
   * deletes its record. The others take the partitions at once.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    try {
      await this.#heartbeat();
      await Promise.all([...this.#owned.keys()].map((p) => this.#handOver(p)));
      await this.#nodesKv.delete(`n.${this.nodeId}`);
    } catch (error) {
      this.#o.logger.warn("leaving the cluster did not finish cleanly", {
        error: describeError(error),
      });
    } finally {
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
      for (const w of this.#watchers) w.stop();
    }
  }

  /** Stops everything at once, without handing over (a crash, as far as others can tell). */
  abandon(): void {
    this.#stopping = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const w of this.#watchers) w.stop();
  }

  #fenceMs(): number {
    return fenceMs(this.leaseMs);
  }

  async #watch(kv: KV, onEntry: (e: KvWatchEntry) => void): Promise<void> {
    const iter = await kv.watch({ key: ">" });
    this.#watchers.push({ stop: () => iter.stop() });
    (async () => {
      for await (const entry of iter) onEntry(entry);
    })().catch((error) => {
      if (!this.#stopping) this.#o.logger.error("KV watch ended", { error: describeError(error) });
    });
  }

  #sawNode(e: KvWatchEntry): void {
    const node = e.key.slice(2);
    if (e.operation !== "PUT") {
      this.#nodes.delete(node);
      return;
    }
    const value = e.json<{ leaving?: boolean }>();
    this.#nodes.set(node, {
      node,
      revision: e.revision,
      seenAt: now(),
      leaving: value.leaving === true,
    });
  }

  #sawLease(e: KvWatchEntry): void {
    const p = Number(e.key.slice(2));
    if (!Number.isInteger(p)) return;
    if (e.operation !== "PUT") {
      this.#leases.delete(p);
      return;
    }
    const node = e.json<{ node: string }>().node;
    this.#leases.set(p, { node, revision: e.revision, seenAt: now(), leaving: false });
    const owned = this.#owned.get(p);
    if (owned === undefined || e.revision <= owned.revision) return;
    if (node === this.nodeId) {
      // Our own renewal, whose reply we may not have had (a timeout): its revision is ours.
      owned.revision = e.revision;
    } else {
      this.#lose(p, `taken by ${node}`);
    }
  }

  async #heartbeat(): Promise<void> {
    await this.#nodesKv.put(
      `n.${this.nodeId}`,
      JSON.stringify({ node: this.nodeId, leaving: this.#stopping, partitions: this.#owned.size }),
    );
  }

  async #tick(): Promise<void> {
    const t = now();
    if (this.#lastTick > 0 && t - this.#lastTick > this.leaseMs / 4) {
      this.#o.logger.warn("placement timer ran late: the event loop was blocked", {
        lateMs: Math.round(t - this.#lastTick - this.#period),
      });
    }
    this.#lastTick = t;
    if (this.#stopping) return;
    // Fencing runs on every timer tick, even while the previous round still waits on NATS.
    this.#fence();
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      if (++this.#round % 2 === 0) await Promise.all([this.#heartbeat(), this.#renew()]);
      if (now() - this.#startedAt >= this.leaseMs) this.#rebalance();
    } catch (error) {
      this.#o.logger.warn("placement round failed", { error: describeError(error) });
    } finally {
      const owned = this.owned().length;
      this.#ownedGauge.set(owned);
      this.#o.onMetric?.({ kind: "owned", value: owned });
      this.#o.onWanted?.(this.wanted());
      this.#ticking = false;
    }
  }

  async #renew(): Promise<void> {
    await Promise.all([...this.#owned.entries()].map(async ([p, owned]) => {
      const sent = now();
      try {
        owned.revision = await this.#leasesKv.update(
          `p.${p}`,
          this.#leaseValue(),
          owned.revision,
          this.#fenceMs(),
        );
        owned.renewedAt = sent;
        this.#state(p, owned);
        const took = now() - sent;
        if (took > this.leaseMs / 4) {
          this.#o.logger.warn("lease renewal was slow", { partition: p, tookMs: Math.round(took) });
        }
      } catch (error) {
        if (isWrongRevision(error)) this.#lose(p, "its lease was changed by another node");
        // Otherwise NATS is unreachable: keep trying; #fence stops us in time.
      }
    }));
  }

  /** Stops processing partitions whose lease could not be renewed in time. */
  #fence(): void {
    for (const [p, owned] of this.#owned) {
      if (owned.state !== "acquiring" && now() - owned.renewedAt >= this.#fenceMs()) {
        this.#lose(p, "its lease could not be renewed in time");
      }
    }
  }

  #lose(p: number, why: string): void {
    if (!this.#owned.delete(p)) return;
    this.#state(p, null);
    this.#count("lost");
    this.#o.logger.warn("partition lost", { partition: p, why });
    this.#o.release(p, false).catch((error) =>
      this.#o.logger.error("stopping a lost partition failed", {
        partition: p,
        error: describeError(error),
      })
    );
  }

  #rebalance(): void {
    const live = this.liveNodes();
    const t = now();
    for (let p = 0; p < this.partitions; p++) {
      const desired = ownerOf(p, live);
      const owned = this.#owned.get(p);
      if (owned !== undefined) {
        if (
          desired !== this.nodeId && owned.state === "active" &&
          this.#handovers < CONCURRENT_HANDOVERS
        ) {
          this.#handOver(p).catch(() => {});
        }
        continue;
      }
      if (desired !== this.nodeId) continue;
      const lease = this.#leases.get(p);
      if (lease === undefined) {
        this.#take(p, 0, null);
      } else if (lease.node === this.nodeId || t - lease.seenAt >= this.leaseMs) {
        this.#take(p, lease.revision, lease.node === this.nodeId ? null : lease);
      }
    }
  }

  #take(p: number, revision: number, from: Seen | null): void {
    const owned: Owned = { revision, renewedAt: now(), token: 0, state: "acquiring" };
    this.#owned.set(p, owned);
    this.#state(p, owned);
    const started = now();
    const write = revision === 0
      ? this.#leasesKv.create(`p.${p}`, this.#leaseValue())
      : this.#leasesKv.update(`p.${p}`, this.#leaseValue(), revision);
    write.then(
      async (rev) => {
        owned.revision = rev;
        owned.token = rev;
        owned.renewedAt = started;
        this.#state(p, owned);
        try {
          await this.#o.acquire(p, rev);
        } catch (error) {
          this.#o.logger.error("could not start hosting a partition", {
            partition: p,
            error: describeError(error),
          });
          this.#owned.delete(p);
          this.#state(p, null);
          await this.#o.release(p, false).catch(() => {});
          return;
        }
        if (this.#owned.get(p) !== owned) return; // lost meanwhile
        owned.state = "active";
        this.#state(p, owned);
        if (from !== null) {
          this.#count("taken_over");
          const seconds = (now() - from.seenAt) / 1000;
          this.#failover.observe(seconds);
          this.#o.onMetric?.({ kind: "failover", seconds });
          this.#o.logger.info("partition taken over", {
            partition: p,
            from: from.node,
            silentForMs: Math.round(started - from.seenAt),
            readyInMs: Math.round(now() - started),
          });
        } else {
          this.#count("acquired");
        }
      },
      () => {
        // Another node won the race (or NATS is away): try again next round if still ours.
        if (this.#owned.get(p) === owned) {
          this.#owned.delete(p);
          this.#state(p, null);
        }
      },
    );
  }

  async #handOver(p: number): Promise<void> {
    const owned = this.#owned.get(p);
    if (owned === undefined || owned.state === "releasing") return;
    owned.state = "releasing";
    this.#state(p, owned);
    this.#handovers++;
    try {
      await this.#o.release(p, true);
      await this.#leasesKv.delete(`p.${p}`, { previousSeq: owned.revision });
      this.#count("released");
    } catch (error) {
      this.#o.logger.warn("handing a partition over failed", {
        partition: p,
        error: describeError(error),
      });
    } finally {
      this.#owned.delete(p);
      this.#state(p, null);
      this.#handovers--;
    }
  }

  #state(p: number, owned: Owned | null): void {
    this.#o.onState?.(
      p,
      owned === null ? 0 : STATE[owned.state],
      owned === null ? 0 : performance.timeOrigin + owned.renewedAt,
    );
  }

  #count(change: string): void {
    this.#changes.labels(change).inc();
    this.#o.onMetric?.({ kind: "change", change });
  }

  #leaseValue(): string {
    return JSON.stringify({ node: this.nodeId });
  }
}

/**
 * How long after its last successful renewal an owner stops processing a partition: before any
 * other node may consider the lease expired (it waits the full lease from the last change it
 * saw, which is no earlier than the renewal was sent).
 */
export function fenceMs(leaseMs: number): number {
  return leaseMs - Math.min(500, leaseMs / 4);
}

function isWrongRevision(error: unknown): boolean {
  return error instanceof Error && /wrong last sequence/i.test(error.message);
}
