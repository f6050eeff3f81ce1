/**
 * The site's uplink publisher: turns what the site's actors publish once it is durable (their
 * events, seen through the node's event tap) into uplink items (`actors/sites/uplink_item.ts`)
 * and publishes them to the site's `FLOTILLA_UPLINK` stream, which the hub sources.
 *
 * The hot path stays cheap: an event only marks what changed (a device, a terminal) or queues
 * a small item; every `flushMs` (100 ms) the publisher publishes the queued events, and every
 * `snapshotMs` (1 s) it reads the current view of each changed device and terminal once —
 * however many readings it took meanwhile — publishing without waiting for each
 * acknowledgement in turn. The uplink stream is the site's own (the leaf connection is not in
 * the way), so publishing goes on while the link is down.
 *
 * While the link is down, snapshots go up every `offlineSnapshotMs` (5 s) instead: the hub
 * will want only the newest, and the uplink stream keeps (`FLOTILLA_LINK_MAX_BYTES`) many
 * times more time that way.
 *
 * Nothing is dropped silently: a publish that fails (the site's server unreachable) is counted
 * (`flotilla_uplink_refused_total`) and its item kept for the next flush — snapshots collapse
 * to the newest per key, so what is kept is bounded by the number of devices and terminals;
 * events beyond `maxPending` are dropped and counted (`flotilla_uplink_dropped_total{kind}`).
 * Messages the full stream drops before the hub took them are counted by the link monitor,
 * which then calls {@link UplinkPublisher.resync}. At start, every device and terminal the site has is
 * published once (a resync), so a change made durable just before a crash — whose event was
 * never published — reaches the hub too.
 *
 * @module
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { device } from "../../actors/devices/mod.ts";
import { terminal } from "../../actors/payments/mod.ts";
import { replicaOf, type UplinkItem, type UplinkKind } from "../../actors/sites/mod.ts";
import {
  type ActorSystem,
  type Clock,
  describeError,
  type JsonValue,
  type Logger,
  type MetricsRegistry,
} from "../../runtime/mod.ts";
import { partitionOf, SITE_SUBJECTS } from "../../runtime/nats/mod.ts";

/** Options of {@link UplinkPublisher}. */
export interface UplinkOptions {
  readonly js: JetStreamClient;
  readonly system: ActorSystem;
  readonly site: string;
  readonly partitions: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Every Nth telemetry reading goes up as an event; 0: none. */
  readonly telemetryEvery: number;
  /** @default 100 */
  readonly flushMs?: number;
  /** Events (not snapshots) waiting at most; past it they are dropped and counted. @default 100000 */
  readonly maxPending?: number;
  /** Whether the hub is reachable now. @default always */
  readonly linkUp?: () => boolean;
  /** How often the changed devices' and terminals' snapshots go up. @default 1000 */
  readonly snapshotMs?: number;
  /** How often snapshots go up while the link is down. @default 5000 */
  readonly offlineSnapshotMs?: number;
}

interface Pending {
  readonly kind: UplinkKind;
  readonly key: string;
  /** The replica's id at the hub. */
  readonly target: string;
  readonly at: number;
  /** `null`: a snapshot to read at flush time. */
  readonly data: JsonValue | null;
}

const PUBLISH_WINDOW = 1024;
const encoder = new TextEncoder();

/** Publishes a site's changes to its uplink stream. */
export class UplinkPublisher {
  #o: UplinkOptions;
  /** Keyed items: the newest per key wins. */
  #pending = new Map<string, Pending>();
  #events = 0;
  #eventSeq = 0;
  #telemetry = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushing: Promise<void> | null = null;
  #stopped = false;
  #backoffUntil = 0;
  /** When snapshots last went up (performance.now()). */
  #snapshotsAt = -Infinity;
  #m;

  constructor(options: UplinkOptions) {
    this.#o = options;
    const m = options.metrics;
    this.#m = {
      published: m.counter({
        name: "flotilla_uplink_published_total",
        help: "Items this site node published to its uplink stream, by kind.",
        labels: ["kind"],
      }),
      refused: m.counter({
        name: "flotilla_uplink_refused_total",
        help:
          "Uplink publishes refused or failed (stream full, server unreachable): kept, retried.",
      }),
      dropped: m.counter({
        name: "flotilla_uplink_dropped_total",
        help: "Uplink events dropped because too many were waiting, by kind (snapshots never are).",
        labels: ["kind"],
      }),
    };
  }

  /** Items waiting to be published. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Publishes every device and terminal once, then flushes every `flushMs`. */
  async start(): Promise<void> {
    await this.resync();
    this.#schedule();
  }

  /** Publishes what is pending (once more if a flush was running) and stops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#flushing?.catch(() => {});
    this.#backoffUntil = 0;
    await this.flush().catch((error) =>
      this.#o.logger.warn("uplink: the last flush failed", { error: describeError(error) })
    );
  }

  /**
   * Sees an event the site's actors published (durable already). Cheap: marks or queues only.
   */
  observe(topic: string, data: JsonValue, key: string | null): void {
    const d =
      (typeof data === "object" && data !== null && !Array.isArray(data) ? data : {}) as Record<
        string,
        JsonValue
      >;
    const event = { topic, key, data };
    const now = this.#o.clock.now();
    switch (topic) {
      case "telemetry": {
        if (key === null) return;
        this.#snapshot("device", key, now);
        const reading = "readings" in d;
        if (!reading || this.#sampled()) this.#event("telemetry", key, key, now, event);
        return;
      }
      case "alerts": {
        const alert = d.alert as Record<string, JsonValue> | undefined;
        if (typeof alert?.id !== "string") return;
        this.#keyed("alert", alert.id, this.#o.site, now, event);
        return;
      }
      case "payments": {
        const term = typeof d.terminal === "string" ? d.terminal : null;
        if (term !== null) this.#snapshot("terminal", term, now);
        if (term !== null && typeof d.transactionId === "string") {
          this.#keyed("payment", `${d.type}:${d.transactionId}`, term, now, event);
        } else if (d.kind === "rollup") {
          this.#keyed("event", `rollup:${d.start}`, this.#o.site, now, event);
        } else if (term !== null) this.#event("event", term, this.#o.site, now, event);
        return;
      }
      case "sessions":
        if (d.kind === "pattern") this.#event("event", key ?? "", this.#o.site, now, event);
        return;
      case "commands":
        // A command's status changes (what goes to the device stays at the site).
        if (d.kind === "status" && typeof d.commandId === "string") {
          this.#keyed("event", `cmd:${d.commandId}:${d.status}`, this.#o.site, now, event);
        }
        return;
    }
  }

  /** The site applied downlink messages up to `seq`: the hub learns it over the uplink. */
  downlinkApplied(seq: number): void {
    this.#keyed("link", "link", this.#o.site, this.#o.clock.now(), { downlinkApplied: seq });
  }

  #sampled(): boolean {
    const every = this.#o.telemetryEvery;
    return every > 0 && ++this.#telemetry % every === 0;
  }

  #snapshot(kind: "device" | "terminal", id: string, at: number): void {
    this.#pending.set(`${kind}:${id}`, { kind, key: id, target: id, at, data: null });
  }

  #keyed(kind: UplinkKind, key: string, target: string, at: number, data: JsonValue): void {
    const k = `${kind}:${key}`;
    if (!this.#pending.has(k)) this.#events++;
    this.#pending.delete(k); // re-inserted at the end: the map's order is the publish order
    this.#pending.set(k, { kind, key, target, at, data });
  }

  #event(kind: UplinkKind, key: string, target: string, at: number, data: JsonValue): void {
    if (this.#events >= (this.#o.maxPending ?? 100_000)) {
      this.#m.dropped.labels(kind).inc();
      return;
    }
    this.#events++;
    this.#pending.set(`#${++this.#eventSeq}`, { kind, key, target, at, data });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch((error) =>
        this.#o.logger.warn("uplink flush failed; retrying", { error: describeError(error) })
      ).finally(() => this.#schedule());
    }, this.#o.flushMs ?? 100);
  }

  /** Publishes everything pending now; resolves when the stream has it (or refused it). */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => this.#flushing = null);
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const now = performance.now();
    if (this.#pending.size === 0 || now < this.#backoffUntil) return;
    let batch = [...this.#pending.entries()];
    this.#pending.clear();
    this.#events = 0;
    // The interval is the link's now: when it comes back, snapshots go at once.
    const every = this.#o.linkUp?.() === false
      ? this.#o.offlineSnapshotMs ?? 5000
      : this.#o.snapshotMs ?? 1000;
    if (!this.#stopped && now < this.#snapshotsAt + every) {
      // Snapshots wait (the newest per key): only events go now.
      for (const [k, p] of batch) if (p.data === null) this.#pending.set(k, p);
      batch = batch.filter(([, p]) => p.data !== null);
    } else this.#snapshotsAt = now;
    const items = await Promise.all(batch.map(([k, p]) => this.#complete(k, p)));
    const { js, site, partitions } = this.#o;
    const failed: [string, Pending][] = [];
    for (let i = 0; i < items.length; i += PUBLISH_WINDOW) {
      const slice = items.slice(i, i + PUBLISH_WINDOW);
      const acks = slice.map((entry) => {
        if (entry === null) return Promise.resolve(null);
        const [, p, item] = entry;
        const { type: _, id } = replicaOf(site, p.kind, p.key, p.target);
        const subject = `${SITE_SUBJECTS.up(site)}.${partitionOf(id, partitions)}.${p.kind}.${id}`;
        return js.publish(subject, encoder.encode(JSON.stringify(item))).then(
          () => this.#m.published.labels(p.kind).inc(),
          (error) => {
            failed.push([entry[0], p]);
            return error;
          },
        );
      });
      await Promise.all(acks);
    }
    if (failed.length > 0) this.#refused(failed);
  }

  /** The item to publish for a pending entry: a snapshot read now, or the queued data. */
  async #complete(k: string, p: Pending): Promise<[string, Pending, UplinkItem] | null> {
    let data = p.data;
    if (data === null) {
      try {
        data = p.kind === "device"
          ? await this.#o.system.ref(device, p.key).ask("twin") as unknown as JsonValue
          : await this.#o.system.ref(terminal, p.key).ask("view") as unknown as JsonValue;
      } catch (error) {
        // Not answered (stopping, moving): kept for the next flush.
        this.#o.logger.debug("uplink: a snapshot could not be read", {
          kind: p.kind,
          id: p.key,
          error: describeError(error),
        });
        if (!this.#pending.has(k)) this.#pending.set(k, p);
        return null;
      }
      if (data === null) return null;
    }
    return [k, p, { kind: p.kind, key: p.key, at: p.at, data }];
  }

  #refused(failed: [string, Pending][]): void {
    this.#m.refused.inc(failed.length);
    this.#o.logger.warn("uplink publishes refused; kept for the next flush", {
      count: failed.length,
    });
    // Kept, unless a newer version of the same key is waiting already.
    const newer = this.#pending;
    this.#pending = new Map(failed.filter(([k]) => !newer.has(k)));
    for (const [k, p] of newer) this.#pending.set(k, p);
    this.#events = [...this.#pending.values()].filter((p) => p.data !== null).length;
    this.#backoffUntil = performance.now() + 1000;
  }

  /**
   * Publishes every device and terminal of the site again, with the payment decisions each
   * terminal remembers: at start, and when uplink messages were lost.
   */
  async resync(): Promise<void> {
    const now = this.#o.clock.now();
    for (const [kind, type] of [["device", device.name], ["terminal", terminal.name]] as const) {
      let after: string | undefined;
      for (;;) {
        const ids = await this.#o.system.list(type, { limit: 1000, after });
        for (const id of ids) {
          this.#snapshot(kind, id, now);
          if (kind === "terminal") await this.#decisions(id, now);
        }
        if (ids.length < 1000) break;
        after = ids[ids.length - 1];
      }
    }
  }

  /** The decisions terminal `id` remembers, as the payment events that announced them. */
  async #decisions(id: string, at: number): Promise<void> {
    const decided = await this.#o.system.ref(terminal, id).ask("decided");
    for (const data of decided) {
      const event = { topic: "payments", key: id, data: data as unknown as JsonValue };
      this.#keyed("payment", `${data.type}:${data.transactionId}`, id, at, event);
    }
  }
}
