/**
 * Edge sites, wired into a node (`docs/edge-sites.md`). A node at a site (`FLOTILLA_SITE`)
 * creates its uplink and downlink streams, publishes its actors' changes to the uplink and
 * consumes the downlink; a hub node (`FLOTILLA_SITES`) creates each followed site's streams at
 * the hub, consumes their uplinks into read replicas and publishes writes for site actors to
 * their downlinks. Both watch the links.
 *
 * @module
 */
import { SITE_LINK, siteLink } from "../../actors/sites/mod.ts";
import type { Readiness } from "../../routes/app.ts";
import type { SiteDeps } from "../../routes/deps.ts";
import {
  type ActorSystem,
  type Clock,
  describeError,
  type EventBus,
  type JsonValue,
  type Logger,
  type MetricsRegistry,
} from "../../runtime/mod.ts";
import {
  ensureStreamConfigs,
  hubStreamConfigs,
  type NatsClients,
  type NatsTransport,
  type PartitionFeed,
  siteStreamConfigs,
} from "../../runtime/nats/mod.ts";
import type { EdgeConfig } from "../config.ts";
import { DownlinkSender } from "./downlink.ts";
import { downlinkFeed, uplinkFeed } from "./feeds.ts";
import { LinkMonitor } from "./link.ts";
import { UplinkPublisher } from "./uplink.ts";

export { DOWNLINK_OPS } from "./feeds.ts";

/** What the rest of the node runs with, once {@link EdgeLinks.start} ran. */
export interface Running {
  readonly system: ActorSystem;
  readonly transport: NatsTransport;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly metrics: MetricsRegistry;
}

/** A node's part in edge sites. */
export interface EdgeLinks {
  readonly role: "hub" | "site";
  /** Feeds for the node's transport. */
  readonly feeds: readonly PartitionFeed[];
  /** Sees every event the node's actors publish (the site's uplink). */
  observe(topic: string, data: JsonValue, key: string | null): void;
  /** Starts publishing and watching, once the actor system runs. */
  start(running: Running): Promise<void>;
  /** What the HTTP routes use; `null` before {@link start}. */
  readonly deps: SiteDeps | null;
  /** Adds the link to a readiness check: `hub` at a site — reported, never making it unready. */
  readiness(check: () => Promise<Readiness>): () => Promise<Readiness>;
  /** Publishes what is pending, stops watching. */
  stop(): Promise<void>;
}

/**
 * Creates the link streams of this node's sites and returns its edge part, or `null` for a
 * node that is neither at a site nor following one.
 */
export async function prepareEdge(
  config: EdgeConfig,
  nats: NatsClients,
  o: { readonly partitions: number; readonly replicas: number; readonly logger: Logger },
): Promise<EdgeLinks | null> {
  const retention = {
    maxAgeMs: config.linkMaxAgeMs,
    maxBytes: config.linkMaxBytes,
    replicas: o.replicas,
  };
  const site = config.site;
  if (site === null && config.sites.length === 0) return null;
  const role = site === null ? "hub" : "site";
  const sites = site === null ? config.sites : [site];
  await ensureStreamConfigs(
    nats.jsm,
    site === null
      ? config.sites.flatMap((s) => hubStreamConfigs(s, retention))
      : siteStreamConfigs(site, config.hubDomain, retention),
  );

  let uplink: UplinkPublisher | null = null;
  let monitor: LinkMonitor | null = null;
  let running: Running | null = null;
  let deps: SiteDeps | null = null;
  const feeds: PartitionFeed[] = site === null
    ? config.sites.map((s) => uplinkFeed(s, { applied: (s, _seq, at) => monitor?.applied(s, at) }))
    : [downlinkFeed({
      site,
      logger: o.logger,
      events: { publish: (...a) => running?.events.publish(...a), subscribe: notSubscribable },
      applied: (seq) => uplink?.downlinkApplied(seq),
    })];

  return {
    role,
    feeds,
    observe(topic, data, key) {
      uplink?.observe(topic, data, key);
    },
    get deps() {
      return deps;
    },
    async start(r) {
      running = r;
      if (site !== null) {
        uplink = new UplinkPublisher({
          js: nats.js,
          system: r.system,
          site,
          partitions: o.partitions,
          clock: r.clock,
          logger: o.logger,
          metrics: r.metrics,
          telemetryEvery: config.uplinkTelemetry,
          linkUp: () => monitor?.status()[0]?.link !== "disconnected",
        });
        await uplink.start();
      }
      const publisher = uplink;
      monitor = new LinkMonitor({
        ...nats,
        role,
        sites,
        hubDomain: config.hubDomain,
        partitions: o.partitions,
        clock: r.clock,
        logger: o.logger,
        metrics: r.metrics,
        events: r.events,
        announces: (s) => r.transport.isLocal(SITE_LINK, s),
        downlinkApplied: async (s) => (await r.system.ref(siteLink, s).ask("link")).downlinkApplied,
        ...(publisher === null ? {} : {
          uplinkWaiting: () => publisher.pending,
          uplinkLost: () =>
            void publisher.resync().catch((error) =>
              o.logger.warn("uplink resync failed", { error: describeError(error) })
            ),
        }),
      });
      monitor.start();
      const sender = new DownlinkSender(nats.js, o.partitions);
      const watched = monitor;
      deps = {
        role,
        sites,
        status: () => watched.status(),
        send: (s, op, id, body, msgId) => sender.send(s, op, id, body, msgId),
      };
    },
    readiness(check) {
      if (site === null) return check;
      return async () => {
        const base = await check();
        const link = monitor?.status()[0]?.link ?? "unknown";
        return { ready: base.ready, checks: { ...base.checks, hub: link } };
      };
    },
    async stop() {
      await monitor?.stop();
      await uplink?.stop();
    },
  };
}

function notSubscribable(): never {
  throw new Error("the downlink feed only publishes events");
}
