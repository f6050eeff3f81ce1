/**
 * The state of each site link as one node sees it: connected or not, how far the uplink lags,
 * how much of the downlink the site has not applied. Polled every `intervalMs` on the node's
 * own connection; reported on `GET /api/sites`, in `/readyz` (at a site: `hub`), as metrics and
 * as `site.connected` / `site.disconnected` events (topic `system`, published by one node per
 * site: the owner of `site-link/<site>`'s partition).
 *
 * **Connected** means the other side's JetStream answers through the leaf connection
 * (`$JS.<domain>.API.INFO`).
 *
 * **Uplink lag** (`flotilla_uplink_lag_messages`, `flotilla_uplink_lag_seconds`): at the hub,
 * uplink messages the site has and the hub has not applied yet — not yet sourced (the source's
 * lag) plus sourced and not yet applied (the feed's consumers' pending and unacknowledged
 * messages) — and how old the oldest of them is, at most (now minus the site time of the newest
 * applied item). At the site, what the hub has not sourced yet (the source's lag, read from the
 * hub while connected; while not, everything published since the last reading) and how old the
 * oldest of it is.
 *
 * **Downlink pending** (`flotilla_downlink_pending`): at the hub, messages in the site's
 * downlink after the last one the site reported applied (over the uplink); at the site, those
 * not applied yet (not yet sourced, or sourced and not yet applied).
 *
 * @module
 */
import { type JetStreamManager, jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type Clock,
  describeError,
  type EventBus,
  type Logger,
  type MetricsRegistry,
} from "../../runtime/mod.ts";
import { SITE_STREAMS } from "../../runtime/nats/mod.ts";
import type { SiteStatus } from "../../routes/deps.ts";

/** Options of {@link LinkMonitor}. */
export interface LinkMonitorOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly role: "hub" | "site";
  /** The sites followed (hub), or the one this node runs at (site). */
  readonly sites: readonly string[];
  readonly hubDomain: string;
  readonly partitions: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly events: EventBus;
  /** Whether this node publishes the link events of `site`. */
  readonly announces: (site: string) => boolean;
  /** Hub: the downlink position site `site` last reported applied. */
  readonly downlinkApplied?: (site: string) => Promise<number>;
  /** Site: the uplink items waiting in this node's publisher. */
  readonly uplinkWaiting?: () => number;
  /** Site: uplink messages were dropped (stream full) before the hub took them. */
  readonly uplinkLost?: (count: number) => void;
  /** @default 2000 */
  readonly intervalMs?: number;
}

interface Link {
  connected: boolean | null;
  since: number | null;
  /** Site time of the newest uplink item applied here (hub). */
  appliedAt: number;
  /** Site: the newest uplink position the hub was seen to hold, and when it was published. */
  hubHas: number;
  lag: number;
  lagSeconds: number;
  pending: number;
}

/** Watches the links of the sites a node is part of. */
export class LinkMonitor {
  #o: LinkMonitorOptions;
  #links = new Map<string, Link>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #polling: Promise<void> | null = null;
  /** The hub's JetStream, through the leaf connection (site). */
  #hub: JetStreamManager | null = null;
  #m;

  constructor(options: LinkMonitorOptions) {
    this.#o = options;
    for (const site of options.sites) {
      this.#links.set(site, {
        connected: null,
        since: null,
        appliedAt: 0,
        hubHas: 0,
        lag: 0,
        lagSeconds: 0,
        pending: 0,
      });
    }
    const m = options.metrics;
    this.#m = {
      connected: m.gauge({
        name: "flotilla_site_connected",
        help: "1 while the site link answers, 0 while it does not, by site.",
        labels: ["site"],
      }),
      lag: m.gauge({
        name: "flotilla_uplink_lag_messages",
        help: "Uplink messages the hub has not applied yet, by site.",
        labels: ["site"],
      }),
      lagSeconds: m.gauge({
        name: "flotilla_uplink_lag_seconds",
        help: "How old the oldest uplink change the hub has not applied is, at most, by site.",
        labels: ["site"],
      }),
      pending: m.gauge({
        name: "flotilla_downlink_pending",
        help: "Downlink messages the site has not applied yet, by site.",
        labels: ["site"],
      }),
      uplinkLost: m.counter({
        name: "flotilla_uplink_lost_total",
        help: "Uplink messages the full stream dropped before the hub took them (site), by site.",
        labels: ["site"],
      }),
      downlinkLost: m.counter({
        name: "flotilla_downlink_lost_total",
        help: "Downlink messages the full stream dropped before the site took them (hub), by site.",
        labels: ["site"],
      }),
    };
  }

  /** Polls at once, then every `intervalMs`. */
  start(): void {
    const loop = () => {
      this.#polling = this.poll().finally(() => {
        this.#polling = null;
        this.#timer = setTimeout(loop, this.#o.intervalMs ?? 2000);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#polling;
  }

  /** Hub: an uplink item of `site` made at `at` (site time) was applied here. */
  applied(site: string, at: number): void {
    const link = this.#links.get(site);
    if (link !== undefined && at > link.appliedAt) link.appliedAt = at;
  }

  /** Each link's state as of the last poll. */
  status(): SiteStatus[] {
    return [...this.#links].map(([site, l]) => ({
      site,
      role: this.#o.role,
      link: l.connected === null ? "unknown" : l.connected ? "connected" : "disconnected",
      since: l.since,
      uplinkLagMessages: l.lag,
      uplinkLagSeconds: l.lagSeconds,
      downlinkPending: l.pending,
    }));
  }

  /** Probes every link and refreshes the numbers. */
  async poll(): Promise<void> {
    await Promise.all(
      [...this.#links].map(([site, link]) =>
        this.#poll(site, link).catch((error) =>
          this.#o.logger.debug("site link poll failed", { site, error: describeError(error) })
        )
      ),
    );
  }

  async #poll(site: string, link: Link): Promise<void> {
    const domain = this.#o.role === "hub" ? site : this.#o.hubDomain;
    const connected = await this.#probe(domain);
    const now = this.#o.clock.now();
    if (connected !== link.connected) {
      const first = link.connected === null;
      link.connected = connected;
      link.since = now;
      this.#m.connected.labels(site).set(connected ? 1 : 0);
      if (!first || !connected) this.#announce(site, connected);
      if (!first) {
        this.#o.logger.info(connected ? "site link up" : "site link down", { site });
      }
    }
    if (this.#o.role === "hub") await this.#hubNumbers(site, link, now);
    else await this.#siteNumbers(site, link, now);
    this.#m.lag.labels(site).set(link.lag);
    this.#m.lagSeconds.labels(site).set(link.lagSeconds);
    this.#m.pending.labels(site).set(link.pending);
  }

  #announce(site: string, connected: boolean): void {
    if (!this.#o.announces(site)) return;
    this.#o.events.publish("system", {
      type: connected ? "site.connected" : "site.disconnected",
      site,
      role: this.#o.role,
    }, null);
  }

  async #probe(domain: string): Promise<boolean> {
    try {
      await this.#o.nc.request(`$JS.${domain}.API.INFO`, "", { timeout: 1000 });
      return true;
    } catch {
      return false;
    }
  }

  async #hubNumbers(site: string, link: Link, now: number): Promise<void> {
    const { jsm } = this.#o;
    const up = await jsm.streams.info(SITE_STREAMS.up(site));
    const notSourced = link.connected ? sourceLag(up) : 0;
    const notApplied = await this.#unfinished(SITE_STREAMS.up(site), `up-${site}`);
    link.lag = notSourced + notApplied;
    link.lagSeconds = link.lag === 0 || link.appliedAt === 0
      ? 0
      : Math.max(0, (now - link.appliedAt) / 1000);
    const down = await jsm.streams.info(SITE_STREAMS.down(site));
    const applied = await this.#o.downlinkApplied?.(site) ?? 0;
    // Known applied up to `applied`, and the stream no longer has the messages after it.
    if (applied > link.hubHas && down.state.first_seq > applied + 1 && down.state.messages > 0) {
      const lost = down.state.first_seq - Math.max(applied, link.hubHas) - 1;
      if (lost > 0 && this.#o.announces(site)) this.#m.downlinkLost.labels(site).inc(lost);
      // hubHas, at the hub: the downlink position up to which losses were counted.
      link.hubHas = down.state.first_seq - 1;
    }
    link.pending = Math.max(0, down.state.last_seq - Math.max(applied, link.hubHas));
  }

  async #siteNumbers(site: string, link: Link, now: number): Promise<void> {
    const { jsm, nc, hubDomain } = this.#o;
    const uplink = await jsm.streams.info(UPLINK);
    const last = uplink.state.last_seq;
    if (link.connected) {
      this.#hub ??= await jetstreamManager(nc, { domain: hubDomain, timeout: 1000 });
      const info = await this.#hub.streams.info(SITE_STREAMS.up(site)).catch(() => null);
      if (info !== null) link.hubHas = Math.max(link.hubHas, last - sourceLag(info));
    }
    if (link.hubHas > 0 && uplink.state.first_seq > link.hubHas + 1) {
      // The full stream dropped messages the hub had not taken yet.
      const lost = uplink.state.first_seq - link.hubHas - 1;
      link.hubHas = uplink.state.first_seq - 1;
      this.#m.uplinkLost.labels(site).inc(lost);
      this.#o.logger.warn("uplink messages lost: the stream was full", { site, lost });
      this.#o.uplinkLost?.(lost);
    }
    link.lag = Math.max(0, last - link.hubHas) + (this.#o.uplinkWaiting?.() ?? 0);
    if (link.lag === 0) link.lagSeconds = 0;
    else {
      const oldest = await jsm.streams.getMessage(UPLINK, {
        seq: Math.max(link.hubHas + 1, uplink.state.first_seq),
      }).catch(() => null);
      link.lagSeconds = oldest === null ? 0 : Math.max(0, (now - oldest.time.getTime()) / 1000);
    }
    const down = await jsm.streams.info(SITE_STREAMS.downlink);
    const notApplied = await this.#unfinished(SITE_STREAMS.downlink, "down");
    link.pending = (link.connected ? sourceLag(down) : 0) + notApplied;
  }

  /** Messages of `stream` that feed `feed`'s consumers have not finished, over every partition. */
  async #unfinished(stream: string, feed: string): Promise<number> {
    const infos = await Promise.all(
      Array.from(
        { length: this.#o.partitions },
        (_, p) => this.#o.jsm.consumers.info(stream, `${feed}-p${p}`).catch(() => null),
      ),
    );
    return infos.reduce((n, c) => n + (c === null ? 0 : c.num_pending + c.num_ack_pending), 0);
  }
}

const UPLINK = SITE_STREAMS.uplink;

function sourceLag(info: StreamInfo): number {
  return info.sources?.[0]?.lag ?? 0;
}
