/**
 * Edge sites over HTTP (`docs/edge-sites.md`): `GET /api/sites`, the state of each site link
 * as the answering node sees it; and what the other routes do at a hub for an actor that lives
 * at a site — show its replica, with `site` and `syncedAt` ({@link siteReplica}), and send a
 * write down the site's downlink instead of applying it at the hub ({@link sentDown}).
 *
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import { SITE_DEVICE, siteAlerts, siteDevice, siteTerminal } from "../actors/sites/mod.ts";
import { NotFoundError } from "../runtime/mod.ts";
import { SITE_NAME } from "../runtime/nats/mod.ts";
import type { AppDeps, DownlinkOp } from "./deps.ts";
import { pageOf } from "./params.ts";
import { SITE_STATUS } from "./responses/sites.ts";
import { ApiRoutes } from "./spec.ts";

/** `?site=`: at a hub, the site a new actor lives at (its write goes down there). */
export const siteQuery = z.strictObject({
  site: z.string().regex(SITE_NAME, "a site name: 1-32 letters, digits, _ or -").optional()
    .describe(
      "at a hub: the edge site the actor lives at; the write goes down the site's downlink " +
        "(needed only before the site has told the hub of the actor)",
    ),
});

/** The routes under `/api`. */
export function siteRoutes(deps: AppDeps): ApiRoutes {
  const routes = new ApiRoutes(
    "sites",
    "Edge sites: the links between this node and the sites it follows (hub) or runs at (site).",
  );
  routes.add({
    method: "get",
    path: "/sites",
    summary: "Site links",
    description: "Each site link as this node sees it: connected or not, uplink lag, downlink " +
      "pending. Empty on a node that is neither at a site nor at a hub.",
    responses: { 200: { description: "`{items, next}`: every link", schema: pageOf(SITE_STATUS) } },
  }, (c) => c.json({ items: deps.sites?.()?.status() ?? [], next: null }));
  return routes;
}

/** A site actor's view at a hub: the replica's view plus `site` and `syncedAt`. */
export type SiteView<V> = V & { readonly site: string; readonly syncedAt: number };

/**
 * At a hub, the replica of a site's device or terminal `id`, as `{...view, site, syncedAt}`;
 * `null` elsewhere, or when no site has told the hub of it.
 */
export async function siteReplica<V>(
  deps: AppDeps,
  kind: "device" | "terminal",
  id: string,
): Promise<SiteView<V> | null> {
  if (deps.sites?.()?.role !== "hub") return null;
  const ref = kind === "device"
    ? deps.system.ref(siteDevice, id)
    : deps.system.ref(siteTerminal, id);
  const r = await ref.ask("replica");
  return r === null ? null : { ...(r.view as V), site: r.site, syncedAt: r.syncedAt };
}

/** At a hub, a page of the ids of the sites' devices (ascending); none elsewhere. */
export async function siteDeviceIds(
  deps: AppDeps,
  page: { readonly after?: string; readonly limit: number },
): Promise<string[]> {
  if (deps.sites?.()?.role !== "hub") return [];
  return await deps.system.list(SITE_DEVICE, page);
}

/**
 * At a hub, the site a write for `id` must go to: `named` (a `?site=` the client gave), else
 * the site the actor is known at; `null` for an actor of the hub's own.
 * @throws {NotFoundError} when `named` is not a site this node follows
 */
export async function siteOfWrite(
  deps: AppDeps,
  kind: "device" | "terminal",
  id: string,
  named?: string,
): Promise<string | null> {
  const sites = deps.sites?.();
  if (sites?.role !== "hub") {
    if (named !== undefined) throw notFollowed(named, []);
    return null;
  }
  if (named !== undefined) {
    if (!sites.sites.includes(named)) throw notFollowed(named, sites.sites);
    return named;
  }
  return (await siteReplica(deps, kind, id))?.site ?? null;
}

/** At a hub, the site alert `id` was raised at; `null` for the hub's own alerts. */
export async function siteOfAlert(deps: AppDeps, id: string): Promise<string | null> {
  const sites = deps.sites?.();
  if (sites?.role !== "hub") return null;
  for (const site of sites.sites) {
    if (await deps.system.ref(siteAlerts, site).ask("has", { id })) return site;
  }
  return null;
}

function notFollowed(site: string, sites: readonly string[]): NotFoundError {
  return new NotFoundError(
    `site ${site} is not one this node follows (FLOTILLA_SITES: ${sites.join(",") || "none"})`,
  );
}

/** The `404` of a route that takes `?site=`. */
export const NO_SUCH_SITE = {
  description: "`not_found`: `site` names no site this node follows (`FLOTILLA_SITES`)",
};

/** Sends a write down to `site` and answers 202 with its place in the downlink. */
export async function sentDown(
  c: Context,
  deps: AppDeps,
  site: string,
  op: DownlinkOp,
  id: string,
  body: unknown,
  msgId?: string,
  extra: Record<string, unknown> = {},
): Promise<Response> {
  const downlinkSeq = await deps.sites!()!.send(site, op, id, body as never, msgId);
  return c.json({ ...extra, site, status: "queued", downlinkSeq }, 202);
}
