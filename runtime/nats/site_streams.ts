/**
 * The JetStream streams that link an edge site to its hub. The site's nats-server is a leaf
 * node of the hub's, each with a JetStream domain of its own; the streams cross the leaf
 * connection only by JetStream stream sourcing (`sources` with `external.api` =
 * `$JS.<domain>.API`), never as plain subjects, so each side keeps running on its own server
 * while the link is down and catches up after, in order.
 *
 * | where | stream | subjects | what |
 * |---|---|---|---|
 * | site | `FLOTILLA_UPLINK` | `fl.up.<site>.<partition>.<kind>.<key>` | what the hub should see, published by the site's nodes |
 * | hub | `FLOTILLA_UP_<site>` | (sourced) | the site's uplink, sourced across the leaf connection |
 * | hub | `FLOTILLA_DOWN_<site>` | `fl.down.<site>.<partition>.<op>.<id>` | what the hub decided for the site |
 * | site | `FLOTILLA_DOWNLINK` | (sourced) | the site's downlink, sourced from the hub |
 *
 * Create them with `ensureStreamConfigs` (a stream with an external source is created while the
 * other side is unreachable too: nats-server sources it once the leaf connection is up).
 *
 * `<partition>` is the partition of the actor that applies the message on the other side, so
 * the owner of each partition consumes its own share (a {@link PartitionFeed}); hub and site
 * must use the same partition count.
 *
 * A sourced message keeps its subject and gains a `Nats-Stream-Source` header naming its
 * position in the origin stream ({@link originSeq}): that position, not the local one, is what
 * the applying actor records, so a message sourced twice (after a restart of either side) is
 * still applied once.
 *
 * @module
 */
import type { JsMsg, StreamConfig } from "@nats-io/jetstream";
import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";

/** Stream names and subject prefixes of the site links. */
export const SITE_STREAMS = {
  /** At the site: what goes up. */
  uplink: "FLOTILLA_UPLINK",
  /** At the site: what came down (sourced from the hub). */
  downlink: "FLOTILLA_DOWNLINK",
  /** At the hub: site `site`'s uplink (sourced from the site). */
  up: (site: string) => `FLOTILLA_UP_${site}`,
  /** At the hub: what goes down to site `site`. */
  down: (site: string) => `FLOTILLA_DOWN_${site}`,
} as const;

/** `fl.up.<site>` / `fl.down.<site>`: the subject prefixes of a site's links. */
export const SITE_SUBJECTS = {
  up: (site: string) => `fl.up.${site}`,
  down: (site: string) => `fl.down.${site}`,
} as const;

/**
 * Site names: letters, digits, `_` and `-`, 1–32 (they are part of stream names, subjects and
 * the JetStream domain).
 */
export const SITE_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** How much each link keeps while the other side does not take it. */
export interface LinkRetention {
  /** @default 7 days */
  readonly maxAgeMs?: number;
  /** @default 1 GiB */
  readonly maxBytes?: number;
  /** @default 1 */
  readonly replicas?: number;
}

/** Default retention of a link: 7 days or 1 GiB, whichever is reached first. */
export const DEFAULT_LINK_RETENTION = { maxAgeMs: 7 * 86_400_000, maxBytes: 1024 ** 3 } as const;

const nanos = (ms: number) => ms * 1_000_000;

function limits(retention: LinkRetention) {
  return {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: retention.replicas ?? 1,
    max_age: nanos(retention.maxAgeMs ?? DEFAULT_LINK_RETENTION.maxAgeMs),
    max_bytes: retention.maxBytes ?? DEFAULT_LINK_RETENTION.maxBytes,
    // Full: the oldest messages go, so a link is never stuck on a full stream. Those the other
    // side had not taken yet are lost: the publishing side counts them
    // (`flotilla_uplink_lost_total`, `flotilla_downlink_lost_total`) and a site publishes
    // every snapshot again, so the hub is current at once.
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(120_000),
  };
}

/** The streams at site `site`, whose hub's JetStream domain is `hubDomain`. */
export function siteStreamConfigs(
  site: string,
  hubDomain: string,
  retention: LinkRetention = {},
): (Partial<StreamConfig> & { name: string })[] {
  return [
    { ...limits(retention), name: SITE_STREAMS.uplink, subjects: [`${SITE_SUBJECTS.up(site)}.>`] },
    {
      ...limits(retention),
      name: SITE_STREAMS.downlink,
      sources: [{
        name: SITE_STREAMS.down(site),
        external: { api: `$JS.${hubDomain}.API`, deliver: "" },
      }],
    },
  ];
}

/** The streams at the hub for site `site`, whose JetStream domain is `site`. */
export function hubStreamConfigs(
  site: string,
  retention: LinkRetention = {},
): (Partial<StreamConfig> & { name: string })[] {
  return [
    {
      ...limits(retention),
      name: SITE_STREAMS.up(site),
      sources: [{ name: SITE_STREAMS.uplink, external: { api: `$JS.${site}.API`, deliver: "" } }],
    },
    {
      ...limits(retention),
      name: SITE_STREAMS.down(site),
      subjects: [`${SITE_SUBJECTS.down(site)}.>`],
    },
  ];
}

/**
 * The position of a sourced message in the stream it was sourced from (the
 * `Nats-Stream-Source` header, `"<stream>:<hash> <seq> …"`); its own position when it was not
 * sourced (published to this stream directly).
 */
export function originSeq(msg: Pick<JsMsg, "headers" | "seq">): number {
  const header = msg.headers?.get("Nats-Stream-Source");
  if (header) {
    const seq = Number(header.split(" ")[1]);
    if (Number.isSafeInteger(seq) && seq > 0) return seq;
  }
  return msg.seq;
}
