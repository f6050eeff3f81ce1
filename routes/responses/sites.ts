/**
 * Response schemas of edge sites: the fields a hub adds to what it shows of a site's actor,
 * the answer to a write it sends down to a site, and the state of each site link.
 *
 * @module
 */
import { z } from "zod";
import { count, epochMs } from "./common.ts";

/**
 * What a hub node adds to a site actor's view (a device, a terminal, an alert): whose it is
 * and how old. Absent on actors of the node's own cluster.
 */
export const SITE_FIELDS = {
  site: z.string().optional().describe(
    "edge site the actor lives at; the hub shows its replica (absent: the actor is the hub's)",
  ),
  syncedAt: epochMs.optional().describe(
    "with site: when the site made the newest change shown (how old the replica is)",
  ),
};

/** `202` of a write for a site actor posted at the hub: queued in the site's downlink. */
export const SENT_DOWN = z.object({
  site: z.string().describe("the site the actor lives at"),
  status: z.literal("queued").describe("in the site's downlink; applied there once, in order"),
  downlinkSeq: count.describe("its position in the site's downlink stream"),
});

/** One site link as the answering node sees it. */
export const SITE_STATUS = z.object({
  site: z.string(),
  role: z.enum(["hub", "site"]).describe("hub: this node follows the site; site: it runs there"),
  link: z.enum(["connected", "disconnected", "unknown"]),
  since: epochMs.nullable().describe("when the link last changed state"),
  uplinkLagMessages: count.describe("site changes the hub has not applied yet"),
  uplinkLagSeconds: z.number().min(0).describe("how old the oldest of them is, at most"),
  downlinkPending: count.describe("hub decisions the site has not applied yet"),
});
